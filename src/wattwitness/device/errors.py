"""One exception tree for the device side; low-level errors are wrapped at the boundary (`raise ... from err`)."""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error the device side raises on purpose; its message is meant for a person."""


class MeterError(DeviceError):
    """The meter could not give a reading."""


class MeterUnreachable(MeterError):
    """No answer: connection refused, timeout, DNS failure."""


class MeterAuthError(MeterError):
    """The meter wants credentials, or rejected the ones given."""


class MeterPayloadError(MeterError):
    """The meter answered, but not with what a Shelly EM of that generation answers."""


class SignerError(DeviceError):
    """The signing key or secure element cannot be used."""


class KeyFileError(SignerError):
    """A key file that is missing, unreadable, not a P-256 key, or readable by others."""


class SecureElementError(SignerError):
    """The ATECC608 (through cryptoauthlib) reported a failure, or cryptoauthlib is missing."""


class OutboxError(DeviceError):
    """The local outbox (SQLite in the state directory) cannot be used."""


class DiskFullError(OutboxError):
    """The state directory's disk is full: nothing can be signed until space is freed."""


class StateMismatchError(OutboxError):
    """The state directory belongs to another key than the one given."""


class ServerError(DeviceError):
    """The WattWitness server could not be used."""


class ServerUnreachable(ServerError):
    """No answer, or a 5xx/503: worth retrying later."""


class ServerRejected(ServerError):
    """A 4xx answer with the server's `{"error", "detail"}` body."""

    def __init__(self, status_code: int, error: str, detail: str) -> None:
        super().__init__(f"server answered {status_code} {error}: {detail}")
        self.status_code = status_code
        self.error = error
        self.detail = detail
