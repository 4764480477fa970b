"""The flow designer: steps and arrows select, each edit writes its JSON in one audited change, refusals name paths."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT

from admin.editor import revision
from formbuilder.diagram import flow_svg
from workflows.calendars import store as calendars
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Process

BASE = "/admin/processes/return_goods/design"
EN = {"Accept-Language": "en"}
CALENDAR = json.loads((ROOT / "workflows/demo/cn_workdays.calendar.json").read_text("utf-8"))


def draft() -> dict:
    with database.connection_context():
        return Process.get(Process.code == "return_goods").draft


def audits() -> int:
    with database.connection_context():
        return AuditEntry.select().count()


def run(client, op_name: str, /, sel: str = "", step: str = "register", **data):
    """POST one edit as the page does: the page's state (fresh revision) plus the control's values."""
    state = {"rev": revision(draft()), "sel": sel, "step": step, "undo": "", "redo": ""}
    return client.post(f"{BASE}/op/{op_name}", data={**state, **data}, headers=EN)


def step_of(doc: dict, key: str) -> dict:
    return next(s for s in doc["steps"] if s["key"] == key)


@pytest.fixture
def designer(app, admin, seeded):
    with app.app_context(), database.connection_context():
        calendars.save_calendar(CALENDAR, "admin")
    return admin


def test_the_diagram_selects_steps_and_arrows_and_marks_the_selected(designer):
    page = designer.get(f"{BASE}?sel=transition:approve:1", headers=EN).get_data(as_text=True)
    for key in ("register", "approve", "warehouse", "finance"):
        assert f'data-lz-sel="step:{key}" tabindex="0" role="button"' in page
        assert f'data-lz-step="{key}"' in page
    assert 'class="lz-flow-edge lz-flow-skip lz-selected" data-lz-sel="transition:approve:1"' in page
    assert 'aria-label="不同意退货, 结束 [' in page
    assert 'data-lz-sel="step:$end"' not in page


def test_other_pages_draw_the_diagram_as_before():
    doc = json.loads((ROOT / "workflows/demo/return_goods.process.json").read_text("utf-8"))
    plain = flow_svg(doc)
    assert "data-lz-sel" not in plain and 'role="img"' in plain and "lz-flow-hit" not in plain


def test_add_step_after_the_selected_one_takes_over_its_way_to_the_end(designer):
    before = audits()
    response = run(designer, "add_step", sel="step:finance")
    assert response.status_code == 200
    doc = draft()
    assert [s["key"] for s in doc["steps"]] == ["register", "approve", "warehouse", "finance", "new_step"]
    assert step_of(doc, "finance")["transitions"] == [{"to": "new_step", "label": "已退款, 完结工单"}]
    assert step_of(doc, "new_step") == {"key": "new_step", "name": "New step", "fields": {},
                                        "assignee": {"type": "creator"},
                                        "transitions": [{"to": "$end", "label": "Done"}]}
    assert audits() == before + 1
    page = response.get_data(as_text=True)
    assert 'name="sel" value="step:new_step"' in page and 'name="step" value="new_step"' in page
    assert 'data-lz-focus="lzs-name"' in page


def test_a_step_named_in_chinese_gets_a_pinyin_key(designer):
    run(designer, "add_step", sel="step:register", name="上门维修")
    doc = draft()
    assert [s["key"] for s in doc["steps"]][:2] == ["register", "shang_men_wei_xiu"]
    assert step_of(doc, "register")["transitions"] == [{"to": "approve", "label": "提交主管审批"}]


def test_update_step_renames_keeping_the_key_and_sets_the_switches(designer):
    response = run(designer, "update_step", key="approve", name="主管复核", pick="least_loaded",
                   allow_transfer="anyone", allow_wait="1")
    assert response.status_code == 200
    step = step_of(draft(), "approve")
    assert step["name"] == "主管复核" and "allow_return" not in step
    assert step["assignee"] == {"type": "role", "value": "supervisor", "pick": "least_loaded"}
    assert (step["allow_transfer"], step["allow_wait"]) == ("anyone", True)
    assert draft()["format"] == 2  # "anyone" and waiting are format 2: the draft was raised


def test_the_step_panel_sets_and_clears_the_solution_rule(designer):
    """x-solution (docs/kb.md) from the designer: required, optional, none; a form without it keeps it."""
    step = step_of(draft(), "finance")
    fields = {"key": "finance", "name": step["name"], "pick": step["assignee"].get("pick", "manual"),
              "allow_transfer": "no"}
    assert run(designer, "update_step", solution="required", **fields).status_code == 200
    assert step_of(draft(), "finance")["x-solution"] == "required"
    run(designer, "update_step", **fields)  # an older page without the control
    assert step_of(draft(), "finance")["x-solution"] == "required"
    run(designer, "update_step", solution="optional", **fields)
    assert step_of(draft(), "finance")["x-solution"] == "optional"
    run(designer, "update_step", solution="", **fields)
    assert "x-solution" not in step_of(draft(), "finance")
    response = run(designer, "update_step", solution="always", **fields)
    assert response.status_code == 422 and "/steps/3/x-solution" in response.get_data(as_text=True)


def test_saving_the_step_forms_unchanged_keeps_the_document(designer):
    before = json.dumps(draft(), ensure_ascii=False)
    for step in draft()["steps"]:
        assignee = step["assignee"]
        run(designer, "update_step", key=step["key"], name=step["name"], pick=assignee.get("pick", "manual"),
            allow_return="1" if step.get("allow_return") else "",
            allow_transfer="within" if step.get("allow_transfer") else "no")
        run(designer, "update_flows", key=step["key"], section="sla",
            **{"flow-sla_minutes": str(step.get("sla", {}).get("minutes", ""))})
    assert json.dumps(draft(), ensure_ascii=False) == before


@pytest.mark.parametrize(("data", "path"), [
    ({"name": ""}, "/steps/1/name"),
    ({"name": "x", "pick": "random"}, "/steps/1/assignee/pick"),
    ({"name": "x", "allow_transfer": "maybe"}, "/steps/1/allow_transfer"),
])
def test_bad_step_input_is_refused_naming_the_path(designer, data, path):
    before, count = draft(), audits()
    response = run(designer, "update_step", key="approve", **{"allow_transfer": "no", **data})
    assert response.status_code == 422
    assert path in response.get_data(as_text=True)
    assert draft() == before and audits() == count


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("user", "wh1", {"type": "user", "value": "wh1"}),
    ("department", "finance", {"type": "department", "value": "finance", "pick": "round_robin"}),
    ("previous", "", {"type": "previous"}),
])
def test_set_handler_by_name(designer, kind, value, expected):
    assert run(designer, "set_handler", key="approve", kind=kind, value=value).status_code == 200
    assert step_of(draft(), "approve")["assignee"] == expected


@pytest.mark.parametrize(("kind", "value", "path"), [
    ("user", "nobody", "/steps/1/assignee/value"),
    ("role", "", "/steps/1/assignee/value"),
    ("field", "order_no", "/steps/1/assignee/value"),
    ("boss", "", "/steps/1/assignee/type"),
])
def test_a_handler_that_does_not_exist_is_refused(designer, kind, value, path):
    response = run(designer, "set_handler", key="approve", kind=kind, value=value)
    assert response.status_code == 422 and path in response.get_data(as_text=True)


def test_the_handler_search_lists_candidates_by_name(designer):
    page = designer.post(f"{BASE}/view", data={"rev": revision(draft()), "sel": "step:approve", "step": "register",
                                                "who_q": "finance"}, headers=EN).get_data(as_text=True)
    results = page[page.index('id="lzs-who-results"'):]
    results = results[:results.index("</ul>")]
    assert "(finance)" in results and "(warehouse)" not in results
    assert '"kind": "department", "value": "finance"' in results


def test_time_limit_timeout_and_countersign_sections(designer):
    flow = {"flow-sla_minutes": "240", "flow-sla_calendar": "cn_workdays", "flow-sla_warn": "80",
            "flow-sla_escalate": "manager"}
    assert run(designer, "update_flows", key="approve", section="sla", **flow).status_code == 200
    assert step_of(draft(), "approve")["sla"] == {"minutes": 240, "calendar": "cn_workdays", "warn": 0.8,
                                                  "escalate": {"notify": "manager"}}
    flow = {"flow-timeout_minutes": "2880", "flow-timeout_to": "$end", "flow-timeout_label": "超时关闭"}
    assert run(designer, "update_flows", key="approve", section="timeout", **flow).status_code == 200
    sign = {"flow-sign_mode": "all", "flow-sign_of_type": "role", "flow-sign_of_roles": ["supervisor"],
            "flow-sign_decision": "approval", "flow-sign_pass": "approve"}
    assert run(designer, "update_flows", key="approve", section="sign", **sign).status_code == 200
    step = step_of(draft(), "approve")
    assert step["timeout"] == {"minutes": 2880, "to": "$end", "label": "超时关闭"}
    assert step["sign"] == {"mode": "all", "of": {"type": "role", "value": "supervisor"},
                            "decision": "approval", "pass": "approve"}
    assert step["sla"]["minutes"] == 240  # each section keeps the others


@pytest.mark.parametrize(("section", "data", "path", "kept"), [
    ("sla", {"flow-sla_minutes": "240", "flow-sla_calendar": "moon"}, "/steps/1/sla/calendar", 'value="240"'),
    ("sla", {"flow-sla_minutes": "soon"}, "/steps/1/sla/minutes", 'value="soon"'),
    ("timeout", {"flow-timeout_minutes": "60"}, "/steps/1/timeout/to", 'value="60"'),
    ("sign", {"flow-sign_mode": "all", "flow-sign_of_type": "role", "flow-sign_of_roles": ["supervisor"],
              "flow-sign_decision": "approval", "flow-sign_pass": "maybe"}, "/steps/1/sign/pass",
     '<option selected value="all">'),
])
def test_bad_flow_settings_are_refused_and_the_panel_keeps_what_was_posted(designer, section, data, path, kept):
    before = draft()
    response = run(designer, "update_flows", sel="step:approve", key="approve", section=section, **data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and path in page
    assert draft() == before
    assert kept in page


def test_draw_a_transition_then_guard_it_with_an_option_value(designer):
    response = run(designer, "add_transition", sel="step:register", key="register", to="finance")
    assert response.status_code == 200
    assert step_of(draft(), "register")["transitions"][1] == {"to": "finance", "label": "To 财务退款"}
    assert 'name="sel" value="transition:register:1"' in response.get_data(as_text=True)
    # choosing the field only redraws the panel, with the field's options to choose from
    state = {"rev": revision(draft()), "sel": "transition:register:1", "step": "register"}
    page = designer.post(f"{BASE}/view", data={**state, "key": "register", "index": "1", "label": "To 财务退款",
                                               "to": "finance", "guard_field": "approval"},
                         headers=EN).get_data(as_text=True)
    assert '<option value="approve">' in page and '<option value="">— choose —</option>' not in page
    count = audits()
    response = run(designer, "update_transition", sel="transition:register:1", key="register", index="1",
                   label="直接退款", to="finance", guard_field="approval", guard_op="eq", guard_value="reject")
    assert response.status_code == 200 and audits() == count + 1
    assert step_of(draft(), "register")["transitions"][1] == {
        "to": "finance", "label": "直接退款",
        "when": {"properties": {"approval": {"const": "reject"}}, "required": ["approval"]}}


def test_a_guard_of_several_values_and_removing_it(designer):
    run(designer, "update_transition", key="approve", index="0", label="同意", to="warehouse",
        guard_field="approval", guard_op="in", guard_value=["approve", "reject"])
    assert step_of(draft(), "approve")["transitions"][0]["when"] == {
        "properties": {"approval": {"enum": ["approve", "reject"]}}, "required": ["approval"]}
    run(designer, "clear_guard", key="approve", index="0")
    assert step_of(draft(), "approve")["transitions"][0] == {"to": "warehouse", "label": "同意"}


@pytest.mark.parametrize(("data", "path"), [
    ({"label": ""}, "/steps/1/transitions/0/label"),
    ({"to": "nowhere"}, "/steps/1/transitions/0/to"),
    ({"guard_field": "refund_amount", "guard_op": "gt", "guard_value": "lots"}, "/steps/1/transitions/0/when"),
    ({"guard_field": "approval", "guard_op": "eq", "guard_value": ""}, "/steps/1/transitions/0/when"),
    ({"index": "7"}, "/steps/1/transitions/7"),
])
def test_bad_transition_input_is_refused_naming_the_path(designer, data, path):
    before = draft()
    response = run(designer, "update_transition", **{"key": "approve", "index": "0", "label": "同意",
                                                     "to": "warehouse", **data})
    assert response.status_code == 422 and path in response.get_data(as_text=True)
    assert draft() == before


def test_remove_a_transition_move_and_remove_steps(designer):
    run(designer, "remove_transition", key="approve", index="1")
    assert [t["to"] for t in step_of(draft(), "approve")["transitions"]] == ["warehouse"]
    run(designer, "move_step", key="finance", delta="-1")
    assert [s["key"] for s in draft()["steps"]] == ["register", "approve", "finance", "warehouse"]
    run(designer, "remove_step", key="warehouse")
    doc = draft()
    assert [s["key"] for s in doc["steps"]] == ["register", "approve", "finance"]
    assert step_of(doc, "approve")["transitions"][0]["to"] == "finance"  # where warehouse led


def test_a_stale_page_gets_409_and_nothing_is_saved(designer):
    before, count = draft(), audits()
    response = designer.post(f"{BASE}/op/add_step", data={"rev": "0" * 16, "sel": "", "step": "register"},
                             headers=EN)
    assert response.status_code == 409 and draft() == before and audits() == count


def test_the_panels_are_labelled(designer):
    for sel in ("step:approve", "transition:approve:0"):
        page = designer.get(f"{BASE}?sel={sel}", headers=EN).get_data(as_text=True)
        panel = page[page.index('id="lz-d-panel"'):]
        ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', panel)) - {""}
        hidden = set(re.findall(r'<input type="hidden"[^>]*\bid="([^"]+)"', panel))
        for ident in ids - hidden:
            assert f'for="{ident}"' in panel, (sel, ident)
    page = designer.get(f"{BASE}?sel=transition:approve:0", headers=EN).get_data(as_text=True)
    assert '<option value="approve" selected>' in page and "Remove the condition" in page


def test_the_flow_edits_need_an_admin(client, auth, seeded):
    auth.login("agent")
    assert client.post(f"{BASE}/op/add_step", data={"rev": "x"}).status_code == 403
    assert client.get(f"{BASE}?sel=step:approve").status_code == 403


def test_the_countersign_is_previewed_until_saved_with_the_decisions_to_choose_from(designer):
    before = draft()
    state = {"rev": revision(before), "sel": "step:warehouse", "step": "register"}
    page = designer.post(f"{BASE}/view", data={**state, "key": "warehouse", "section": "sign",
                                               "flow-sign_mode": "any", "flow-sign_decision": "as_described"},
                         headers=EN).get_data(as_text=True)
    assert draft() == before
    chooser = page[page.index('id="flow-sign_pass"'):]
    assert '<option value="yes">' in chooser[:chooser.index("</select>")]


def test_a_new_steps_key_follows_its_name_until_published(admin, seeded):
    from test_designer import Designer, draft

    page = Designer(admin)
    page.op("add_step")
    key = page.state["sel"].split(":", 1)[1]
    assert page.op("update_step", key=key, name="上门维修", pick="manual", allow_transfer="no").status_code == 200
    keys = [s["key"] for s in draft()["steps"]]
    assert "shang_men_wei_xiu" in keys and key not in keys
    assert page.state["sel"] == "step:shang_men_wei_xiu"
    assert any(t["to"] == "shang_men_wei_xiu" for s in draft()["steps"] for t in s["transitions"])
    page.op("update_step", key="register", name="登记", pick="manual", allow_transfer="no")
    assert "register" in [s["key"] for s in draft()["steps"]]  # published: the key stays


def test_a_dictionary_guard_reads_in_the_items_labels(admin, seeded):
    from test_designer import Designer

    page = Designer(admin)
    page.op("add_transition", key="register", to="$end")
    page.op("update_transition", key="register", index="1", label="直接关闭", to="$end", guard_field="category",
            guard_op="eq", guard_value="fr")
    assert "商品类别 = 冰箱" in page.html


def test_a_child_ticket_button_is_added_and_removed_in_the_step_panel(admin, seeded):
    from test_designer import Designer, draft

    page = Designer(admin)
    page.post("view", sel="step:approve")
    response = page.op("add_spawn", key="approve", process="return_goods", label="开子工单", wait="1")
    assert response.status_code == 200, page.html
    step = next(s for s in draft()["steps"] if s["key"] == "approve")
    assert step["spawn"] == [{"process": "return_goods", "label": "开子工单", "wait": True}]
    assert draft()["format"] == 2  # spawn is format 2: the draft is upgraded in the same change
    assert page.op("add_spawn", key="approve", process="", label="x").status_code == 422
    assert page.op("add_spawn", key="approve", process="nope", label="x").status_code == 422
    assert "nope" in page.html
    page.op("remove_spawn", key="approve", index="0")
    assert "spawn" not in next(s for s in draft()["steps"] if s["key"] == "approve")


def test_transitions_reorder_handlers_take_several_and_choose_is_narrowed(admin, seeded):
    from test_designer import Designer, draft

    page = Designer(admin)
    page.op("add_transition", key="approve", to="$end")
    labels = [t["label"] for t in next(s for s in draft()["steps"] if s["key"] == "approve")["transitions"]]
    assert page.op("move_transition", key="approve", index=str(len(labels) - 1), delta="-1").status_code == 200
    moved = [t["label"] for t in next(s for s in draft()["steps"] if s["key"] == "approve")["transitions"]]
    assert moved == [*labels[:-2], labels[-1], labels[-2]]
    assert page.op("move_transition", key="approve", index="0", delta="-1").status_code == 422
    page.op("set_handler", key="warehouse", kind="department", value="warehouse")
    assert page.op("add_candidate", key="warehouse", value="finance").status_code == 200, page.html
    assert next(s for s in draft()["steps"] if s["key"] == "warehouse")["assignee"]["value"] == ["warehouse", "finance"]
    assert page.op("set_handler", key="warehouse", kind="choose", value="supervisor").status_code == 200
    assert next(s for s in draft()["steps"] if s["key"] == "warehouse")["assignee"] == {"type": "choose",
                                                                                          "value": "supervisor"}
    assert page.op("set_handler", key="warehouse", kind="choose", value="nobody").status_code == 422
