"""The REST API on both databases: the return-goods flow through the API alone, errors, lists."""

from __future__ import annotations

import pytest
from test_engine import FINANCE, REGISTER, WAREHOUSE

from workflows.people import org
from workflows.storage.models import Ticket, TicketEvent


class Api:
    """A test client that speaks JSON with a bearer token per user."""

    def __init__(self, client):
        self.client, self.tokens = client, {}

    def login(self, username: str) -> str:
        response = self.client.post("/api/v1/auth/token", json={"username": username, "password": "password1"})
        assert response.status_code == 201, response.json
        self.tokens[username] = response.json["token"]
        return self.tokens[username]

    def __call__(self, method: str, path: str, user: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if user:
            headers["Authorization"] = f"Bearer {self.tokens.get(user) or self.login(user)}"
        headers.setdefault("Accept-Language", "en")
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def act(self, user: str, number: str, action: str, **body):
        version = self("GET", f"/tickets/{number}", user).json["version"] if "version" not in body else None
        return self("POST", f"/tickets/{number}/actions", user, json={"action": action, "version": version, **body})


@pytest.fixture
def api(client, world):
    return Api(client)


def counts():
    return Ticket.select().count(), TicketEvent.select().count()


def create(api, **extra):
    response = api("POST", "/tickets", "agent", json={"process": "return_goods", "data": REGISTER,
                                                      "customer": {"name": "王先生", "phone": "13800000000"}, **extra})
    assert response.status_code == 201, response.json
    return response.json


def test_the_return_goods_flow_through_the_api_alone(api):
    assert api("GET", "/processes", "agent").json == [{"code": "return_goods", "name": "退货申请", "version": 1}]
    assert api("GET", "/processes/return_goods", "agent").json["steps"][0]["key"] == "register"

    rejected = create(api)
    approver = rejected["assignee"]
    assert (rejected["step"], rejected["customer"]) == ({"key": "approve", "name": "主管审批"},
                                                         {"name": "王先生", "phone": "+8613800000000"})
    view = api("GET", f"/tickets/{rejected['number']}", approver).json
    assert set(view["data"]) == set(REGISTER) and view["transitions"] == []
    done = api.act(approver, rejected["number"], "advance", transition="$end",
                   data={"approval": "reject", "reject_reason": "超过七天无理由期"})
    assert done.status_code == 200 and done.json["status"] == "closed"

    ticket = create(api)
    number, approver = ticket["number"], ticket["assignee"]
    step2 = api.act(approver, number, "advance", data={"approval": "approve"}, transition="warehouse").json
    keeper = step2["assignee"]
    seen = api("GET", f"/tickets/{number}", keeper).json
    assert set(seen["data"]) == {"order_no", "category", "model", "defect", "approval"}
    assert seen["transitions"] == [{"to": "finance", "label": "转财务退款"}]

    back = api.act(keeper, number, "return", comment="照片看不清").json
    assert (back["step"]["key"], back["assignee"]) == ("approve", approver)
    again = api.act(approver, number, "advance", transition="warehouse").json
    assert again["step"]["key"] == "warehouse"
    keeper = again["assignee"]
    to_finance = api.act(keeper, number, "advance", data=WAREHOUSE, assignee="fin1").json
    assert (to_finance["step"]["key"], to_finance["assignee"]) == ("finance", "fin1")
    assert set(api("GET", f"/tickets/{number}", "fin1").json["data"]) == {
        "order_no", "category", "model", "approval", "received_at", "as_described"}
    closed = api.act("fin1", number, "close", data=FINANCE).json
    assert (closed["status"], closed["step"]["key"]) == ("closed", "$end")

    history = api("GET", f"/tickets/{number}", "admin").json["history"]
    assert [(h["action"], h["from_step"], h["to_step"]) for h in history] == [
        ("create", "register", "approve"), ("advance", "approve", "warehouse"), ("return", "warehouse", "approve"),
        ("advance", "approve", "warehouse"), ("advance", "warehouse", "finance"), ("close", "finance", "$end")]
    assert history[2]["comment"] == "照片看不清" and history[5]["changes"]["refund_amount"] == [None, 19.99]
    agent_history = api("GET", f"/tickets/{number}", "agent").json["history"]
    assert all(set(h["changes"]) <= set(REGISTER) for h in agent_history)


def test_tokens(api):
    assert api("GET", "/processes").status_code == 401
    assert api("GET", "/processes", headers={"Authorization": "Bearer nope"}).status_code == 401
    wrong = api("POST", "/auth/token", json={"username": "agent", "password": "wrong"})
    assert wrong.status_code == 401 and wrong.json["error"] == "unauthorized"
    token = org.issue_token(Ticket._meta.database and org.authenticate("sup", "password1"))
    assert api("GET", "/processes", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_handler_who_is_not_the_assignee_gets_403(api):
    ticket = create(api)
    response = api.act("wh1", ticket["number"], "advance", data={"approval": "approve"}, transition="warehouse",
                       version=1)
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert api("GET", f"/tickets/{ticket['number']}", "fin2").status_code == 403


def test_a_stale_version_gets_409(api):
    """A reader who lost a race learns it; an outsider is refused first (defect 8: tests/test_visibility_rule.py)."""
    ticket = create(api)
    body = {"action": "advance", "version": 1, "data": {"approval": "approve"}, "transition": "warehouse"}
    assert api("POST", f"/tickets/{ticket['number']}/actions", ticket["assignee"], json=body).status_code == 200
    stale = api("POST", f"/tickets/{ticket['number']}/actions", ticket["assignee"], json=body)
    assert stale.status_code == 409 and stale.json["error"] == "conflict"
    outsider = api("POST", f"/tickets/{ticket['number']}/actions", "fin2", json=body)
    assert outsider.status_code == 403 and outsider.json["error"] == "forbidden"


BAD_CREATES = [
    ({"data": "x", "process": "return_goods"}, 400, {"data"}),
    ({"process": 7, "data": REGISTER}, 400, {"process"}),
    ({"process": "nosuch", "data": REGISTER}, 404, None),
    ({"process": "return_goods", "data": {**REGISTER, "purchase_date": 20261101, "order_no": ["x"]}}, 422,
     {"purchase_date", "order_no"}),
    ({"process": "return_goods", "data": {"order_no": "TH-1"}}, 422,
     {"source", "category", "model", "purchase_date", "defect"}),
    ({"process": "return_goods", "data": REGISTER, "transition": "finance"}, 422, {"transition"}),
    ({"process": "return_goods", "data": {**REGISTER, "approval": "approve"}}, 422, {"approval"}),
    ({"process": "return_goods", "data": {**REGISTER, "ghost": 1}, "priority": "whenever"}, 422,
     {"ghost", "priority"}),
]


@pytest.mark.parametrize(("body", "status", "fields"), BAD_CREATES)
def test_bad_creations_name_every_field_and_change_nothing(api, body, status, fields):
    response = api("POST", "/tickets", "agent", json=body)
    assert response.status_code == status, response.json
    assert set(response.json) >= {"error", "message"}
    if fields:
        assert set(response.json["fields"]) == fields
    assert counts() == (0, 0)


def test_malformed_json_is_400(api):
    response = api("POST", "/tickets", "agent", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json["error"] == "bad_request"


@pytest.mark.parametrize(("body", "status", "fields"), [
    ({"action": "advance", "data": {"approval": "approve", "order_no": "FORGED"}, "transition": "warehouse"}, 422,
     {"order_no"}),
    ({"action": "advance", "data": {"approval": "approve"}, "transition": "nowhere"}, 422, {"transition"}),
    ({"action": "advance", "data": {"approval": 3}}, 422, {"approval", "transition"}),
    ({"action": "explode"}, 400, {"action"}),
    ({"action": "return"}, 422, {"comment"}),
    ({"action": "transfer", "assignee": "sup2", "comment": "x"}, 409, None),
    ({"action": "reopen"}, 409, None),
    ({"action": "advance", "version": "1"}, 400, {"version"}),
])
def test_bad_actions_change_nothing(api, body, status, fields):
    ticket = create(api)
    before = counts(), Ticket.get(Ticket.number == ticket["number"]).data
    body.setdefault("version", 1)
    response = api("POST", f"/tickets/{ticket['number']}/actions", ticket["assignee"], json=body)
    assert response.status_code == status, response.json
    if fields:
        assert set(response.json["fields"]) == fields
    assert (counts(), Ticket.get(Ticket.number == ticket["number"]).data) == before


def test_errors_in_chinese(api):
    response = api("POST", "/tickets", "agent", json={"process": "return_goods", "data": {}},
                   headers={"Accept-Language": "zh-CN"})
    assert response.json["fields"]["order_no"] == ["此项为必填项。"]
    assert "此项为必填项" in response.get_data(as_text=True)  # UTF-8, not \u escapes


def test_lists_by_scope_and_pages(api, monkeypatch):
    import api.tickets as tickets

    monkeypatch.setattr(tickets, "PAGE", 2)
    numbers = [create(api)["number"] for _ in range(3)]
    first = api("GET", "/tickets?scope=mine", "agent").json
    assert [t["number"] for t in first["items"]] == numbers[::-1][:2] and first["next_cursor"]
    rest = api("GET", f"/tickets?scope=mine&cursor={first['next_cursor']}", "agent").json
    assert [t["number"] for t in rest["items"]] == numbers[:1] and rest["next_cursor"] is None
    assert api("GET", "/tickets?scope=all", "agent").status_code == 403
    assert len(api("GET", "/tickets?scope=all", "admin").json["items"]) == 2
    assert api("GET", "/tickets?scope=team", "sup").json["items"][0]["creator"] == "agent"
    assert api("GET", "/tickets?scope=mine", "fin1").json["items"] == []
    assert api("GET", "/tickets?scope=mine&q=13800000000", "agent").json["items"]
    assert api("GET", "/tickets?scope=mine&status=closed", "agent").json["items"] == []
    assert api("GET", "/tickets?scope=weird", "agent").status_code == 400
