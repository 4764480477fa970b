"""Ticket-list exports on both databases: CSV (BOM, labels, defused formulas), XLSX, scopes, hidden fields."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from test_engine import FINANCE, REGISTER, WAREHOUSE, advance, fresh
from test_lists import login

import workflows.reporting.exports
from workflows.storage.models import Ticket
from workflows.tickets import engine

FILTER = "?scope={scope}&type=return_goods&status="


def closed_ticket(world) -> Ticket:
    """A return taken through every step: dictionary, option, boolean and list values, a formula-like text."""
    customer = {"name": "@王先生", "phone": "13800000001"}
    ticket = engine_ticket(world, defect='=HYPERLINK("http://evil")', customer=customer)
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, {**FINANCE, "refund_channels": ["original", "coupon"]}, action="close")
    return fresh(ticket)


def engine_ticket(world, who="agent", customer=None, **data) -> Ticket:
    return engine.create(world[who], "return_goods", {**REGISTER, **data}, customer=customer, channel="phone",
                         priority="high")


def csv_table(client, scope: str, extra: str = "") -> list[list[str]]:
    response = client.get("/tickets/export.csv" + FILTER.format(scope=scope) + extra)
    assert response.status_code == 200 and response.is_streamed
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def cell(table: list[list[str]], row: int, header: str) -> str:
    return table[row][table[0].index(header)]


def test_csv_has_a_bom_chinese_labels_and_defused_formulas(app, client, world):
    ticket = closed_ticket(world)
    table = csv_table(login(client, "admin"), "all")
    assert table[0][:4] == ["工单号", "类型", "当前步骤", "状态"]
    assert {"订单号", "商品类别", "商品型号", "审批意见", "确定收到商品", "退款方式"} <= set(table[0])
    assert len(table) == 2 and table[1][0] == ticket.number
    expected = {"类型": "退货申请", "状态": "已完结", "优先级": "高", "客户": "'@王先生", "电话": "138 0000 0001",
                "渠道": "电话", "订单号": "TH-1", "来源": "电话", "商品类别": "冰箱", "商品型号": "200 升",
                "审批意见": "同意退货", "确定收到商品": "是", "是否如客户所描述": "是",
                "退款方式": "原路退回、补偿优惠券", "瑕疵描述": "'=HYPERLINK(\"http://evil\")"}
    assert {header: cell(table, 1, header) for header in expected} == expected


def test_english_booleans_and_every_page_of_a_long_list(app, client, world, monkeypatch):
    monkeypatch.setattr(workflows.reporting.exports, "BATCH", 2)
    numbers = {engine_ticket(world).number for _ in range(4)} | {closed_ticket(world).number}
    login(client, "admin")
    table = csv_table(client, "all", "&sort=due")
    client.set_cookie("lang", "en")
    english = csv_table(client, "all")
    assert {row[0] for row in table[1:]} == {row[0] for row in english[1:]} == numbers
    assert len(english) == 6 and english[0][0] == "Ticket number"
    assert sorted(cell(english, i, "确定收到商品") for i in range(1, 6)) == ["", "", "", "", "Yes"]


def test_hidden_fields_never_leave_the_server(app, client, world):
    ticket = closed_ticket(world)
    table = csv_table(login(client, "agent"), "mine")  # the creator sees the registration fields only
    assert table[1][0] == ticket.number and cell(table, 1, "订单号") == "TH-1"
    for hidden in ("审批意见", "确定收到商品", "是否如客户所描述", "退款金额 (元)", "退款方式", "收到时间"):
        assert cell(table, 1, hidden) == "", hidden
    text = "\n".join(",".join(row) for row in table)
    assert "同意退货" not in text and "原路退回" not in text and "19.99" not in text


def test_the_scope_decides_the_rows(app, client, world):
    ours = engine_ticket(world)
    theirs = engine_ticket(world)
    Ticket.update(creator=world["wh_lead"], assignee=world["wh2"]).where(Ticket.id == theirs.id).execute()
    assert [r[0] for r in csv_table(login(client, "sup"), "team")[1:]] == [ours.number]
    client.post("/logout")
    assert [r[0] for r in csv_table(login(client, "wh_lead"), "team")[1:]] == [theirs.number]
    client.post("/logout")
    login(client, "agent")
    assert client.get("/tickets/export.csv?scope=team").status_code == 403
    assert client.get("/tickets/export.xlsx?scope=all").status_code == 403
    assert client.get("/tickets/export.csv?scope=nonsense").status_code == 400


def test_without_a_type_only_the_base_columns(app, client, world):
    engine_ticket(world)
    login(client, "admin")
    body = client.get("/tickets/export.csv?scope=all").get_data().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(body)))
    assert len(header) == 12 and "订单号" not in header


def test_xlsx_opens_with_openpyxl_and_holds_the_labelled_columns(app, client, world):
    ticket = closed_ticket(world)
    login(client, "admin")
    response = client.get("/tickets/export.xlsx" + FILTER.format(scope="all"))
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    header, row = rows[0], rows[1]
    assert row[0] == ticket.number and len(rows) == 2
    values = dict(zip(header, row, strict=True))
    assert (values["商品类别"], values["审批意见"], values["退款方式"]) == ("冰箱", "同意退货", "原路退回、补偿优惠券")
    assert values["瑕疵描述"].startswith("'=")
    assert all(c.data_type == "s" for c in next(book.active.iter_rows(min_row=2)) if c.value is not None)


def test_the_workspace_links_to_the_exports(app, client, world):
    login(client, "sup")
    html = client.get("/?scope=team&type=return_goods").get_data(as_text=True)
    assert 'href="/tickets/export.csv?scope=team&amp;type=return_goods"' in html
    assert 'href="/tickets/export.xlsx?scope=team&amp;type=return_goods"' in html


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_safe_cell_defuses_formula_starts(text):
    assert workflows.reporting.exports.safe_cell(text) == "'" + text
    safe_cell = workflows.reporting.exports.safe_cell
    assert safe_cell("李女士") == "李女士" and safe_cell(None) == ""
