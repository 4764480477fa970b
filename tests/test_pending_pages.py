"""Pending as the user sees it (docs/pending.md), on both databases: the ticket page's wait and resume,
the status in lists, filters, exports, reports and the API, and CSRF on the page's forms.

``waiting`` is return-goods as format 2 whose warehouse step has ``allow_wait``; its tickets
reach the warehouse step with wh1 or wh2 (least loaded), its approval step does not allow waiting.
"""

from __future__ import annotations

import copy
import csv
import io
from datetime import date, datetime, timedelta

import pytest
from conftest import example
from test_api import Api

from app import create_app
from workflows.processes import documents as docs
from workflows.storage.models import Ticket, TicketEvent
from workflows.tickets import engine

REGISTER = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "门坏了"}


def waiting_process() -> dict:
    document = copy.deepcopy(example("return_goods.process.json"))
    document.update(format=2, code="waiting", name="等待退货", number_prefix="DD")
    next(s for s in document["steps"] if s["key"] == "warehouse")["allow_wait"] = True
    return document


def publish(world):
    """The ``waiting`` process published in the engine tests' world (other test modules' fixtures call it)."""
    docs.save_process(waiting_process(), publish=True)
    return world


@pytest.fixture
def waiting(world):
    return publish(world)


def fresh(ticket: Ticket) -> Ticket:
    return engine.load(ticket.number)


def at_approval(users, customer: dict | None = None) -> Ticket:
    return fresh(engine.create(users["agent"], "waiting", dict(REGISTER), customer=customer))


def at_warehouse(users, customer: dict | None = None) -> Ticket:
    ticket = at_approval(users, customer)
    engine.act(ticket.assignee, ticket.number, "advance", version=ticket.version, data={"approval": "approve"},
               transition="warehouse")
    return fresh(ticket)


def wait(ticket: Ticket, reason: str = "等客户寄回", **options) -> Ticket:
    ticket = fresh(ticket)
    engine.act(ticket.assignee, ticket.number, "wait", version=ticket.version, comment=reason, **options)
    return fresh(ticket)


def login(client, username: str, lang: str = "en"):
    response = client.post("/login", data={"username": username, "password": "password1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    client.get(f"/lang/{lang}")
    return client


def post_act(client, ticket: Ticket, action: str, **form):
    return client.post(f"/tickets/{ticket.number}/act", data={"action": action, "version": ticket.version, **form},
                       follow_redirects=True)


# --- The ticket page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, words", [("en", ("Pending since", "Resume", "until", "set the ticket pending")),
                                         ("zh", ("起挂起", "恢复处理", "至", "将工单挂起"))])
def test_page_wait_and_resume_round_trip(app, client, waiting, lang, words):
    ticket = at_warehouse(waiting)
    login(client, ticket.assignee.username, lang)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'class="lz-wait-form"' in page and 'name="until"' in page and 'type="datetime-local"' in page
    # 10:00 on the user's wall clock (Asia/Shanghai) is 02:00 UTC, as the engine stores it
    page = post_act(client, ticket, "wait", comment="等客户寄回照片", until="2099-12-20T10:00").get_data(as_text=True)
    waited = fresh(ticket)
    assert (waited.status, waited.pending_until) == ("pending", datetime(2099, 12, 20, 2, 0))
    assert waited.pending_since is not None
    assert "lz-pending-state" in page and "等客户寄回照片" in page and all(w in page for w in words)
    assert 'class="lz-resume-form"' in page and 'class="lz-wait-form"' not in page
    assert f'lz-status">{"Pending" if lang == "en" else "挂起中"}</span>' in page  # the page's header badge
    page = post_act(client, waited, "resume").get_data(as_text=True)
    resumed = fresh(ticket)
    assert (resumed.status, resumed.pending_since, resumed.pending_until) == ("open", None, None)
    assert 'class="lz-wait-form"' in page and "lz-pending-state" not in page
    actions = [e.action for e in TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id)]
    assert actions[-2:] == ["wait", "resume"]


def test_wait_needs_a_reason_and_a_future_until(app, client, waiting):
    ticket = at_warehouse(waiting)
    login(client, ticket.assignee.username)
    page = post_act(client, ticket, "wait", comment=" ").get_data(as_text=True)
    assert fresh(ticket).status == "open" and "This field is required." in page
    page = post_act(client, ticket, "wait", comment="x", until="2001-01-01T10:00").get_data(as_text=True)
    assert fresh(ticket).status == "open" and "Choose a time in the future." in page
    post_act(client, ticket, "wait", comment="x", until="tomorrow")
    assert fresh(ticket).status == "open"


def test_no_wait_form_where_the_engine_would_refuse(app, client, waiting):
    approval = at_approval(waiting)  # its step has no allow_wait
    login(client, approval.assignee.username)
    assert "lz-wait-form" not in client.get(f"/tickets/{approval.number}").get_data(as_text=True)
    post_act(client, approval, "wait", comment="x")
    assert fresh(approval).status == "open"
    ticket = wait(at_warehouse(waiting))
    login(client, "agent")  # the creator reads it but may not act: the state, no resume button
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "lz-pending-state" in page and "lz-resume-form" not in page


