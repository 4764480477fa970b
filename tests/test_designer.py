"""The designer (admin/designer*.py): each edit is one audited change answered with the new body, 409 when stale."""

from __future__ import annotations

import json
import re

import pytest
from conftest import example
from htmlforms import form

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Process

BASE = "/admin/processes/return_goods/design"
EN = {"Accept-Language": "en"}


def draft(code: str = "return_goods") -> dict:
    with database.connection_context():
        return Process.get(Process.code == code).draft


def state(html: str) -> dict:
    """The page's state inputs (#lz-d-state), as every designer request carries them."""
    box = html.split('id="lz-d-state"', 1)[1].split("</div>", 1)[0]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', box))


class Designer:
    """A designer page in a test: posts edits with the page's current state, as htmx does."""

    def __init__(self, client, base: str = BASE):
        self.client, self.base = client, base
        page = client.get(base, headers=EN)
        assert page.status_code == 200
        self.html = page.get_data(as_text=True)
        self.state = state(self.html)

    def post(self, path: str, **values):
        response = self.client.post(f"{self.base}/{path}", data={**self.state, **values}, headers=EN)
        self.html = response.get_data(as_text=True)
        if 'id="lz-d-state"' in self.html:
            self.state = state(self.html)
        return response

    def op(self, op_name: str, **values):
        return self.post(f"op/{op_name}", **values)


def audit_count() -> int:
    with database.connection_context():
        return AuditEntry.select().count()


def test_the_page_shows_palette_canvas_panel_and_flow(admin, seeded):
    page = Designer(admin)
    for marker in ('data-lz-palette', 'data-lz-canvas', 'id="lz-d-panel"', "<svg", 'data-lz-kind="table"'):
        assert marker in page.html, marker
    assert page.state["step"] == draft()["steps"][0]["key"]


def test_adding_a_field_names_it_by_kind_and_shows_it_editable_at_the_shown_step(admin, seeded):
    page, count = Designer(admin), audit_count()
    response = page.op("add_field", kind="number")
    assert response.status_code == 200
    doc = draft()
    key = page.state["sel"].split(":", 1)[1]
    assert doc["schema"]["properties"][key] == {"type": "number", "title": "Number"}
    assert doc["steps"][0]["fields"][key] == "editable"
    assert all(key not in step.get("fields", {}) for step in doc["steps"][1:])
    assert audit_count() == count + 1
    assert 'data-lz-focus="lzp-title"' in page.html


def test_a_label_names_the_key_until_it_is_published(admin, seeded):
    page = Designer(admin)
    page.op("add_field", kind="text")
    key = page.state["sel"].split(":", 1)[1]
    response = page.op("update_field", key=key, **{"lzp-title": "客户姓名"})
    assert response.status_code == 200, page.html
    doc = draft()
    assert "ke_hu_xing_ming" in doc["schema"]["properties"] and key not in doc["schema"]["properties"]
    assert doc["steps"][0]["fields"]["ke_hu_xing_ming"] == "editable"
    assert page.state["sel"] == "field:ke_hu_xing_ming"


def test_a_published_field_keeps_its_key(admin, seeded):
    page = Designer(admin)
    key = next(iter(draft()["schema"]["properties"]))
    page.op("update_field", key=key, **{"lzp-title": "全新的名字"})
    assert key in draft()["schema"]["properties"]
    assert page.op("rename_field", key=key, new_key="brand_new").status_code == 422
    assert "a published field keeps its key" in page.html


def test_the_mode_cycles_hidden_readonly_editable_required(admin, seeded):
    page = Designer(admin)
    page.op("add_field", kind="text")
    key = page.state["sel"].split(":", 1)[1]
    seen = []
    for _ in range(4):
        page.op("cycle_mode", key=key)
        seen.append(draft()["steps"][0]["fields"].get(key, "hidden"))
    assert seen == ["required", "hidden", "readonly", "editable"]


