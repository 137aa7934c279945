"""Device-side commands: `keygen`, `agent`, `enroll`, `simulate-meter`. Thin: parse, call, print."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from wattwitness.device.agent import Agent, AgentConfig
from wattwitness.device.atecc import DEFAULT_I2C_ADDRESS, DEFAULT_I2C_BUS, AteccSigner
from wattwitness.device.enrollment import enroll as enroll_installation
from wattwitness.device.errors import DeviceError, ServerRejected
from wattwitness.device.server_api import ServerApi
from wattwitness.device.shelly import create_meter
from wattwitness.device.signer import Signer, SoftwareSigner, generate_key_file
from wattwitness.device.simulator import DEFAULT_LAT, DEFAULT_LON, DEFAULT_MAC, ShellySimulator, SimClock, SolarModel
from wattwitness.logs import configure_logging
from wattwitness.protocol import ProtocolError, key_id, parse_mac

SignerKind = Annotated[str, typer.Option("--signer", help="software (key file) or atecc (ATECC608 on I²C)")]
Gen = Annotated[int, typer.Option("--gen", min=1, max=2, help="Shelly generation: 1 (Shelly EM) or 2 (Gen2+ EM1)")]
MeterUser = Annotated[str | None, typer.Option("--meter-user", help="meter login (default admin)")]
MeterPassword = Annotated[str | None, typer.Option("--meter-password", envvar="WATTWITNESS_METER_PASSWORD",
                                                   help="meter password (Gen1 basic, Gen2 digest auth)")]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _signer(kind: str, key: Path | None, state: Path | None, i2c_bus: int) -> Signer:
    if kind == "software":
        if key is None:
            _fail("--key is required with --signer software", 2)
        return SoftwareSigner.from_key_file(key, state)
    if kind == "atecc":
        return AteccSigner(i2c_bus=i2c_bus, i2c_address=DEFAULT_I2C_ADDRESS)
    _fail(f"--signer must be software or atecc, not {kind!r}", 2)


def register(app: typer.Typer) -> None:
    @app.command()
    def keygen(out: Annotated[Path, typer.Option("--out", help="new PEM key file (created with mode 0600)")]) -> None:
        """Create a software signing key; prints its public key and key id."""
        try:
            public_key = generate_key_file(out)
        except DeviceError as err:
            _fail(str(err))
        typer.echo(f"public key: {public_key.hex()}")
        typer.echo(f"key id: {key_id(public_key)}")

    @app.command()
    def agent(
        server: Annotated[str, typer.Option("--server", help="WattWitness server URL")],
        meter: Annotated[str, typer.Option("--meter", help="Shelly meter URL, e.g. http://192.168.1.50")],
        state: Annotated[Path, typer.Option("--state", help="state directory (outbox, chain head, boot counter)")],
        key: Annotated[Path | None, typer.Option("--key", help="key file (software signer)")] = None,
        interval: Annotated[float, typer.Option("--interval", min=0.01, help="seconds between readings")] = 10.0,
        gen: Gen = 1,
        channel: Annotated[int, typer.Option("--channel", min=0, help="meter channel")] = 0,
        signer: SignerKind = "software",
        meter_user: MeterUser = None,
        meter_password: MeterPassword = None,
        i2c_bus: Annotated[int, typer.Option("--i2c-bus", help="I²C bus of the ATECC608")] = DEFAULT_I2C_BUS,
        max_records: Annotated[int | None, typer.Option("--max-records", min=1,
                                                        help="sign this many, deliver them, then exit")] = None,
        log_level: Annotated[str, typer.Option("--log-level")] = "INFO",
    ) -> None:
        """Read the meter every interval, sign each reading, keep it in the outbox until the server has it."""
        if log_level.upper() not in logging.getLevelNamesMapping():
            _fail(f"--log-level must be one of DEBUG, INFO, WARNING, ERROR, not {log_level!r}", 2)
        configure_logging(level=log_level.upper())
        # httpx logs every request at INFO: one line per reading per endpoint would drown the agent's own log.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
        config = AgentConfig(server_url=server, meter_url=meter, state_dir=state, interval=interval, gen=gen,
                             channel=channel, meter_username=meter_user, meter_password=meter_password,
                             max_records=max_records)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            runner = Agent(config, _signer(signer, key, state, i2c_bus))
            runner.start()
        except DeviceError as err:
            _fail(str(err))
        try:
            while not stop.is_set():
                if max_records is not None and runner.wait(timeout=0.5):
                    break
                stop.wait(0.5)
        except KeyboardInterrupt:
            pass
        pending = runner.depth
        runner.stop()
        typer.echo(f"boot {runner.boot}: {runner.signed} signed, {runner.delivered} delivered, {pending} pending")

    @app.command()
    def enroll(
        server: Annotated[str, typer.Option("--server", help="WattWitness server URL")],
        token: Annotated[str, typer.Option("--token", envvar="WATTWITNESS_ENROLL_TOKEN",
                                           help="admin or one-time enrollment token")],
        meter: Annotated[str, typer.Option("--meter", help="Shelly meter URL (its MAC goes into the record)")],
        name: Annotated[str, typer.Option("--name", help="installation name")],
        key: Annotated[Path | None, typer.Option("--key", help="key file (software signer)")] = None,
        timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Europe/Zurich")] = "UTC",
        capacity_w: Annotated[int | None, typer.Option("--capacity-w", min=1, help="peak capacity in W")] = None,
        gen: Gen = 1,
        signer: SignerKind = "software",
        meter_user: MeterUser = None,
        meter_password: MeterPassword = None,
        i2c_bus: Annotated[int, typer.Option("--i2c-bus")] = DEFAULT_I2C_BUS,
    ) -> None:
        """Register this device and meter as an installation (signed Enrollment record + operator token)."""
        api = ServerApi(server)
        meter_client = create_meter(meter, gen=gen, username=meter_user, password=meter_password)
        try:
            device = _signer(signer, key, None, i2c_bus)
            result = enroll_installation(api, token, device, meter_client, name=name, timezone=timezone,
                                         capacity_w=capacity_w)
        except ServerRejected as err:
            reasons = {401: "the token was not accepted (unknown, expired or already used)",
                       403: "the token does not allow creating installations",
                       409: "this key or this meter is already bound to another installation"}
            _fail(f"{reasons.get(err.status_code, 'the server refused the enrollment')}: {err.detail or err.error}")
        except DeviceError as err:
            _fail(str(err))
        finally:
            meter_client.shutdown()
            api.close()
        installation = result.installation
        typer.echo(f"{'enrolled' if result.created else 'already enrolled'}: installation {installation.get('id')} "
                   f"(key id {installation.get('key_id') or key_id(device.public_key)})")
        typer.echo(str(installation.get("id")))

    @app.command("simulate-meter")
    def simulate_meter(
        port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port)")],
        gen: Gen = 1,
        peak_w: Annotated[float, typer.Option("--peak-w", min=1, help="installation peak power in W")] = 5000.0,
        speed: Annotated[float, typer.Option("--speed", min=0.001, help="simulated seconds per real second")] = 1.0,
        lat: Annotated[float, typer.Option("--lat", min=-90, max=90)] = DEFAULT_LAT,
        lon: Annotated[float, typer.Option("--lon", min=-180, max=180)] = DEFAULT_LON,
        mac: Annotated[str, typer.Option("--mac", help="the meter's fixed MAC, 12 hex digits")] = DEFAULT_MAC,
        start: Annotated[float | None, typer.Option("--start", help="simulated start, Unix seconds "
                                                    "(default now)")] = None,
        seed: Annotated[int, typer.Option("--seed", help="cloud RNG seed")] = 1,
        cloudiness: Annotated[float, typer.Option("--cloudiness", min=0, max=1)] = 0.35,
        initial_wh: Annotated[int, typer.Option("--initial-wh", min=0, help="counter at start, Wh")] = 0,
        host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    ) -> None:
        """Serve a simulated Shelly EM producing a plausible solar day."""
        try:
            parse_mac(mac)
        except ProtocolError as err:
            _fail(f"--mac: {err}", 2)
        simulator = ShellySimulator(gen=gen, model=SolarModel(peak_w=peak_w, lat=lat, lon=lon, seed=seed,
                                                              cloudiness=cloudiness),
                                    clock=SimClock(start=start if start is not None else time.time(), speed=speed),
                                    mac=mac, host=host, port=port, initial_energy_mwh=initial_wh * 1000)
        try:
            simulator.start()
        except OSError as err:
            _fail(f"cannot listen on {host}:{port}: {err.strerror}")
        typer.echo(f"simulated Shelly EM Gen{gen} ({mac.upper()}) on {simulator.url}, speed x{speed:g}", err=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop()
