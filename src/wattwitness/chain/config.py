"""Where the chain is and who signs: `WATTWITNESS_CHAIN_*` settings and the connection they describe.

`rpc_url = "embedded"` (the default) runs the in-process EVM with P256VERIFY; anything else is a
JSON-RPC URL, with the signing key read from `key_file` (a hex private key, file mode 0600).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from eth_account import Account
from pydantic_settings import BaseSettings, SettingsConfigDict
from web3 import Web3

from wattwitness.chain.embedded import EmbeddedChain
from wattwitness.chain.errors import ChainError
from wattwitness.chain.ledger import Connection

EMBEDDED = "embedded"


class ChainSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WATTWITNESS_CHAIN_", extra="ignore")

    rpc_url: str = EMBEDDED
    key_file: Path | None = None
    ledger_address: str | None = None
    # Blocks on top of an anchor's block before it counts (relayer) or is read (listener).
    confirmations: int = 2
    # Readings per anchor at most: a day of 10 s readings. Gas does not depend on it (head + root only).
    max_batch: int = 8640
    poll_interval_s: float = 5.0
    receipt_timeout_s: float = 180.0


def read_key_file(path: Path) -> str:
    """A hex private key from a file nobody else can read (refused otherwise: it controls the submitter)."""
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as err:
        raise ChainError(f"cannot read key file {path}: {err.strerror}") from err
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ChainError(f"key file {path} is readable by others; chmod 600 it")
    key = text.removeprefix("0x")
    if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
        raise ChainError(f"key file {path} must hold one 32-byte private key as 64 hex characters")
    return "0x" + key


def connect(settings: ChainSettings, embedded: EmbeddedChain | None = None) -> Connection:
    """A connection for the settings; an embedded chain is created (or the given one reused)."""
    if settings.rpc_url == EMBEDDED:
        chain = embedded or EmbeddedChain()
        conn = Connection.to_embedded(chain, confirmations=settings.confirmations)
        conn.receipt_timeout_s = settings.receipt_timeout_s
        return conn
    if settings.key_file is None:
        raise ChainError("a JSON-RPC chain needs WATTWITNESS_CHAIN_KEY_FILE (or --key-file) for the signing key")
    account = Account.from_key(read_key_file(settings.key_file))
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        raise ChainError(f"no JSON-RPC node answers at {settings.rpc_url}")
    return Connection(w3, account, settings.confirmations, None, settings.receipt_timeout_s,
                      settings.poll_interval_s)


def write_key_file(path: Path, key_hex: str) -> None:
    """Writes a private key with mode 0600 from the start (never world-readable, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key_hex.removeprefix("0x") + "\n")
