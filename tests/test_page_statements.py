"""The statements of the two pages a supervisor opens most, the workspace (``/``) and a ticket page, on both
databases (issue 24): pinned once warm, and no SQL text built for the parts whose shape is fixed.

The workspace still builds its lists' and dashboard's counts per request (their shape follows the reader's team,
and their times change each call): those places are named in ``STILL_BUILT``; any other one fails here.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import peewee
import pytest
from test_engine import to_warehouse

from workflows.storage import db as lzdb
from workflows.tickets import collab, tags

ROOT = Path(__file__).resolve().parent.parent
STILL_BUILT = {("workflows/reporting/queries.py", "counts"), ("workflows/reporting/queries.py", "_read"),
               ("workflows/reporting/dashboard.py", "figures"), ("workflows/reporting/dashboard.py", "queues")}
BUDGET = {"home": 10, "ticket": 13}  # the ticket's: 12 for its handler, who needs no handled_steps read


@pytest.fixture
def built(monkeypatch) -> list[tuple[str, str]]:
    """Where the project asked peewee for SQL text: the innermost project frame (file, function) of each."""
    places: list[tuple[str, str]] = []
    original = peewee.Database.get_sql_context

    def spied(self, *args, **kwargs):
        places.append(_caller())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(peewee.Database, "get_sql_context", spied)
    return places


def _caller() -> tuple[str, str]:
    for frame in reversed(traceback.extract_stack()[:-2]):
        path = Path(frame.filename)
        if path.is_relative_to(ROOT) and not path.is_relative_to(ROOT / "tests"):
            return str(path.relative_to(ROOT)), frame.name
    return "", ""


def counted(client, path: str, built: list) -> tuple[int, list[str]]:
    """The page's status and statements, on its second request (the first warms texts and caches)."""
    assert client.get(path).status_code == 200
    seen: list[str] = []
    built.clear()
    hooks = lzdb.database.obj.query_hooks
    hooks.append(lambda event: seen.append(event.sql))
    try:
        status = client.get(path).status_code
    finally:
        hooks.pop()
    return status, seen


@pytest.fixture
def supervisor(world, client):
    """The client logged in as the service team's supervisor, with a ticket of the team tagged and CC'd."""
    ticket = to_warehouse(world)
    tags.create_tag(world["admin"], "urgent", "#D9534F")
    tags.add(ticket, "urgent", world["admin"])
    collab.add_cc(world["admin"], ticket.number, "fin1")
    assert client.post("/login", data={"username": "sup", "password": "password1"}).status_code == 302
    return ticket


def test_the_ticket_page_builds_no_sql_text_once_warm(supervisor, client, built):
    status, statements = counted(client, f"/tickets/{supervisor.number}", built)
    assert status == 200
    assert built == [], built
    assert len(statements) == BUDGET["ticket"], statements


def test_the_workspace_builds_sql_text_only_for_its_counts(supervisor, client, built):
    status, statements = counted(client, "/", built)
    assert status == 200
    assert set(built) <= STILL_BUILT, built
    assert len(statements) == BUDGET["home"], statements
