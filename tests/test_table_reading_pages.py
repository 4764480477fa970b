"""How a detail table (明细表) reads on the pages and in exports, on both databases.

The registry's table entry reads a table with ``tabletext.table_text``; the pure reading is
``test_table_text.py``. The table's data is changed through the engine, as the API would, so these
tests read what is stored whatever the step form posts.

Customer e-mail carries no field values (its placeholders are a fixed set of strings), so a table
reaches no mail; the customer's progress page shows an ``x-public`` table as one line.
"""

from __future__ import annotations

import csv
import io
import re
from functools import partial

import openpyxl
import pytest
from conftest import example
from helpers import logged_in

from formbuilder.fieldtypes import classify
from workflows.processes import documents as docs
from workflows.reporting.exports import flatten
from workflows.storage.db import database
from workflows.storage.models import Ticket, User
from workflows.tickets import engine, feedback

PARTS = {
    "type": "array", "x-widget": "table", "title": "配件", "x-public": True,
    "items": {"type": "object", "required": ["part", "qty"], "properties": {
        "part": {"type": "string", "title": "配件", "x-dictionary": "product"},
        "qty": {"type": "integer", "title": "数量", "minimum": 1},
        "price": {"type": "number", "title": "单价"},
        "replaced": {"type": "boolean", "title": "已更换"},
    }},
}
REPAIR = {
    "format": 2, "code": "repair", "name": "上门维修",
    "schema": {"type": "object", "properties": {"summary": {"type": "string", "title": "故障描述"},
                                                "parts": PARTS}},
    "steps": [
        {"key": "register", "name": "登记", "fields": {"summary": "required", "parts": "editable"},
         "assignee": {"type": "creator"}, "transitions": [{"to": "repair", "label": "派工"}]},
        {"key": "repair", "name": "维修", "fields": {"summary": "readonly", "parts": "editable"},
         "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "完成"}]},
    ],
}
BEFORE = [{"part": "fr", "qty": 2, "price": 350.5}, {"part": "ac", "qty": 1}]
AFTER = [{"part": "fr", "qty": 3, "price": 350.5, "replaced": True}, {"part": "ac", "qty": 1},
         {"part": "mw", "qty": 1}]


@pytest.fixture
def repair(app, users):
    """The repair process published and one ticket whose table a second step changed; (as_user, number)."""
    with app.app_context(), database.connection_context():
        docs.import_dictionary(example("product.dictionary.json"))
        docs.save_process(REPAIR, publish=True)
        agent = User.get(User.username == "agent")
        number = engine.create(agent, "repair", {"summary": "冰箱不制冷", "parts": BEFORE}).number
        engine.act(agent, number, "close", version=engine.load(number).version, data={"parts": AFTER})

    return partial(logged_in, app), number


def test_the_table_is_a_registered_type():
    assert classify(PARTS).name == "table"


def test_the_timeline_lists_each_added_and_changed_row_in_chinese(repair):
    as_user, number = repair
    html = as_user("agent").get(f"/tickets/{number}", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "配件 第 1 行: 配件：冰箱，数量：2，单价：350.5" in html  # created: every row added
    assert "配件 第 2 行: 配件：空调，数量：1" in html
    assert "配件 第 1 行: 数量：2 → 数量：3，已更换：✓" in html  # changed: only its changed cells
    assert "配件 第 3 行: 配件：微波炉，数量：1" in html  # added by the second step
    assert "{&#39;" not in html and "[{" not in html  # no Python repr, no JSON of the rows


def test_the_timeline_reads_in_english_and_shows_removed_rows(app, repair):
    as_user, number = repair
    with app.app_context(), database.connection_context():
        agent = User.get(User.username == "agent")
        ticket = engine.create(agent, "repair", {"summary": "空调漏水", "parts": AFTER})
        engine.act(agent, ticket.number, "close", version=engine.load(ticket.number).version,
                   data={"parts": AFTER[:1]})
    html = as_user("agent").get(f"/tickets/{ticket.number}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "配件, row 2: 配件：空调，数量：1 → —" in html
    assert "配件, row 3: 配件：微波炉，数量：1 → —" in html


def test_the_closed_ticket_shows_the_table_as_a_table(repair):
    as_user, number = repair
    html = as_user("agent").get(f"/tickets/{number}").get_data(as_text=True)
    grid = html[html.index('<table class="table table-sm lz-table mb-0">'):]
    rows = [re.findall(r'<td data-label="[^"]*" class="lz-cell">([^<]*)</td>', tr)
            for tr in grid[:grid.index("</table>")].split("<tr>")[2:]]
    assert [row[:4] for row in rows] == [["冰箱", "3", "350.5", "✓"], ["空调", "1", "", ""], ["微波炉", "1", "", ""]]


def test_the_csv_export_has_one_column_for_the_table_a_row_a_line(repair):
    as_user, number = repair
    response = as_user("admin").get("/tickets/export.csv?scope=all&type=repair&status=")
    table = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert table[0].count("配件") == 1 and table[1][0] == number
    assert table[1][table[0].index("配件")] == (
        "1. 配件：冰箱，数量：3，单价：350.5，已更换：是\n2. 配件：空调，数量：1\n3. 配件：微波炉，数量：1")


def test_the_xlsx_export_holds_the_same_cell(repair):
    as_user, _ = repair
    response = as_user("admin").get("/tickets/export.xlsx?scope=all&type=repair&status=")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True))
    assert rows[1][rows[0].index("配件")].split("\n") == [
        "1. 配件：冰箱，数量：3，单价：350.5，已更换：是", "2. 配件：空调，数量：1", "3. 配件：微波炉，数量：1"]


def test_flatten_reads_a_table_whatever_is_stored(dictionaries):
    assert flatten(PARTS, BEFORE, dictionaries, {}, ("Yes", "No")) == \
        "1. 配件：冰箱，数量：2，单价：350.5\n2. 配件：空调，数量：1"
    assert flatten(PARTS, "旧数据", dictionaries, {}, ("Yes", "No")) == "旧数据"
    assert flatten(PARTS, None, dictionaries, {}, ("Yes", "No")) == ""


def test_the_customer_progress_page_shows_a_public_table_as_one_line(app, repair):
    _, number = repair
    with app.app_context(), database.connection_context():
        token = feedback.progress_token(Ticket.get(Ticket.number == number))
    html = app.test_client().get(f"/p/{token}").get_data(as_text=True)
    assert "1. 配件：冰箱，数量：3，单价：350.5，已更换：✓；2. 配件：空调，数量：1；3. 配件：微波炉，数量：1" in html