def test_moving_a_field_by_drop_index(admin, seeded):
    page = Designer(admin)
    first = next(iter(draft()["schema"]["properties"]))
    page.op("move_field", key=first, index="2")
    assert list(draft()["schema"]["properties"]).index(first) == 2


def test_a_stale_page_gets_409_and_nothing_changes(admin, seeded):
    one, two = Designer(admin), Designer(admin)
    one.op("add_field", kind="text")
    before = draft()
    response = two.op("add_field", kind="number")
    assert response.status_code == 409
    assert "Reload" in two.html
    assert draft() == before


def test_a_bad_kind_is_422_naming_it(admin, seeded):
    page = Designer(admin)
    before = draft()
    response = page.op("add_field", kind="nonsense")
    assert response.status_code == 422
    assert "kind" in page.html and draft() == before
    assert page.op("no_such_op").status_code == 404


def test_undo_and_redo_put_back_the_drafts_as_new_audited_edits(admin, seeded):
    page = Designer(admin)
    before = draft()
    page.op("add_field", kind="text")
    after = draft()
    count = audit_count()
    assert page.post("undo").status_code == 200
    assert draft() == before and audit_count() == count + 1
    assert page.post("redo").status_code == 200
    assert draft() == after
    with database.connection_context():
        actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id.desc()).limit(2)]
    assert actions == ["process.redo", "process.undo"]


def test_undo_refuses_when_someone_else_changed_the_draft_since(admin, seeded):
    page = Designer(admin)
    page.op("add_field", kind="text")
    other = Designer(admin)
    other.op("add_field", kind="number")
    after = draft()
    assert page.post("undo").status_code == 409
    assert draft() == after


def test_formula_shortcut_makes_a_table_total_and_read_only(admin, seeded):
    page = Designer(admin)
    page.op("add_field", kind="table")
    table = page.state["sel"].split(":", 1)[1]
    page.op("add_column", key=table, kind="integer", label="数量")
    page.op("add_column", key=table, kind="number", label="单价")
    page.op("add_field", kind="number")
    total = page.state["sel"].split(":", 1)[1]
    token = f"sumprod:{table}:shu_liang:dan_jia"
    assert token in page.html
    assert page.op("formula_preset", key=total, preset=token).status_code == 200
    schema = draft()["schema"]["properties"][total]
    assert schema["x-formula"]["reduce"][0] == {"var": table}
    assert draft()["steps"][0]["fields"][total] == "readonly"
    assert page.op("formula_preset", key=total, preset="sum:nope:x").status_code == 422


def test_publish_dialog_lists_changes_in_words_and_refuses_an_empty_creation_step(admin, seeded):
    page = Designer(admin)
    page.op("add_field", kind="text")
    key = page.state["sel"].split(":", 1)[1]
    page.op("update_field", key=key, **{"lzp-title": "配件明细"})
    dialog = page.post("publish-check").get_data(as_text=True)
    assert "配件明细" in dialog and "Publish version 2" in dialog
    assert page.post("publish").status_code == 200
    with database.connection_context():
        assert Process.get(Process.code == "return_goods").latest_version == 2
    first = draft()["steps"][0]
    for name in list(first["fields"]):
        page.op("set_mode", key=name, mode="hidden")
    dialog = page.post("publish-check").get_data(as_text=True)
    assert "cannot be published" in dialog
    assert page.post("publish").status_code == 422
    with database.connection_context():
        assert Process.get(Process.code == "return_goods").latest_version == 2


