"""Chain errors: one base, with the ledger's custom errors decoded into names and arguments."""

from __future__ import annotations

from typing import Any

from wattwitness.chain import compiled

# eth_abi and eth_utils are imported where a revert is decoded: every `wattwitness` command imports this
# module (for ChainError), and they add about a second to each start.


class ChainError(Exception):
    """Anything that went wrong talking to a chain or the ledger; `str()` is a sentence for a person."""


class LedgerReverted(ChainError):
    """The ledger refused a call with one of its custom errors (or OpenZeppelin's)."""

    def __init__(self, name: str, args: tuple[Any, ...], raw: bytes) -> None:
        self.name = name
        self.args_ = args
        self.raw = raw
        super().__init__(f"{name}({', '.join(_show(a) for a in args)})")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _error_table() -> dict[bytes, dict[str, Any]]:
    from eth_utils import function_abi_to_4byte_selector

    table: dict[bytes, dict[str, Any]] = {}
    for name in ("WattWitnessLedger",):
        for entry in compiled.load(name)["abi"]:
            if entry["type"] == "error":
                table[function_abi_to_4byte_selector(entry)] = entry
    return table


_ERRORS: dict[bytes, dict[str, Any]] | None = None


def decode_revert(data: bytes) -> LedgerReverted | None:
    """Turns revert data into a named error, or None when the selector is not one of the ledger's."""
    global _ERRORS
    if _ERRORS is None:
        _ERRORS = _error_table()
    if len(data) < 4:
        return None
    entry = _ERRORS.get(data[:4])
    if entry is None:
        return None
    from eth_abi import decode

    types = [i["type"] for i in entry["inputs"]]
    return LedgerReverted(entry["name"], tuple(decode(types, data[4:])), data)
