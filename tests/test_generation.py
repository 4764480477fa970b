"""The configuration stamp and the caches behind it (issue 24, ``workflows.storage.generation``), on both
databases: a change committed by another process is seen at the next request; a rolled-back change
leaves nothing behind; and the statements an API read and an advance cost stay pinned.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from test_engine import REGISTER, fresh, to_warehouse

from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage import generation
from workflows.storage.models import Ticket
from workflows.tickets import engine

MOVE_WH1 = ('UPDATE "user" SET department_id = (SELECT id FROM department WHERE code = \'finance\') '
            "WHERE username = 'wh1'")


def in_another_process(db_url: str, sql: str) -> None:
    """Run ``sql`` and commit it from a separate Python process, with the database driver alone."""
    script = textwrap.dedent(f"""
        import sys
        url, sql = {db_url!r}, {sql!r}
        if url.startswith("sqlite:///"):
            import sqlite3
            with sqlite3.connect(url[len("sqlite:///"):], timeout=30) as conn:
                conn.execute(sql)
        else:
            import psycopg
            with psycopg.connect(url) as conn:
                conn.execute(sql)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


@pytest.fixture
def lead_token(world) -> str:
    return org.issue_token(world["wh_lead"], "test")


def test_a_change_committed_by_another_process_is_seen_at_the_next_request(world, client, db_url, lead_token):
    """wh_lead reads the warehouse's ticket through oversight (cached org); wh1 moves to finance elsewhere."""
    ticket = to_warehouse(world)
    assert fresh(ticket).assignee.username in ("wh1", "wh2")
    engine_ticket = fresh(ticket)
    if engine_ticket.assignee.username != "wh1":  # the least-loaded pick: put it on wh1 for this test
        from workflows.storage.models import Ticket
        Ticket.update(assignee=world["wh1"]).where(Ticket.id == ticket.id).execute()
    headers = {"Authorization": f"Bearer {lead_token}"}
    assert client.get(f"/api/v1/tickets/{ticket.number}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/tickets/{ticket.number}", headers=headers).status_code == 200  # served cached
    in_another_process(db_url, MOVE_WH1)
    answer = client.get(f"/api/v1/tickets/{ticket.number}", headers=headers)
    assert answer.status_code == 403, answer.get_json()


def test_a_rolled_back_change_leaves_nothing_cached(world):
    lead, wh1 = world["wh_lead"], world["wh1"].id
    with generation.scope():
        assert wh1 in org.team_ids(lead)
    with lzdb.database.atomic() as transaction:
        lzdb.database.execute_sql(MOVE_WH1)
        with generation.scope():
            assert wh1 not in org.team_ids(lead)  # built inside the transaction, from what it wrote
        transaction.rollback()
    org.rename_department("finance", "财务部")  # another change commits: a counter would reuse the stamp
    with generation.scope():
        assert wh1 in org.team_ids(lead)


def test_outside_a_scope_the_stamp_is_read_at_each_use(world):
    lead, wh1 = world["wh_lead"], world["wh1"].id
    assert wh1 in org.team_ids(lead)
    lzdb.database.execute_sql(MOVE_WH1)
    assert wh1 not in org.team_ids(lead)


def counted(client, method: str, path: str, **kwargs) -> tuple[int, list[str]]:
    seen: list[str] = []
    hooks = lzdb.database.obj.query_hooks
    hooks.append(lambda event: seen.append(event.sql))
    try:
        status = client.open(path, method=method, **kwargs).status_code
    finally:
        hooks.pop()
    return status, seen


BUDGET = {"api get": 3, "api advance": 8}  # issue 24's targets, for the operations bench.http times
CREATE = {"sqlite": 9, "postgresql": 10}  # token; (BEGIN,) cursor, number, ticket, event, notice, search; COMMIT;
# the answer's history


def test_the_statements_of_an_api_read_and_an_advance(world, client):
    """As ``bench.http`` times them: a ticket read by its handler, and advanced by a handler whose step's form
    already holds the value it posts (its pool tickets); each after one of its kind warmed the caches."""
    first = engine.create(world["agent"], "return_goods", dict(REGISTER))
    handler = fresh(first).assignee
    headers = {"Authorization": f"Bearer {org.issue_token(handler, 'test')}", "Content-Type": "application/json"}
    client.get(f"/api/v1/tickets/{first.number}", headers=headers)  # the token's first use is written once
    status, read = counted(client, "GET", f"/api/v1/tickets/{first.number}", headers=headers)
    assert status == 200 and len(read) == BUDGET["api get"], read
    assert advance_by_api(client, headers, first)[0] == 200  # warms the next step's candidates
    pooled = Ticket.create(number="POOL1", process_version=fresh(first).process_version_id, step="approve",
                           assignee=handler, creator=world["agent"], data=fresh(first).data, channel="phone")
    status, acted = advance_by_api(client, headers, pooled)
    assert status == 200 and len(acted) <= BUDGET["api advance"], "\n".join(s[:120] for s in acted)
    assert fresh(pooled).step == "warehouse"


