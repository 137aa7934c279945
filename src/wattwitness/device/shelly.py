"""Clients for the Shelly EM meter, Gen1 (`GET /status`) and Gen2+ (RPC over HTTP), returning exact mW/mWh.

Lifecycle as in aioshelly: `create_meter(...)` builds a client around an `httpx.Client` (passed in, so
tests can replay recorded answers), `initialize()` learns the meter's MAC, `read()` returns one
`MeterSample`, `shutdown()` closes the transport if the client created it. JSON numbers are parsed as
decimal text and converted with `milli_from_decimal_text`, never multiplied as floats (PROTOCOL.md §2).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypedDict

import httpx

from wattwitness.protocol import ProtocolError, milli_from_decimal_text, parse_mac

from .errors import MeterAuthError, MeterPayloadError, MeterUnreachable

DEFAULT_TIMEOUT_S = 5.0


class Gen1EMeter(TypedDict, total=False):
    power: Decimal
    reactive: Decimal
    pf: Decimal
    voltage: Decimal
    is_valid: bool
    total: Decimal
    total_returned: Decimal


class Gen1Status(TypedDict, total=False):
    """`GET /status` of a Shelly EM (only the fields used here; the device sends many more)."""

    mac: str
    unixtime: int
    emeters: list[Gen1EMeter]


class Gen2DeviceInfo(TypedDict, total=False):
    id: str
    mac: str
    model: str
    gen: int
    auth_en: bool


class Gen2EM1Status(TypedDict, total=False):
    id: int
    current: Decimal
    voltage: Decimal
    act_power: Decimal
    aprt_power: Decimal
    pf: Decimal
    errors: list[str]


class Gen2EM1Data(TypedDict, total=False):
    id: int
    total_act_energy: Decimal
    total_act_ret_energy: Decimal


class Gen2SysStatus(TypedDict, total=False):
    mac: str
    unixtime: int | None
    uptime: int


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One reading as the record needs it: meter MAC, Unix seconds, power in mW, energy counter in mWh."""

    mac: bytes
    ts: int
    power_mw: int
    energy_mwh: int


class MeterClient(Protocol):
    mac: bytes | None

    def initialize(self) -> None: ...

    def read(self) -> MeterSample: ...

    def shutdown(self) -> None: ...


def _field(payload: Any, key: str, where: str) -> Any:
    if not isinstance(payload, dict) or key not in payload:
        raise MeterPayloadError(f"{where} has no field {key!r}")
    return payload[key]


