"""The visual process editor: every page saves exactly the document, errors name their JSON path."""

from __future__ import annotations

import json

import pytest
from conftest import example
from htmlforms import form, with_values

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Process

BASE = "/admin/processes/return_goods"
EN = {"Accept-Language": "en"}


def draft(code: str = "return_goods") -> dict:
    with database.connection_context():
        return Process.get(Process.code == code).draft


def post_back(client, url: str, css: str, **changes):
    """Submit the form of ``url`` as the browser would, with ``changes``."""
    page = client.get(url, headers=EN)
    assert page.status_code == 200, url
    action, fields = form(page.get_data(as_text=True), css)
    return client.post(action or url, data=with_values(fields, **changes), headers=EN)


def audit_count() -> int:
    with database.connection_context():
        return AuditEntry.select().count()


# -- the screens save exactly the document ----------------------------------------------------

FIELDS = list(example("return_goods.process.json")["schema"]["properties"])
STEPS = [step["key"] for step in example("return_goods.process.json")["steps"]]


def test_saving_every_page_unchanged_keeps_the_document_byte_for_byte(admin, seeded):
    before = json.dumps(draft(), ensure_ascii=False)
    assert post_back(admin, f"{BASE}/edit", "lz-basics").status_code == 302
    for key in FIELDS:
        assert post_back(admin, f"{BASE}/fields/{key}", "lz-field-form").status_code == 302, key
    for key in STEPS:
        assert post_back(admin, f"{BASE}/steps/{key}", "lz-step-form").status_code == 302, key
    assert post_back(admin, f"{BASE}/matrix", "lz-matrix-form").status_code == 302
    assert json.dumps(draft(), ensure_ascii=False) == before


def test_basics_are_saved_with_an_audit_entry(admin, seeded):
    count = audit_count()
    response = post_back(admin, f"{BASE}/edit", "lz-basics", name="退货", hint="", number_prefix="RG",
                         priority_default="high")
    assert response.status_code == 302
    saved = draft()
    assert (saved["name"], saved["number_prefix"], saved["priority"]) == ("退货", "RG", {"enabled": True,
                                                                                         "default": "high"})
    assert "hint" not in saved
    assert audit_count() == count + 1
    with database.connection_context():
        entry = AuditEntry.select().order_by(AuditEntry.id.desc()).first()
    assert (entry.action, entry.target, entry.before["name"], entry.after["name"]) == (
        "process.edit", "process:return_goods", "退货申请", "退货")


def test_a_bad_prefix_is_refused_naming_the_field_and_nothing_saved(admin, seeded):
    before = draft()
    response = post_back(admin, f"{BASE}/edit", "lz-basics", number_prefix="th-1")
    assert response.status_code == 422
    assert "Ticket number prefix: 1-8 capital letters" in response.get_data(as_text=True)
    assert draft() == before


def test_a_stale_page_is_refused_with_409(admin, seeded):
    page = admin.get(f"{BASE}/edit", headers=EN).get_data(as_text=True)
    action, fields = form(page, "lz-basics")
    assert post_back(admin, f"{BASE}/edit", "lz-basics", name="First").status_code == 302
    response = admin.post(action, data=with_values(fields, name="Second"), headers=EN)
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    assert draft()["name"] == "First"


# -- fields -------------------------------------------------------------------------------------

def test_add_a_dropdown_with_options_hidden_everywhere(admin, seeded):
    response = post_back(admin, f"{BASE}/add-field/select", "lz-field-form", key="channel_kind", title="渠道类型",
                         options="a=甲\nb=乙\n", default="乙")
    assert response.status_code == 302
    saved = draft()
    assert saved["schema"]["properties"]["channel_kind"] == {
        "type": "string", "title": "渠道类型", "oneOf": [{"const": "a", "title": "甲"}, {"const": "b", "title": "乙"}],
        "default": "b"}
    assert all("channel_kind" not in step["fields"] for step in saved["steps"])


