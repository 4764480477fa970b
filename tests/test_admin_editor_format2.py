"""The visual editor creates and edits format 2: table columns, formulas with their preview, readers, rules,
the field assignee, and the upgrade of a format-1 draft; each change audited, a stale page refused (issue 18)."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from htmlforms import form, with_values

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Process

EN = {"Accept-Language": "en"}
RG = "/admin/processes/return_goods"
FIX = "/admin/processes/fix"
REDUCE = {"reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"}, {"*": [{"var": "current.qty"},
                                                                           {"var": "current.price"}]}]}, 0]}


def draft(code: str = "return_goods") -> dict:
    with database.connection_context():
        return Process.get(Process.code == code).draft


def audit_count() -> int:
    with database.connection_context():
        return AuditEntry.select().count()


def post_back(client, url: str, css: str, **changes):
    page = client.get(url, headers=EN)
    assert page.status_code == 200, url
    action, fields = form(page.get_data(as_text=True), css)
    return client.post(action or url, data=with_values(fields, **changes), headers=EN)


def shown_after(client, response) -> str:
    """The page a change redirects to, with its flash messages."""
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.location, headers=EN).get_data(as_text=True)


def rev_of(client, url: str, css: str) -> str:
    return dict(form(client.get(url, headers=EN).get_data(as_text=True), css)[1])["rev"]


def column_action(client, table: str, column: str, move: str, base: str = FIX):
    rev = rev_of(client, f"{base}/fields/{table}", "lz-field-form")
    return client.post(f"{base}/fields/{table}/columns/{move}", data={"rev": rev, "column": column}, headers=EN)


@pytest.fixture
def fix(admin, seeded):
    """A new (format 1) process "fix" with a table "parts" of three columns: part, qty, price."""
    assert post_back(admin, "/admin/processes/new", "lz-new-process", code="fix", name="报修").status_code == 302
    assert draft("fix")["format"] == 1
    page = shown_after(admin, post_back(admin, f"{FIX}/add-field/table", "lz-field-form", key="parts",
                                        title="配件明细"))
    assert 'now uses format 2' in page
    for kind, changes in (("text", {"key": "part", "title": "配件", "max_length": "100", "column_required": "y"}),
                          ("integer", {"key": "qty", "title": "数量", "minimum": "1", "column_required": "y"}),
                          ("number", {"key": "price", "title": "单价", "multipleOf": "0.01"})):
        response = post_back(admin, f"{FIX}/fields/parts?add_column={kind}", "lz-column-form", **changes)
        assert response.status_code == 302, response.get_data(as_text=True)
    assert column_action(admin, "parts", "item", "delete").status_code == 302
    return admin


# -- detail tables ------------------------------------------------------------------------------------

def test_a_table_is_created_with_three_columns_and_required_ones(fix):
    parts = draft("fix")["schema"]["properties"]["parts"]
    assert draft("fix")["format"] == 2
    assert parts["x-widget"] == "table" and parts["title"] == "配件明细"
    assert parts["items"]["properties"] == {
        "part": {"type": "string", "title": "配件", "maxLength": 100},
        "qty": {"type": "integer", "title": "数量", "minimum": 1},
        "price": {"type": "number", "title": "单价", "multipleOf": 0.01}}
    assert parts["items"]["required"] == ["part", "qty"]
    page = fix.get(f"{FIX}/fields/parts", headers=EN).get_data(as_text=True)
    assert 'data-column="qty"' in page and f'href="{FIX}/fields/parts?column=qty"' in page


def test_edit_move_and_remove_a_column(fix):
    count = audit_count()
    response = post_back(fix, f"{FIX}/fields/parts?column=qty", "lz-column-form", title="件数", column_required="")
    assert response.status_code == 302 and response.location.endswith("/fields/parts")
    items = draft("fix")["schema"]["properties"]["parts"]["items"]
    assert items["properties"]["qty"]["title"] == "件数" and items["required"] == ["part"]
    assert column_action(fix, "parts", "price", "up").status_code == 302
    assert list(draft("fix")["schema"]["properties"]["parts"]["items"]["properties"]) == ["part", "price", "qty"]
    assert column_action(fix, "parts", "part", "delete").status_code == 302
    items = draft("fix")["schema"]["properties"]["parts"]["items"]
    assert list(items["properties"]) == ["price", "qty"] and "required" not in items
    assert audit_count() == count + 3


def test_a_table_keeps_its_columns_when_its_own_settings_are_saved(fix):
    columns = draft("fix")["schema"]["properties"]["parts"]["items"]
    assert post_back(fix, f"{FIX}/fields/parts", "lz-field-form", min_rows="1", max_rows="50",
                     title="配件").status_code == 302
    parts = draft("fix")["schema"]["properties"]["parts"]
    assert (parts["minItems"], parts["maxItems"], parts["items"]) == (1, 50, columns)


@pytest.mark.parametrize("changes, message", [
    ({"key": "qty", "title": "x"}, "key &#39;qty&#39; is already used"),
    ({"key": "", "title": "x"}, "Key: This field is required."),
])
def test_a_bad_column_is_refused(fix, changes, message):
    before = draft("fix")
    response = post_back(fix, f"{FIX}/fields/parts?add_column=text", "lz-column-form", **changes)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert draft("fix") == before


def test_lists_are_no_column_kind_and_the_last_column_stays(fix):
    assert fix.get(f"{FIX}/fields/parts?add_column=checkboxes").status_code == 404
    assert column_action(fix, "parts", "qty", "delete").status_code == 302
    assert column_action(fix, "parts", "price", "delete").status_code == 302
    response = column_action(fix, "parts", "part", "delete")
    assert response.status_code == 422 and "a table needs at least one column" in response.get_data(as_text=True)


# -- formulas ---------------------------------------------------------------------------------------

def test_the_preview_computes_on_sample_data(fix):
    response = fix.post(f"{RG}/formula-preview", data={"formula": '{"*": [2, {"var": "refund_amount"}]}',
                                                       "sample-refund_amount": "19.99"}, headers=EN)
    answer = response.get_json()
    assert (answer["value"], answer["text"], answer["problems"]) == (39.98, "39.98", [])
    assert answer["variables"] == [{"name": "refund_amount", "title": "退款金额 (元)"}]
    total = fix.post(f"{FIX}/formula-preview", data={"formula": json.dumps(REDUCE),
                                                     "sample-parts": '[{"qty": 3, "price": 19.99}, {"qty": 1, '
                                                                     '"price": 0.01}]'}).get_json()
    assert total["value"] == 59.98 and total["variables"] == [{"name": "parts", "title": "配件明细"}]


@pytest.mark.parametrize("formula, problem", [
    ('{"+": [{"var": "ghost"}, 1]}', "formula names unknown field &#39;ghost&#39;"),
    ('{"+": [1', "not valid JSON"),
    ('{"after": [1, 2]}', "unknown operation"),
])
def test_the_preview_answers_a_bad_formula_with_its_problems(fix, formula, problem):
    answer = fix.post(f"{FIX}/formula-preview", data={"formula": formula}, headers=EN).get_json()
    assert answer["value"] is None and any(problem.replace("&#39;", "'") in p for p in answer["problems"])


def test_a_formula_is_saved_with_its_picker_and_made_read_only_at_the_steps(admin, seeded):
    page = admin.get(f"{RG}/fields/refund_amount", headers=EN).get_data(as_text=True)
    assert 'class="form-control form-control-sm lz-var-picker"' in page and '<option value="order_no">' in page
    count = audit_count()
    response = post_back(admin, f"{RG}/fields/refund_amount", "lz-field-form",
                         formula='{"*": [2, {"var": "refund_amount_base"}]}')
    assert response.status_code == 302
    page = admin.get(response.location, headers=EN).get_data(as_text=True)
    assert "now uses format 2" in page and "read-only at 财务退款" in page
    saved = draft()
    assert saved["format"] == 2 and saved["steps"][3]["fields"]["refund_amount"] == "readonly"
    assert saved["schema"]["properties"]["refund_amount"]["x-formula"] == {"*": [2, {"var": "refund_amount_base"}]}
    assert audit_count() == count + 1
    field_page = admin.get(f"{RG}/fields/refund_amount", headers=EN).get_data(as_text=True)
    assert "/schema/properties/refund_amount/x-formula" in field_page
    assert "formula names unknown field &#39;refund_amount_base&#39;" in field_page
    assert 'id="lz-sample-refund_amount_base"' in field_page


def test_a_formula_that_is_not_json_is_refused_at_its_setting(admin, seeded):
    before = draft()
    response = post_back(admin, f"{RG}/fields/refund_amount", "lz-field-form", formula="{oops")
    assert response.status_code == 422 and "/formula: not valid JSON" in response.get_data(as_text=True)
    assert draft() == before


def test_a_table_column_problem_links_to_the_column(fix):
    assert post_back(fix, f"{FIX}/add-field/number", "lz-field-form", key="total", title="合计",
                     formula=json.dumps({"reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"},
                                                                             {"var": "current.cost"}]}, 0]})
                     ).status_code == 302
    page = fix.get(f"{FIX}/edit", headers=EN).get_data(as_text=True)
    assert "table &#39;parts&#39; has no column &#39;cost&#39;" in page
    assert f'href="{FIX}/fields/total"' in page


# -- readers, rules, member fields, the field assignee ------------------------------------------------

def test_readers_are_written_and_read_back(admin, seeded):
    response = post_back(admin, f"{RG}/fields/refund_amount", "lz-field-form", reader_roles=["supervisor"],
                         reader_departments=["finance"])
    assert "now uses format 2" in shown_after(admin, response)
    saved = draft()
    assert saved["format"] == 2
    assert saved["schema"]["properties"]["refund_amount"]["x-readers"] == {"roles": ["supervisor"],
                                                                            "departments": ["finance"]}
    fields = dict(form(admin.get(f"{RG}/fields/refund_amount").get_data(as_text=True), "lz-field-form")[1])
    assert fields["reader_roles"] == "supervisor" and fields["reader_departments"] == "finance"
    assert post_back(admin, f"{RG}/fields/refund_amount", "lz-field-form", reader_roles=[],
                     reader_departments=[]).status_code == 302
    assert "x-readers" not in draft()["schema"]["properties"]["refund_amount"]


def test_rules_are_added_edited_and_removed(admin, seeded):
    count = audit_count()
    check = '{"or": [{"!": {"var": "reject_reason"}}, {">": [{"var": "refund_amount"}, 0]}]}'
    response = post_back(admin, f"{RG}/rules", "lz-rule-form", field="refund_amount", check=check,
                         message_zh="退款金额须大于 0", message_en="The refund must be above 0")
    assert "now uses format 2" in shown_after(admin, response)
    assert draft()["x-rules"] == [{"field": "refund_amount", "check": json.loads(check),
                                   "message": {"zh": "退款金额须大于 0", "en": "The refund must be above 0"}}]
    page = admin.get(f"{RG}/rules", headers=EN).get_data(as_text=True)
    assert "退款金额须大于 0" in page and f'href="{RG}/rules?rule=0#rule-form"' in page
    assert post_back(admin, f"{RG}/rules?rule=0", "lz-rule-form", message_en="Refund > 0").status_code == 302
    assert draft()["x-rules"][0]["message"] == {"zh": "退款金额须大于 0", "en": "Refund > 0"}
    rev = rev_of(admin, f"{RG}/rules", "lz-rule-form")
    assert admin.post(f"{RG}/rules/delete", data={"rev": rev, "index": "0"}).status_code == 302
    saved = draft()
    assert "x-rules" not in saved and saved["format"] == 2
    assert audit_count() == count + 3


@pytest.mark.parametrize("changes, message", [
    ({"message_en": ""}, "/x-rules/0/message: Message in English: This field is required."),
    ({"message_zh": ""}, "/x-rules/0/message: Message in Chinese: This field is required."),
    ({"check": "{bad"}, "/x-rules/0/check: not valid JSON"),
    ({"field": ""}, "/x-rules/0/field"),
])
def test_a_rule_needs_its_field_check_and_both_messages(admin, seeded, changes, message):
    before = draft()
    response = post_back(admin, f"{RG}/rules", "lz-rule-form", **{
        "field": "refund_amount", "check": "true", "message_zh": "甲", "message_en": "A", **changes})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert draft() == before


def test_a_rule_problem_links_to_the_rule(admin, seeded):
    assert post_back(admin, f"{RG}/rules", "lz-rule-form", field="refund_amount", check='{"after": [1]}',
                     message_zh="甲", message_en="A").status_code == 302
    page = admin.get(f"{RG}/edit", headers=EN).get_data(as_text=True)
    assert "/x-rules/0/check" in page and f'href="{RG}/rules?rule=0#rule-form"' in page


def test_a_member_field_upgrades_the_draft_and_hands_a_step(admin, seeded):
    response = post_back(admin, f"{RG}/add-field/user", "lz-field-form", key="engineer", title="工程师",
                         departments=["warehouse"])
    assert "now uses format 2" in shown_after(admin, response)
    assert draft()["schema"]["properties"]["engineer"] == {"type": "string", "x-widget": "user", "title": "工程师",
                                                           "x-department": ["warehouse"]}
    page = admin.get(f"{RG}/steps/warehouse", headers=EN).get_data(as_text=True)
    assert '<option value="engineer">工程师 (engineer)</option>' in page
    assert post_back(admin, f"{RG}/steps/warehouse", "lz-step-form", assignee_type="field",
                     assignee_field="engineer", pick="round_robin").status_code == 302
    assert draft()["steps"][2]["assignee"] == {"type": "field", "value": "engineer", "pick": "round_robin"}
    fields = dict(form(admin.get(f"{RG}/steps/warehouse").get_data(as_text=True), "lz-step-form")[1])
    assert (fields["assignee_type"], fields["assignee_field"]) == ("field", "engineer")


@pytest.mark.parametrize("field, message", [("", "Choose the member or department field"),
                                            ("order_no", "No member or department field")])
def test_the_field_assignee_names_a_member_or_department_field(admin, seeded, field, message):
    before = draft()
    response = post_back(admin, f"{RG}/steps/warehouse", "lz-step-form", assignee_type="field", assignee_field=field)
    assert response.status_code == 422 and "/steps/2/assignee/value: " + message in response.get_data(as_text=True)
    assert draft() == before


def test_a_stale_page_is_refused_with_409(fix):
    page = fix.get(f"{FIX}/fields/parts?column=qty", headers=EN).get_data(as_text=True)
    action, fields = form(page, "lz-column-form")
    assert column_action(fix, "parts", "price", "up").status_code == 302
    before = draft("fix")
    response = fix.post(f"{FIX}/fields/parts?column=qty", data=with_values(fields, title="X"), headers=EN)
    assert response.status_code == 409 and "changed by someone else" in response.get_data(as_text=True)
    rules = fix.post(f"{FIX}/rules", data={"rev": "stale", "field": "parts", "check": "true", "message_zh": "甲",
                                           "message_en": "A"}, headers=EN)
    assert rules.status_code == 409
    assert draft("fix") == before


# -- the whole repair process through the editor --------------------------------------------------------

def test_the_repair_process_is_built_in_the_editor_checks_and_publishes(fix):
    def field(kind: str, **changes):
        response = post_back(fix, f"{FIX}/add-field/{kind}", "lz-field-form", **changes)
        assert response.status_code == 302, response.get_data(as_text=True)

    field("user", key="engineer", title="上门工程师", departments=["repair"])
    field("number", key="parts_total", title="配件合计（元）", formula=json.dumps(REDUCE))
    field("number", key="labour", title="人工费（元）", minimum="0", multipleOf="0.01")
    field("textarea", key="repair_note", title="维修记录")
    field("number", key="fee", title="应收费用（元）", reader_roles=["supervisor"], reader_departments=["finance"],
          formula='{"+": [{"var": "labour"}, {"var": "parts_total"}]}')
    assert post_back(fix, f"{FIX}/rules", "lz-rule-form", field="repair_note",
                     check='{"or": [{"!": {"var": "labour"}}, {"!!": {"var": "repair_note"}}]}',
                     message_zh="收取人工费时请填写维修记录", message_en="Write a repair note").status_code == 302
    assert post_back(fix, f"{FIX}/edit", "lz-add-step", key="visit", name="上门维修").status_code == 302
    assert post_back(fix, f"{FIX}/steps/register", "lz-step-form", **{
        "transitions-0-to": "visit", "transitions-0-caption": "派给工程师"}).status_code == 302
    assert post_back(fix, f"{FIX}/steps/visit", "lz-step-form", assignee_type="field",
                     assignee_field="engineer").status_code == 302
    assert post_back(fix, f"{FIX}/matrix", "lz-matrix-form", **{
        "mode:register:engineer": "required", "mode:register:parts": "editable",
        "mode:register:parts_total": "readonly", "mode:visit:parts": "editable", "mode:visit:labour": "required",
        "mode:visit:repair_note": "editable", "mode:visit:fee": "readonly"}).status_code == 302
    document = draft("fix")
    with database.connection_context():
        assert docs.check(document) == []
    assert "passes every check" in fix.get(f"{FIX}/edit", headers=EN).get_data(as_text=True)
    assert fix.post(f"{FIX}/publish").status_code == 302
    with database.connection_context():
        assert docs.latest_version("fix").number == 1
    repair = json.loads((ROOT / "workflows" / "demo" / "repair.process.json").read_text("utf-8"))
    built = document["schema"]["properties"]
    for name in ("parts_total", "fee"):
        assert built[name]["x-formula"] == repair["schema"]["properties"][name]["x-formula"]
    assert built["fee"]["x-readers"] == repair["schema"]["properties"]["fee"]["x-readers"]
    assert document["x-rules"][0]["check"] == repair["x-rules"][0]["check"]
    assert document["steps"][1]["assignee"] == repair["steps"][1]["assignee"]
    assert built["parts"]["items"]["required"] == repair["schema"]["properties"]["parts"]["items"]["required"]