def test_an_advance_that_changes_a_field_also_rewrites_its_search_part(world, client):
    """One statement more than the pooled advance: the changed field's search part (one upsert)."""
    headers, ticket = one_handlers_second_ticket(world, client)
    status, acted = advance_by_api(client, headers, ticket)
    assert status == 200 and len(acted) <= BUDGET["api advance"] + 1, "\n".join(s[:120] for s in acted)
    assert sum(sql.startswith('INSERT INTO search_part') for sql in acted) == 1


def one_handlers_second_ticket(world, client) -> tuple[dict, Ticket]:
    """A handler's token headers and the second of two tickets they hold, after advancing the first by the
    API (which warms the texts and caches the second one's advance reads)."""
    tickets = [engine.create(world["agent"], "return_goods", dict(REGISTER)) for _ in range(2)]
    handler = fresh(tickets[1]).assignee
    for ticket in tickets:
        Ticket.update(assignee=handler).where(Ticket.id == ticket.id).execute()
    headers = {"Authorization": f"Bearer {org.issue_token(handler, 'test')}", "Content-Type": "application/json"}
    assert advance_by_api(client, headers, tickets[0])[0] == 200
    return headers, tickets[1]


def advance_by_api(client, headers: dict, ticket, **extra) -> tuple[int, list[str]]:
    body = json.dumps({"action": "advance", "version": fresh(ticket).version, "data": {"approval": "approve"},
                       "transition": "warehouse", **extra})
    return counted(client, "POST", f"/api/v1/tickets/{ticket.number}/actions", headers=headers, data=body)


def test_an_api_list_reads_its_rows_alone_once_warm(world, client):
    """Token and stamp, then the page's one query: users' names and the pinned versions come from the
    caches kept per configuration stamp (no user or process_version statement)."""
    for _ in range(3):
        engine.create(world["agent"], "return_goods", dict(REGISTER))
    headers = {"Authorization": f"Bearer {org.issue_token(world['agent'], 'test')}"}
    path = "/api/v1/tickets?scope=mine&status=open&process=return_goods"
    assert client.get(path, headers=headers).status_code == 200
    status, listed = counted(client, "GET", path, headers=headers)
    assert status == 200 and len(listed) == 2, "\n".join(s[:120] for s in listed)
    answer = client.get(path, headers=headers).get_json()["items"]
    assert len(answer) == 3 and {item["creator"] for item in answer} == {"agent"}


def test_an_advance_with_a_comment_costs_two_statements_more_not_a_reindex(world, client):
    """The comment's event carries it; the notes part is read and rewritten (one read, one upsert)."""
    headers, ticket = one_handlers_second_ticket(world, client)
    status, acted = advance_by_api(client, headers, ticket, comment="已核实，同意退货")
    assert status == 200 and len(acted) <= BUDGET["api advance"] + 2, "\n".join(s[:120] for s in acted)
    assert sum(sql.startswith('INSERT INTO search_part') for sql in acted) == 1


def test_an_api_create_answers_from_the_new_ticket_without_looking_for_relatives(world, client, db_url):
    """No row refers to a ticket its own create wrote: the answer reads no relatives (that read scanned
    every ticket on PostgreSQL, 4 ms of an 8 ms create at 10k tickets), only the history."""
    headers = {"Authorization": f"Bearer {org.issue_token(world['agent'], 'test')}",
               "Content-Type": "application/json"}
    body = {"process": "return_goods", "data": dict(REGISTER)}
    assert client.post("/api/v1/tickets", headers=headers, data=json.dumps(body)).status_code == 201
    status, created = counted(client, "POST", "/api/v1/tickets", headers=headers, data=json.dumps(body))
    assert status == 201 and not any("ticket_link" in sql for sql in created), "\n".join(created)
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    assert len(created) <= CREATE[kind], "\n".join(s[:120] for s in created)


def test_a_create_outside_a_scope_reads_the_stamp_once(world):
    """A script, the worker or the engine bench calls ``engine.create`` with no request around it: the
    version and form it reads before its action opens share the action's stamp (one read, not two)."""
    engine.create(world["agent"], "return_goods", dict(REGISTER))  # warm: the compiled form is built once
    seen: list[str] = []
    hooks = lzdb.database.obj.query_hooks  # as ``counted`` above captures the API's statements
    hooks.append(lambda event: seen.append(event.sql))
    try:
        engine.create(world["agent"], "return_goods", dict(REGISTER))
    finally:
        hooks.pop()
    assert sum(generation.SQL_STAMP in text for text in seen) == 1
