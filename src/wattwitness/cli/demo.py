"""`wattwitness demo`: server, dashboard, simulated meter, signing agent and chain on one machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wattwitness.demo.runner import Demo, DemoConfig


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        data_dir: Annotated[Path, typer.Option("--data-dir", help="where the demo keeps its state")] = Path(
            "data/demo"),
        port: Annotated[int, typer.Option("--port", help="HTTP port of the server and dashboard")] = 8000,
        history_days: Annotated[float, typer.Option("--history-days", min=0,
                                                    help="days of signed history written before going live")] = 7,
        history_interval: Annotated[int, typer.Option("--history-interval", min=1,
                                                      help="seconds between history readings")] = 300,
        interval: Annotated[float, typer.Option("--interval", min=0.5, help="seconds between live readings")] = 10,
        anchor_interval: Annotated[float, typer.Option("--anchor-interval", min=1,
                                                       help="seconds between anchoring passes")] = 30,
    ) -> None:
        """Run the whole system locally with SQLite; Ctrl-C stops it, running it again continues."""
        config = DemoConfig(data_dir=data_dir, port=port, history_days=history_days,
                            history_interval_s=history_interval, live_interval_s=interval,
                            anchor_interval_s=anchor_interval)
        raise typer.Exit(Demo(config).run())
