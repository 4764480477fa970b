"""The calendars screen in a real browser (Debian's Chromium through Playwright), on both databases."""

from __future__ import annotations

import copy

from conftest import screenshot
from playwright.sync_api import expect
from test_preview_browser import log_in
from test_worktime import DEMO

from workflows.calendars import store
from workflows.storage.db import database


def test_edit_a_weekday_see_the_problem_at_its_field_then_save(app, users, live_server, page):
    """Chinese UI, strict CSP: no page error; a bad interval is shown under Tuesday and nothing is saved."""
    with app.app_context(), database.connection_context():
        store.save_calendar(copy.deepcopy(DEMO))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text
            else None)
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/calendars/cn_workdays/")
    expect(page.locator(".lz-unknown-year").first).to_contain_text("2027")
    page.fill("#lz-cal-hours-tue", "12:00-09:00")
    with page.expect_navigation():
        page.click("#lz-calendar-save")
    expect(page.locator('.lz-field-error[data-field="hours_tue"]')).to_contain_text("/hours/tue/0")
    screenshot(page, "admin_calendar_problem")
    page.fill("#lz-cal-hours-tue", "09:00-12:00, 13:30-17:00")
    with page.expect_navigation():
        page.click("#lz-calendar-save")
    expect(page.locator(".lz-field-error")).to_have_count(0)
    with database.connection_context():
        assert store.export("cn_workdays")["hours"]["tue"] == [["09:00", "12:00"], ["13:30", "17:00"]]
    screenshot(page, "admin_calendar")
    assert errors == []
