"""The agent's client for the WattWitness server's HTTP API (docs/api.md): readings, installations.

Answers are mapped to a few cases the agent acts on: an outcome per record, `ServerUnreachable` (try
again later: no answer, 5xx, 429) or `ServerRejected` (a 4xx that is not a per-record outcome).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import httpx

from wattwitness.protocol import Outcome

from .errors import ServerError, ServerRejected, ServerUnreachable

DEPTH_HEADER = "X-WattWitness-Outbox-Depth"
OUTCOMES = frozenset(outcome.value for outcome in Outcome)


class SignedItem(TypedDict):
    record: str
    signature: str


class BatchResult(TypedDict, total=False):
    index: int
    outcome: str
    detail: str
    reading_id: int | None


@dataclass(frozen=True, slots=True)
class Ack:
    """The server's word on one record: an outcome name from PROTOCOL.md §4 and a human detail."""

    outcome: str
    detail: str


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_body(response: httpx.Response) -> tuple[str, str]:
    body = _json(response)
    if isinstance(body, dict):
        return str(body.get("error", "")), str(body.get("detail", ""))
    return "", response.text[:200]


class ServerApi:
    def __init__(self, base_url: str, http: httpx.Client | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as err:
            raise ServerUnreachable(f"server {self.base_url} unreachable: {err or type(err).__name__}") from err
        if response.status_code >= 500 or response.status_code == 429:
            error, detail = _error_body(response)
            raise ServerUnreachable(f"server answered {response.status_code} {error}: {detail}".rstrip(": "))
        return response

    def submit_one(self, item: SignedItem, depth: int) -> Ack:
        """POST /api/v1/readings/: 201/200 carry the outcome, a 4xx names it in `error`."""
        response = self._request("POST", "/api/v1/readings/", json=item, headers={DEPTH_HEADER: str(depth)})
        if response.status_code in (200, 201):
            body = _json(response)
            outcome = body.get("outcome") if isinstance(body, dict) else None
            if outcome not in OUTCOMES:
                raise ServerError(f"server answered {response.status_code} without a known outcome: {outcome!r}")
            return Ack(str(outcome), str(body.get("detail") or outcome))
        error, detail = _error_body(response)
        if error in OUTCOMES:
            return Ack(error, detail)
        raise ServerRejected(response.status_code, error or "error", detail)

    def submit_batch(self, items: list[SignedItem], depth: int) -> list[Ack]:
        """POST /api/v1/readings/batch: one result per item, in request order."""
        response = self._request("POST", "/api/v1/readings/batch", json={"readings": items},
                                 headers={DEPTH_HEADER: str(depth)})
        if response.status_code != 200:
            error, detail = _error_body(response)
            raise ServerRejected(response.status_code, error or "error", detail)
        body = _json(response)
        results: list[BatchResult] | None = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise ServerError(f"batch answer holds {len(results) if isinstance(results, list) else 'no'} results "
                              f"for {len(items)} readings")
        acks: list[Ack | None] = [None] * len(items)
        for position, result in enumerate(results):
            index = result.get("index", position)
            outcome = result.get("outcome")
            if not isinstance(index, int) or not 0 <= index < len(items) or outcome not in OUTCOMES:
                raise ServerError(f"batch answer has a malformed result: {result!r}")
            acks[index] = Ack(str(outcome), str(result.get("detail") or outcome))
        if any(ack is None for ack in acks):
            raise ServerError("batch answer does not cover every reading")
        return [ack for ack in acks if ack is not None]

    def last_boot(self, key_id: str) -> int:
        """The greatest boot the server holds for this key; 0 when it holds none (or no installation)."""
        response = self._request("GET", "/api/v1/installations/", params={"key_id": key_id})
        if response.status_code != 200:
            error, detail = _error_body(response)
            raise ServerRejected(response.status_code, error or "error", detail)
        body = _json(response)
        if isinstance(body, dict):
            body = body.get("installations", body.get("items"))
        if not isinstance(body, list):
            raise ServerError("installation list is not a list")
        boots = [int(item.get("last_boot") or 0) for item in body
                 if isinstance(item, dict) and str(item.get("key_id", key_id)).lower() == key_id.lower()]
        return max(boots, default=0)

    def enroll(self, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /api/v1/installations/ with a Bearer token; (status, installation) on 200/201."""
        response = self._request("POST", "/api/v1/installations/", json=body,
                                 headers={"Authorization": f"Bearer {token}"})
        if response.status_code not in (200, 201):
            error, detail = _error_body(response)
            raise ServerRejected(response.status_code, error or "error", detail)
        installation = _json(response)
        if not isinstance(installation, dict):
            raise ServerError("server answered the enrollment without an installation")
        return response.status_code, installation
