"""CPU and memory of `wattwitness agent`, and how long it takes to drain a 24-hour backlog after an outage.

Usage: .venv/bin/python -m bench.agent [--seconds 60] [--backlog 8640]
Quick run: .venv/bin/python -m bench.agent --seconds 20 --backlog 1000

Everything is real processes: `wattwitness serve` (SQLite in a temp dir), `wattwitness simulate-meter`,
`wattwitness keygen`/`enroll`, `wattwitness agent`. Part 1: the agent at its production interval (10 s)
for `--seconds`; its CPU time (utime+stime from /proc) over wall time, and its resident memory (VmRSS,
peak VmHWM). Part 2: the agent signs one reading (to learn its boot from the server), the server is
stopped, and the agent signs `--backlog` readings into its outbox against a simulated meter whose clock
runs from two days ago 500x fast (so the records carry a day's worth of timestamps but none is in the
future). When all are signed the server starts again on the same port and database, and the benchmark
times how long until the server holds all of them (reading_count), split into the agent's reconnect
delay (its backoff) and the drain itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.harness import ADMIN_TOKEN, WATTWITNESS, die_on_sigterm, free_port, load, serve, stop_group
from bench.report import publish, table

TICKS = os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen([str(WATTWITNESS), *args], stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        yield process
    finally:
        stop_group(process, timeout_s=20)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def _wait_meter(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/status", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the simulated meter at {url} did not answer")


def _enroll(tmp: Path, server_url: str, meter_url: str, name: str) -> tuple[Path, int]:
    key = tmp / f"{name}.pem"
    subprocess.run([str(WATTWITNESS), "keygen", "--out", str(key)], check=True, capture_output=True)
    token = httpx.post(server_url + "/api/v1/enrollment-tokens/", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                       timeout=30)
    token.raise_for_status()
    done = subprocess.run([str(WATTWITNESS), "enroll", "--server", server_url, "--token", token.json()["token"],
                           "--key", str(key), "--meter", meter_url, "--name", name], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"enroll failed: {done.stdout}{done.stderr}")
    return key, int(done.stdout.strip().splitlines()[-1])


def _count(server_url: str, installation_id: int) -> int:
    with contextlib.suppress(httpx.TransportError):
        response = httpx.get(f"{server_url}/api/v1/installations/{installation_id}", timeout=10)
        if response.status_code == 200:
            return int(response.json()["reading_count"])
    return -1


def steady(tmp: Path, database_url: str, seconds: float) -> list[list[object]]:
    meter_port = free_port()
    meter_url = f"http://127.0.0.1:{meter_port}"
    with serve(database_url) as server, \
            _process(["simulate-meter", "--port", str(meter_port)], tmp / "meter.log"):
        _wait_meter(meter_url)
        key, installation_id = _enroll(tmp, server.url, meter_url, "steady")
        load_start = load()
        with _process(["agent", "--server", server.url, "--meter", meter_url, "--key", str(key), "--state",
                       str(tmp / "steady-state"), "--interval", "10"], tmp / "agent.log") as agent:
            time.sleep(5)  # start-up (imports, boot negotiation) is not the steady state
            cpu_start, wall_start = _cpu_seconds(agent.pid), time.monotonic()
            rss = []
            while time.monotonic() - wall_start < seconds:
                if agent.poll() is not None:
                    raise RuntimeError(f"the agent exited: {(tmp / 'agent.log').read_text()[-2000:]}")
                rss.append(_memory_kib(agent.pid)["VmRSS"])
                time.sleep(1)
            cpu = _cpu_seconds(agent.pid) - cpu_start
            wall = time.monotonic() - wall_start
            peak = _memory_kib(agent.pid)["VmHWM"]
        stored = _count(server.url, installation_id)
    return [["agent at --interval 10: CPU (utime+stime / wall)", f"{cpu / wall:.2%} of one core "
             f"({cpu:.2f} s in {wall:.0f} s)"],
            ["agent resident memory (VmRSS, median / peak VmHWM)", f"{sorted(rss)[len(rss) // 2] / 1024:.1f} MiB / "
             f"{peak / 1024:.1f} MiB"],
            ["readings stored during the run", f"{stored} (load avg {load_start} → {load()})"]]


def backlog(tmp: Path, database_url: str, count: int) -> list[list[object]]:
    meter_port, server_port = free_port(), free_port()
    meter_url = f"http://127.0.0.1:{meter_port}"
    state = tmp / "backlog-state"
    # The meter runs 500x fast from a week ago: the agent may take up to 20 minutes to sign the backlog
    # before the meter's clock passes the server's (two days, as before, were used up by a slow disk in 6
    # minutes, and the last records were refused as future_timestamp).
    start = int(time.time()) - 7 * 86400
    meter_args = ["simulate-meter", "--port", str(meter_port), "--start", str(start), "--speed", "500",
                  "--mac", "C45BBE5A1B02"]
    with _process(meter_args, tmp / "meter2.log"):
        _wait_meter(meter_url)
        with serve(database_url, port=server_port) as server:
            key, installation_id = _enroll(tmp, server.url, meter_url, "backlog")
            first = subprocess.run([str(WATTWITNESS), "agent", "--server", server.url, "--meter", meter_url, "--key",
                                    str(key), "--state", str(state), "--interval", "0.01", "--max-records", "1"],
                                   capture_output=True, text=True, timeout=120)
            if first.returncode != 0:
                raise RuntimeError(f"the first agent run failed: {first.stdout}{first.stderr}")
            server_url = server.url
        # The outage: no server. The agent signs the backlog into its outbox, its sender backing off.
        load_start = load()
        with _process(["agent", "--server", server_url, "--meter", meter_url, "--key", str(key), "--state",
                       str(state), "--interval", "0.01", "--max-records", str(count), "--log-level", "WARNING"],
                      tmp / "agent2.log") as agent:
            signing_started = time.monotonic()
            outbox = state / "outbox.sqlite3"
            while _outbox_depth(outbox) < count:
                if agent.poll() is not None:
                    raise RuntimeError(f"the agent exited: {(tmp / 'agent2.log').read_text()[-2000:]}")
                time.sleep(0.5)
            signing_s = time.monotonic() - signing_started
            with serve(database_url, port=server_port) as server:
                up = time.monotonic()
                first_seen, first_stored = None, 0
                while (stored := _count(server.url, installation_id)) < count + 1:
                    if first_seen is None and stored > 1:
                        # The first batch is already in: the drain rate counts only what follows it.
                        first_seen, first_stored = time.monotonic(), stored - 1
                    if time.monotonic() - up > 900:
                        raise RuntimeError(f"the backlog did not drain in 15 min ({stored} stored)")
                    time.sleep(0.1)
                done = time.monotonic()
                first_seen = first_seen or done
            agent.wait(timeout=60)
    return [[f"agent signing {count:,} readings into its outbox, server down", f"{signing_s:.1f} s"],
            ["server back up → first backlog reading stored (the agent's backoff)", f"{first_seen - up:.1f} s"],
            [f"drain: first → all {count:,} stored (batches of up to 500)",
             f"{done - first_seen:.1f} s after the first {first_stored:,} "
             f"({(count - first_stored) / (done - first_seen):,.0f} readings/s for the rest)"
             if done - first_seen >= 0.2 else "within one 0.1 s poll"],
            ["server back up → backlog drained", f"{done - up:.1f} s (load avg {load_start} → {load()})"]]


def _outbox_depth(path: Path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as connection:
            return int(connection.execute("SELECT count(*) FROM outbox").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="steady-state measurement length")
    parser.add_argument("--backlog", type=int, default=8640, help="readings signed during the outage")
    args = parser.parse_args()
    if args.seconds < 5 or args.backlog < 1:
        parser.error("--seconds >= 5, --backlog >= 1")
    die_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="ww-bench-agent-") as tmp:
        database_url = f"sqlite:///{tmp}/server.db"
        rows = steady(Path(tmp), database_url, args.seconds)
        rows += backlog(Path(tmp), database_url, args.backlog)
    publish("agent", "`wattwitness agent` (software signer) against `wattwitness simulate-meter` and "
            "`wattwitness serve` (SQLite, 1 worker) on the same machine.\n\n" + table(["figure", "value"], rows),
            section="Agent")


if __name__ == "__main__":
    main()
