"""The admin step preview in a real browser (Debian's Chromium through Playwright).

liveform.js must keep the page in step with the server: conditional fields appear
and disappear as the user chooses, cascading selects offer only the enabled
children of the chosen parent, and the server still rejects what the page let
through. Runs once per database (SQLite and PostgreSQL), like every ``app`` test.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, screenshot
from playwright.sync_api import expect

REQUIRED_MESSAGES = ("此项为必填项。", "This field is required.")


@pytest.fixture
def suffix(request) -> str:
    """The database param (``sqlite``/``postgresql``), so the two runs keep apart screenshots."""
    return request.node.callspec.id


def log_in(page, live_server: str) -> None:
    """Log in as the demo admin through the login form (the admin is for admins only)."""
    page.goto(f"{live_server}/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("form.lz-login-form button[type=submit]").click()
    assert urlsplit(page.url).path == "/", f"login failed: {page.url}"


@pytest.fixture
def preview(seeded, users, live_server, page):
    """Open a step's preview of return_goods v1; JavaScript errors on the page fail the test."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server)

    def open_step(step: str):
        response = page.goto(f"{live_server}/admin/processes/return_goods/{seeded.number}/{step}")
        assert response is not None and response.ok, response and response.status
        return page

    yield open_step
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _field(page, name: str):
    # Playwright's to_be_disabled() ignores a <fieldset> itself (only form controls
    # inside it), so the fieldset's own ``disabled`` is read as a DOM property.
    return page.locator(f"fieldset[data-lz-field={name}]")


def _options(page, name: str) -> list[tuple[str, str]]:
    pairs = page.locator(f"select[name={name}] option").evaluate_all(
        "options => options.map(o => [o.value, o.textContent.trim()])")
    return [tuple(pair) for pair in pairs]


def _expect_reject_reason_hidden(page) -> None:
    box = _field(page, "reject_reason")
    expect(box).to_be_hidden()
    expect(box).to_have_attribute("data-lz-mode", "hidden")
    assert box.evaluate("el => el.disabled") is True  # keeps it out of the submission
    expect(page.get_by_label("不同意理由")).to_be_hidden()
    expect(page.get_by_label("不同意理由")).to_be_disabled()


def test_reject_reveals_required_reason(preview, suffix):
    page = preview("approve")
    _expect_reject_reason_hidden(page)
    screenshot(page, f"approve-initial-{suffix}")

    page.get_by_label("不同意退货", exact=True).check()
    box = _field(page, "reject_reason")
    expect(box).to_be_visible()
    expect(box).to_have_attribute("data-lz-mode", "required")
    assert box.evaluate("el => el.disabled") is False
    expect(box.locator(".lz-required")).to_be_visible()
    reason = page.get_by_label("不同意理由")
    expect(reason).to_be_visible()
    expect(reason).to_be_enabled()
    assert reason.evaluate("el => el.tagName") == "TEXTAREA"
    screenshot(page, f"approve-reject-{suffix}")

    page.get_by_label("同意退货", exact=True).check()
    _expect_reject_reason_hidden(page)
    screenshot(page, f"approve-approve-{suffix}")


def test_category_reloads_model_choices(preview, suffix):
    page = preview("register")
    assert _options(page, "model") == [("", "—")]

    page.select_option("select[name=category]", "fr")
    expect(page.locator("select[name=model] option")).to_have_count(3)
    assert _options(page, "model") == [("", "—"), ("fr-200", "200 升"), ("fr-450", "450 升 双门")]
    page.select_option("select[name=model]", "fr-450")
    screenshot(page, f"register-fridge-{suffix}")

    page.select_option("select[name=category]", "mw")
    expect(page.locator("select[name=model] option")).to_have_text(["—", "A1 型", "A2 型"])
    assert _options(page, "model") == [("", "—"), ("mw-a1", "A1 型"), ("mw-a2", "A2 型")]
    assert "停产型号" not in page.locator("select[name=model]").inner_text()
    expect(page.locator("select[name=model]")).to_have_value("")  # the fridge model did not survive
    screenshot(page, f"register-microwave-{suffix}")


