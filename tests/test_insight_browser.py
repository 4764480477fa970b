"""The insight page in Chromium at phone width (390 px): the heat map scrolls inside its own box, the page does
not; axe finds no serious or critical problem (colour contrast included) on the supervisor's page and the admin's
(with the spike form). Screenshots: ``tests/artifacts/insight-*.png``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ROOT, browser_login
from designer_meter import axe_violations
from playwright.sync_api import expect

from workflows.storage.db import database
from workflows.storage.models import ProcessVersion, Ticket, TicketEvent, utcnow

ARTIFACTS = ROOT / "tests" / "artifacts"
MODELS = ("mw-a1", "mw-a2", "fr-200", "fr-450", "ac-1p", "ac-3p")


def _month_of_tickets(users) -> None:
    """Tickets of this month by the demo agent, each model on a few days; one leaves the approval step."""
    version, now = ProcessVersion.select().first(), utcnow()
    first = now.replace(day=1, hour=4)
    for i in range(24):
        created = min(first + timedelta(days=i % 28, hours=i % 5), now)
        model = MODELS[i % len(MODELS)] if i % 4 else "mw-a1"
        ticket = Ticket.create(number=f"GD-I{i}", process_version=version, creator=users["agent"], created_at=created,
                               updated_at=created, entered_at=created, step="approve", status="open",
                               data={"category": model[:2], "model": model})
        TicketEvent.create(ticket=ticket, action="advance", actor=users["supervisor"], created_at=created,
                           from_step="approve", to_step="warehouse", dwell_seconds=600 * (i + 1))


@pytest.fixture
def context(app, seeded, users, live_server, browser):
    with app.app_context(), database.connection_context():
        _month_of_tickets(users)
    context = browser.new_context(locale="zh-CN", base_url=live_server, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_insight_at_phone_width(context, who):
    page = browser_login(context, who)
    page.goto("/reports/insight?type=return_goods&field=model")
    expect(page.locator("table.lz-heat")).to_be_visible()
    assert page.locator("table.lz-heat tbody tr").count() == len(MODELS)
    box = page.locator(".lz-heat-wrap")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # the grid scrolls in its box ...
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # ... not the page
    expect(page.locator(".lz-bottleneck")).to_contain_text("主管审批")
    expect(page.locator("svg .lz-dwell-5")).to_have_count(1)
    assert (page.locator("form[action='/reports/insight/watch']").count() == 1) == (who == "admin")
    assert axe_violations(page) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"insight-{who}.png"), full_page=True)
