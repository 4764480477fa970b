"""Issue 16, defects 4 and 5: inputs that reached a 500 now get a 4xx naming what is wrong, and nothing is written.

Each test runs on SQLite and PostgreSQL (the ``db`` fixture under ``world``)
and counts rows before and after a refused request.
"""

from __future__ import annotations

import io
import json

import pytest
from conftest import example
from openpyxl import load_workbook
from test_api import Api
from test_engine import REGISTER, WAREHOUSE

from workflows.storage.models import Customer, Ticket, TicketEvent

FAR_INSTANTS = ["9999-12-31T23:00:00-10:00", "0001-01-01T00:00:00+14:00", "3000-01-01T00:00:00Z",
                "1899-12-31T23:59:59Z"]
HUGE = "9" * 40


@pytest.fixture
def api(client, world):
    return Api(client)


def rows() -> tuple[int, int, int]:
    return Ticket.select().count(), TicketEvent.select().count(), Customer.select().count()


def login(client, username: str = "admin"):
    assert client.post("/login", data={"username": username, "password": "password1"}).status_code == 302


def create(api, **extra) -> dict:
    body = {"process": "return_goods", "data": REGISTER, "customer": {"name": "王先生", "phone": "13800000000"}}
    response = api("POST", "/tickets", "agent", json={**body, **extra})
    assert response.status_code == 201, response.json
    return response.json


def at_warehouse(api) -> tuple[str, str]:
    ticket = create(api)
    moved = api.act(ticket["assignee"], ticket["number"], "advance", data={"approval": "approve"},
                    transition="warehouse")
    assert moved.status_code == 200, moved.json
    return ticket["number"], moved.json["assignee"]


# Defect 4: an accepted instant broke every page of its ticket.

def test_an_instant_outside_the_years_is_refused_naming_the_field(api):
    number, handler = at_warehouse(api)
    before = rows()
    for instant in FAR_INSTANTS:
        response = api.act(handler, number, "advance", data={**WAREHOUSE, "received_at": instant},
                           transition="finance", assignee="fin1")
        assert response.status_code == 422 and list(response.json["fields"]) == ["received_at"], instant
        assert "1900" in response.json["fields"]["received_at"][0]
    assert rows() == before and Ticket.get(Ticket.number == number).step == "warehouse"


def test_a_date_outside_the_years_is_refused_on_create(api):
    before = rows()
    for day in ("0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"):
        response = api("POST", "/tickets", "agent", json={"process": "return_goods",
                                                          "data": {**REGISTER, "purchase_date": day}})
        assert response.status_code == 422 and list(response.json["fields"]) == ["purchase_date"], day
    assert rows() == before


def test_an_instant_stored_before_the_bound_still_shows_on_every_path(api, client):
    """A value saved before the bound existed: the page, the API and both exports show it as text."""
    number, handler = at_warehouse(api)
    moved = api.act(handler, number, "advance", data=WAREHOUSE, transition="finance", assignee="fin1")
    assert moved.status_code == 200, moved.json
    ticket = Ticket.get(Ticket.number == number)
    ticket.data = {**ticket.data, "received_at": FAR_INSTANTS[0]}  # as an older release stored it
    ticket.save()
    login(client)
    assert FAR_INSTANTS[0] in client.get(f"/tickets/{number}").get_data(as_text=True)
    assert api("GET", f"/tickets/{number}", "admin").json["data"]["received_at"] == FAR_INSTANTS[0]
    query = "?scope=all&status=&type=return_goods"
    csv_text = client.get("/tickets/export.csv" + query).get_data().decode("utf-8-sig")
    assert number in csv_text and FAR_INSTANTS[0] in csv_text
    xlsx = client.get("/tickets/export.xlsx" + query)
    assert xlsx.status_code == 200
    cells = [c for row in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True) for c in row]
    assert number in cells and FAR_INSTANTS[0] in cells


# Defect 5: 500s instead of 4xx.

WRONG_CUSTOMERS = [({"name": 123}, "customer/name"), ({"phone": 13800000000}, "customer/phone"),
                   ({"email": ["a@b.cn"]}, "customer/email"), ({"name": {"x": 1}}, "customer/name"),
                   ({"nickname": "x"}, "customer/nickname")]


def test_customer_sub_fields_must_be_text(api):
    before = rows()
    for customer, key in WRONG_CUSTOMERS:
        response = api("POST", "/tickets", "agent", json={"process": "return_goods", "data": REGISTER,
                                                          "customer": customer})
        assert response.status_code == 422 and list(response.json["fields"]) == [key], response.json
    assert rows() == before


ROUTES = [("POST", "/tickets"), ("POST", "/tickets/TH1/actions"), ("PATCH", "/customers/1"),
          ("PUT", "/dictionaries/product"), ("POST", "/notifications/read-all")]


def test_non_standard_json_is_refused_at_the_door(api):
    before = rows()
    for constant in ("NaN", "Infinity", "-Infinity", "1e999"):
        text = '{"process": "return_goods", "data": {"order_no": "TH-1", "defect": CONSTANT}, "version": 1}'
        text = text.replace("CONSTANT", constant)
        for method, path in ROUTES:
            response = api(method, path, "admin", data=text, content_type="application/json")
            assert response.status_code == 400, (path, response.get_data(as_text=True))
            assert list(response.json["fields"]) == ["body"] and constant.lstrip("-") in response.json["message"]
    assert rows() == before


