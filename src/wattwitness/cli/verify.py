"""`wattwitness verify`: re-check an export offline, with no server and no database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from wattwitness.protocol import ProtocolError, parse_mac, verify_chain
from wattwitness.protocol.keys import load_public_key, parse_hex


def read_export(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """JSON Lines of {"record": hex, "signature": hex}. Lines that cannot be read yield empty bytes,
    so that the checker names them `malformed` at their line number instead of stopping."""
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            if not text.strip():
                continue
            try:
                item = json.loads(text)
                yield bytes.fromhex(item["record"]), bytes.fromhex(item["signature"])
            except (ValueError, KeyError, TypeError):
                yield b"", b""


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        export: Annotated[Path, typer.Argument(help="JSON Lines export: one {record, signature} per line",
                                               exists=True, dir_okay=False, readable=True)],
        public_key: Annotated[str, typer.Option("--public-key", help="the installation's key, 128 hex (X||Y)")],
        meter: Annotated[str | None, typer.Option(help="expected meter MAC; default: the first record's")] = None,
        chain: Annotated[str | None, typer.Option(
            "--chain", help="JSON-RPC URL: also check each anchored head and Merkle root on the ledger")] = None,
        ledger: Annotated[str | None, typer.Option("--ledger", help="WattWitnessLedger address (with --chain)")] = None,
        strict: Annotated[bool, typer.Option(
            "--strict", help="also fail on gaps (for an export that must be complete)")] = False,
    ) -> None:
        """Check every signature and chain link of an export; exit 0 only if nothing is invalid or broken.

        With --chain and --ledger, also check that every batch the ledger anchored for this key hashes to
        the exported records (the same Merkle root) and that the heads match."""
        try:
            key = parse_hex(public_key, 64, "--public-key")
            load_public_key(key)
            expected_meter = parse_mac(meter) if meter else None
        except ProtocolError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from err
        report = verify_chain(read_export(export), key, expected_meter)
        for line, verdict in report.problems:
            typer.echo(f"line {line}: {verdict.outcome.value}: {verdict.detail}")
        typer.echo(report.summary())
        if report.total == 0:
            typer.echo("error: the export holds no records", err=True)
            raise typer.Exit(1)
        chain_ok = True
        if chain:
            # Imported here: web3 is slow to import and only this option needs it.
            from wattwitness.chain.audit import report_export
            from wattwitness.chain.errors import ChainError

            try:
                chain_ok = report_export(chain, ledger, key, [r for r, _ in read_export(export) if r], typer.echo)
            except ChainError as err:
                typer.echo(f"error: {err}", err=True)
                raise typer.Exit(2) from err
        complete = report.gaps == 0 or not strict
        raise typer.Exit(0 if report.ok and chain_ok and complete else 1)
