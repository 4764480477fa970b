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
    page.get_by_label("原因（挂起时必填）").focus()
    page.keyboard.type("等客户寄回配件")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bulk-phone.png"), full_page=True)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".lz-bulk-summary")).to_have_text("共 2 个工单，已完成 2 个。")
    assert [fresh(t).status for t in tickets] == ["pending", "pending"]
