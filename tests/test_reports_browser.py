"""The reports page in Chromium: the demo supervisor opens /reports, regroups it and the page is saved.

Tickets of the last weeks are written directly (known times, some closed and
rated) and three more go through the engine, so the charts have something to
draw. The screenshot is ``tests/artifacts/reports.png``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ROOT, browser_login
from playwright.sync_api import expect
from test_engine import advance, new_ticket
from test_workspace_browser import AUDIT_JS

from workflows.storage.db import database
from workflows.storage.models import ProcessVersion, Rating, Ticket, User, utcnow

ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 10_000


def _history(users) -> None:
    """Twelve tickets over the last three weeks by the agent, two in three closed (and rated)."""
    version, now = ProcessVersion.select().first(), utcnow()
    for i in range(12):
        created = now - timedelta(days=20 - i * 1.5, hours=i)
        closed = created + timedelta(hours=3 + i * 2) if i % 3 else None
        ticket = Ticket.create(number=f"GD-R{i}", process_version=version, creator=users["agent"], created_at=created,
                               updated_at=created, entered_at=created, step="$end" if closed else "approve",
                               status="closed" if closed else "open", closed_at=closed, channel="phone",
                               assignee=None if closed else users["supervisor"],
                               first_response_at=created + timedelta(minutes=10 + i * 5))
        if closed:
            Rating.create(ticket=ticket, score=1 + i % 5)


@pytest.fixture
def supervisor_page(app, seeded, users, live_server, browser):
    with app.app_context(), database.connection_context():
        _history(users)
        ticket = new_ticket(users)
        advance(users, "supervisor", ticket, {"approval": "approve"}, transition="warehouse")
        new_ticket(users, channel="online")
        assert User.get(User.username == "supervisor").role == "supervisor"
    context = browser.new_context(locale="zh-CN", base_url=live_server, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
    yield browser_login(context, "supervisor")
    context.close()
    assert not errors


def test_supervisor_regroups_the_report(supervisor_page):
    page = supervisor_page
    page.goto("/")
    page.locator("a.nav-link[href='/reports']").click()
    expect(page.locator("table.lz-report")).to_be_visible()
    expect(page.locator("svg.lz-chart").first).to_be_visible()
    assert page.locator("tr.lz-report-row").count() == 30  # the last 30 days, one row each
    assert page.evaluate(AUDIT_JS) == []
    page.locator("select[name=group]").select_option("week")
    page.locator("select[name=type]").select_option("return_goods")
    with page.expect_navigation():
        page.locator("form.lz-filters button[type=submit]").click()
    assert "group=week" in page.url and "type=return_goods" in page.url
    rows = page.locator("tr.lz-report-row")
    assert 4 <= rows.count() <= 6
    expect(page.locator("tr.lz-report-total th + td")).to_have_text("14")  # twelve written, two by the engine
    expect(page.locator(".lz-report-steps")).to_contain_text("主管审批")  # the supervisor's approval
    expect(page.locator("select[name=group]")).to_have_value("week")
    expect(page.locator(".lz-report-agents")).to_contain_text("supervisor")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)