def test_a_new_process_needs_no_code(admin, seeded):
    response = admin.post("/admin/processes/new", data={"name": "上门维修单", "first_step": "报修登记"}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith("/design")
    with database.connection_context():
        assert docs.Process.get(Process.code == "shang_men_wei_xiu_dan").draft["steps"][0]["name"] == "报修登记"


@pytest.mark.parametrize("path", ["", "/view", "/op/add_field", "/undo", "/publish-check", "/publish"])
def test_only_admins(client, seeded, auth, path):
    auth.login("supervisor")
    method = client.get if path == "" else client.post
    assert method(f"{BASE}{path}").status_code == 403


def test_a_rule_is_added_and_removed_on_the_selected_field(admin, seeded):
    page = Designer(admin)
    key = next(iter(draft()["schema"]["properties"]))
    check = json.dumps({"!!": {"var": key}})
    response = page.op("add_rule", key=key, check=check, message_zh="必填", message_en="Fill it")
    assert response.status_code == 200, page.html
    rules = draft()["x-rules"]
    assert rules[-1] == {"field": key, "check": {"!!": {"var": key}}, "message": {"zh": "必填", "en": "Fill it"}}
    assert page.op("add_rule", key=key, check="{oops", message_zh="x", message_en="y").status_code == 422
    assert "/x-rules/" in page.html
    page.op("remove_rule", key=key, index=str(len(rules) - 1))
    assert draft().get("x-rules", []) == rules[:-1]


@pytest.mark.parametrize("key", list(example("return_goods.process.json")["schema"]["properties"]))
def test_saving_a_field_panel_unchanged_writes_nothing(admin, seeded, key):
    page = Designer(admin)
    page.post("view", sel=f"field:{key}")
    _, fields = form(page.html, "lz-d-props")
    before, count, undo = draft(), audit_count(), page.state["undo"]
    assert page.op("update_field", **dict(fields)).status_code == 200, page.html
    assert draft() == before and audit_count() == count and page.state["undo"] == undo


def test_publishing_with_open_tickets_says_so_and_links_to_moving_them(admin, seeded, users):
    from workflows.tickets import engine

    with database.connection_context():
        engine.create(users["agent"], "return_goods", {"order_no": "TH-1", "source": "phone", "category": "fr",
                                                       "model": "fr-200", "purchase_date": "2026-11-01",
                                                       "defect": "门坏了"})
    page = Designer(admin)
    page.op("add_field", kind="text")
    dialog = page.post("publish-check").get_data(as_text=True)
    assert "1 open ticket(s) on version 1" in dialog
    assert page.post("publish").status_code == 200
    assert "/admin/processes/return_goods/migrate" in page.html and "Move open tickets" in page.html


@pytest.mark.parametrize("path", ["/view", "/op/add_field", "/undo", "/redo", "/publish-check", "/publish"])
def test_designer_posts_need_a_csrf_token(seeded, users, db_url, path):
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": "demo12345"})
    before = draft()
    response = client.post(f"{BASE}{path}", data={"kind": "text"})
    assert response.status_code == 400 and b"CSRF" in response.data
    assert draft() == before


def test_a_conditional_mode_is_built_from_pickers_at_the_shown_step(admin, seeded):
    page = Designer(admin)
    fields = list(draft()["schema"]["properties"])
    key, on = fields[-1], "category"
    response = page.op("set_cell", key=key, mode="required", field=on, op="eq", value="fr", **{"else": "hidden"})
    assert response.status_code == 200, page.html
    cell = draft()["steps"][0]["fields"][key]
    assert cell == {"mode": "required", "when": {"properties": {on: {"const": "fr"}}, "required": [on]},
                    "else": "hidden"}
    assert "conditional" in page.html
    assert page.op("set_cell", key=key, mode="sometimes").status_code == 422
    assert page.op("set_cell", key=key, mode="editable").status_code == 200
    assert draft()["steps"][0]["fields"][key] == "editable"


def test_the_process_panel_saves_the_basics_and_keeps_what_it_was_not_shown(admin, seeded):
    page = Designer(admin)
    _, fields = form(page.html, "lz-d-props")
    values = dict(fields)
    before = draft()
    values.update(name="退货申请（新）", web_form_enabled="y")
    assert page.op("update_basics", **values).status_code == 200, page.html
    after = draft()
    assert after["name"] == "退货申请（新）" and after["web_form"]["enabled"] is True
    assert after["schema"] == before["schema"] and after["steps"] == before["steps"]
