"""Small pieces several test modules share: stored rows read back, the SQL a block runs, access tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Department, User, utcnow


def user(username: str) -> User | None:
    with database.connection_context():
        return User.get_or_none(User.username == username)


def department(code: str) -> Department | None:
    with database.connection_context():
        return Department.get_or_none(Department.code == code)


@contextmanager
def recorded_sql(db) -> Iterator[list[str]]:
    """The statements ``db`` (the database object, not its proxy) executes inside the block, in order."""
    seen, execute = [], db.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        seen.append(sql)
        return execute(sql, params, *args, **kwargs)

    db.execute_sql = spy
    try:
        yield seen
    finally:
        del db.execute_sql


def routes(gets, posts) -> list[tuple[str, str]]:
    """(method, url) of each GET and each POST route: the parameters of an access test."""
    return [("get", url) for url in gets] + [("post", url) for url in posts]


def sent_to_login(gets, posts, *fixtures: str):
    """A test, to be named ``test_...`` in a module, that each route sends an anonymous visitor to log in.

    ``fixtures``: what the routes need to exist (seeded documents, users).
    """
    @pytest.mark.usefixtures(*fixtures)
    @pytest.mark.parametrize(("method", "url"), routes(gets, posts))
    def test(client, method, url):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response.headers["Location"] == "/login?" + urlencode({"next": url})

    return test


def assert_retried_now(client, log_url: str, row, error: str, button: str, action: str) -> None:
    """The failed ``row`` (an e-mail or a webhook delivery) is listed at ``log_url`` with its error and its retry
    button; retrying queues it again now, audited as ``action``, and the page above the log counts it pending."""
    page = client.get(f"{log_url}?status=failed").get_data(as_text=True)
    assert error in page and f'id="{button}"' in page
    assert client.post(f"{log_url}/{row.id}/retry").status_code == 302
    again = type(row).get()
    assert again.status == "pending" and again.next_attempt_at > utcnow() - timedelta(minutes=1)
    assert AuditEntry.get().action == action
    assert "pending: 1" in client.get(log_url.rsplit("/", 1)[0] + "/").get_data(as_text=True)


def logged_in(app, username: str):
    """A test client of ``app`` logged in as ``username`` through the real form (the demo password)."""
    from conftest import PASSWORD

    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def fieldset(html: str, name: str) -> str:
    """The step form's fieldset of field ``name`` in a page."""
    start = html.index(f'data-lz-field="{name}"')
    return html[html.rindex("<fieldset", 0, start):html.index("</fieldset>", start)]


def plan_nodes(node: dict) -> Iterator[dict]:
    """Every node of a PostgreSQL ``EXPLAIN (FORMAT JSON)`` plan, depth first."""
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)
