"""The workspace dashboard on both databases: exact counts on a hand-built set at a frozen time, and who sees it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from conftest import example
from helpers import plan_nodes, recorded_sql
from test_engine import new_ticket
from test_lists import login

import workflows.reporting.dashboard
from workflows.processes import documents as docs
from workflows.reporting.dashboard import DUE_SOON, Dashboard, day_start, due_state, figures
from workflows.storage.models import Ticket

NOW = datetime(2026, 11, 22, 2, 0)  # UTC; 10:00 in Shanghai, whose day began at 2026-11-21 16:00 UTC
APPROVE, WAREHOUSE = "主管审批", "仓库收货"


def shape(world, team: str, step: str, *, status="open", due=None, overdue_at=None, created=NOW, version=None):
    """A ticket set by hand: its team (who created and handles it), step, status and times."""
    creator, assignee = {"service": ("agent", "sup2"), "warehouse": ("wh_lead", "wh2")}[team]
    ticket = new_ticket(world)
    changes = {"creator": world[creator], "assignee": None if status == "closed" else world[assignee],
               "step": "$end" if status == "closed" else step, "status": status, "due_at": due,
               "overdue_at": overdue_at, "created_at": created, "closed_at": created if status == "closed" else None}
    Ticket.update(**changes).where(Ticket.id == ticket.id).execute()
    return ticket


@pytest.fixture
def hand_built(world):
    """Service team: 7 open (2 overdue, 1 due soon), 1 closed; warehouse team: 1 open overdue ticket."""
    shape(world, "service", "approve", due=NOW + timedelta(hours=3), created=datetime(2026, 11, 22, 1, 0))
    shape(world, "service", "approve", due=NOW + timedelta(hours=1), created=datetime(2026, 11, 21, 15, 59))
    shape(world, "service", "approve", due=NOW - timedelta(minutes=1), created=datetime(2026, 11, 21, 16, 0))
    shape(world, "service", "warehouse", due=NOW - timedelta(hours=1), overdue_at=NOW - timedelta(hours=1),
          created=datetime(2026, 11, 20, 9, 0))
    shape(world, "service", "approve", status="closed", overdue_at=NOW - timedelta(days=1),
          created=datetime(2026, 11, 22, 0, 30))
    shape(world, "service", "warehouse", created=NOW)
    shape(world, "service", "approve", due=NOW + timedelta(hours=2), created=datetime(2026, 11, 19, 8, 0))
    shape(world, "warehouse", "warehouse", due=NOW - timedelta(hours=5), created=datetime(2026, 11, 22, 1, 59))
    document = example("return_goods.process.json")
    document["description"] = "第二版"
    docs.save_process(document, publish=True)  # a ticket of version 2 joins the same queue
    shape(world, "service", "approve", created=datetime(2026, 11, 18, 8, 0))


def test_the_shanghai_day():
    assert day_start(NOW) == datetime(2026, 11, 21, 16, 0)
    assert day_start(datetime(2026, 11, 21, 15, 59)) == datetime(2026, 11, 20, 16, 0)


def test_a_supervisor_counts_their_team(world, hand_built):
    assert figures(world["sup"], NOW) == Dashboard(
        open=7, overdue=2, due_soon=1, created_today=4,
        queues=[("退货申请", APPROVE, 5), ("退货申请", WAREHOUSE, 2)])
    assert figures(world["wh_lead"], NOW) == Dashboard(1, 1, 0, 1, [("退货申请", WAREHOUSE, 1)])


def test_an_admin_counts_everything(world, hand_built):
    assert figures(world["admin"], NOW) == Dashboard(
        open=8, overdue=3, due_soon=1, created_today=5,
        queues=[("退货申请", APPROVE, 5), ("退货申请", WAREHOUSE, 3)])


def test_agents_and_handlers_have_no_dashboard(world, hand_built):
    assert figures(world["agent"], NOW) is None and figures(world["wh1"], NOW) is None


def test_the_dashboard_costs_a_few_queries(world, hand_built, db):
    with recorded_sql(db.obj) as seen:
        figures(world["admin"], NOW)
    # the figures, the queues' GROUP BY, then (outside a request) the configuration stamp and the versions
    # not read yet under it (queries.versions_by_id); within a request, once warm, only the first two
    assert len(seen) == 4 and "GROUP BY" in seen[1].upper()


def stats(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-lz-stat="(\w+)">\s*<div[^>]*>[^<]*</div><div[^>]*>(\d+)</div>', html))


def test_the_workspace_shows_it_to_supervisors_only(app, client, world, hand_built, monkeypatch):
    monkeypatch.setattr(workflows.reporting.dashboard, "utcnow", lambda: NOW)
    html = login(client, "sup").get("/").get_data(as_text=True)
    assert stats(html) == {"open": "7", "overdue": "2", "due_soon": "1", "created_today": "4"}
    assert re.search(r'data-lz-queue="退货申请 / 主管审批">[^<]*<strong>5</strong>', html)
    client.post("/logout")
    assert stats(login(client, "admin").get("/").get_data(as_text=True))["open"] == "8"
    client.post("/logout")
    html = login(client, "agent").get("/").get_data(as_text=True)
    assert "lz-dashboard" not in html and stats(html) == {}


@pytest.mark.parametrize(("status", "due", "flagged", "state"), [
    ("open", None, None, None), ("open", NOW + timedelta(hours=3), None, None),
    ("open", NOW + DUE_SOON, None, "soon"), ("open", NOW, None, "soon"),
    ("open", NOW - timedelta(seconds=1), None, "overdue"),
    ("open", NOW + timedelta(hours=3), NOW, "overdue"), ("open", None, NOW, "overdue"),
    ("closed", NOW - timedelta(hours=1), NOW, None), ("closed", NOW + timedelta(minutes=5), None, None),
])
def test_the_lists_badge_is_overdue_soon_or_none(status, due, flagged, state):
    assert due_state(Ticket(status=status, due_at=due, overdue_at=flagged), NOW) == state


def test_the_figures_read_open_and_todays_tickets_not_the_whole_history(world, hand_built, db_url):
    """300 closed tickets of the service team from last month: the four figures are the same and, on
    PostgreSQL, with 2,000 more of them, none of those rows is read."""
    from workflows.reporting.dashboard import four
    from workflows.reporting.queries import scope_condition
    from workflows.storage import db as lzdb
    before = figures(world["sup"], NOW)
    template = {k: v for k, v in Ticket.select().first().__data__.items() if k not in ("id", "number")}
    old = {**template, "status": "closed", "assignee": None, "creator": world["agent"].id, "due_at": None,
           "overdue_at": None, "created_at": NOW - timedelta(days=30), "closed_at": NOW - timedelta(days=29)}
    Ticket.insert_many([{**old, "number": f"OLD{i}"} for i in range(300)]).execute()
    assert figures(world["sup"], NOW) == before
    sql, params = four(scope_condition(world["sup"], "team"), NOW).sql()
    if db_url.startswith("sqlite"):  # its planner takes the team's side at this size, whatever the query says
        return
    Ticket.insert_many([{**old, "number": f"OLDER{i}"} for i in range(2000)]).execute()
    lzdb.database.execute_sql("ANALYZE ticket")
    ((plan,),) = lzdb.database.execute_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchall()
    read = [node["Actual Rows"] + node.get("Rows Removed by Filter", 0) for node in plan_nodes(plan[0]["Plan"])
            if node.get("Relation Name") == "ticket"]
    assert read and max(read) < 300, plan  # every one of the 2,309 before
