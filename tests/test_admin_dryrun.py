"""Preview and dry run of the draft in the admin: walk a sample ticket through the steps, save nothing."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from io import BytesIO

import pytest
from conftest import example
from test_uploads import PNG

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Attachment, Process, Ticket, TicketEvent

BASE = "/admin/processes/return_goods"
DRAFT = BASE + "/draft/"
EN = {"Accept-Language": "en"}
REGISTER = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "门关不上"}
WAREHOUSE = {"received": "y", "received_at": "2026-11-03T10:30", "as_described": "yes"}
FINANCE = {"refund_amount": "99.5", "refund_channels": "original"}


@pytest.fixture
def admin(auth, client):
    assert auth.login("admin").status_code == 302
    return client


class Forms(HTMLParser):
    """Every form of a page: action, class, hidden inputs and its button's text."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self._button = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "class": attrs.get("class", ""),
                               "id": attrs.get("id"), "hidden": {}, "button": ""})
        elif tag == "input" and attrs.get("type") == "hidden" and self.forms and attrs.get("name", "")[:3] == "lz_":
            self.forms[-1]["hidden"].setdefault(attrs["name"], attrs.get("value", ""))
        self._button = tag == "button" or (self._button and tag != "form")

    def handle_endtag(self, tag):
        self._button = self._button and tag != "button"

    def handle_data(self, data):
        if self._button and self.forms:
            self.forms[-1]["button"] += data.strip()


def forms(html: str, kind: str) -> list[dict]:
    return [f for f in Forms(html).forms if kind in f["class"].split() or f["id"] == kind]


