"""The draft's dry run in Chromium: register -> approve (reject) -> end, clicking as an admin would."""

from __future__ import annotations

from conftest import screenshot
from playwright.sync_api import expect
from test_preview_browser import log_in


def submit(page, selector: str = "#lz-preview-form button[type=submit]") -> None:
    with page.expect_navigation():
        page.locator(selector).first.click()


def test_click_through_the_draft_to_the_end(seeded, users, live_server, page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/processes/return_goods/versions")
    with page.expect_navigation():
        page.locator("a.lz-draft-preview").click()
    expect(page.locator(".lz-draft-badge")).to_be_visible()

    page.fill("input[name=order_no]", "TH-7")
    page.select_option("select[name=category]", "fr")
    page.select_option("select[name=model]", "fr-450")
    page.fill("input[name=purchase_date]", "2026-11-01")
    page.fill("textarea[name=defect]", "门关不上")
    submit(page)
    expect(page.locator(".lz-outcome.alert-success")).to_be_visible()
    submit(page, ".lz-move button:has-text('提交主管审批')")

    expect(page.locator(".lz-trail")).to_contain_text("来电登记")
    expect(page.locator(".lz-sample")).to_contain_text("TH-7")
    page.get_by_label("不同意退货", exact=True).check()
    page.get_by_label("不同意理由").fill("超过退货期")
    submit(page)
    expect(page.locator(".lz-move button")).to_have_count(1)
    submit(page, ".lz-move button:has-text('不同意退货, 结束')")

    closed = page.locator(".lz-closed")
    expect(closed).to_be_visible()
    expect(closed.locator(".lz-final")).to_contain_text("超过退货期")
    expect(page.locator(".lz-trail")).to_contain_text("主管审批")
    screenshot(page, "dry_run")
    assert errors == [], errors
