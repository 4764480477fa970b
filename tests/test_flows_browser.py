"""Issue 19's walk-through in Debian's Chromium, on both databases, under the strict CSP.

Three signers (network, DBA, security: the demo's IT change, 会签 all) open the same ticket in
their own sessions before anyone signs, then sign one after the other from those pages; the third
signature moves the ticket to the CAB. Later the implementer sets the ticket pending (等待客户回复);
the customer answers on the progress page; the ticket is open again and its due time has moved by
the working time it waited (``docs/sla.md``). Any console error or policy violation fails
(``test_csp_browser.person``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from test_csp_browser import person  # noqa: F401 - the fixture: a logged-in page that fails on errors
from test_it_change_demo import APPLY

from workflows import demo
from workflows.calendars.store import worktime
from workflows.storage.db import database
from workflows.storage.models import Signature, Ticket, TicketEvent, User
from workflows.tickets import engine, feedback

SIGNERS = ("net1", "dba1", "sec1")


@pytest.fixture
def change(app, seeded, users):
    """An urgent IT change of the demo, submitted for countersign, with a customer who follows it."""
    with app.app_context(), database.connection_context():
        demo.seed_documents()
        ticket = engine.create(users["agent"], "it_change", dict(APPLY), priority="urgent", transition="review",
                               customer={"name": "王先生", "phone": "13800001111"})
        return ticket.number


def _sign(page, who: str) -> None:
    form = page.locator("section.lz-sign-form")
    form.locator("input[name=review][value=approve]").check()
    form.get_by_label("会签说明").fill(f"{who}: 同意")
    with page.expect_navigation():
        form.get_by_role("button", name="签署").click()


def test_three_signers_sign_in_parallel_sessions_and_the_third_moves_it_to_cab(app, person, change):  # noqa: F811
    pages = {who: person(who) for who in SIGNERS}
    for page in pages.values():  # every session has the ticket open before anyone signs
        page.goto(f"/tickets/{change}")
        expect(page.locator("section.lz-sign-form")).to_be_visible()
    for who in SIGNERS[:2]:
        _sign(pages[who], who)
        expect(pages[who].locator(f"tr.lz-signature[data-username={who}]")).to_contain_text("同意")
        expect(pages[who].locator(".lz-sign-progress")).to_contain_text(f"{SIGNERS.index(who) + 1} / 3")
    last = pages["sec1"]
    _sign(last, "sec1")  # from the page it opened before the others signed
    expect(last.locator("section.lz-sign-form")).to_have_count(0)
    expect(last.get_by_role("heading", name="会签: CAB 审批")).to_be_visible()
    review = last.locator("section[data-lz-sign-step=review]")  # the finished round stays on the page
    expect(review.locator("tr.lz-signature-signed")).to_have_count(3)
    expect(review.locator("tr[data-username=sec1]")).to_contain_text("sec1: 同意")
    expect(last.locator(".lz-timeline li", has_text="签署了会签")).to_have_count(3)
    screenshot(last, "it-change-signed")
    with app.app_context(), database.connection_context():
        ticket = engine.load(change)
        assert ticket.step == "cab" and ticket.data["review"] == "approve"
        states = {(s.signer.username, s.step, s.state) for s in Signature.select().where(Signature.ticket == ticket)}
        assert {(who, "review", "signed") for who in SIGNERS} <= states
        assert {s for s in states if s[1] == "cab"} == {(u, "cab", "waiting") for u in ("cab1", "cab2", "cab3")}
        moves = TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "advance").count()
        assert moves == 1  # resolved exactly once


def _to_implement(app, number: str) -> str:
    """The CAB approves by the engine (the page's part was shown above); returns the implementer's username."""
    with app.app_context(), database.connection_context():
        for who in SIGNERS:
            engine.act(User.get(User.username == who), number, "sign", version=engine.load(number).version,
                       data={"review": "approve"})
        engine.act(User.get(User.username == "cab1"), number, "sign", version=engine.load(number).version,
                   data={"cab_decision": "approve"})
        ticket = engine.load(number)
        assert ticket.step == "implement" and ticket.due_at is not None
        return ticket.assignee.username


def _waited_since(app, number: str, since: datetime) -> tuple[datetime, datetime]:
    """Date the wait back to ``since`` (as if set then): a test cannot wait working hours in real time."""
    with app.app_context(), database.connection_context():
        Ticket.update(pending_since=since).where(Ticket.number == number).execute()
        ticket = engine.load(number)
        return ticket.due_at, feedback.progress_token(ticket)


def test_a_customer_reply_on_the_progress_page_resumes_a_pending_ticket_and_moves_its_due_time(
        app, person, browser, live_server, change):  # noqa: F811
    implementer = _to_implement(app, change)
    page = person(implementer)
    page.goto(f"/tickets/{change}")
    panel = page.locator("section.lz-pending-panel")
    panel.get_by_label(re.compile("挂起原因")).fill("等待客户确认停机时间")
    with page.expect_navigation():
        panel.get_by_role("button", name="挂起等待客户").click()
    expect(page.locator("section.lz-pending-panel .lz-pending-state")).to_contain_text("等待客户确认停机时间")
    since = datetime.utcnow().replace(microsecond=0) - timedelta(days=7)  # a whole week of working time ago
    due_before, token = _waited_since(app, change, since)

    customer = browser.new_context(locale="zh-CN", base_url=live_server)
    try:
        public = customer.new_page()
        public.goto(f"/p/{token}")
        expect(public.locator(".lz-status")).to_have_attribute("data-lz-status", "pending")
        public.get_by_role("textbox", name="您的回复").fill("周六晚上 22 点可以停机")
        with public.expect_navigation():
            public.get_by_role("button", name="发送回复").click()
        expect(public.locator(".lz-status")).to_have_attribute("data-lz-status", "open")
        screenshot(public, "it-change-customer-replied")
    finally:
        customer.close()

    with app.app_context(), database.connection_context():
        ticket = engine.load(change)
        assert ticket.status == "open" and ticket.pending_since is None
        resumed = TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "resume").get()
        paused = worktime("cn_workdays").seconds_between(since, resumed.created_at)
        assert paused > 0
        assert ticket.due_at == worktime("cn_workdays").add(due_before, paused / 60) > due_before
    page.reload()
    expect(page.locator("section.lz-pending-panel .lz-pending-state")).to_have_count(0)
    screenshot(page, "it-change-resumed")
