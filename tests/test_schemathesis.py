"""The API against its own OpenAPI schema (schemathesis): no 5xx, every answer conforms.

For every operation of the schema, requests are generated from it and sent as an
administrator (every route is open to that role) to the app on a real SQLite database;
each answer is checked: no server error, a documented status, a body matching its
schema. A bounded number of examples per operation keeps the run short.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from flows.casework.store import make_engine

EXAMPLES_PER_OPERATION = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
"""Schema-valid requests may still be refused with 422: a YAML string or a procedure id
cannot say in the schema whether it names a valid procedure."""

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("engine", ["sqlite"], indirect=True)]
"""Slow (every operation, many generated requests); the schema does not depend on the
database: SQLite only."""


def _operation_labels() -> list[str]:
    """Every operation of the schema (read from an app that is never started: starting it
    would start Prefect and the relay while the tests are being collected)."""
    schema = schemathesis.openapi.from_dict(
        create_app(make_engine("sqlite://"), secret_key="s" * 40, demo_accounts=False).openapi())
    return [result.ok().label for result in schema.get_all_operations()]


@pytest.mark.parametrize("label", _operation_labels())
def test_no_server_error_and_every_answer_conforms_to_the_schema(app, client, auth, label):
    method, path = label.split(" ", 1)
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=auth["admin"], checks=CHECKS)

    check()
