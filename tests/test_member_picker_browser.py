"""The member and department pickers in Debian's Chromium: searched by name and pinyin initials, picked by keyboard.

Under the strict Content-Security-Policy, on both databases: ``static/js/liveform.js`` loads
``static/js/fields/user.js`` and ``department.js``, which turn the server's ``<select>`` into an
ARIA combobox; any console error or policy violation fails the test (``test_csp_browser.person``).
"""

from __future__ import annotations

import re

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from test_csp_browser import person  # noqa: F401 - the fixture: a logged-in page that fails on errors
from test_member_fields import REPAIR

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Ticket


@pytest.fixture
def repair(seeded, users):
    """The repair process published over the demo organisation (仓管小陈 wh1, 仓管小刘 wh2 in warehouse)."""
    with database.connection_context():
        docs.save_process(REPAIR, publish=True)


def popup(page, combobox):
    """The listbox a combobox controls (the page's other selects have options too)."""
    return page.locator("#" + combobox.get_attribute("aria-controls"))


def test_a_member_and_a_department_picked_by_keyboard_are_saved(person, repair):  # noqa: F811
    page = person("agent")
    page.goto("/call?process=repair&phone=13700001111")
    page.get_by_label(re.compile(r"^\s*故障")).fill("冰箱不制冷")
    engineer = page.get_by_role("combobox", name=re.compile(r"^\s*工程师"))
    engineer.press_sequentially("仓管")  # part of a Chinese name: both warehouse handlers match
    options = popup(page, engineer).get_by_role("option")
    expect(options).to_have_text(["仓管小刘 (wh2)", "仓管小陈 (wh1)"])
    expect(engineer).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    screenshot(page, "member-picker-open")
    page.keyboard.press("Enter")  # picks, does not submit
    expect(engineer).to_have_value("仓管小陈 (wh1)")
    expect(engineer).to_have_attribute("aria-expanded", "false")
    expect(page.locator("select[name=engineer]")).to_have_value("wh1")
    engineer.fill("")
    engineer.press_sequentially("cgxl")  # pinyin initials of 仓管小刘
    expect(options).to_have_text(["仓管小刘 (wh2)"])
    page.keyboard.press("Escape")  # closes and keeps the pick
    expect(engineer).to_have_value("仓管小陈 (wh1)")
    team = page.get_by_role("combobox", name=re.compile(r"^\s*处理部门"))
    team.press_sequentially("财")
    expect(popup(page, team).get_by_role("option")).to_have_text(["财务"])
    page.keyboard.press("Enter")
    expect(page.locator("select[name=team]")).to_have_value("finance")
    with page.expect_navigation():
        page.get_by_role("button", name="提交工单").click()
    with database.connection_context():
        ticket = Ticket.get()
        assert (ticket.data["engineer"], ticket.data["team"]) == ("wh1", "finance")
        assert (ticket.step, ticket.assignee.username) == ("repair", "wh1")