def _milli(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise MeterPayloadError(f"{what} is not a number: {value!r}")
    try:
        return milli_from_decimal_text(value)
    except ProtocolError as err:
        raise MeterPayloadError(f"{what}: {err}") from err


def _mac(value: Any, where: str) -> bytes:
    try:
        return parse_mac(str(value))
    except ProtocolError as err:
        raise MeterPayloadError(f"{where}: {err}") from err


class ShellyClient(ABC):
    """What both generations share: one HTTP GET with auth, timeout and errors mapped to MeterError."""

    generation = 0

    def __init__(self, base_url: str, http: httpx.Client, *, channel: int = 0, auth: httpx.Auth | None = None,
                 owns_http: bool = False, clock: Callable[[], float] = time.time) -> None:
        if channel < 0:
            raise ValueError("channel must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.channel = channel
        self.mac: bytes | None = None
        self._http = http
        self._auth = auth
        self._owns_http = owns_http
        self._clock = clock

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        try:
            response = self._http.get(url, params=params, auth=self._auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.TimeoutException as err:
            raise MeterUnreachable(f"meter {self.base_url} did not answer {path} in time") from err
        except httpx.HTTPError as err:
            raise MeterUnreachable(f"meter {self.base_url} unreachable: {err}") from err
        if response.status_code == 401:
            raise MeterAuthError(f"meter {self.base_url} refused {path}: "
                                 + ("wrong credentials" if self._auth else "it requires a user name and password"))
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as err:
            raise MeterPayloadError(f"meter {self.base_url} answered {path} with "
                                    f"HTTP {response.status_code} and no JSON") from err
        if response.status_code != 200:
            # Gen2 RPC errors come as {"code": -105, "message": "..."}.
            message = body.get("message") if isinstance(body, dict) else None
            raise MeterPayloadError(f"meter {self.base_url} answered {path} with HTTP {response.status_code}"
                                    + (f": {message}" if message else ""))
        return body

    def _timestamp(self, unixtime: Any) -> int:
        # A Shelly that has not synced its clock reports 0 or null; then the agent's clock is the best there is.
        if isinstance(unixtime, int) and not isinstance(unixtime, bool) and unixtime > 0:
            return unixtime
        return int(self._clock())

    def _require_mac(self) -> bytes:
        if self.mac is None:
            self.initialize()
        assert self.mac is not None
        return self.mac

    @abstractmethod
    def initialize(self) -> None:
        """Learns the meter's MAC (what enrollment signs and every record names)."""

    @abstractmethod
    def read(self) -> MeterSample:
        """One reading of the configured channel, in exact mW and mWh."""

    def shutdown(self) -> None:
        if self._owns_http:
            self._http.close()


class ShellyGen1(ShellyClient):
    """Shelly EM (Gen1): everything comes from one `GET /status`."""

    generation = 1

    def initialize(self) -> None:
        status = self._get_json("/status")
        self.mac = _mac(_field(status, "mac", "/status"), "/status mac")

    def read(self) -> MeterSample:
        status: Gen1Status = self._get_json("/status")
        mac = _mac(_field(status, "mac", "/status"), "/status mac")
        self.mac = mac
        emeters = _field(status, "emeters", "/status")
        if not isinstance(emeters, list) or self.channel >= len(emeters):
            raise MeterPayloadError(f"/status has no emeters[{self.channel}] "
                                    f"(the meter has {len(emeters) if isinstance(emeters, list) else 0} channels)")
        emeter = emeters[self.channel]
        where = f"/status emeters[{self.channel}]"
        if isinstance(emeter, dict) and emeter.get("is_valid") is False:
            raise MeterPayloadError(f"{where}: the meter marks this measurement invalid")
        power_mw = _milli(_field(emeter, "power", where), f"{where}.power")
        energy_mwh = _milli(_field(emeter, "total", where), f"{where}.total")
        if energy_mwh < 0:
            raise MeterPayloadError(f"{where}.total is negative")
        return MeterSample(mac, self._timestamp(status.get("unixtime")), power_mw, energy_mwh)


class ShellyGen2(ShellyClient):
    """Shelly Gen2+ with EM1 components (Pro EM, EM Gen3): power, energy and clock come from three RPCs."""

    generation = 2

    def initialize(self) -> None:
        info: Gen2DeviceInfo = self._get_json("/rpc/Shelly.GetDeviceInfo")
        self.mac = _mac(_field(info, "mac", "Shelly.GetDeviceInfo"), "Shelly.GetDeviceInfo mac")

    def read(self) -> MeterSample:
        mac = self._require_mac()
        params = {"id": self.channel}
        em1: Gen2EM1Status = self._get_json("/rpc/EM1.GetStatus", params)
        data: Gen2EM1Data = self._get_json("/rpc/EM1Data.GetStatus", params)
        system: Gen2SysStatus = self._get_json("/rpc/Sys.GetStatus")
        errors = em1.get("errors") if isinstance(em1, dict) else None
        if errors:
            raise MeterPayloadError(f"EM1.GetStatus id={self.channel} reports errors: {', '.join(map(str, errors))}")
        power_mw = _milli(_field(em1, "act_power", "EM1.GetStatus"), "EM1.GetStatus act_power")
        energy_mwh = _milli(_field(data, "total_act_energy", "EM1Data.GetStatus"),
                            "EM1Data.GetStatus total_act_energy")
        if energy_mwh < 0:
            raise MeterPayloadError("EM1Data.GetStatus total_act_energy is negative")
        if isinstance(system, dict) and system.get("mac") is not None:
            # The MAC was learnt once; a different device now answering at this URL must not sign under it.
            current = _mac(system["mac"], "Sys.GetStatus mac")
            if current != mac:
                self.mac = None
                raise MeterPayloadError(f"meter MAC changed from {mac.hex().upper()} to {current.hex().upper()}")
        unixtime = system.get("unixtime") if isinstance(system, dict) else None
        return MeterSample(mac, self._timestamp(unixtime), power_mw, energy_mwh)


def create_meter(url: str, *, gen: int = 1, channel: int = 0, username: str | None = None,
                 password: str | None = None, timeout: float = DEFAULT_TIMEOUT_S, http: httpx.Client | None = None,
                 clock: Callable[[], float] = time.time) -> ShellyClient:
    """A client for the meter at `url`. Gen1 uses HTTP basic auth, Gen2+ digest auth (user `admin`)."""
    if gen not in (1, 2):
        raise ValueError(f"Shelly generation must be 1 or 2, got {gen}")
    auth: httpx.Auth | None = None
    if password is not None:
        if gen == 1:
            auth = httpx.BasicAuth(username or "admin", password)
        else:
            auth = httpx.DigestAuth(username or "admin", password)
    owns = http is None
    client = http or httpx.Client(timeout=timeout)
    cls = ShellyGen1 if gen == 1 else ShellyGen2
    return cls(url, client, channel=channel, auth=auth, owns_http=owns, clock=clock)
