"""A real local HTTP server standing in for the WattWitness server in agent tests.

It implements only what the agent uses (single and batch readings, the installation lookup) and judges
each record with the protocol library's own rules (check_signed + check_chain over a MemoryChainStore),
so "delivered" means "verified as the real server would". It can be down (not listening), answer 503,
or store a batch and then lose the answer, to exercise the agent's retries.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wattwitness.protocol import (
    Enrollment,
    MemoryChainStore,
    Outcome,
    StoredRecord,
    Verdict,
    check_chain,
    check_signed,
    key_id,
    parse_item,
    verify,
)
from wattwitness.protocol.outcomes import ProtocolError


@dataclass
class StubState:
    public_key: bytes
    meter: bytes
    clock_offset: float = 0.0
    store: MemoryChainStore = field(default_factory=MemoryChainStore)
    stored: list[tuple[int, int]] = field(default_factory=list)
    signatures: dict[tuple[int, int], bytes] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)
    depth_headers: list[int] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    fail_status: int | None = None
    lose_answers: int = 0
    enroll_tokens: dict[str, str] = field(default_factory=lambda: {"admin-token": "admin", "viewer-token": "viewer"})
    enrolled: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def judge(self, record_hex: Any, signature_hex: Any) -> tuple[str, str]:
        try:
            record, signature = parse_item(record_hex, signature_hex)
        except ProtocolError as err:
            return Outcome.MALFORMED.value, str(err)
        result = check_signed(record, signature, self.public_key, self.meter)
        if isinstance(result, Verdict):
            return result.outcome.value, result.detail
        verdict = check_chain(self.store, result, record, now=int(time.time() + self.clock_offset))
        if verdict.outcome in (Outcome.VERIFIED, Outcome.GAP, Outcome.COUNTER_RESET):
            self.store.add(StoredRecord(result, record, verdict.hash))
            self.stored.append(result.order)
            self.signatures[result.order] = signature
        self.outcomes.append(verdict.outcome.value)
        return verdict.outcome.value, verdict.detail

    def items(self) -> list[tuple[bytes, bytes]]:
        """What the stub stored, as (record, signature) in arrival order: an export to verify offline."""
        return [(self.store.by_order[order].record, self.signatures[order]) for order in self.stored]

    def last_boot(self) -> int | None:
        return max((boot for boot, _ in self.store.by_order), default=None)


class _Handler(BaseHTTPRequestHandler):
    server: _StubHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        if url.path != "/api/v1/installations/":
            return self._send(404, {"error": "not_found", "detail": url.path})
        wanted = parse_qs(url.query).get("key_id", [None])[0]
        mine = key_id(state.public_key)
        with state.lock:
            found = [] if wanted not in (None, mine) else [{"id": 1, "key_id": mine, "last_boot": state.last_boot()}]
        return self._send(200, found)

    def do_POST(self) -> None:
        state = self.server.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        with state.lock:
            if state.fail_status is not None:
                return self._send(state.fail_status, {"error": "database_unavailable", "detail": "stub is failing"})
            state.depth_headers.append(int(self.headers.get("X-WattWitness-Outbox-Depth", "-1")))
            path = urlsplit(self.path).path
            if path == "/api/v1/installations/":
                return self._send(*self._enroll(body))
            if path == "/api/v1/readings/":
                state.batch_sizes.append(1)
                outcome, detail = state.judge(body.get("record"), body.get("signature"))
                answer: tuple[int, Any]
                if outcome in ("verified", "gap", "counter_reset"):
                    answer = (201, {"outcome": outcome, "detail": detail})
                elif outcome == "duplicate":
                    answer = (200, {"outcome": outcome, "detail": detail})
                else:
                    answer = (409 if outcome == "equivocation" else 422, {"error": outcome, "detail": detail})
            elif path == "/api/v1/readings/batch":
                items = body["readings"]
                state.batch_sizes.append(len(items))
                results = []
                for index, item in enumerate(items):
                    outcome, detail = state.judge(item.get("record"), item.get("signature"))
                    results.append({"index": index, "outcome": outcome, "detail": detail, "reading_id": None})
                answer = (200, {"results": results})
            else:
                return self._send(404, {"error": "not_found", "detail": path})
            if state.lose_answers > 0:
                # Stored, but the answer never arrives: the agent must resend and get `duplicate`.
                state.lose_answers -= 1
                return self._send(503, {"error": "database_unavailable", "detail": "answer lost"})
        return self._send(*answer)


    def _enroll(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        state = self.server.state
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        role = state.enroll_tokens.get(token)
        if role is None:
            return 401, {"error": "unauthorized", "detail": "unknown token"}
        if role != "admin":
            return 403, {"error": "forbidden", "detail": "token may not create installations"}
        try:
            public_key = bytes.fromhex(body["public_key"])
            record = bytes.fromhex(body["enrollment_record"])
            enrollment = Enrollment.decode(record)
            valid = verify(public_key, record, bytes.fromhex(body["enrollment_signature"]))
        except (KeyError, ValueError) as err:
            return 422, {"error": "malformed", "detail": str(err)}
        if not valid or enrollment.public_key != public_key:
            return 422, {"error": "invalid_signature", "detail": "enrollment signature does not verify"}
        for existing in state.enrolled:
            same_key = existing["public_key"] == public_key.hex()
            same_meter = existing["shelly_mac"] == enrollment.meter.hex().upper()
            if same_key and same_meter:
                return 200, existing
            if same_key or same_meter:
                return 409, {"error": "conflict", "detail": "key or meter bound to another installation"}
        installation = {"id": len(state.enrolled) + 1, "name": body["name"], "public_key": public_key.hex(),
                        "key_id": key_id(public_key), "shelly_mac": enrollment.meter.hex().upper(),
                        "timezone": body.get("timezone"), "capacity_w": body.get("capacity_w"),
                        "key_storage": body.get("key_storage")}
        state.enrolled.append(installation)
        return 201, installation


class _StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: StubState) -> None:
        super().__init__(address, _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the kill -9 tests) is expected; anything else is still printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StubServer:
    """start()/stop() can be called repeatedly; the port stays the same so the agent's URL keeps working."""

    def __init__(self, public_key: bytes, meter: bytes, port: int = 0) -> None:
        self.state = StubState(public_key, meter)
        self.port = port
        self._server: _StubHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StubServer:
        self._server = _StubHTTPServer(("127.0.0.1", self.port), self.state)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
