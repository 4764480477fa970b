"""The flow designer in Chromium under the strict CSP: select a step in the diagram, draw an arrow, guard it.

No full page load after opening the designer: every edit is an htmx swap (the test counts loads).
"""

from __future__ import annotations

from conftest import screenshot
from playwright.sync_api import expect
from test_csp_browser import person  # noqa: F401 - the fixture: a logged-in page that fails on errors

from workflows.storage.db import database
from workflows.storage.models import Process


def _draft() -> dict:
    with database.connection_context():
        return Process.get(Process.code == "return_goods").draft


def settled(page) -> None:
    """Wait until htmx has swapped and wired the new body (a control changed earlier would post nothing)."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def test_select_a_step_draw_a_transition_and_guard_it(person):  # noqa: F811
    page = person("admin")
    page.goto("/admin/processes/return_goods/design")
    loads = []
    page.on("load", lambda _: loads.append(1))
    diagram = page.locator(".lz-d-diagram")
    diagram.locator('[data-lz-sel="step:warehouse"]').click()
    panel = page.locator("#lz-d-panel")
    expect(panel.locator("#lz-d-panel-title")).to_contain_text("仓库收货")
    expect(diagram.locator('[data-lz-sel="step:warehouse"]')).to_have_attribute("aria-pressed", "true")
    panel.get_by_role("button", name="来电登记").click()  # "Add a transition to:" 来电登记
    expect(panel.locator("#lz-d-panel-title")).to_contain_text("仓库收货 → 来电登记")
    expect(page.locator("#lzt-label")).to_be_focused()
    settled(page)
    page.keyboard.type("退回登记")
    page.keyboard.press("Enter")
    expect(diagram).to_contain_text("退回登记")
    settled(page)
    page.locator("#lzt-field").select_option(label="是否如客户所描述")
    expect(page.locator("#lzt-value")).to_be_visible()
    settled(page)
    page.locator("#lzt-value").select_option(value="no")
    expect(diagram.locator('[data-lz-sel="transition:warehouse:1"]')).to_contain_text("是否如客户所描述")
    settled(page)
    transition = _draft()["steps"][2]["transitions"][1]
    assert transition == {"to": "register", "label": "退回登记", "when": {
        "properties": {"as_described": {"const": "no"}}, "required": ["as_described"]}}
    diagram.locator('[data-lz-sel="step:approve"]').focus()
    page.keyboard.press("Enter")  # the keyboard selects as the pointer does
    expect(panel.locator("#lz-d-panel-title")).to_contain_text("主管审批")
    screenshot(page, "designer-flow")
    assert loads == []