def test_server_requires_reason_the_page_asked_for(preview, suffix):
    page = preview("approve")
    page.get_by_label("不同意退货", exact=True).check()
    expect(page.get_by_label("不同意理由")).to_have_value("")
    with page.expect_navigation():
        page.locator("#lz-preview-form button[type=submit]").click()

    expect(page.locator(".lz-outcome.alert-danger")).to_be_visible()
    box = _field(page, "reject_reason")
    expect(box).to_be_visible()
    expect(box).to_have_attribute("data-lz-mode", "required")
    expect(box.locator(".lz-required")).to_be_visible()
    error = box.locator(".lz-error")
    expect(error).to_be_visible()
    assert error.first.inner_text().strip() in REQUIRED_MESSAGES, error.all_inner_texts()
    expect(page.get_by_label("不同意退货", exact=True)).to_be_checked()
    expect(page.get_by_label("同意退货", exact=True)).not_to_be_checked()
    expect(page.get_by_label("不同意理由")).to_be_enabled()
    screenshot(page, f"approve-required-error-{suffix}")


def test_page_loads_nothing_from_other_hosts(preview, page, suffix):
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))

    page = preview("register")
    page.select_option("select[name=category]", "ac")
    page = preview("approve")
    page.get_by_label("不同意退货", exact=True).check()
    with page.expect_navigation():
        page.locator("#lz-preview-form button[type=submit]").click()
    page.wait_for_load_state("networkidle")

    assert any(url.endswith("/static/js/liveform.js") for url in urls), urls
    foreign = [url for url in urls
               if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != "127.0.0.1"]
    assert foreign == [], f"requests left 127.0.0.1 (a CDN?): {foreign}"



def test_server_rendered_error_is_visible_without_javascript(seeded, users, live_server, browser):
    """The server alone (no liveform.js) shows the reason field, required, with its error."""
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_server)
        page.goto(f"{live_server}/admin/processes/return_goods/{seeded.number}/approve")
        expect(_field(page, "reject_reason")).to_be_hidden()
        page.check("input[name=approval][value=reject]")
        with page.expect_navigation():
            page.locator("#lz-preview-form button[type=submit]").click()
        box = _field(page, "reject_reason")
        expect(box).to_be_visible()
        expect(box).to_have_attribute("data-lz-mode", "required")
        expect(box.locator(".lz-required")).to_be_visible()
        expect(box.locator(".lz-error")).to_be_visible()
        assert box.locator(".lz-error").inner_text().strip() in REQUIRED_MESSAGES
    finally:
        context.close()


def test_fields_keep_the_document_order(preview, process_doc):
    """Also on PostgreSQL, where a JSONB column would reorder the document's keys."""
    for step in process_doc["steps"]:
        page = preview(step["key"])
        shown = page.locator("fieldset[data-lz-field]").evaluate_all(
            "boxes => boxes.map(b => b.getAttribute('data-lz-field'))")
        assert shown == list(step["fields"]), step["key"]


def test_dry_run_keeps_the_chosen_model(preview):
    """After a dry run the server offers the models of the submitted category, the chosen one kept."""
    page = preview("register")
    page.select_option("select[name=category]", "fr")
    page.select_option("select[name=model]", "fr-450")
    with page.expect_navigation():
        page.locator("#lz-preview-form button[type=submit]").click()
    expect(page.locator("select[name=category]")).to_have_value("fr")
    expect(page.locator("select[name=model]")).to_have_value("fr-450")
    assert _options(page, "model") == [("", "—"), ("fr-200", "200 升"), ("fr-450", "450 升 双门")]
    expect(_field(page, "model").locator(".lz-error")).to_have_count(0)
