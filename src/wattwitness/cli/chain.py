"""`wattwitness chain ...`: deploy the ledger, register installations, relay anchors, follow events.

A real chain is any JSON-RPC URL plus a key file (`--rpc`, `--key-file`, `--ledger`, or the
`WATTWITNESS_CHAIN_*` variables). The embedded chain lives inside one process, so on it everything
happens in `wattwitness chain run` (deploy, register, anchor, listen, and check proofs), which is what
`make demo` uses.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from sqlalchemy.exc import SQLAlchemyError

from wattwitness.chain.errors import ChainError

chain_app = typer.Typer(
    name="chain",
    help="On-chain anchoring: the WattWitnessLedger contract, the relayer and the event listener.",
    no_args_is_help=True,
)

Rpc = Annotated[str | None, typer.Option("--rpc", envvar="WATTWITNESS_CHAIN_RPC_URL", show_envvar=True,
                                         help="JSON-RPC URL of the chain ('embedded' = in-process EVM)")]
KeyFile = Annotated[Path | None, typer.Option("--key-file", envvar="WATTWITNESS_CHAIN_KEY_FILE", show_envvar=True,
                                              help="file holding the sending account's private key (hex, mode 0600)")]
LedgerAddress = Annotated[str | None, typer.Option("--ledger", envvar="WATTWITNESS_CHAIN_LEDGER_ADDRESS",
                                                   show_envvar=True, help="address of the deployed ledger")]
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="WATTWITNESS_DATABASE_URL",
                                                 show_envvar=True, help="the server's database; default: its setting")]
Confirmations = Annotated[int | None, typer.Option("--confirmations", min=0,
                                                  help="blocks on top before an anchor counts (default 2)")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings(rpc: str | None, key_file: Path | None, ledger: str | None, confirmations: int | None = None):
    from wattwitness.chain.config import ChainSettings

    overrides: dict[str, object] = {}
    if rpc is not None:
        overrides["rpc_url"] = rpc
    if key_file is not None:
        overrides["key_file"] = key_file
    if ledger is not None:
        overrides["ledger_address"] = ledger
    if confirmations is not None:
        overrides["confirmations"] = confirmations
    return ChainSettings(**overrides)  # type: ignore[arg-type]


def _external(rpc: str | None, key_file: Path | None, ledger: str | None, confirmations: int | None = None,
              need_ledger: bool = True):
    """Settings and connection for a real chain; the embedded chain cannot outlive this process."""
    from wattwitness.chain.config import EMBEDDED, connect
    from wattwitness.chain.ledger import Ledger

    settings = _settings(rpc, key_file, ledger, confirmations)
    if settings.rpc_url == EMBEDDED:
        raise _fail("the embedded chain lives inside one process: use `wattwitness chain run` for it, "
                    "or pass --rpc URL --key-file FILE for a real chain")
    if need_ledger and not settings.ledger_address:
        raise _fail("no ledger address: pass --ledger 0x... or set WATTWITNESS_CHAIN_LEDGER_ADDRESS")
    try:
        conn = connect(settings)
    except ChainError as err:
        raise _fail(str(err)) from err
    return settings, conn, (Ledger(conn, settings.ledger_address) if need_ledger else None)


def _database(database_url: str | None):
    from wattwitness.server.db.session import Database
    from wattwitness.server.settings import Settings

    return Database(database_url or Settings().database_url_resolved)


@chain_app.command("deploy")
def deploy(
    rpc: Rpc = None,
    key_file: KeyFile = None,
    forwarder: Annotated[str, typer.Option(help="CRE forwarder allowed to call onReport")] = "0x" + "00" * 20,
    predecessor: Annotated[str, typer.Option(help="retired ledger to import installations from")] = "0x" + "00" * 20,
    max_future_skew: Annotated[int, typer.Option(min=0, help="seconds a head may be ahead of block time")] = 300,
    capacity_margin_bps: Annotated[int, typer.Option(min=0, help="capacity cap margin, basis points")] = 12_000,
) -> None:
    """Deploy WattWitnessLedger; the sender becomes admin, registrar and submitter."""
    from wattwitness.chain.ledger import REGISTRAR_ROLE, SUBMITTER_ROLE, Ledger

    _, conn, _ = _external(rpc, key_file, None, need_ledger=False)
    try:
        ledger = Ledger.deploy(conn, forwarder=forwarder, predecessor=predecessor,
                               max_future_skew_s=max_future_skew, capacity_margin_bps=capacity_margin_bps)
        ledger.grant_role(REGISTRAR_ROLE, conn.account.address)
        ledger.grant_role(SUBMITTER_ROLE, conn.account.address)
    except (ChainError, ValueError) as err:
        raise _fail(f"deployment failed: {err}") from err
    typer.echo(f"WattWitnessLedger deployed at {ledger.address} on chain {conn.chain_id}")
    typer.echo(f"export WATTWITNESS_CHAIN_LEDGER_ADDRESS={ledger.address}")


def _register(ledger, database, installation_id: int, beneficiary: str | None,
              capacity_w: int | None) -> str:
    from wattwitness.server.db.models import Installation

    with database.scope() as session:
        installation = session.get(Installation, installation_id)
        if installation is None:
            raise ChainError(f"no installation {installation_id} in the database")
        if installation.public_key is None:
            raise ChainError(f"installation {installation_id} is legacy: it has no key a contract could check")
        capacity = capacity_w or installation.capacity_w
        if not capacity:
            raise ChainError(f"installation {installation_id} has no capacity_w; pass --capacity-w")
        public_key, meter = installation.public_key, installation.shelly_mac
    if ledger.installation(installation_id).registered:
        return f"installation {installation_id} is already registered on {ledger.address}"
    ledger.register_installation(installation_id, public_key, meter, capacity,
                                 beneficiary or ledger.conn.account.address)
    return f"installation {installation_id} registered: meter {meter.hex().upper()}, {capacity} W"


@chain_app.command("register")
def register_installation(
    installation: Annotated[int, typer.Option("--installation", min=1, help="installation id (= token id)")],
    beneficiary: Annotated[str | None, typer.Option(help="who receives the tokens; default: the sender")] = None,
    capacity_w: Annotated[int | None, typer.Option(min=1, help="peak W; default: the installation's")] = None,
    rpc: Rpc = None, key_file: KeyFile = None, ledger: LedgerAddress = None, database_url: DatabaseUrl = None,
) -> None:
    """Register an installation's key, meter and capacity on the ledger (registrar role)."""
    _, _, client = _external(rpc, key_file, ledger)
    database = _database(database_url)
    try:
        typer.echo(_register(client, database, installation, beneficiary, capacity_w))
    except ChainError as err:
        raise _fail(str(err)) from err
    finally:
        database.dispose()


