"""Replays recorded Shelly answers (tests/fixtures/shelly/<device>/) through an httpx transport."""

from __future__ import annotations

from pathlib import Path

import httpx

FIXTURES = Path(__file__).parent.parent / "fixtures" / "shelly"


def fixture_name(request: httpx.Request) -> str:
    name = request.url.path.strip("/").replace("/", "_") or "root"
    if "id" in request.url.params:
        name += f"_id{request.url.params['id']}"
    return name


def replay_transport(device: str, seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    directory = FIXTURES / device

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        name = fixture_name(request)
        plain = directory / f"{name}.json"
        if plain.exists():
            return httpx.Response(200, content=plain.read_bytes(), headers={"content-type": "application/json"})
        for path in directory.glob(f"{name}.*.json"):
            status = int(path.name.removesuffix(".json").rsplit(".", 1)[1])
            return httpx.Response(status, content=path.read_bytes(), headers={"content-type": "application/json"})
        return httpx.Response(404, text="Not Found")

    return httpx.MockTransport(handle)


def replay_client(device: str, seen: list[httpx.Request] | None = None) -> httpx.Client:
    return httpx.Client(transport=replay_transport(device, seen))
