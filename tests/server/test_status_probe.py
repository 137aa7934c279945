"""The background internet probe against a real local TCP server and a closed port."""

from __future__ import annotations

import asyncio

import pytest

from tests.ports import free_port
from wattwitness.server.status.probe import InternetProbe, parse_target, probe_once


async def _accepting_server() -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_connects_to_a_listening_server_and_measures_latency() -> None:
    async def scenario() -> None:
        server = await _accepting_server()
        port = server.sockets[0].getsockname()[1]
        async with server:
            result = await probe_once(f"127.0.0.1:{port}", timeout_s=2)
        assert result.connected and result.latency_ms is not None and result.latency_ms >= 0
        assert result.target == f"127.0.0.1:{port}" and result.checked_at is not None

    asyncio.run(scenario())


def test_a_closed_port_is_disconnected_not_an_error() -> None:
    result = asyncio.run(probe_once(f"127.0.0.1:{free_port()}", timeout_s=2))
    assert not result.connected and result.latency_ms is None and result.error


def test_background_task_updates_the_result_and_stops_cleanly() -> None:
    async def scenario() -> None:
        server = await _accepting_server()
        port = server.sockets[0].getsockname()[1]
        probe = InternetProbe(f"127.0.0.1:{port}", interval_s=0.05, timeout_s=1)
        assert probe.result.checked_at is None and not probe.result.connected
        async with server:
            probe.start()
            for _ in range(100):
                if probe.result.connected:
                    break
                await asyncio.sleep(0.02)
            assert probe.result.connected
            await probe.stop()
        # After the server is gone the same probe reports the loss.
        assert not (await probe.probe()).connected

    asyncio.run(scenario())


def test_bad_targets_are_refused() -> None:
    assert parse_target("[::1]:443") == ("::1", 443)
    for bad in ("example.org", ":443", "host:0", "host:http"):
        with pytest.raises(ValueError):
            parse_target(bad)
