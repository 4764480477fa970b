"""Fuzz from valid data: valid requests with exactly one element changed, on SQLite and PostgreSQL.

``test_fuzz`` throws arbitrary values, which rarely get past validation; here
every request starts valid (a ticket created, advanced by each transition of
the return-goods process, a customer, list filters, cursors, report ranges)
and one element is mutated: wrong type, out of range, oversized, nested,
NaN or Infinity, a far date, a list for a scalar, an unknown key. Whatever
the mutation, the answer is below 500; a mutation that makes the input
invalid gets a 4xx naming the field, JSON path or parameter; a refused
request writes nothing (tickets, events, customers, attachments).
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api import Api
from test_engine import FINANCE, REGISTER, WAREHOUSE

from workflows.storage.models import Attachment, Customer, Ticket, TicketEvent

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DEEP: list = []
for _ in range(100):
    DEEP = [DEEP]

WRONG = [12345, True, ["x"], {"x": 1}, math.nan, math.inf, -math.inf, DEEP, "x" * 5000, "0001-01-01",
         "9999-12-31T23:00:00-10:00", "", None, 2**70, -1.5]
DATES = ("0001-01-01", "9999-12-31T23:00:00-10:00")
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00", exclude_categories=["Cs"]),
                min_size=1, max_size=20)


def rows() -> tuple[int, int, int, int]:
    return Ticket.select().count(), TicketEvent.select().count(), Customer.select().count(), Attachment.select().count()


def names(response) -> set[str]:
    body = response.get_json(silent=True) or {}
    return set(body.get("fields") or {})


def at_door(value) -> bool:
    """What the door refuses whatever its place: NaN, Infinity, nesting past 64 levels."""
    return isinstance(value, float) and not math.isfinite(value) or value is DEEP


def send(api, method: str, path: str, user: str, body: dict):
    """JSON as Python writes it: NaN and Infinity go out as such, as a careless client would send them."""
    return api(method, path, user, data=json.dumps(body), content_type="application/json")


def check(response, path: tuple, value, invalid: bool | None, name: str | None, before) -> None:
    """< 500; a refusal names ``name`` (None: no one name) and writes nothing; ``invalid`` ones are refused."""
    assert response.status_code < 500, (path, value, response.get_data(as_text=True)[:500])
    if at_door(value):
        invalid, name = True, "body"
    if response.status_code >= 400:
        assert name is None or name in names(response), (path, value, response.get_json(silent=True))
        assert rows() == before
    assert not invalid or response.status_code >= 400, f"{path} = {value!r} was accepted"


@pytest.fixture
def api(client, world):
    return Api(client)


valid_register = st.fixed_dictionaries({
    "order_no": st.from_regex(r"[0-9A-Z-]{1,32}", fullmatch=True), "source": st.just("phone"),
    "category": st.just("fr"), "model": st.just("fr-200"),
    "purchase_date": st.dates().filter(lambda d: 1900 <= d.year <= 2999).map(lambda d: d.isoformat()),
    "defect": texts})
valid_customer = st.fixed_dictionaries({}, optional={"name": texts, "phone": st.from_regex(r"1[3-9][0-9]{9}",
                                                                                          fullmatch=True),
                                                     "email": st.just("a@example.cn")})
valid_create = st.fixed_dictionaries({"process": st.just("return_goods"), "data": valid_register},
                                     optional={"customer": valid_customer,
                                               "channel": st.sampled_from(["phone", "online", "api"]),
                                               "transition": st.just("approve")})


def leaves(body: dict) -> list[tuple]:
    """Paths of the body's mutable elements: top-level keys, data fields, customer keys, unknown keys."""
    found = [(k,) for k in body if k != "process"] + [("data", k) for k in body["data"]]
    found += [("customer", k) for k in body.get("customer", {})]
    return found + [("data", "no_such_field"), ("customer", "no_such_key"), ("channel",)]