def _print_outcomes(outcomes) -> None:
    from wattwitness.chain.relayer import AnchorSent

    for o in outcomes:
        if isinstance(o, AnchorSent):
            typer.echo(f"installation {o.installation_id}: anchor #{o.anchor_index} of {o.count} readings, "
                       f"{o.minted_wh} Wh minted, tx 0x{o.tx_hash.hex()} block {o.block_number}, gas {o.gas_used}")
        else:
            typer.echo(f"installation {o.installation_id}: {o.reason}")


@chain_app.command("anchor")
def anchor(
    installation: Annotated[list[int] | None, typer.Option("--installation", help="only these (repeatable)")] = None,
    watch: Annotated[bool, typer.Option(help="keep anchoring every --interval seconds")] = False,
    interval: Annotated[float, typer.Option(min=1, help="seconds between passes with --watch")] = 600,
    rpc: Rpc = None, key_file: KeyFile = None, ledger: LedgerAddress = None, database_url: DatabaseUrl = None,
    confirmations: Confirmations = None,
) -> None:
    """Relayer: anchor each installation's next whole batch, wait for confirmations, record it."""
    from wattwitness.chain.relayer import Skipped, anchor_all

    settings, _, client = _external(rpc, key_file, ledger, confirmations)
    database = _database(database_url)
    try:
        while True:
            try:
                outcomes = anchor_all(database, client, settings.max_batch, installation)
            except SQLAlchemyError as err:
                if not watch:
                    raise _fail(f"database: {err.__class__.__name__}: {err}") from err
                typer.echo(f"pass failed, retrying: {err.__class__.__name__}: {err}")
                outcomes = []
            _print_outcomes(outcomes)
            if not watch:
                failed = [o for o in outcomes if isinstance(o, Skipped) and o.reason.startswith("anchoring failed")]
                raise typer.Exit(1 if failed else 0)
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        database.dispose()


@chain_app.command("listen")
def listen(
    once: Annotated[bool, typer.Option(help="catch up to the confirmed head and exit")] = False,
    start_block: Annotated[int, typer.Option(min=0, help="first block to read when no cursor exists")] = 0,
    rpc: Rpc = None, key_file: KeyFile = None, ledger: LedgerAddress = None, database_url: DatabaseUrl = None,
    confirmations: Confirmations = None,
) -> None:
    """Follow BatchAnchored events from the stored cursor and record every anchor, whoever submitted it."""
    from wattwitness.chain.listener import catch_up

    settings, _, client = _external(rpc, key_file, ledger, confirmations)
    database = _database(database_url)
    try:
        while True:
            try:
                recorded = catch_up(database, client, settings.confirmations, start_block)
            except (ChainError, SQLAlchemyError) as err:
                if once:
                    raise _fail(f"{err.__class__.__name__}: {err}") from err
                typer.echo(f"poll failed, retrying: {err.__class__.__name__}: {err}")
                recorded = 0
            if recorded:
                typer.echo(f"recorded {recorded} anchor(s) from {client.address}")
            if once:
                return
            time.sleep(settings.poll_interval_s)
    except ChainError as err:
        raise _fail(str(err)) from err
    except KeyboardInterrupt:
        pass
    finally:
        database.dispose()


