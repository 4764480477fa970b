"""Prepared hot queries and the engine's statement budget (issue 10), on both databases."""

from __future__ import annotations

import logging

import pytest
from test_engine import fresh, new_ticket

from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import Department, Rule, RuleRun, User, WebhookDelivery, WebhookEndpoint
from workflows.storage.prepared import Prepared
from workflows.tickets import assignment, engine


@pytest.fixture
def statements():
    """The SQL text of every statement peewee runs while the test body runs."""
    seen: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record):
            seen.append(str(record.msg[0]) if isinstance(record.msg, tuple) else record.getMessage())

    logger, handler = logging.getLogger("peewee"), Handler(logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield seen
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_prepared_query_builds_its_text_once_and_reads_fresh_rows(world):
    built = []

    def build(name):
        built.append(name)
        return User.select().where(User.username == name)

    by_name = Prepared(build, str)
    assert [u.role for u in by_name.rows("wh1")] == ["handler"]
    assert by_name.first("nobody") is None
    User.update(role="supervisor").where(User.username == "wh1").execute()
    assert [u.role for u in by_name.rows("wh1")] == ["supervisor"]  # rows are never kept
    assert len(built) == 1


def test_rows_come_as_the_query_itself_returns_them_joined_models_included(world, statements):
    """Prepared.rows converts rows with peewee's private ``_get_cursor_wrapper`` (no public way): pin it."""
    def build(name):
        return User.select(User, Department).join(Department).where(User.username == name)

    expected = [(u.id, u.username, u.department.id, u.department.code) for u in build("wh1")]
    statements.clear()
    [user] = Prepared(build, str).rows("wh1")
    assert isinstance(user, User) and isinstance(user.department, Department)
    assert [(user.id, user.username, user.department.id, user.department.code)] == expected
    assert len(statements) == 1  # the department came with the row, not from another query
    assert Prepared(lambda name: build(name).dicts(), str).rows("wh1")[0]["code"] == "warehouse"


def test_later_calls_reuse_how_the_first_call_read_its_columns(world, monkeypatch):
    """Resolving a result's columns to models, fields and converters depends only on the SQL text: the
    first call's resolution serves the next ones (issue 24: it was about half of a hot read's CPU on
    PostgreSQL), and each row is still converted on its own, an outer join's missing row included."""
    import peewee
    resolved = []
    real = peewee._resolve_model_columns
    monkeypatch.setattr(peewee, "_resolve_model_columns", lambda *a: resolved.append(1) or real(*a))
    User.update(department=None).where(User.username == "agent").execute()
    by_name = Prepared(lambda name: User.select(User, Department).join(Department, peewee.JOIN.LEFT_OUTER)
                       .where(User.username == name), str)
    assert by_name.rows("nobody") == []  # no row: nothing learned yet
    first = by_name.first("wh1")
    again, other = by_name.first("wh1"), by_name.first("agent")
    assert len(resolved) == 1
    assert (again.username, again.department.code, again._dirty) == ("wh1", "warehouse", set())
    assert again is not first and again.department is not first.department
    assert (other.username, other.department) == ("agent", None)
    tuples = Prepared(lambda name: User.select(User.username, Department.code).join(Department)
                      .where(User.username == name).tuples(), str)
    assert tuples.rows("wh1") == tuples.rows("wh1") == [("wh1", "warehouse")]
    assert len(resolved) == 2


def test_an_argument_that_is_not_a_parameter_is_refused(world):
    with pytest.raises(ValueError, match="not a plain query parameter"):
        Prepared(lambda name: User.select().limit(1), str).rows("x")


def test_load_brings_the_creator_without_another_query(world, statements):
    ticket = new_ticket(world)
    statements.clear()
    loaded = engine.load(ticket.number)
    assert (loaded.creator.username, loaded.process_version.document["code"]) == ("agent", "return_goods")
    assert len(statements) == 1


def test_create_and_advance_read_the_rules_once_each(world, statements):
    ticket = fresh(new_ticket(world))
    statements.clear()
    engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version, data={"approval": "approve"},
               transition="warehouse")
    assert sum('FROM "rule"' in sql for sql in statements) <= 1  # kept per configuration stamp (docs/caching.md)
    sqlite = "sqlite" in type(lzdb.database.obj).__name__.lower()  # its writers are exclusive: one statement
    assert sum("assignment_cursor" in sql for sql in statements) == (1 if sqlite else 2)  # else the lock, the pick


def test_a_rule_or_webhook_added_between_actions_applies_at_once(world):
    new_ticket(world)
    WebhookEndpoint.create(name="crm", url="http://127.0.0.1:9/", secret="s", events=["ticket.created"])
    Rule.create(name="tell sup", trigger="ticket.created", actions=[{"type": "notify", "users": ["sup"]}])
    ticket = new_ticket(world)
    assert WebhookDelivery.select().where(WebhookDelivery.event == "ticket.created").count() == 1
    assert [(r.ticket_id, r.matched, r.error) for r in RuleRun.select()] == [(ticket.id, True, None)]


def test_a_caller_is_found_by_any_spelling_of_the_phone(world):
    first = fresh(new_ticket(world, customer={"name": "王", "phone": "138 0013 8000"}))
    again = fresh(new_ticket(world, customer={"phone": "+86 138-0013-8000"}))
    assert first.customer_id == again.customer_id and again.customer.phone == "+8613800138000"


def test_department_candidates_include_every_department_below(world):
    org.create_department("returns", "退货组", parent="warehouse")
    org.create_department("returns_night", "退货夜班", parent="returns")
    org.create_user("night1", "password1", "handler", "returns_night")
    people = assignment.IN_DEPARTMENT.rows("warehouse")
    assert [u.username for u in people] == ["wh1", "wh2", "wh_lead", "night1"]
    assert assignment.IN_DEPARTMENT.rows("missing") == []


def test_the_ticket_load_reads_only_through_indexes(world):
    """``engine.load``'s query, ``related`` included, scans no table (an OR in one EXISTS made SQLite read every
    ticket on every load: 4-5 ms at 10k tickets). PostgreSQL's planner prefers scans on tables this small."""
    if "sqlite" not in type(lzdb.database.obj).__name__.lower():
        assert engine.load(fresh(new_ticket(world)).number).related in (False, 0)
        return
    for _ in range(3):
        new_ticket(world)
    lzdb.database.execute_sql("ANALYZE")  # with statistics, as a real database has them, the planner chose a scan
    sql, params = engine._load_query("X").sql()
    plan = lzdb.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    related = {row[0] for row in plan if row[-1].startswith("CORRELATED")}  # the related column's EXISTS
    steps = [row[-1] for row in plan if row[1] in related]
    assert len(steps) == 4 and all(step.startswith("SEARCH") for step in steps), plan