def mutate(body: dict, path: tuple, value) -> dict:
    changed = {k: (dict(v) if isinstance(v, dict) else v) for k, v in body.items()}
    node = changed
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return changed


def data_verdict(field: str, value) -> bool:
    """Whether ``value`` is wrong for a required register field (every one is)."""
    if field == "defect":
        return not isinstance(value, str) or value in ("", "x" * 5000)
    return not (field == "order_no" and value == "0001-01-01")


def create_verdict(path: tuple, value) -> tuple[bool | None, str | None]:
    """(surely invalid, or None when it depends; the name a refusal gives)."""
    if len(path) == 1:
        return top_verdict(path[0], value)
    name = "/".join(path) if path[0] == "customer" else path[-1]
    if path[-1] in ("no_such_field", "no_such_key"):
        return True, name
    if path[0] == "data":
        return data_verdict(path[1], value), name
    return not (value is None or isinstance(value, str)), name


def top_verdict(key: str, value) -> tuple[bool | None, str | None]:
    """A whole top-level value replaced: null is an absent key; an object is read key by key."""
    if value is None:
        return (True, None) if key == "data" else (False, None)
    if key == "transition" and value == "":
        return None, None
    return True, None if isinstance(value, dict) and key in ("data", "customer") else key


@FUZZ
@given(body=valid_create, data=st.data())
def test_create_with_one_element_changed(api, body, data):
    before = rows()
    assert send(api, "POST", "/tickets", "agent", body).status_code == 201  # the valid body is valid
    before = rows()
    path = data.draw(st.sampled_from(leaves(body)))
    value = data.draw(st.sampled_from(WRONG))
    response = send(api, "POST", "/tickets", "agent", mutate(body, path, value))
    check(response, path, value, *create_verdict(path, value), before)


STEPS = {  # step -> (data, transition, assignee) that the step's handler sends to leave it
    "approve": ({"approval": "approve"}, "warehouse", None),
    "reject": ({"approval": "reject", "reject_reason": "坏了"}, "$end", None),
    "warehouse": (WAREHOUSE, "finance", "fin1"),
    "finance": (FINANCE, "$end", None),
}
ORDER = ["approve", "warehouse", "finance"]


def at_step(api, step: str) -> tuple[str, str, int]:
    """A new valid ticket advanced to ``step`` (reject: the approve step); its number, handler and version."""
    ticket = api("POST", "/tickets", "agent", json={"process": "return_goods", "data": REGISTER}).json
    number, handler = ticket["number"], ticket["assignee"]
    for previous in ORDER[:ORDER.index("approve" if step == "reject" else step)]:
        values, transition, assignee = STEPS[previous]
        moved = api.act(handler, number, "advance", data=values, transition=transition, assignee=assignee)
        assert moved.status_code == 200, moved.json
        handler = moved.json["assignee"]
    return number, handler, api("GET", f"/tickets/{number}", handler).json["version"]


def advance_verdict(step: str, path: tuple, value) -> tuple[bool | None, str | None]:
    """(surely invalid, or None when it depends; the name a refusal gives) for one changed element."""
    field = path[-1]
    if path[0] == "data" and field == "reject_reason":
        return not isinstance(value, str) or value == "", field
    if path[0] == "data" and field == "refund_amount":
        return not (isinstance(value, int | float) and not isinstance(value, bool) and value >= 0), field
    if path[0] == "data":
        return True, field
    if field == "version" and isinstance(value, int) and not isinstance(value, bool):
        return True, None  # another version: a conflict, which names no field
    if field == "transition" and value in ("", None):
        return None, None
    return True, field


