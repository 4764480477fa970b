"""The workspace's bulk bar in Chromium on a 390 px wide phone, used with the keyboard only (docs/pending.md).

The admin selects every ticket of the page with "select all" (Space), types a reason and sends the
form with Enter; both tickets wait. The screenshot is ``tests/artifacts/bulk-phone.png``.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, browser_login
from playwright.sync_api import expect
from test_pending_pages import at_warehouse, fresh, publish
from test_workspace_browser import AUDIT_JS

ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 10_000


@pytest.fixture
def phone(app, world, live_server, browser):
    """Two tickets at the waiting step, and the admin's page on a phone-sized screen (zh-CN)."""
    publish(world)
    tickets = [at_warehouse(world), at_warehouse(world)]
    context = browser.new_context(locale="zh-CN", base_url=live_server, viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
    yield browser_login(context, "admin", "password1"), tickets
    context.close()
    assert not errors


def test_bulk_wait_by_keyboard_on_a_phone(phone):
    page, tickets = phone
    page.goto("/?scope=all")
    # every control labelled; the filter bar's "clear" link (a link styled as one, older than the bar) aside
    assert [p for p in page.evaluate(AUDIT_JS) if 'href="/?scope=all"' not in p] == []
    select_all = page.locator(".lz-select-all")
    expect(select_all).to_be_visible()  # bulk.js shows it
    select_all.focus()
    page.keyboard.press("Space")
    for ticket in tickets:
        expect(page.locator(f'input[name=tickets][value^="{ticket.number}:"]')).to_be_checked()
    expect(page.locator(".lz-bulk-count")).to_have_text("（已选 2 个）")
    bar = page.locator("#lz-bulk").bounding_box()
    assert bar["x"] >= 0 and bar["x"] + bar["width"] <= 390  # the bar fits the screen; the table scrolls
    page.locator("#lz-bulk-comment").focus()  # its label names every action that needs a reason
    page.keyboard.type("等客户寄回配件")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bulk-phone.png"), full_page=True)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".lz-bulk-summary")).to_have_text("共 2 个工单，已完成 2 个。")
    assert [fresh(t).status for t in tickets] == ["pending", "pending"]


def test_the_list_by_keys_and_as_cards_on_a_phone(phone):
    """j/k move, x selects (the bulk bar counts it), Enter opens; at 390 px with chosen columns nothing scrolls
    sideways, and choosing "close" shows only the reason, not the wait's time (docs/workspace.md)."""
    page, tickets = phone
    page.goto("/?scope=all&cols=step,status,updated,f.model,f.defect,f.order_no")
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the list scrolls sideways: {width}"
    links = page.locator("table[data-lz-keys] tbody th[scope=row] a")
    numbers = [links.nth(i).inner_text() for i in range(links.count())]
    assert sorted(numbers) == sorted(t.number for t in tickets)
    page.locator("body").press("j")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("x")
    expect(page.locator(f'input[name=tickets][value^="{numbers[1]}:"]')).to_be_checked()
    expect(page.locator(".lz-bulk-count")).to_have_text("（已选 1 个）")
    page.keyboard.press("k")
    expect(links.nth(0)).to_be_focused()
    assert page.evaluate("() => document.activeElement.closest('tr').getAttribute('aria-current')") == "true"
    page.select_option("#lz-bulk-action", "close")
    expect(page.locator("#lz-bulk-comment")).to_be_visible()
    expect(page.locator("#lz-bulk-until")).to_be_hidden()
    expect(page.locator("#lz-bulk-assignee")).to_be_hidden()
    bar = page.locator("#lz-bulk").bounding_box()
    assert bar["x"] >= 0 and bar["x"] + bar["width"] <= 390
    page.screenshot(path=str(ARTIFACTS / "list-cards-phone.png"), full_page=True)
    links.nth(0).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/tickets/{numbers[0]}")
