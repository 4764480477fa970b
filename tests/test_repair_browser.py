"""The format-2 repair example in Debian's Chromium, end to end (issue 18's walk-through).

An agent registers a repair (docs/examples/repair.process.json, as the demo publishes it):
three part rows typed by keyboard, the parts total following live (the server computes it,
``docs/formulas.md``), one row removed, the engineer picked by name; the visit goes to that
engineer; the fee (labour + parts, ``x-readers``: finance and supervisors) reaches the finance
handler and never the warehouse handler, on the page, the API or an export. Under the strict
Content-Security-Policy, on both databases; any console error fails (``test_csp_browser.person``).
"""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, screenshot
from playwright.sync_api import expect
from test_csp_browser import person  # noqa: F401 - the fixture: a logged-in page that fails on errors

from workflows import demo
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Ticket, User
from workflows.tickets import engine

ROWS = (("压缩机", "2", "350.55"), ("风扇", "1", "19.99"), ("密封条", "3", "5.5"))
FEE = "806.48"  # labour 88.88 + parts 2 × 350.55 + 3 × 5.5 (the fan row removed)


@pytest.fixture
def repair(seeded, users):
    """The demo's product dictionary (format 2: warranty per model) and its repair process."""
    with database.connection_context():
        docs.import_dictionary(demo._load("product.dictionary.json"))
        docs.save_process(demo._load("repair.process.json"), publish=True)


def total(page):
    return page.locator("input[name=parts_total]")


def type_row(page, index: int, cells: tuple[str, str, str]) -> None:
    """A row by keyboard: its first cell has the focus; Tab moves from cell to cell."""
    for k, text in enumerate(cells):
        page.keyboard.type(text)
        if k < len(cells) - 1:
            page.keyboard.press("Tab")
    expect(page.locator(f"input[name=parts-{index}-price]")).to_have_value(cells[2])


def register(page) -> None:
    page.goto("/call?process=repair&phone=13700002222")
    page.get_by_label(re.compile(r"^\s*客户姓名")).fill("周女士")
    page.select_option("select[name=category]", "fr")
    expect(page.locator("select[name=model] option[value=fr-450]")).to_have_count(1)
    page.select_option("select[name=model]", "fr-450")
    expect(page.locator("input[name=warranty_months]")).to_have_value("36")  # 数据联动: from the model
    page.get_by_label(re.compile(r"^\s*故障描述")).fill("冰箱不制冷")
    page.get_by_label(re.compile(r"^\s*上门地址")).fill("朝阳区建国路 1 号")
    page.locator("input[name=parts-0-part]").focus()
    type_row(page, 0, ROWS[0])
    expect(total(page)).to_have_value("701.1")
    for index in (1, 2):
        page.get_by_role("button", name="添加一行").focus()
        page.keyboard.press("Enter")  # the new row's first cell takes the focus
        expect(page.locator(f"input[name=parts-{index}-part]")).to_be_focused()
        type_row(page, index, ROWS[index])
    expect(total(page)).to_have_value("737.59")
    page.locator("tr[data-lz-row]").nth(1).get_by_role("button", name="删除此行").focus()
    page.keyboard.press("Enter")
    expect(page.locator("tr[data-lz-row]")).to_have_count(2)
    expect(page.locator("input[name=parts-1-part]")).to_have_value("密封条")  # renumbered in page order
    expect(total(page)).to_have_value("717.6")
    engineer = page.get_by_role("combobox", name=re.compile(r"^\s*上门工程师"))
    engineer.press_sequentially("马")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("select[name=engineer]")).to_have_value("eng1")
    screenshot(page, "repair-registered")


def test_a_repair_registered_by_keyboard_reaches_the_picked_engineer_and_its_fee_only_finance(
        person, repair, live_server):  # noqa: F811
    page = person("agent")
    register(page)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("提交")).click()
    with database.connection_context():
        ticket = Ticket.get()
        assert (ticket.step, ticket.assignee.username) == ("visit", "eng1")
        assert [row["part"] for row in ticket.data["parts"]] == ["压缩机", "密封条"]
        assert ticket.data["parts_total"] == 717.6 and "fee" not in ticket.data  # no labour yet
        ticket = engine.act(User.get(User.username == "eng1"), ticket.number, "advance", version=ticket.version,
                            data={"labour": 88.88, "repair_note": "更换压缩机"}, transition="warehouse")
        assert ticket.data["fee"] == float(FEE)
        keeper = ticket.assignee  # 仓库出库: the fee is read-only there, but the warehouse reads no fee
    wh = person(keeper.username)
    wh.goto(f"/tickets/{ticket.number}")
    expect(wh.locator("fieldset[data-lz-field=parts]")).to_have_attribute("data-lz-mode", "readonly")
    expect(wh.locator("input[name=parts_total]")).to_have_value("717.6")
    assert FEE not in wh.content() and "应收费用" not in wh.content()
    token = wh.request.post("/api/v1/auth/token", data={"username": keeper.username, "password": PASSWORD}).json()
    api = wh.request.get(f"/api/v1/tickets/{ticket.number}", headers={"Authorization": f"Bearer {token['token']}"})
    assert api.status == 200 and api.json()["data"]["parts_total"] == 717.6 and "fee" not in api.json()["data"]
    for kind in ("csv", "xlsx"):
        export = wh.request.get(f"/tickets/export.{kind}?scope=mine&type=repair&status=")
        assert export.status == 200 and (kind == "xlsx" or ticket.number in export.text())
        assert FEE.encode() not in export.body() and "应收费用".encode() not in export.body()
    with wh.expect_navigation():
        wh.get_by_role("button", name="已出库").click()
    with database.connection_context():
        ticket = Ticket.get()
        assert ticket.step == "settle"
        finance = ticket.assignee.username
    fin = person(finance)
    fin.goto(f"/tickets/{ticket.number}")
    expect(fin.locator("input[name=fee]")).to_have_value(FEE)  # read-only at 财务结算
    screenshot(fin, "repair-finance-fee")
