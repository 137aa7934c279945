"""Server settings from `WATTWITNESS_*` environment variables, checked once at start-up.

A server with an empty or placeholder admin token would hand installation enrollment to anyone, so
`Settings.check_startup()` refuses such a token unless `WATTWITNESS_DEMO=true`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_TOKENS = frozenset({"", "changeme", "change-me", "changethis", "secret", "admin", "password", "token",
                                "test", "xxx", "todo"})
MIN_ADMIN_TOKEN_LEN = 16


class InsecureSettingsError(ValueError):
    """The configuration would run a server that anyone can administer."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WATTWITNESS_", extra="ignore")

    data_dir: Path = Path("./data")
    # Default: an SQLite file under data_dir (see `database_url_resolved`).
    database_url: str | None = None
    admin_token: str = ""
    demo: bool = False

    # Records more than this many seconds ahead of the server clock are `future_timestamp`.
    max_future_s: int = 300
    max_body_bytes: int = 4 * 1024 * 1024
    enrollment_token_ttl_s: int = 24 * 3600

    # Device liveness: a device reading every `reading_interval_s` is live within `live_intervals`
    # intervals of its last reading, stale until `offline_after_s`, offline after.
    reading_interval_s: int = 10
    live_intervals: int = 3
    offline_after_s: int = 600

    internet_probe_target: str = "1.1.1.1:443"
    internet_probe_interval_s: float = 30.0
    internet_probe_timeout_s: float = 3.0

    # Retention window of `wattwitness db prune` (docs/operations.md §6), run daily by the
    # wattwitness-prune systemd timer; unset: readings are kept forever.
    prune_keep_days: int | None = Field(default=None, ge=1)

    # Background tasks (internet probe, chain listener) are off in tests that do not want them.
    background_tasks: bool = True
    # Verify big batches on a pool of processes, one per core, forked when the app starts
    # (readings/verification.py); off: every batch is verified in the request's process.
    verification_pool: bool = True
    sql_echo: bool = False
    static_dir: Path | None = Field(default=None, description="dashboard build; default: the package's static/")

    @cached_property
    def database_url_resolved(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wattwitness.db').resolve()}"

    def check_startup(self) -> None:
        """Raises InsecureSettingsError when the admin token is empty or a placeholder (unless demo)."""
        if self.demo:
            return
        token = self.admin_token.strip()
        if token.lower() in PLACEHOLDER_TOKENS or len(token) < MIN_ADMIN_TOKEN_LEN:
            raise InsecureSettingsError(
                "WATTWITNESS_ADMIN_TOKEN is empty, a placeholder or shorter than "
                f"{MIN_ADMIN_TOKEN_LEN} characters; set a random token (e.g. `openssl rand -hex 24`) "
                "or WATTWITNESS_DEMO=true for a demo")