def test_until_input_reads_the_users_wall_clock(app):
    from web.pending import until_input

    with app.test_request_context():
        assert until_input("2026-12-20T10:00") == "2026-12-20T02:00:00+00:00"
        assert until_input("2026-12-20T10:00+00:00") == "2026-12-20T10:00:00+00:00"
        assert until_input("") is None and until_input("soon") == "soon"


# --- Lists, filters, exports, reports, API -------------------------------------------------------------------------


def test_pending_in_lists_filters_and_my_tickets(app, client, waiting):
    pending, other = wait(at_warehouse(waiting)), at_warehouse(waiting)
    login(client, pending.assignee.username)
    mine = client.get("/").get_data(as_text=True)  # the default filter ("open") keeps the handler's pending ticket
    assert pending.number in mine and "lz-pending" in mine
    only = client.get("/?status=pending&scope=mine").get_data(as_text=True)
    assert pending.number in only and other.number not in only
    assert pending.number not in client.get("/?status=closed").get_data(as_text=True)
    login(client, "admin", "zh")
    page = client.get("/?scope=all&status=pending").get_data(as_text=True)
    assert pending.number in page and other.number not in page and "挂起中" in page


@pytest.mark.parametrize("lang, label", [("en", "Pending"), ("zh", "挂起中")])
def test_export_says_pending(app, client, waiting, lang, label):
    pending = wait(at_warehouse(waiting))
    login(client, "admin", lang)
    text = client.get("/tickets/export.csv?scope=all&status=pending").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == [pending.number]
    assert rows[1][rows[0].index("Status" if lang == "en" else "状态")] == label


def test_api_lists_pending_tickets(app, client, waiting):
    api = Api(client)
    pending, other = wait(at_warehouse(waiting)), at_warehouse(waiting)
    handler = pending.assignee.username
    items = api("GET", "/tickets?scope=mine&status=pending", handler).json["items"]
    assert [(i["number"], i["status"]) for i in items] == [(pending.number, "pending")]
    listed = {i["number"]: i["status"] for i in api("GET", "/tickets?scope=all&status=open", "admin").json["items"]}
    assert listed[pending.number] == "pending" and listed[other.number] == "open"
    assert api("GET", "/tickets?scope=all&status=closed", "admin").json["items"] == []
    enum = api("GET", "/openapi.json").json["components"]["schemas"]["TicketSummary"]["properties"]["status"]
    assert "pending" in enum["enum"]


def test_open_tickets_count_and_report_count_pending_ones(app, client, waiting):
    from workflows.reporting.queries import counts
    from workflows.reporting.reports import ReportFilters, report

    pending, other = wait(at_warehouse(waiting)), at_warehouse(waiting)
    same = pending.assignee_id == other.assignee_id  # least loaded may pick the same handler twice
    assert counts(pending.assignee)["mine"] == (2 if same else 1) and counts(waiting["admin"])["all"] == 2
    today = date.today()
    found = report(waiting["admin"], ReportFilters(today - timedelta(days=1), today + timedelta(days=1)))
    assert found.total.open_end == 2
    load = {w.username: w.open for w in found.workload}
    assert load[pending.assignee.username] == (2 if same else 1)


# --- CSRF ---------------------------------------------------------------------------------------------------------


def csrf_app(db_url, tmp_path):
    """The app with CSRF on, as in production."""
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                       "UPLOAD_DIR": str(tmp_path / "uploads")})


@pytest.fixture
def guarded(db_url, tmp_path):
    return csrf_app(db_url, tmp_path)


def test_the_page_forms_carry_a_csrf_token_and_need_it(guarded, waiting):
    ticket = at_warehouse(waiting)
    client = guarded.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0] if 'name="csrf_token" type' in page \
        else page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": ticket.assignee.username, "password": "password1", "csrf_token": token})
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    wait_form = page.split('class="lz-wait-form"')[1].split("</form>")[0]
    assert 'name="csrf_token"' in wait_form
    refused = client.post(f"/tickets/{ticket.number}/act", data={"action": "wait", "version": ticket.version,
                                                                 "comment": "x"})
    assert refused.status_code == 400 and fresh(ticket).status == "open"
    bulk = client.post("/tickets/bulk", data={"action": "resume", "tickets": f"{ticket.number}:{ticket.version}"})
    assert bulk.status_code == 400


def test_a_pending_ticket_still_shows_its_fields_to_its_handler_and_their_supervisor(app, client, waiting):
    """Waiting is not closing: the handler who holds it and their supervisor read what they read while it was open."""
    from workflows.tickets.access import visible_fields

    ticket = at_warehouse(waiting)
    before = {who: visible_fields(waiting[who], ticket) for who in (ticket.assignee.username, "wh_lead")}
    waited = wait(ticket)
    assert {who: visible_fields(waiting[who], waited) for who in before} == before
    assert before[ticket.assignee.username]  # the warehouse step shows fields
    login(client, ticket.assignee.username, "en")
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "No fields to show." not in page and REGISTER["order_no"] in page
