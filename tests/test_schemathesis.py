"""schemathesis against ``/api/v1/openapi.json``, on both databases: no server error, no response
outside the documented statuses and schemas.

The app is loaded in-process through WSGI (``schemathesis.openapi.from_wsgi``):
same code paths as a server, without a port or thread. Every operation gets a
bounded, derandomized number of generated cases (valid and invalid data), each
sent once with an admin token and once with an agent token, so both the
admin-only paths and the 403 answers are exercised. All failures are gathered
before failing (schemathesis' ``FailureGroup`` is a BaseExceptionGroup, not an
Exception), so one run shows every way the document and the code disagree.
"""

from __future__ import annotations

import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import User

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@pytest.fixture
def tokens(app, seeded, users) -> dict[str, str]:
    """A bearer header for an admin and for an agent of the demo organisation."""
    with app.app_context(), lzdb.database.connection_context():
        return {name: f"Bearer {org.issue_token(User.get(User.username == name), 'schemathesis')}"
                for name in ("admin", "agent")}


def run_operation(operation, mode, tokens: dict[str, str]) -> None:
    """Fuzz one operation in one generation mode; raises the first failing case, as hypothesis shrinks it."""
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        for header in tokens.values():
            case.call_and_validate(headers={"Authorization": header}, checks=CHECKS)

    fuzz()


def describe(error: BaseException) -> str:
    """Schemathesis' report of a contract failure; for an exception, also the frame that raised it."""
    text = "".join(traceback.format_exception_only(error)).strip()
    if isinstance(error, FailureGroup):
        return text
    where = traceback.extract_tb(error.__traceback__)[-1]
    return f"{text}\n  raised at {where.filename}:{where.lineno}"


def load_schema(app, db_url: str):
    """The served document, NUL characters included (refused with 400 at the door on both databases)."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=schemathesis.Config())


def test_the_api_keeps_its_openapi_contract(app, db_url, tokens):
    schema = load_schema(app, db_url)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            try:
                run_operation(operation, mode, tokens)
            except (Exception, FailureGroup) as error:  # noqa: BLE001 - gathered, reported together below
                failures.append(f"{operation.label} [{mode.value}]: {describe(error)}")
    assert not failures, "\n\n".join(failures)


# --- regressions of product bugs schemathesis found ---------------------------------------------------

def test_steps_without_keys_are_a_problem_not_a_server_error(client, tokens):
    document = {"format": 1, "code": "x_y", "name": "x", "schema": {"type": "object", "properties": {}},
                "steps": [{}, {}]}
    response = client.post("/api/v1/processes/x_y/check", json=document,
                           headers={"Authorization": tokens["admin"]})
    assert response.status_code == 200 and response.json["problems"]


def test_nul_characters_are_refused_by_name_on_both_databases(client, tokens):
    """PostgreSQL refuses NUL in text; the app refuses it first, naming the field, on SQLite too."""
    token = client.post("/api/v1/auth/token", json={"username": "a\x00", "password": "x"})
    lookup = client.get("/api/v1/customers", query_string={"phone": "1\x00"},
                        headers={"Authorization": tokens["agent"]})
    assert (token.status_code, lookup.status_code) == (400, 400)
    assert list(token.json["fields"]) == ["username"] and list(lookup.json["fields"]) == ["phone"]
