"""The OpenAPI document on both databases: valid OpenAPI 3.1, complete against the routes, and true
of real responses; and the ``/api/docs`` page rendered from it.

The scripted session below runs through every documented operation; each
response is held against the schema documented for its path, method and
status, and the test fails if some operation was never seen succeeding, so a
new endpoint needs both a document entry and a line here.
"""

from __future__ import annotations

import copy
import io
import json
import re

import pytest
from conftest import ROOT
from jsonschema import Draft202012Validator
from markupsafe import escape
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from test_api import Api
from test_engine import REGISTER
from test_kb_api import article_session

from api.openapi import document

PREFIX = "/api/v1"
DOC_URI = "urn:liuzhuan:openapi"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class Checked(Api):
    """The tests' API client, validating every answer of a documented operation against the document."""

    def __init__(self, client, doc: dict):
        super().__init__(client)
        self.doc, self.seen = doc, set()
        self.registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(doc))
        self.templates = {re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"): path for path in doc["paths"]}

    def __call__(self, method: str, path: str, user: str | None = None, **kwargs):
        response = super().__call__(method, path, user, **kwargs)
        template = next((t for rx, t in self.templates.items() if rx.match(path.split("?")[0])), None)
        if template and method.lower() in self.doc["paths"][template]:
            self.check(template, method.lower(), response)
        return response

    def check(self, template: str, method: str, response) -> None:
        responses = self.doc["paths"][template][method]["responses"]
        status = str(response.status_code)
        assert status in responses, f"{method.upper()} {template}: undocumented status {status}"
        where = ("paths", template, method, "responses", status)
        if "$ref" in responses[status]:
            where = ("components", "responses", responses[status]["$ref"].rsplit("/", 1)[1])
        if response.is_json:
            schema = {"$ref": f"{DOC_URI}#/{pointer(*where, 'content', 'application/json', 'schema')}"}
            Draft202012Validator(schema, registry=self.registry).validate(response.json)
        if response.status_code < 300:
            self.seen.add((method.upper(), template))


@pytest.fixture
def doc(client) -> dict:
    response = client.get(f"{PREFIX}/openapi.json")  # no token: the document is public
    assert response.status_code == 200
    return response.json


@pytest.fixture
def api(client, world, doc):
    return Checked(client, doc)


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0" and doc == document()
    validate(doc)
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    bearer = doc["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"], doc["security"]) == ("http", "bearer", [{"bearer": []}])