@chain_app.command("run")
def run(
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between anchoring passes")] = 60,
    passes: Annotated[int, typer.Option(min=0, help="stop after this many passes (0: run until Ctrl-C)")] = 0,
    api_url: Annotated[str | None, typer.Option(help="server URL: check its proofs against the chain")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Embedded chain, all in one process: deploy, register installations, anchor, listen, check a proof."""
    from wattwitness.chain.embedded import EmbeddedChain
    from wattwitness.chain.ledger import REGISTRAR_ROLE, SUBMITTER_ROLE, Connection, Ledger
    chain = EmbeddedChain()
    conn = Connection.to_embedded(chain, 0, confirmations=2)
    owner = chain.accounts[1].address  # the park owner who receives the production tokens
    ledger = Ledger.deploy(conn)
    ledger.grant_role(REGISTRAR_ROLE, conn.account.address)
    ledger.grant_role(SUBMITTER_ROLE, conn.account.address)
    typer.echo(f"embedded chain {conn.chain_id}: WattWitnessLedger at {ledger.address}, tokens go to {owner}")
    database = _database(database_url)
    done = 0
    try:
        while True:
            try:
                _run_pass(ledger, database, owner, api_url)
            except (ChainError, SQLAlchemyError) as err:
                # A long-running service: a busy database or a failed pass is reported, then retried.
                typer.echo(f"pass failed, retrying in {interval:g} s: {err.__class__.__name__}: {err}")
            done += 1
            if passes and done >= passes:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        database.dispose()


def _run_pass(ledger, database, owner: str, api_url: str | None) -> None:
    from wattwitness.chain.listener import catch_up
    from wattwitness.chain.relayer import AnchorSent, anchor_all

    _register_new(ledger, database, owner)
    outcomes = anchor_all(database, ledger, 8640)
    _print_outcomes([o for o in outcomes if isinstance(o, AnchorSent)])
    catch_up(database, ledger, ledger.conn.confirmations)
    for o in outcomes:
        if isinstance(o, AnchorSent):
            balance = ledger.balance_of(owner, o.installation_id)
            typer.echo(f"installation {o.installation_id}: owner holds {balance} Wh; "
                       + _check_a_proof(ledger, database, o.installation_id, api_url))


def _register_new(ledger, database, owner: str) -> None:
    from sqlalchemy import select

    from wattwitness.server.db.models import Installation

    with database.scope() as session:
        ids = list(session.scalars(select(Installation.id).where(Installation.public_key.is_not(None))))
    for installation_id in ids:
        if not ledger.installation(installation_id).registered:
            try:
                typer.echo(_register(ledger, database, installation_id, owner, None))
            except ChainError as err:
                typer.echo(f"installation {installation_id}: not registered: {err}")


def _check_a_proof(ledger, database, installation_id: int, api_url: str | None) -> str:
    """Takes the newest anchored reading's proof (from the API when given) and asks the ledger about it."""
    from sqlalchemy import select

    from wattwitness.chain.anchors import proof_for_reading
    from wattwitness.server.db.models import Reading

    with database.scope() as session:
        reading_id = session.scalar(select(Reading.id).where(
            Reading.installation_id == installation_id, Reading.anchor_id.is_not(None)
        ).order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1))
        if reading_id is None:
            return "no anchored reading to prove yet"
        if api_url:
            try:
                body = httpx.get(f"{api_url.rstrip('/')}/api/v1/readings/proof/{reading_id}", timeout=10).json()
                args = (body["anchor"]["anchor_index"], bytes.fromhex(body["record"]), body["leaf_index"],
                        body["tree_size"], [bytes.fromhex(p) for p in body["audit_path"]])
            except (httpx.HTTPError, KeyError, ValueError) as err:
                return f"could not fetch the proof of reading {reading_id} from the API: {err}"
            source = "API proof"
        else:
            proof = proof_for_reading(session, reading_id)
            if proof is None:
                return f"reading {reading_id} has no proof"
            args = (proof.anchor.anchor_index, proof.record, proof.leaf_index, proof.tree_size, proof.audit_path)
            source = "proof"
    ok = ledger.verify_inclusion(installation_id, *args)
    return f"{source} of reading {reading_id} {'verified' if ok else 'REJECTED'} by the ledger on-chain"


@chain_app.command("gas")
def gas(
    sizes: Annotated[list[int] | None, typer.Argument(help="batch sizes (default: 1 360 8640)")] = None,
) -> None:
    """Measure the gas of `anchor` by batch size on the embedded EVM; prints a Markdown table."""
    from wattwitness.chain.gas import markdown_table, measure

    typer.echo(markdown_table(measure(sizes or [1, 360, 8640])))


def register(app: typer.Typer) -> None:
    app.add_typer(chain_app)
