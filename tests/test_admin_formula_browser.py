"""The formula editor in a real browser under the CSP: the field picker inserts {"var": ...} at the cursor and
the preview shows the value on a typed sample (Debian's Chromium through Playwright, on both databases).

Any console error, page error or CSP violation fails the test (the fixture of tests/test_csp_browser.py).
"""

from __future__ import annotations

import pytest
from conftest import browser_login
from playwright.sync_api import expect

TIMEOUT_MS = 10_000
WATCH_POLICY = """document.addEventListener("securitypolicyviolation", e => console.error(
  `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));"""


@pytest.fixture
def admin_page(seeded, users, live_server, browser):
    """The admin's page in English; every console error, page error or policy violation is collected."""
    problems = []
    context = browser.new_context(locale="en-US", base_url=live_server, extra_http_headers={"Accept-Language": "en"})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(WATCH_POLICY)
    context.on("page", lambda page: (
        page.on("pageerror", lambda error: problems.append(str(error))),
        page.on("console", lambda message: problems.append(message.text) if message.type == "error"
                and not message.location.get("url", "").endswith("/favicon.ico") else None)))
    yield browser_login(context, "admin")
    context.close()
    assert problems == [], problems


def test_pick_a_field_and_preview_the_formula_on_a_sample(admin_page):
    page = admin_page
    page.goto("/admin/processes/return_goods/add-field/number")
    formula = page.get_by_label("Computed (formula, JSON Logic)")
    formula.fill('{"*": [2, ')
    page.get_by_label("Insert a field").select_option("refund_amount")
    expect(formula).to_have_value('{"*": [2, {"var":"refund_amount"}')
    formula.press_sequentially("]}")
    expect(formula).to_have_value('{"*": [2, {"var":"refund_amount"}]}')
    sample = page.locator("#lz-sample-refund_amount")
    expect(sample).to_be_visible()
    sample.fill("19.99")
    expect(page.locator(".lz-preview-value")).to_have_text("39.98")
    formula.fill('{"*": [2, {"var": "ghost"}]}')
    expect(page.locator(".lz-preview-problems")).to_contain_text("formula names unknown field 'ghost'")
    expect(page.locator(".lz-preview-value")).to_have_text("")