def routes(app) -> set[tuple[str, str]]:
    """Every (method, OpenAPI path) the app serves under /api/v1."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
            found |= {(method, path) for method in rule.methods & METHODS}
    return found


def test_every_route_is_documented_and_every_documented_path_exists(app, doc):
    documented = {(m.upper(), path) for path, item in doc["paths"].items() for m in item if m.upper() in METHODS}
    assert routes(app) - documented == set(), "routes missing from api/openapi_paths.py"
    assert documented - routes(app) == set(), "documented operations with no route"


def ticket_session(api) -> str:
    """Create, read, list, act (and fail to), as agent and supervisor; returns the ticket number."""
    body = {"process": "return_goods", "data": REGISTER, "customer": {"name": "王先生", "phone": "13800000000"}}
    ticket = api("POST", "/tickets", "agent", json=body).json
    number, approver = ticket["number"], ticket["assignee"]
    assert api("GET", f"/tickets/{number}", "agent").status_code == 200
    assert api("GET", "/tickets?scope=mine", "agent").json["items"]
    assert api("GET", "/tickets?scope=all", "agent").status_code == 403
    assert api("GET", "/tickets?scope=weird", "agent").status_code == 400
    assert api("POST", "/tickets", "agent", json={"process": "return_goods", "data": {}}).status_code == 422
    assert api("POST", "/tickets", "agent", json={"process": "nosuch"}).status_code == 404
    assert api("POST", "/tickets", "agent", data="{no", content_type="application/json").status_code == 400
    assert api("GET", "/tickets/NOSUCH", "agent").status_code == 404
    assert api.act("wh1", number, "advance", version=1, transition="warehouse").status_code == 403
    advance = {"data": {"approval": "approve"}, "transition": "warehouse"}
    assert api.act(approver, number, "advance", version=1, **advance).status_code == 200
    assert api.act(approver, number, "advance", version=1, **advance).status_code == 409
    return number


def collab_session(api, number: str) -> None:
    """Notes with a mention (which notifies), an upload and its download."""
    assert api("POST", f"/tickets/{number}/notes", "agent", json={"text": "@wh1 please check"}).status_code == 201
    assert api("POST", f"/tickets/{number}/notes", "agent", json={"text": ""}).status_code == 422
    assert api("POST", f"/tickets/{number}/notes", "agent", json={}).status_code == 400
    assert api("GET", f"/tickets/{number}/notes", "agent").json[0]["author"] == "agent"
    upload = {"file": (io.BytesIO(PNG), "photo.png", "image/png"), "process": "return_goods", "field": "photos"}
    key = api("POST", "/attachments", "agent", data=upload, content_type="multipart/form-data").json["id"]
    download = api("GET", f"/attachments/{key}", "agent")
    assert download.data == PNG
    download.close()  # send_file's open file
    assert api("GET", f"/attachments/{key}", "wh1").status_code in (403, 404)
    assert api("POST", "/attachments", "agent", data={}, content_type="multipart/form-data").status_code == 422


def inbox_session(api) -> None:
    page = api("GET", "/notifications", "wh1").json
    assert page["unread"] >= 1
    assert api("POST", f"/notifications/{page['items'][0]['id']}/read", "wh1").json["read_at"]
    assert api("POST", "/notifications/read-all", "wh1").status_code == 200
    assert api("GET", "/notifications?unread=1&cursor=x", "wh1").status_code == 400
    assert api("POST", "/notifications/999999/read", "wh1").status_code == 404


def customer_session(api) -> None:
    found = api("GET", "/customers?phone=13800000000", "agent").json
    assert api("GET", f"/customers/{found[0]['id']}", "agent").json["tickets"]
    assert api("PATCH", f"/customers/{found[0]['id']}", "agent", json={"level": "vip"}).status_code == 200
    assert api("GET", "/customers", "agent").status_code == 400
    assert api("GET", "/customers/999999", "agent").status_code == 404


def dictionary_session(api) -> None:
    assert api("GET", "/dictionaries", "agent").status_code == 200
    product = api("GET", "/dictionaries/product", "agent").json
    assert api("PUT", "/dictionaries/product", "admin", json=product).status_code == 200
    assert api("PUT", "/dictionaries/product", "agent", json=product).status_code == 403
    colour = {"format": 1, "code": "colour", "name": "颜色", "items": [{"value": "red", "label": "红"}]}
    assert api("PUT", "/dictionaries/colour", "admin", json=colour).status_code == 201
    assert api("PUT", "/dictionaries/colour", "admin", json={**colour, "items": 3}).status_code == 422
    assert api("GET", "/dictionaries/nosuch", "agent").status_code == 404


def calendar_session(api) -> None:
    assert api("GET", "/calendars", "agent").json == []
    document = json.loads((ROOT / "workflows/demo/cn_workdays.calendar.json").read_text("utf-8"))
    assert api("PUT", "/calendars/cn_workdays", "admin", json=document).status_code == 201
    assert api("PUT", "/calendars/cn_workdays", "admin", json=document).status_code == 200
    assert api("PUT", "/calendars/cn_workdays", "agent", json=document).status_code == 403
    assert api("PUT", "/calendars/cn_workdays", "admin", json={**document, "hours": 3}).status_code == 422
    assert api("GET", "/calendars", "agent").json[0]["code"] == "cn_workdays"
    assert api("GET", "/calendars/cn_workdays", "agent").json == document
    assert api("GET", "/calendars/nosuch", "agent").status_code == 404


def process_session(api) -> None:
    assert api("GET", "/processes", "agent").json[0]["code"] == "return_goods"
    document = api("GET", "/processes/return_goods", "agent").json
    assert api("PUT", "/processes/return_goods/draft", "admin", json=document).status_code == 200
    other = {**copy.deepcopy(document), "code": "return_goods2"}
    assert api("PUT", "/processes/return_goods2/draft", "admin", json=other).status_code == 201
    assert api("PUT", "/processes/return_goods2/draft", "admin", json=document).status_code == 422
    assert api("POST", "/processes/return_goods/check", "admin").json == {"problems": []}
    assert api("POST", "/processes/return_goods/check", "admin", json={**document, "steps": []}).json["problems"]
    assert api("POST", "/processes/nosuch/check", "admin").status_code == 404
    assert api("POST", "/processes/return_goods2/publish", "admin").json["number"] == 1
    assert api("GET", "/processes/return_goods/versions", "admin").json[0]["number"] == 1
    assert api("GET", "/processes/return_goods/versions/1", "admin").json["code"] == "return_goods"
    assert api("GET", "/processes/return_goods/versions/9", "admin").status_code == 404
    assert api("GET", "/processes/return_goods/versions", "agent").status_code == 403


def test_real_responses_match_the_document(api, doc):
    assert api("GET", "/processes").status_code == 401
    assert api("POST", "/auth/token", json={"username": "agent", "password": "wrong"}).status_code == 401
    assert api("GET", "/openapi.json").status_code == 200
    assert api("POST", "/auth/token", json={"username": "agent", "password": "password1"}).status_code == 201
    collab_session(api, ticket_session(api))
    inbox_session(api)
    customer_session(api)
    dictionary_session(api)
    calendar_session(api)
    process_session(api)
    article_session(api)
    everything = {(m.upper(), path) for path, item in doc["paths"].items() for m in item}
    assert everything - api.seen == set(), "operations the session never saw succeed"


def test_the_docs_page_shows_every_operation_without_login(client, doc):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert f"/api/v1{path}</code>" in page and str(escape(operation["summary"])) in page, (method, path)
    assert 'id="schema-Ticket"' in page and "&#34;next_cursor&#34;" in page
    scripts = re.findall(r"<script[^>]*>", page)  # our own files only: no inline code, no CDN
    assert all(re.fullmatch(r'<script src="/static/js/[a-z]+\.js">', tag) for tag in scripts), scripts
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