@pytest.mark.parametrize("kind, changes, expected", [
    ("text", {"min_length": "2", "max_length": "20", "pattern": "^[A-Z]+$", "placeholder": "ABC"},
     {"type": "string", "title": "T", "x-placeholder": "ABC", "minLength": 2, "maxLength": 20,
      "pattern": "^[A-Z]+$"}),
    ("integer", {"minimum": "1", "maximum": "9"}, {"type": "integer", "title": "T", "minimum": 1, "maximum": 9}),
    ("number", {"multipleOf": "0.5"}, {"type": "number", "title": "T", "multipleOf": 0.5}),
    ("checkboxes", {"options": "x\ny=Y"}, {"type": "array", "uniqueItems": True, "x-widget": "checkboxes",
                                            "title": "T", "items": {"type": "string", "oneOf": [
                                                {"const": "x", "title": "x"}, {"const": "y", "title": "Y"}]}}),
    ("multiselect", {"source": "dictionary", "dictionary": "channel"},
     {"type": "array", "uniqueItems": True, "title": "T", "items": {"type": "string", "x-dictionary": "channel"}}),
    ("attachment", {"max_items": "3", "accept": "image/*, .pdf", "max_mb": "2"},
     {"type": "array", "title": "T", "items": {"type": "string", "format": "attachment"}, "maxItems": 3,
      "x-accept": ["image/*", ".pdf"], "x-max-bytes": 2097152}),
    ("checkbox", {"default": "true"}, {"type": "boolean", "title": "T", "default": True}),
    ("datetime", {"public": "y"}, {"type": "string", "format": "date-time", "title": "T", "x-public": True}),
])
def test_each_kind_writes_its_schema(admin, seeded, kind, changes, expected):
    response = post_back(admin, f"{BASE}/add-field/{kind}", "lz-field-form", key="extra", title="T", **changes)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert draft()["schema"]["properties"]["extra"] == expected


@pytest.mark.parametrize("changes, message", [
    ({"key": "Bad Key"}, "Key: Use a-z"),
    ({"key": "order_no"}, "/schema/properties/order_no: key &#39;order_no&#39; is already used"),
    ({"key": "x1", "pattern": "(["}, "Not a valid regular expression"),
    ({"key": "x1", "title": ""}, "Label: This field is required."),
    ({"key": "x1", "options": ""}, "/options: give at least one option"),
])
def test_bad_field_settings_are_refused_by_name(admin, seeded, changes, message):
    before = draft()
    kind = "select" if "options" in changes else "text"
    response = post_back(admin, f"{BASE}/add-field/{kind}", "lz-field-form", **{"title": "T", **changes})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert draft() == before


def test_reorder_and_remove_fields(admin, seeded):
    page = admin.get(f"{BASE}/edit").get_data(as_text=True)
    rev = dict(form(page, "lz-basics")[1])["rev"]
    assert admin.post(f"{BASE}/fields/source/up", data={"rev": rev}).status_code == 302
    assert list(draft()["schema"]["properties"])[:2] == ["source", "order_no"]
    rev = dict(form(admin.get(f"{BASE}/edit").get_data(as_text=True), "lz-basics")[1])["rev"]
    assert admin.post(f"{BASE}/fields/photos/delete", data={"rev": rev}).status_code == 302
    saved = draft()
    assert "photos" not in saved["schema"]["properties"]
    assert all("photos" not in step["fields"] for step in saved["steps"])


def test_removing_a_cascade_parent_leaves_a_linked_problem_to_fix(admin, seeded):
    rev = dict(form(admin.get(f"{BASE}/edit").get_data(as_text=True), "lz-basics")[1])["rev"]
    response = admin.post(f"{BASE}/fields/category/delete", data={"rev": rev}, follow_redirects=True, headers=EN)
    page = response.get_data(as_text=True)
    assert "To fix before publishing" in page
    assert f'href="{BASE}/fields/model"' in page  # the problem links to the field that needs fixing


# -- steps and transitions ----------------------------------------------------------------------

