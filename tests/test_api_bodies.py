"""Request bodies against their OpenAPI schemas, on both databases (``api/bodies.py``).

Every operation with a JSON ``requestBody`` holds the body against that schema:
a declared member of the wrong JSON type, a required one missing, an unknown one
where the schema refuses others, each gets a 400 naming it and writes nothing; a
null optional member and an extra one where the schema allows others are not
refused for it. Value rules the schema states but leaves to the engine (enums,
the customer's keys) are refused with the member named too, so the document
never promises more than the API takes, nor less. Documents (process,
dictionary) are their meta-schemas, applied by the document checks: 422 (200
with problems for ``check``) at the member's JSON pointer. The validators are
built once, at import.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from jsonschema import Draft202012Validator
from test_api import Api, create
from test_engine import REGISTER

import api.bodies as bodies
from api.openapi import document
from workflows.kb import articles as kb_articles
from workflows.storage.models import AuditEntry, Customer, Ticket, TicketEvent, User

DOC = document()
JSON = "application/json"
CANDIDATES = [{"x": 1}, [1], True, "x", 7, 1.5]  # one of these is of a type a member does not take
DOCUMENTS = {"putProcessDraft": 422, "checkProcess": 200, "putDictionary": 422, "putCalendar": 422}
CALENDAR = json.loads((ROOT / "workflows/demo/cn_workdays.calendar.json").read_text("utf-8"))
CODES = {"dictionaries": "product", "calendars": "cn_workdays"}  # a path's {code}; a process's elsewhere
IGNORE_EXTRA = {"createToken", "createTicket", "actOnTicket", "addNote"}  # as before the schemas were enforced
BASELINES = {  # operationId -> (user, a valid body); a new operation with a body fails until listed here
    "createToken": (None, {"username": "agent", "password": "password1"}),
    "createTicket": ("agent", {"process": "return_goods", "data": REGISTER}),
    "actOnTicket": ("agent", {"action": "advance", "version": 1}),
    "addNote": ("agent", {"text": "hi"}),
    "editCustomer": ("agent", {}),
    "putProcessDraft": ("admin", "/processes/return_goods"),
    "checkProcess": ("admin", "/processes/return_goods"),
    "putDictionary": ("admin", "/dictionaries/product"),
    "putCalendar": ("admin", CALENDAR),
    "createArticle": ("admin", {"title": "退货运费", "body": "质量问题退货，运费由我们承担。"}),
    "editArticle": ("admin", {"version": 1}),
    "submitArticle": ("admin", {}), "publishArticle": ("admin", {}), "archiveArticle": ("admin", {}),
}


def resolve(schema: dict) -> dict:
    """``schema`` with its ``$ref`` (into this document) followed."""
    while "$ref" in schema:
        node = DOC
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def operations() -> list[tuple[str, str, str, dict]]:
    """(operationId, METHOD, path, resolved request schema) of every operation taking a JSON body."""
    found = []
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if JSON in content:
                found.append((operation["operationId"], method.upper(), path, resolve(content[JSON]["schema"])))
    return found


OPERATIONS = operations()
API_BODIES = [op for op in OPERATIONS if op[0] not in DOCUMENTS]


def wrong_value(schema: dict):
    """A value of a JSON type ``schema`` does not take (None when it declares no type)."""
    declared = resolve(schema).get("type")
    if declared is None:
        return None
    types = declared if isinstance(declared, list) else [declared]
    checker = Draft202012Validator.TYPE_CHECKER
    return next(v for v in CANDIDATES if not any(checker.is_type(v, t) for t in types))


def rows() -> tuple[int, ...]:
    return (Ticket.select().count(), TicketEvent.select().count(), Customer.select().count(),
            AuditEntry.select().count())


def fields(response) -> set[str]:
    return set((response.get_json(silent=True) or {}).get("fields") or {})


class Bodies:
    """Sends a body to an operation with its path parameters filled and its baseline user."""

    def __init__(self, api: Api, number: str, article: str):
        self.api, self.number, self.article = api, number, article
        self.customer = Customer.get(Customer.phone == "+8613800000000").id

    def url(self, path: str) -> str:
        return (path.replace("{code}", CODES.get(path.split("/")[1], "return_goods"))
                .replace("{number}", self.number).replace("{customer_id}", str(self.customer))
                .replace("{kb_number}", self.article))

    def baseline(self, op_id: str) -> dict:
        user, body = BASELINES[op_id]
        return dict(self.api("GET", body, user).json if isinstance(body, str) else body)

    def send(self, op_id: str, method: str, path: str, body: dict):
        return self.api(method, self.url(path), BASELINES[op_id][0], json=body)


@pytest.fixture
def sender(client, world) -> Bodies:
    api = Api(client)
    ticket = create(api)  # a ticket the agent reads but may not act on, and a customer the agent may edit
    article = kb_articles.create(User.get(User.username == "admin"), title="冰箱退货", body="运费")  # a draft
    return Bodies(api, ticket["number"], article.number)


def test_every_json_body_is_listed_and_validated():
    assert {op[0] for op in OPERATIONS} == set(BASELINES)
    assert set(bodies.VALIDATORS) == {(method, path) for _, method, path, _ in OPERATIONS}
    for op_id, method, path, schema in OPERATIONS:
        assert schema["type"] == "object", op_id
        assert bodies.VALIDATORS[method, path].is_valid({}) is (not schema.get("required")), op_id


@pytest.mark.parametrize(("op_id", "method", "path", "schema"), API_BODIES, ids=[op[0] for op in API_BODIES])
def test_a_member_of_the_wrong_type_is_400_naming_it(sender, op_id, method, path, schema):
    wrong = {name: wrong_value(member) for name, member in schema["properties"].items()}
    assert all(value is not None for value in wrong.values()), "every member of a request body declares a type"
    before = rows()
    for name, value in wrong.items():
        response = sender.send(op_id, method, path, {**sender.baseline(op_id), name: value})
        assert response.status_code == 400 and fields(response) == {name}, (name, value, response.json)
        assert response.json["error"] == "bad_request" and repr(value) not in response.json["message"]
    assert rows() == before


@pytest.mark.parametrize(("op_id", "method", "path", "schema"), API_BODIES, ids=[op[0] for op in API_BODIES])
def test_missing_required_and_unknown_members(sender, op_id, method, path, schema):
    before = rows()
    for name in schema.get("required", []):
        body = {k: v for k, v in sender.baseline(op_id).items() if k != name}
        response = sender.send(op_id, method, path, body)
        assert response.status_code == 400 and fields(response) == {name}, (name, response.json)
    extra = sender.send(op_id, method, path, {**sender.baseline(op_id), "no_such_member": 1})
    assert (schema.get("additionalProperties") is not False) is (op_id in IGNORE_EXTRA)
    if schema.get("additionalProperties") is False:
        assert extra.status_code == 400 and fields(extra) == {"no_such_member"}
    else:  # today's behaviour: an extra member is ignored
        assert "no_such_member" not in fields(extra)
    if extra.status_code >= 400:
        assert rows() == before


@pytest.mark.parametrize(("op_id", "method", "path", "schema"), API_BODIES, ids=[op[0] for op in API_BODIES])
def test_null_optional_members_are_read_as_absent(sender, op_id, method, path, schema):
    optional = [name for name in schema["properties"] if name not in schema.get("required", [])]
    for name in optional:
        assert bodies.VALIDATORS[method, path].is_valid({**sender.baseline(op_id), name: None}), name
        response = sender.send(op_id, method, path, {**sender.baseline(op_id), name: None})
        assert response.status_code < 500 and name not in fields(response), (name, response.json)


ENUM_MEMBERS = [(op[0], op[1], op[2], name) for op in API_BODIES for name, member in op[3]["properties"].items()
                if "enum" in resolve(member)]


@pytest.mark.parametrize(("op_id", "method", "path", "name"), ENUM_MEMBERS,
                         ids=[f"{m[0]}.{m[3]}" for m in ENUM_MEMBERS])
def test_a_value_outside_an_enum_is_refused_naming_it(sender, op_id, method, path, name):
    """The engine (or the customers' check) owns these; the schema's enum may not promise more or less."""
    before = rows()
    response = sender.send(op_id, method, path, {**sender.baseline(op_id), name: "no-such-value"})
    assert 400 <= response.status_code < 500 and name in fields(response), response.json
    assert rows() == before


CUSTOMER_KEYS = [({"name": 1}, "customer/name"), ({"email": []}, "customer/email"), ({"vip": "x"}, "customer/vip")]


@pytest.mark.parametrize(("customer", "key"), CUSTOMER_KEYS)
def test_the_customer_of_a_create_is_checked_by_its_keys(sender, customer, key):
    """Nested values are the engine's: 422 at ``customer/<key>``, with every other problem of the request."""
    schema = resolve(DOC["components"]["schemas"]["TicketCreate"]["properties"]["customer"])
    assert not Draft202012Validator(schema).is_valid(customer)
    body = {"process": "return_goods", "data": {**REGISTER, "ghost": 1}, "customer": customer}
    response = sender.send("createTicket", "POST", "/tickets", body)
    assert response.status_code == 422 and fields(response) == {key, "ghost"}


DOCUMENT_OPS = [op for op in OPERATIONS if op[0] in DOCUMENTS]


@pytest.mark.parametrize(("op_id", "method", "path", "schema"), DOCUMENT_OPS, ids=[op[0] for op in DOCUMENT_OPS])
def test_a_document_member_of_the_wrong_type_is_named_by_pointer(sender, op_id, method, path, schema):
    assert schema["additionalProperties"] is False and "$defs" in schema  # the meta-schema itself
    before = rows()
    for name, member in schema["properties"].items():
        value = wrong_value(member)
        if value is None:
            continue
        response = sender.send(op_id, method, path, {**sender.baseline(op_id), name: value})
        assert response.status_code == DOCUMENTS[op_id], (name, response.json)
        named = {p["path"] for p in response.json["problems"]} if op_id == "checkProcess" else fields(response)
        assert f"/{name}" in named, (name, value, response.json)
    assert rows() == before


def test_a_body_that_is_not_an_object_names_body(sender):
    for op_id, method, path, _ in OPERATIONS:
        for text in ("[1]", '"x"', "{no"):
            response = sender.api(method, sender.url(path), BASELINES[op_id][0] or "agent", data=text,
                                  content_type=JSON)
            assert response.status_code == 400 and fields(response) == {"body"}, (op_id, text)


def test_an_integral_version_is_an_integer_as_json_schema_says(sender):
    number = create(sender.api)["number"]
    stale = sender.api("POST", f"/tickets/{number}/actions", "agent", json={"action": "advance", "version": 7.0})
    assert stale.status_code in (403, 409) and "version" not in fields(stale)
    fraction = sender.api("POST", f"/tickets/{number}/actions", "agent", json={"action": "advance", "version": 1.5})
    assert fraction.status_code == 400 and fields(fraction) == {"version"}


def test_validators_are_built_once_not_per_request(sender, monkeypatch):
    used = []
    malformed = bodies.malformed
    monkeypatch.setattr(bodies, "malformed", lambda validator, payload: used.append(validator)
                        or malformed(validator, payload))
    for name in ("EcmaValidator", "Registry", "compile_validators", "document"):
        monkeypatch.setattr(bodies, name, _refuse)
    create(sender.api)
    sender.send("addNote", "POST", "/tickets/{number}/notes", {"text": 5})
    assert used == [bodies.VALIDATORS["POST", "/tickets"], bodies.VALIDATORS["POST", "/tickets/{number}/notes"]]


def _refuse(*args, **kwargs):
    raise AssertionError("built per request")
