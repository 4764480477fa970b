"""Live updates in real browsers (docs/live.md): two people, two browser contexts, no reload.

The handlers keep their workspace open; the agent registers a call in another
browser; the list of the handler who got the ticket shows it, and their inbox
badge counts it, without the page reloading (a marker set on ``window`` survives).
Then someone else acts on the ticket a handler has open: the page says who, with a
refresh link. The poll interval is shortened through ``LIVE_POLL_MS``.

Runs once per database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from test_workspace_browser import register_call, signed_in

from workflows.storage.db import database
from workflows.storage.models import Ticket, User
from workflows.tickets import collab

POLL_MS = 250


@pytest.fixture
def people(seeded, users, live_server, browser, app):
    """``people(username)``: a page in that person's own browser context (zh-CN), logged in; fast polling."""
    app.config.update(LIVE_POLL_MS=POLL_MS, LIVE_POLL_MAX_MS=2 * POLL_MS)
    yield from signed_in(browser, live_server)


def keep_marker(page) -> None:
    """Mark the loaded document: a reload would drop the marker."""
    page.evaluate("() => { window.lzLiveMarker = 'kept'; }")


def not_reloaded(page) -> bool:
    return page.evaluate("() => window.lzLiveMarker") == "kept"


def handler_of(number: str) -> str:
    with database.connection_context():
        return Ticket.get(Ticket.number == number).assignee.username


def test_the_handlers_list_shows_the_agents_new_ticket_without_a_reload(people):
    handlers = {name: people(name) for name in ("supervisor", "supervisor2")}  # the approve step's round robin
    for page in handlers.values():
        page.goto("/")
        expect(page.locator('[data-lz-live-region="rows"]')).to_be_visible()
        keep_marker(page)
    agent = people("agent")
    number = register_call(agent, customer="王先生", order_no="TH-LIVE-1", defect="冰箱门关不上")
    page = handlers[handler_of(number)]
    rows = page.locator('[data-lz-live-region="rows"]')
    expect(rows.get_by_role("link", name=number)).to_be_visible()
    expect(page.locator("[data-lz-live-inbox] .lz-unread")).to_have_text("1")
    assert not_reloaded(page)
    other = next(p for name, p in handlers.items() if p is not page)
    expect(other.locator('[data-lz-live-region="rows"]').get_by_role("link", name=number)).to_have_count(0)


def test_the_ticket_page_says_who_changed_it(people):
    agent = people("agent")
    number = register_call(agent, customer="李女士", order_no="TH-LIVE-2", defect="外壳划痕")
    handler = handler_of(number)
    page = people(handler)
    page.goto(f"/tickets/{number}")
    banner = page.locator("[data-lz-live-ticket]")
    expect(banner).to_be_hidden()
    keep_marker(page)
    other = "supervisor2" if handler == "supervisor" else "supervisor"
    with database.connection_context():
        actor = User.get(User.username == other)
        collab.add_note(actor, number, "客户又来电了")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(actor.name)
    refresh = banner.get_by_role("link", name=re.compile("^(刷新|Refresh)$"))
    assert refresh.get_attribute("href") == f"/tickets/{number}"
    assert not_reloaded(page)
    refresh.click()
    expect(page.locator("[data-lz-live-ticket]")).to_be_hidden()


def live_requests(page) -> list[float]:
    """The times (s, monotonic) at which the page asks ``GET /live``, appended as they happen."""
    seen: list[float] = []
    page.on("request", lambda request: seen.append(time.monotonic()) if "/live?" in request.url else None)
    return seen


def set_hidden(page, hidden: bool) -> None:
    """Make the tab hidden or visible, as switching tabs does (Playwright keeps every page visible)."""
    page.evaluate("""hidden => {
      const state = hidden ? "hidden" : "visible";
      Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
      document.dispatchEvent(new Event("visibilitychange"));
    }""", hidden)


def test_polling_backs_off_and_pauses_while_the_tab_is_hidden(people, app):
    app.config.update(LIVE_POLL_MS=150, LIVE_POLL_MAX_MS=1200)
    page = people("wh1")
    seen = live_requests(page)
    page.goto("/")
    page.wait_for_timeout(3500)
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    # 150, 225, 337 ... ms up to 1.2 s (plus each answer's time: the first, on a cold session, may be slow)
    assert len(gaps) >= 4 and gaps[-1] > 2.5 * min(gaps), gaps
    set_hidden(page, True)
    page.wait_for_timeout(300)  # a poll already sent may still be answered
    hidden_from = len(seen)
    page.wait_for_timeout(2500)
    assert len(seen) == hidden_from, "polled while the tab was hidden"
    set_hidden(page, False)
    page.wait_for_timeout(500)
    assert len(seen) > hidden_from, "no poll when the tab came back"


def new_ticket() -> str:
    from test_engine import REGISTER

    from workflows.tickets import engine

    with database.connection_context():
        return engine.create(User.get(User.username == "agent"), "return_goods", dict(REGISTER)).number


def test_a_reader_who_is_selecting_gets_a_bar_and_keeps_the_selection(people):
    ticked = {handler_of(number): number for number in (new_ticket(), new_ticket())}  # approval: round robin
    assert set(ticked) == {"supervisor", "supervisor2"}, ticked  # over the supervisors, these two first
    pages = {}
    for name, number in ticked.items():
        pages[name] = page = people(name)
        page.goto("/")
        keep_marker(page)
        page.locator(f'[data-lz-live-region="rows"] input[name="tickets"][value^="{number}:"]').check()
    second = next(n for n in (new_ticket() for _ in range(30)) if handler_of(n) in pages)  # round robin back
    page = pages[handler_of(second)]
    rows, bar = page.locator('[data-lz-live-region="rows"]'), page.locator("[data-lz-live-bar]")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("1")
    expect(rows.get_by_role("link", name=second)).to_have_count(0)  # nothing moves under the reader's hand
    bar.get_by_role("button", name=re.compile("^(刷新|Refresh)$")).click()
    expect(rows.get_by_role("link", name=second)).to_be_visible()
    expect(bar).to_be_hidden()
    assert rows.locator(f'input[name="tickets"][value^="{ticked[handler_of(second)]}:"]').is_checked()
    assert all(not_reloaded(p) for p in pages.values())
