"""Wire shapes of installations and enrollment tokens (docs/api.md)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# The shared test vector's key and enrollment: valid examples that /docs can actually send.
EXAMPLE_PUBLIC_KEY = ("310d3a315fdae43a4b8dfaf9042ddfb48ebda5324bc44c26feffeab42e9182b2"
                      "3fb0e51e082dc6a2bff26851bf0cc18b983ef8ad1549a68d876acab6983f5916")
EXAMPLE_ENROLLMENT_RECORD = ("57570200ec64c9c05e970000000068542a82" + EXAMPLE_PUBLIC_KEY)
EXAMPLE_ENROLLMENT_SIGNATURE = ("81da7826472f210bc228ad43aca08199462809f1ba95b97148ab0e1177ca9db0"
                                "adac47c80ee2ed24ab2b7f29d924421eb5ebaf0aba55b85be7ab65bba10a3b73")

Hex = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-fA-F]*$")]


class InstallationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Rooftop A", "public_key": EXAMPLE_PUBLIC_KEY, "enrollment_record": EXAMPLE_ENROLLMENT_RECORD,
         "enrollment_signature": EXAMPLE_ENROLLMENT_SIGNATURE, "timezone": "Europe/Berlin", "capacity_w": 10000,
         "legacy": False},
        {"name": "Hackathon meter", "shelly_mac": "EC64C9C05E97", "legacy": True, "timezone": "UTC",
         "capacity_w": 5000},
    ]})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    public_key: Hex | None = Field(default=None, description="X||Y, 128 hex; required unless legacy")
    enrollment_record: Hex | None = Field(default=None, description="WW2 enrollment record, 164 hex")
    enrollment_signature: Hex | None = Field(default=None, description="r||s over the enrollment record, 128 hex")
    shelly_mac: str | None = Field(default=None, description="legacy only: the meter MAC (12 hex)")
    timezone: str = Field(default="UTC", description="IANA time zone for charts")
    capacity_w: int | None = Field(default=None, gt=0, le=10**12, description="peak capacity in W")
    legacy: bool = False
    key_storage: str | None = Field(default=None, pattern="^(secure_element|software)$",
                                    description="where the private key lives")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown IANA time zone {value!r}") from err
        return value


class InstallationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "name": "Rooftop A", "shelly_mac": "EC64C9C05E97", "public_key": EXAMPLE_PUBLIC_KEY,
        "key_id": "4fc2f2680e174782", "created_at": 1750346370, "is_active": True, "timezone": "Europe/Berlin",
        "capacity_w": 10000, "legacy": False, "key_storage": None, "lifetime_energy_wh": 33.06,
        "first_reading_at": 1750346380, "last_reading_at": 1750346480, "reading_count": 6, "last_boot": 2,
        "last_seq": 2, "boot_started_at": 1750346470}]})

    id: int
    name: str
    shelly_mac: str
    public_key: str | None
    key_id: str | None
    created_at: int
    is_active: bool
    timezone: str
    capacity_w: int | None
    legacy: bool
    key_storage: str | None = None
    lifetime_energy_wh: float
    first_reading_at: int | None
    last_reading_at: int | None
    reading_count: int
    last_boot: int | None
    last_seq: int | None
    boot_started_at: int | None


class EnrollmentTokenOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"token": "wwe_3q2-7Zb0pQmW6k8y1vJdA4sF5gH9tR0eLxNcUoIaBzE", "expires_at": 1750432770}]})

    token: str = Field(description="shown once; send as `Authorization: Bearer <token>` to create one installation")
    expires_at: int