def check(client, step: str, html: str, values: dict, base: str = DRAFT):
    """Submit ``step``'s form with ``values`` and what the page carries (the sample, the trail)."""
    [form] = forms(html, "lz-preview-form")
    data = {k: v for k, v in form["hidden"].items() if k != "lz_present"}
    data.update(values, lz_present=list(values))
    response = client.post(base + step, data=data, headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def choose(client, html: str, label: str, kind: str = "lz-move"):
    """Press the walk button whose text starts with ``label``."""
    [form] = [f for f in forms(html, kind) if f["button"].startswith(label)]
    return client.post(form["action"], data=form["hidden"], headers=EN)


def counts() -> tuple[int, ...]:
    with database.connection_context():
        return tuple(m.select().count() for m in (Ticket, TicketEvent, Attachment))


def set_draft(document: dict) -> None:
    """Store a draft as is, bypassing the checks (as an older release or a hand edit could)."""
    with database.connection_context():
        Process.update(draft=document).where(Process.code == "return_goods").execute()


def test_walk_the_draft_from_register_to_the_end(admin, seeded):
    before = counts()
    start = admin.get(BASE + "/draft")
    assert start.status_code == 302 and start.headers["Location"].endswith(DRAFT + "register")
    html = admin.get(DRAFT + "register", headers=EN).get_data(as_text=True)
    assert "Draft" in html and "lz-move" not in html
    html = check(admin, "register", html, REGISTER)
    assert "Valid: the engine would accept this data." in html
    html = choose(admin, html, "提交主管审批").get_data(as_text=True)
    assert "lz-trail" in html and "来电登记" in html.split("lz-trail")[1].split("</ol>")[0]
    assert "TH-1" in html.split('class="row lz-sample"')[1]
    html = check(admin, "approve", html, {"approval": "approve"})
    assert [f["button"] for f in forms(html, "lz-move")] == ["同意退货, 转仓库 → 仓库收货"]
    html = choose(admin, html, "同意退货").get_data(as_text=True)
    html = check(admin, "warehouse", html, WAREHOUSE)
    html = choose(admin, html, "转财务退款").get_data(as_text=True)
    html = check(admin, "finance", html, FINANCE)
    response = choose(admin, html, "已退款")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "lz-closed" in html and "lz-preview-form" not in html
    trail = html.split("lz-trail")[1].split("</ol>")[0]
    for name in ("来电登记", "主管审批", "仓库收货", "财务退款", "同意退货, 转仓库", "已退款, 完结工单"):
        assert name in trail
    final = html.split("lz-final")[1].split("</dl>")[0]
    assert "99.5" in final and "TH-1" in final and "原路退回" in final
    assert counts() == before


def test_a_transition_whose_condition_fails_is_refused(admin, seeded):
    sample = {**REGISTER, "approval": "approve"}
    response = admin.post(DRAFT + "$end", headers=EN, data={
        "lz_sample": json.dumps(sample), "lz_trail": "[]", "lz_from": "approve", "lz_go": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "lz-refused" in html and "lz-closed" not in html
    assert 'class="nav-link active"' in html and "2. 主管审批" in html.split("nav-link active")[1][:200]
    # a transition of another step, or to another target, is refused the same way
    wrong_target = admin.post(DRAFT + "finance", data={"lz_sample": json.dumps(sample), "lz_from": "approve",
                                                       "lz_go": "1"})
    assert wrong_target.status_code == 422
    no_return = admin.post(DRAFT + "register", data={"lz_sample": "{}", "lz_from": "approve", "lz_go": "return"})
    assert no_return.status_code == 422  # nothing was walked: there is no previous step


def test_return_goes_back_to_where_the_sample_came_from(admin, seeded):
    html = check(admin, "register", admin.get(DRAFT + "register").get_data(as_text=True), REGISTER)
    html = choose(admin, html, "提交主管审批").get_data(as_text=True)
    html = check(admin, "approve", html, {"approval": "approve"})
    html = choose(admin, html, "同意退货").get_data(as_text=True)
    assert [f["button"] for f in forms(html, "lz-back")] == ["Return to the previous step → 主管审批"]
    html = choose(admin, html, "Return", "lz-back").get_data(as_text=True)
    assert "2. 主管审批" in html.split("nav-link active")[1][:200]
    assert "2026-11-01" in html.split('class="row lz-sample"')[1]  # hidden at the warehouse, carried sealed
    assert [f["button"] for f in forms(html, "lz-back")] == ["Return to the previous step → 来电登记"]


def test_the_draft_not_the_published_version_is_previewed(admin, seeded):
    doc = example("return_goods.process.json")
    doc["steps"][1]["name"] = "组长审批"
    with database.connection_context():
        docs.save_process(doc)
    html = admin.get(DRAFT + "approve", headers=EN).get_data(as_text=True)
    assert "组长审批" in html and "lz-draft-badge" in html
    assert f'href="{DRAFT}register"' in html
    assert "组长审批" not in admin.get(BASE + "/1/approve").get_data(as_text=True)


def test_a_draft_with_problems_shows_them_and_no_form(admin, seeded):
    doc = example("return_goods.process.json")
    doc["steps"][1]["fields"]["nosuch"] = "required"
    set_draft(doc)
    for url in (DRAFT + "approve", DRAFT + "register", BASE + "/draft"):
        response = admin.get(url, headers=EN)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "lz-problems" in html and "/steps/1/fields/nosuch" in html
        assert "lz-preview-form" not in html and f'href="{BASE}/json"' in html
    assert admin.post(DRAFT + "approve", data={"approval": "approve"}).status_code == 200


def test_hidden_fields_never_reach_the_page(admin, seeded):
    sample = {**REGISTER, "defect": "SECRET-DEFECT", "approval": "approve", "reject_reason": "SECRET-REASON",
              "purchase_date": "2026-11-01"}
    html = admin.post(DRAFT + "finance", data={"lz_sample": json.dumps(sample)}).get_data(as_text=True)
    assert "SECRET" not in html and "2026-11-01" not in html and "TH-1" in html
    html = admin.post(DRAFT + "approve", data={"lz_sample": json.dumps(sample)}).get_data(as_text=True)
    assert "SECRET-REASON" not in html and "SECRET-DEFECT" in html  # reject_reason is hidden unless rejecting
    arrived = admin.post(DRAFT + "warehouse", data={"lz_sample": json.dumps(sample), "lz_from": "approve",
                                                    "lz_go": "0"}).get_data(as_text=True)
    assert "SECRET-REASON" not in arrived and "lz-sample" in arrived and "2026-11-01" not in arrived
    [form] = forms(arrived, "lz-preview-form")
    assert "purchase_date" not in json.loads(form["hidden"]["lz_sample"])
    assert form["hidden"]["lz_sealed"]  # carried, but not readable in the page


def test_malformed_carried_state_is_treated_as_empty(admin, seeded):
    cases = [{"lz_sample": "{not json", "lz_trail": "[{"}, {"lz_sample": "[1, 2]", "lz_trail": '{"a": 1}'},
             {"lz_sample": '"text"', "lz_trail": '[{"step": 1}, "x", null]', "lz_sealed": "forged.token"},
             {"lz_sample": "[" * 100000}, {"lz_sample": json.dumps({"received_at": 5, "purchase_date": "garbage",
                                                                     "received": "yes", "nosuch": 1})},
             {"lz_sample": json.dumps({"received_at": "2026-11-02t10:00:00z", "refund_amount": "1"})}]
    for data in cases:
        for step in ("register", "warehouse"):
            response = admin.post(DRAFT + step, data=data)
            assert response.status_code == 200, (step, data)
    assert admin.post(DRAFT + "approve", data={"lz_from": "nosuch", "lz_go": "0"}).status_code == 400
    assert admin.post(DRAFT + "approve", data={"lz_from": "register", "lz_go": "x"}).status_code == 422
    assert admin.post(DRAFT + "nosuch", data={"lz_from": "register", "lz_go": "0"}).status_code == 400
    assert admin.get(DRAFT + "nosuch").status_code == 404
    assert admin.get("/admin/processes/nosuch/draft/register").status_code == 404


def test_uploads_are_placeholders_and_nothing_is_saved(admin, seeded):
    before = counts()
    with database.connection_context():
        draft = Process.get(Process.code == "return_goods").draft
    data = {**REGISTER, "photos": (BytesIO(PNG), "box.png", "image/png"),
            "lz_present": [*REGISTER, "photos"]}
    response = admin.post(DRAFT + "register", data=data, content_type="multipart/form-data", headers=EN)
    html = response.get_data(as_text=True)
    assert "Valid: the engine would accept this data." in html
    [move] = forms(html, "lz-move")
    assert json.loads(move["hidden"]["lz_sample"])["photos"] == ["preview-0"]
    assert choose(admin, html, "提交主管审批").status_code == 200
    assert counts() == before
    with database.connection_context():
        assert Process.get(Process.code == "return_goods").draft == draft


def test_published_versions_walk_the_same_way(admin, seeded):
    html = check(admin, "register", admin.get(BASE + "/1/register").get_data(as_text=True), REGISTER,
                 base=BASE + "/1/")
    [move] = forms(html, "lz-move")
    assert move["action"] == BASE + "/1/approve"
    html = choose(admin, html, "提交主管审批").get_data(as_text=True)
    assert "v1" in html and "lz-draft-badge" not in html and "TH-1" in html


def test_versions_page_links_the_draft_preview(admin, seeded):
    html = admin.get(BASE + "/versions").get_data(as_text=True)
    assert f'href="{BASE}/draft"' in html


def test_agents_get_403(auth, client, seeded):
    assert auth.login("agent").status_code == 302
    assert client.get(BASE + "/draft").status_code == 403
    assert client.get(DRAFT + "register").status_code == 403
    assert client.post(DRAFT + "register", data=REGISTER).status_code == 403
    assert client.post(DRAFT + "$end", data={"lz_from": "finance", "lz_go": "0"}).status_code == 403