def test_deeply_nested_json_is_400(api):
    before = rows()
    for depth in (100, 10_000):
        data = {"process": "return_goods", "data": REGISTER, "customer": {"name": "x"}}
        text = json.dumps(data)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
        response = api("POST", "/tickets", "agent", data=text, content_type="application/json")
        assert response.status_code == 400 and list(response.json["fields"]) == ["body"]
        assert "64" in response.json["message"]
    assert rows() == before


CURSORS = [HUGE, "9223372036854775808", "1-" + HUGE, "x" * 5000 + "-1", "20260101-" + HUGE]


def test_a_cursor_out_of_range_is_400_naming_it_on_every_list(api, client):
    create(api)
    customer = Customer.get(Customer.phone == "+8613800000000").id
    login(client, "agent")
    for cursor in CURSORS:
        for path in ("/tickets", "/notifications", f"/customers/{customer}"):
            response = api("GET", path, "agent", query_string={"cursor": cursor})
            assert response.status_code == 400 and list(response.json["fields"]) == ["cursor"], (path, cursor)
        assert api("GET", "/tickets", "agent", query_string={"cursor": cursor, "sort": "due"}).status_code == 400
        for path, query in (("/", {}), ("/", {"sort": "due"}), ("/inbox", {}), (f"/customers/{customer}", {})):
            response = client.get(path, query_string={**query, "cursor": cursor})
            assert response.status_code == 400 and "cursor" in response.get_data(as_text=True), (path, cursor)


FILTER_DATES = [("created_from", "0001-01-01"), ("created_to", "9999-12-31"), ("created_from", "99999-01-01"),
                ("created_to", "1899-12-31")]


def test_extreme_dates_in_list_filters(api, client):
    """The page shows the message at the field and leaves the criterion out; a file cannot, so it is a 400."""
    create(api)
    login(client)
    for name, value in FILTER_DATES:
        page = client.get("/", query_string={"scope": "all", name: value})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f'id="{name}" name="{name}" type="date" value="{value}"' in html
        assert "is-invalid" in html
        for export in ("/tickets/export.csv", "/tickets/export.xlsx"):
            response = client.get(export, query_string={"scope": "all", name: value})
            assert response.status_code == 400 and f"{name}: " in response.get_data(as_text=True), export


REPORT_RANGES = [({"start": "0001-01-01"}, "start"), ({"end": "9999-12-31"}, "end"),
                 ({"start": "99999-01-01"}, "start"), ({"start": "1900-01-01", "end": "2999-12-31"}, "start")]


def test_extreme_report_ranges(api, client):
    create(api)
    login(client)
    for query, named in REPORT_RANGES:
        assert client.get("/reports", query_string=query).status_code == 200
        for export in ("/reports/export.csv", "/reports/export.xlsx"):
            response = client.get(export, query_string=query)
            assert response.status_code == 400 and f"{named}: " in response.get_data(as_text=True), export


def test_a_report_ending_early_in_1900_starts_in_1900(api, client):
    login(client)
    assert client.get("/reports", query_string={"end": "1900-01-03", "group": "week"}).status_code == 200
    assert client.get("/reports/export.csv", query_string={"end": "1900-01-03"}).status_code == 200


def test_only_documented_channels_are_stored(api, client):
    before = rows()
    login(client, "agent")
    for channel in ("x" * 100, "fax", "", "PHONE"):
        response = api("POST", "/tickets", "agent", json={"process": "return_goods", "data": REGISTER,
                                                          "channel": channel})
        assert response.status_code == 422 and list(response.json["fields"]) == ["channel"]
        form = {**REGISTER, "process": "return_goods", "channel": channel or "x", "phone": "13900000000",
                "customer_name": "李女士", "transition": "approve"}
        page = client.post("/call", data=form)
        assert page.status_code == 422 and "phone, online, form, email, api" in page.get_data(as_text=True)
    assert rows() == before


def test_documented_channels_are_kept(api):
    for channel in ("phone", "online", "form", "email", "api"):
        assert create(api, channel=channel)["channel"] == channel


@pytest.mark.parametrize("constant", ["NaN", "-Infinity", "1e999"])
def test_the_admin_json_editor_and_the_cli_refuse_non_standard_json(client, runner, world, tmp_path, constant):
    """The same strict reader (formbuilder.strictjson) serves the admin's JSON editors and the CLI."""
    from workflows.storage.models import Process

    document = json.dumps(example("return_goods.process.json"), ensure_ascii=False)
    text = document.replace('"maxLength": 32', f'"maxLength": {constant}', 1)
    assert text != document
    login(client)
    before = Process.select().count()
    said = "is too large" if constant == "1e999" else "is not a JSON value"
    page = client.post("/admin/processes/new/json", data={"document": text}, headers={"Accept-Language": "en"})
    assert page.status_code == 422 and said in page.get_data(as_text=True)
    path = tmp_path / "p.json"
    path.write_text(text, "utf-8")
    result = runner.invoke(args=["process", "import", str(path)])
    assert result.exit_code == 1 and said in result.output
    assert Process.select().count() == before