@FUZZ
@given(step=st.sampled_from(list(STEPS)), data=st.data())
def test_each_transition_with_one_element_changed(api, step, data):
    number, handler, version = at_step(api, step)
    values, transition, assignee = STEPS[step]
    body = {"action": "advance", "version": version, "data": dict(values), "transition": transition}
    if assignee:
        body["assignee"] = assignee
    paths = [("data", k) for k in values] + [("data", "no_such_field"), ("version",), ("transition",)]
    path = data.draw(st.sampled_from(paths + ([("assignee",)] if assignee else [])))
    value = data.draw(st.sampled_from(WRONG))
    before = rows()
    response = send(api, "POST", f"/tickets/{number}/actions", handler, mutate(body, path, value))
    check(response, path, value, *advance_verdict(step, path, value), before)


LIST_PARAMS = {"scope": ["mine", "team", "all"], "status": ["open", "closed"], "process": ["return_goods"],
               "q": ["13800", "王"], "sort": ["newest", "due", "priority"], "tag": ["vip"]}
GARBAGE = ["x" * 5000, "9" * 40, "-1", "0001-01-01", "99999-12-31", "%00".replace("%00", "%"), "[]", "NaN", "é" * 300]


@FUZZ
@given(params=st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in LIST_PARAMS.items()}),
       changed=st.sampled_from([*LIST_PARAMS, "cursor", "created_from", "created_to"]),
       value=st.sampled_from(GARBAGE) | texts)
def test_list_filters_and_cursors_with_one_parameter_changed(api, client, params, changed, value):
    if not Ticket.select().exists():
        api("POST", "/tickets", "agent", json={"process": "return_goods", "data": REGISTER})
        assert client.post("/login", data={"username": "admin", "password": "password1"}).status_code == 302
    query = {**params, changed: value}
    response = api("GET", "/tickets", "admin", query_string=query)
    assert response.status_code < 500, (query, response.get_data(as_text=True)[:500])
    if changed == "cursor" and response.status_code >= 400:
        assert names(response) == {"cursor"}
    for path in ("/", "/tickets/export.csv"):
        page = client.get(path, query_string=query)
        text = page.get_data(as_text=True)  # the whole file: a stream that breaks off is a failure too
        page.close()
        assert page.status_code < 500, (path, query)
        if page.status_code == 400 and changed in ("cursor", "created_from", "created_to"):
            assert changed in text


REPORT = {"start": "2026-01-01", "end": "2026-01-31", "group": "day", "basis": "created"}


@FUZZ
@given(changed=st.sampled_from([*REPORT, "type", "department", "role", "agent", "priority", "channel", "tag"]),
       value=st.sampled_from([*GARBAGE, "1900-01-01", "2999-12-31", "0001-01-01", "9999-12-31"]) | texts)
def test_report_ranges_with_one_parameter_changed(api, client, changed, value):
    if not Ticket.select().exists():
        api("POST", "/tickets", "agent", json={"process": "return_goods", "data": REGISTER})
        assert client.post("/login", data={"username": "admin", "password": "password1"}).status_code == 302
    query = {**REPORT, changed: value}
    for path in ("/reports", "/reports/export.csv", "/reports/export.xlsx"):
        response = client.get(path, query_string=query)
        text = response.get_data().decode("utf-8", "replace")  # an XLSX file is bytes
        response.close()
        assert response.status_code < 500, (path, query)
        if response.status_code == 400:
            assert "start" in text or "end" in text, (path, query, text[:300])


CALL = {**REGISTER, "process": "return_goods", "phone": "13900000000", "customer_name": "李女士",
        "channel": "phone", "transition": "approve"}


@FUZZ
@given(changed=st.sampled_from([*CALL, "no_such_field"]),
       value=st.sampled_from(["x" * 5000, "0001-01-01", "9999-12-31", "-1", "NaN", "1e999", "[]", ""]) | texts)
def test_the_call_page_with_one_field_changed(api, client, changed, value):
    client.post("/login", data={"username": "agent", "password": "password1"})
    before = rows()
    response = client.post("/call", data={**CALL, changed: value})
    assert response.status_code < 500, (changed, value)
    if response.status_code >= 400:
        assert rows() == before
    else:
        assert response.status_code == 302 and rows()[0] == before[0] + 1
