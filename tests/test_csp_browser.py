"""Under the strict Content-Security-Policy the pages still work in a real browser, and nothing is refused.

Debian's Chromium through Playwright, on both databases. Every page of the
test reports each ``securitypolicyviolation`` event and each console error;
the test fails on any. The live parts run under the policy: the call page's
cascading dropdown, the supervisor's conditional field, the tag colours and
the select-on-focus link box (static/js/page.js), and the admin editor's
confirmations and field-matrix colours (static/js/editor.js).
"""

from __future__ import annotations

import re

import pytest
from conftest import browser_login
from playwright.sync_api import expect

from workflows.storage.db import database
from workflows.storage.models import User
from workflows.tickets import engine, tags

TIMEOUT_MS = 10_000
# Playwright's init scripts are injected by the browser's debugger, not by the page, so the policy allows them.
WATCH_POLICY = """document.addEventListener("securitypolicyviolation", e => console.error(
  `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));"""
REGISTER = {"order_no": "TH-7", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "漏水"}


@pytest.fixture
def person(seeded, users, live_server, browser):
    """``person(username)``: a logged-in page in its own zh-CN context; any policy violation or error fails."""
    contexts, problems = [], []

    def console(message, username: str) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"{username} {message.location.get('url')}: {message.text}")

    def watch(page, username: str) -> None:
        page.on("pageerror", lambda error: problems.append(f"{username}: {error}"))
        page.on("console", lambda message: console(message, username))

    def sign_in(username: str):
        context = browser.new_context(locale="zh-CN", base_url=live_server)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(WATCH_POLICY)
        context.on("page", lambda page: watch(page, username))
        contexts.append(context)
        return browser_login(context, username)

    yield sign_in
    for context in contexts:
        context.close()
    assert problems == [], problems


@pytest.fixture
def ticket(seeded, users):
    """A ticket at 主管审批 with a red tag; returns its number and the supervisor it was given to."""
    with database.connection_context():
        made = engine.create(User.get(User.username == "agent"), "return_goods", dict(REGISTER),
                             customer={"phone": "13900000007", "name": "李女士"})
        admin = User.get(User.username == "admin")
        tags.create_tag(admin, "加急", "#d9534f")
        tags.add(made, "加急", admin)
        return made.number, made.assignee.username


def test_the_call_page_cascade_fills_under_the_policy(person):
    page = person("agent")
    page.goto("/call?phone=13900000009")
    model = page.get_by_label("商品型号")
    expect(model.locator("option")).to_have_count(1)  # only "—" until a category is chosen
    page.get_by_label("商品类别").select_option(label="冰箱")
    expect(model.locator("option", has_text="200 升")).to_have_count(1)
    model.select_option(label="200 升")


def test_the_ticket_page_conditional_field_and_tag_colour_work_under_the_policy(person, ticket):
    number, supervisor = ticket
    page = person(supervisor)
    page.goto(f"/tickets/{number}")
    reason = page.locator("fieldset[data-lz-field=reject_reason]")
    expect(reason).to_be_hidden()
    page.get_by_label("不同意退货", exact=True).check()
    expect(reason).to_be_visible()
    expect(page.get_by_role("button", name="同意退货, 转仓库", exact=True)).to_be_hidden()
    badge = page.locator(".lz-tag-list .badge", has_text="加急")
    expect(badge).to_have_css("background-color", "rgb(217, 83, 79)")


def test_the_closed_ticket_link_box_selects_itself(person, ticket):
    number, supervisor = ticket
    with database.connection_context():
        engine.act(User.get(User.username == supervisor), number, "advance", version=engine.load(number).version,
                   data={"approval": "reject", "reject_reason": "过期"}, transition="$end")
    page = person("admin")
    page.goto(f"/tickets/{number}")
    page.locator("#lz-progress-url").focus()
    selected = page.evaluate("() => { const b = document.getElementById('lz-progress-url');"
                             " return b.value.slice(b.selectionStart, b.selectionEnd); }")
    assert selected.startswith("http") and "/p/" in selected


def test_the_admin_editor_works_under_the_policy(person, ticket):
    page = person("admin")
    page.goto("/admin/processes/return_goods/edit")
    expect(page.locator(".lz-flow svg")).to_be_visible()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("button[data-lz-confirm]").first.click()
    page.wait_for_timeout(300)  # a dismissed confirmation submits nothing: still on the editor
    assert asked and page.url.endswith("/admin/processes/return_goods/edit")
    page.goto("/admin/processes/return_goods/matrix")
    cell = page.locator("#cell-register-defect")
    cell.locator("select.lz-cell-mode").select_option("readonly")
    expect(cell).to_have_class(re.compile(r"\blz-mode-readonly\b"))
    page.goto("/admin/tags/")
    expect(page.locator(".lz-tag", has_text="加急").first).to_have_css("background-color", "rgb(217, 83, 79)")