def test_add_a_step_then_guard_a_transition_with_pickers(admin, seeded):
    response = post_back(admin, f"{BASE}/edit", "lz-add-step", key="qc", name="质检")
    assert response.status_code == 302 and response.location.endswith("/steps/qc")
    response = post_back(admin, f"{BASE}/steps/warehouse", "lz-step-form", **{
        "transitions-1-to": "qc", "transitions-1-caption": "需要质检", "transitions-1-field": "as_described",
        "transitions-1-op": "eq", "transitions-1-value": "否"})
    assert response.status_code == 302, response.get_data(as_text=True)
    transitions = draft()["steps"][2]["transitions"]
    assert transitions[1] == {"to": "qc", "label": "需要质检", "when": {
        "properties": {"as_described": {"const": "no"}}, "required": ["as_described"]}}


def test_step_settings_assignee_and_sla(admin, seeded):
    response = post_back(admin, f"{BASE}/steps/finance", "lz-step-form", assignee_type="role",
                         assignee_value="supervisor", pick="least_loaded", sla_minutes="", allow_transfer="y")
    assert response.status_code == 302
    step = draft()["steps"][3]
    assert step["assignee"] == {"type": "role", "value": "supervisor", "pick": "least_loaded"}
    assert "sla" not in step and step["allow_transfer"] is True


@pytest.mark.parametrize("changes, path", [
    ({"assignee_type": "role", "assignee_value": "nosuch"}, "/steps/3/assignee/value: No role"),
    ({"assignee_type": "department", "assignee_value": ""}, "/steps/3/assignee/value: Say which"),
    ({"transitions-1-to": "approve", "transitions-1-caption": ""}, "/steps/3/transitions/1: Row 2"),
    ({"transitions-0-field": "refund_amount", "transitions-0-op": "gt", "transitions-0-value": "lots"},
     "/steps/3/transitions/0/when: The condition"),
    ({"transitions-0-when_json": "{oops"}, "/steps/3/transitions/0/when: Not valid JSON"),
])
def test_bad_step_input_is_refused_naming_the_path(admin, seeded, changes, path):
    before = draft()
    response = post_back(admin, f"{BASE}/steps/finance", "lz-step-form", **changes)
    assert response.status_code == 422
    assert path in response.get_data(as_text=True)
    assert draft() == before


def test_remove_a_transition_and_reorder_steps(admin, seeded):
    assert post_back(admin, f"{BASE}/steps/approve", "lz-step-form", **{"transitions-1-remove": "y"}
                     ).status_code == 302
    assert [t["to"] for t in draft()["steps"][1]["transitions"]] == ["warehouse"]
    rev = dict(form(admin.get(f"{BASE}/edit").get_data(as_text=True), "lz-basics")[1])["rev"]
    assert admin.post(f"{BASE}/steps/finance/up", data={"rev": rev}).status_code == 302
    assert [s["key"] for s in draft()["steps"]] == ["register", "approve", "finance", "warehouse"]


def test_the_last_step_cannot_be_removed(app, admin, seeded):
    assert post_back(admin, "/admin/processes/new", "lz-new-process", code="solo", name="Solo").status_code == 302
    rev = dict(form(admin.get("/admin/processes/solo/edit").get_data(as_text=True), "lz-basics")[1])["rev"]
    response = admin.post("/admin/processes/solo/steps/register/delete", data={"rev": rev}, headers=EN)
    assert response.status_code == 422 and "at least one step" in response.get_data(as_text=True)


# -- the matrix ---------------------------------------------------------------------------------

def test_matrix_sets_modes_and_conditional_cells(admin, seeded):
    response = post_back(admin, f"{BASE}/matrix", "lz-matrix-form", **{
        "mode:register:approval": "editable",
        "mode:finance:reject_reason": "readonly", "field:finance:reject_reason": "approval",
        "op:finance:reject_reason": "eq", "value:finance:reject_reason": "不同意退货",
        "else:finance:reject_reason": "hidden",
        "mode:approve:reject_reason": "required", "field:approve:reject_reason": "",
        "raw:approve:reject_reason": ""})
    assert response.status_code == 302
    steps = draft()["steps"]
    assert steps[0]["fields"]["approval"] == "editable"
    assert steps[3]["fields"]["reject_reason"] == {"mode": "readonly", "when": {
        "properties": {"approval": {"const": "reject"}}, "required": ["approval"]}, "else": "hidden"}
    assert steps[1]["fields"]["reject_reason"] == "required"
    assert list(steps[3]["fields"]).index("reject_reason") == list(steps[3]["fields"]).index("approval") + 1


