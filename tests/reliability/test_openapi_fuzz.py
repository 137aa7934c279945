"""schemathesis against the app's own OpenAPI: every operation, a bounded number of generated requests.

The app runs in process (ASGI) on a migrated SQLite database that holds one enrolled installation with
a short signed chain, so that generated ids 1, 2, ... reach real rows, not only 404s. Every response
must be below 500 and match the status codes, content types and schemas the OpenAPI document
declares. The live stream is excluded: for an existing installation it never ends (its access and 404
are covered by test_authorization.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.reliability.helpers import seeded_app

MAX_EXAMPLES = 25

# What issue 7 asks: no 5xx, and every response as documented. Two deliberate departures from
# schemathesis' defaults, each covered by a deterministic test below instead:
# - error bodies are checked against docs/api.md's contract ({"error", "detail"}) rather than the
#   OpenAPI document, whose 422 schema is FastAPI's HTTPValidationError (requests R4);
# - status-code conformance is left out: an undocumented 404 on export (R3) would fail every run.
# schemathesis' positive-data check is also left out: the API validates more than a schema can say
# (IANA zones, signatures, enrollment records), so schema-valid bodies are rightly refused.


@schemathesis.check
def documented_success_and_named_errors(ctx: CheckContext, response: Response, case: schemathesis.Case) -> bool:
    if response.status_code < 400:
        content_type_conformance(ctx, response, case)
        response_schema_conformance(ctx, response, case)
        return True
    body = response.json()
    if not (isinstance(body, dict) and set(body) == {"error", "detail"}
            and isinstance(body["error"], str) and isinstance(body["detail"], str)):
        raise AssertionError(f"{response.status_code} body is not {{error, detail}}: {response.text[:300]}")
    return True


CHECKS = [not_a_server_error, documented_success_and_named_errors]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with seeded_app(tmp_path_factory.mktemp("fuzz")) as (application, _):
        yield application


def test_no_server_errors_and_responses_match_schema(fuzz_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app).exclude(path_regex=r"/stream$")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except BaseException as err:
            failures[operation.label] = f"{type(err).__name__}: {err}"[:2000]
    assert operations >= 15, "the OpenAPI document lost operations"
    assert failures == {}, "\n\n".join(f"{label}: {text}" for label, text in failures.items())


def _openapi(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_every_route_with_an_installation_id_documents_404(fuzz_app: FastAPI) -> None:
    missing = [f"{method.upper()} {path}" for path, operations in _openapi(fuzz_app)["paths"].items()
               for method, operation in operations.items()
               if "{installation_id}" in path and "404" not in operation["responses"]]
    assert missing == []


def test_documented_error_bodies_are_error_and_detail(fuzz_app: FastAPI) -> None:
    document = _openapi(fuzz_app)
    wrong = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if int(status) >= 400 and schema is not None:
                    name = schema.get("$ref", "").rpartition("/")[2]
                    properties = document["components"]["schemas"].get(name, schema).get("properties", {})
                    if set(properties) != {"error", "detail"}:
                        wrong.append(f"{method.upper()} {path} {status}: {name or schema}")
    assert wrong == []
