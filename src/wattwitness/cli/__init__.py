"""The `wattwitness` command. Each area registers its own commands; this module only assembles them."""

from __future__ import annotations

import typer

from wattwitness.cli import chain, db, demo, device, server, verify

app = typer.Typer(
    name="wattwitness",
    help="WattWitness: signed solar production readings, verified end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """Signed solar production readings, verified end to end."""


verify.register(app)
chain.register(app)
device.register(app)
db.register(app)
demo.register(app)
server.register(app)


def main() -> None:
    app()