def test_matrix_shows_the_existing_conditional_cell_as_pickers(admin, seeded):
    page = admin.get(f"{BASE}/matrix", headers=EN).get_data(as_text=True)
    fields = dict(form(page, "lz-matrix-form")[1])
    assert (fields["mode:approve:reject_reason"], fields["field:approve:reject_reason"],
            fields["value:approve:reject_reason"], fields["else:approve:reject_reason"]) == (
        "required", "approval", "不同意退货", "hidden")


def test_matrix_refuses_a_bad_condition_value_naming_the_cell(admin, seeded):
    before = draft()
    response = post_back(admin, f"{BASE}/matrix", "lz-matrix-form", **{
        "field:finance:order_no": "refund_amount", "op:finance:order_no": "gt", "value:finance:order_no": "x"})
    assert response.status_code == 422
    assert "/steps/3/fields/order_no/when: a number is needed" in response.get_data(as_text=True)
    assert draft() == before


# -- a process from nothing ---------------------------------------------------------------------

def test_build_publish_and_export_a_process_from_nothing(admin, seeded, runner, tmp_path):
    assert post_back(admin, "/admin/processes/new", "lz-new-process", code="repair", name="报修").status_code == 302
    base = "/admin/processes/repair"
    for kind, changes in (("text", {"key": "title", "title": "标题"}),
                          ("radio", {"key": "verdict", "title": "结论", "options": "ok=通过\nno=驳回"})):
        assert post_back(admin, f"{base}/add-field/{kind}", "lz-field-form", **changes).status_code == 302
    assert post_back(admin, f"{base}/edit", "lz-add-step", key="review", name="审核").status_code == 302
    assert post_back(admin, f"{base}/steps/register", "lz-step-form", **{"transitions-0-to": "review",
                                                                          "transitions-0-caption": "提交"}
                     ).status_code == 302
    assert post_back(admin, f"{base}/steps/review", "lz-step-form", assignee_type="role",
                     assignee_value="supervisor", pick="round_robin").status_code == 302
    assert post_back(admin, f"{base}/matrix", "lz-matrix-form", **{
        "mode:register:title": "required", "mode:review:title": "readonly",
        "mode:review:verdict": "required"}).status_code == 302
    page = admin.get(f"{base}/edit", headers=EN).get_data(as_text=True)
    assert "passes every check" in page
    assert admin.post(f"{base}/publish").status_code == 302
    exported = admin.get(f"{base}/export").get_data(as_text=True)
    path = tmp_path / "repair.json"
    path.write_text(exported, encoding="utf-8")
    assert runner.invoke(args=["process", "check", str(path)]).exit_code == 0
    assert json.loads(exported) == draft("repair")
    with database.connection_context():
        assert docs.latest_version("repair").number == 1


def test_json_view_problems_link_to_the_visual_editor(admin, seeded):
    doc = draft()
    doc["steps"][1]["fields"]["ghost"] = "editable"
    doc["schema"]["properties"]["model"]["x-cascade"] = "nosuch"
    response = admin.post(f"{BASE}/json", data={"document": json.dumps(doc, ensure_ascii=False)}, headers=EN)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'href="{BASE}/matrix#cell-approve-ghost"' in page
    assert f'href="{BASE}/fields/model"' in page


def test_editor_pages_need_an_admin(client, auth, seeded):
    auth.login("agent")
    for url in (f"{BASE}/edit", f"{BASE}/matrix", f"{BASE}/steps/approve", f"{BASE}/fields/model",
                f"{BASE}/add-field/text", "/admin/processes/new"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{BASE}/basics", data={"name": "x"}).status_code == 403
