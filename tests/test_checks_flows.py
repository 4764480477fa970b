"""Format 2's step keys (issue 19) in the static checks: refused in format 1 at their paths, check 10's part
for countersigns (decision, pass, signers) and check 11 (calendars, timeout and escalation targets, spawn)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from formbuilder import check_process

IT_CHANGE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "it_change.process.json"
NEEDS = '%s needs "format": 2'


def flows() -> dict:
    """A small valid format-2 document with every step key of issue 19."""
    return {
        "format": 2, "code": "change", "name": "变更",
        "priority": {"enabled": True, "default": "normal"},
        "schema": {"type": "object", "properties": {
            "title": {"type": "string", "title": "标题"},
            "owner": {"type": "string", "title": "负责人", "x-widget": "user"},
            "decision": {"type": "string", "title": "结论",
                         "oneOf": [{"const": "ok", "title": "同意"}, {"const": "no", "title": "不同意"}]},
            "count": {"type": "integer", "title": "数量", "x-formula": {"+": [1, 1]}},
        }},
        "steps": [
            {"key": "apply", "name": "申请", "fields": {"title": "required", "owner": "required"},
             "assignee": {"type": "creator"}, "transitions": [{"to": "sign", "label": "提交"}]},
            {"key": "sign", "name": "会签", "fields": {"title": "readonly", "decision": "required"},
             "sign": {"mode": "all", "of": {"type": "department", "value": ["net", "dba"]},
                      "decision": "decision", "pass": "ok"},
             "transitions": [{"to": "work", "label": "通过"}]},
            {"key": "work", "name": "实施", "fields": {"title": "readonly"}, "allow_wait": True,
             "allow_transfer": "anyone", "assignee": {"type": "role", "value": ["handler", "supervisor"]},
             "sla": {"minutes": {"urgent": 60, "low": 600}, "calendar": "cn_workdays", "warn": 0.8,
                     "escalate": {"to": "sign"}},
             "timeout": {"minutes": 600, "to": "$end", "label": "超时结单", "calendar": "cn_workdays"},
             "spawn": [{"process": "repair", "label": "派生维修单", "map": {"fault": "title"}, "wait": True}],
             "transitions": [{"to": "$end", "label": "完成"}]},
        ],
    }


CHILD = {"schema": {"properties": {"fault": {"type": "string"},
                                   "total": {"type": "number", "x-formula": {"+": [1, 2]}}}}}


def lines(document: dict, **known) -> list[str]:
    return [str(p) for p in check_process(document, {}, **known)]


def known(**overrides) -> dict:
    return {"calendars": {"cn_workdays"}, "processes": {"repair": CHILD}, **overrides}


def test_a_document_with_every_flow_key_passes_with_and_without_what_exists():
    assert lines(flows()) == []
    assert lines(flows(), **known()) == []


def test_format_1_refuses_each_format_2_step_key_at_its_path():
    document = {**flows(), "format": 1}
    for name in ("owner", "count"):  # format 2 fields, refused on their own
        del document["schema"]["properties"][name]
    document["steps"][0]["fields"].pop("owner")
    document["steps"][1]["assignee"] = {"type": "creator"}
    found = lines(document)
    expected = [
        "/steps/1/sign: " + NEEDS % "sign",
        "/steps/2/allow_transfer: " + NEEDS % 'allow_transfer "anyone"',
        "/steps/2/allow_wait: " + NEEDS % "allow_wait",
        "/steps/2/assignee/value: " + NEEDS % "a list of assignee values",
        "/steps/2/sla/calendar: " + NEEDS % "sla.calendar",
        "/steps/2/sla/escalate: " + NEEDS % "sla.escalate",
        "/steps/2/sla/minutes: " + NEEDS % "sla.minutes per priority",
        "/steps/2/sla/warn: " + NEEDS % "sla.warn",
        "/steps/2/spawn: " + NEEDS % "spawn",
        "/steps/2/timeout: " + NEEDS % "timeout",
    ]
    assert found == expected  # nothing else: format 1 gives these keys no meaning to check


def test_format_1_keeps_its_own_sla_and_transfer():
    document = {**flows(), "format": 1}
    work = {"key": "work", "name": "实施", "fields": {}, "assignee": {"type": "creator"}, "allow_transfer": True,
            "sla": {"minutes": 240}, "transitions": [{"to": "$end", "label": "完成"}]}
    document.update(schema={"type": "object", "properties": {}}, steps=[work])
    assert lines(document) == []


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["steps"][1]["sign"].update(decision="nope"), "/steps/1/sign/decision: no such field in schema"),
    (lambda d: d["steps"][1]["fields"].update(decision="readonly"),
     "/steps/1/sign/decision: the decision field 'decision' must be editable or required at this step"),
    (lambda d: d["steps"][1]["fields"].update(decision={"mode": "required", "when": {"required": ["title"]},
                                                        "else": "hidden"}),
     "/steps/1/sign/decision: the decision field 'decision' must be editable or required at this step"),
    (lambda d: d["steps"][1]["sign"].update({"pass": "maybe"}),
     "/steps/1/sign/pass: the decision field 'decision' cannot hold \"maybe\""),
    (lambda d: d["steps"][1]["sign"].update({"pass": 1}),
     "/steps/1/sign/pass: the decision field 'decision' cannot hold 1"),
    (lambda d: d["steps"][1]["sign"].update(of={"type": "user", "value": ["a", "b"]}),
     "/steps/1/sign/of/value: only a role or department assignee may name several values"),
    (lambda d: d["steps"][1]["sign"].update(of={"type": "field", "value": "title"}),
     "/steps/1/sign/of/value: 'title' is not a member field or a department field"),
    (lambda d: d["steps"][1]["sign"].update(of={"type": "field", "value": "ghost"}),
     "/steps/1/sign/of/value: no such field in schema"),
    (lambda d: d["steps"][0]["fields"].update(owner="editable") or d["steps"][1]["sign"].update(
        of={"type": "field", "value": "owner"}),
     "/steps/1/sign/of/value: 'owner' may be empty when this step is reached: require it at every step before, "
     "or compute it"),
    (lambda d: d["steps"][2]["assignee"].update(type="choose"),
     "/steps/2/assignee/value: only a role or department assignee may name several values"),
])
def test_check_10_for_countersigns(edit, expected):
    document = flows()
    edit(document)
    assert lines(document, **known()) == [expected]


def test_a_decision_field_with_a_dictionary_passes_only_one_of_its_items(dictionaries):
    document = flows()
    document["schema"]["properties"]["decision"] = {"type": "string", "title": "结论", "x-dictionary": "channel"}
    value = next(iter(dictionaries["channel"].items))
    document["steps"][1]["sign"]["pass"] = value
    assert [str(p) for p in check_process(document, dictionaries)] == []
    document["steps"][1]["sign"]["pass"] = "no-such-item"
    assert [str(p) for p in check_process(document, dictionaries)] == [
        "/steps/1/sign/pass: the decision field 'decision' cannot hold \"no-such-item\""]


def test_a_multi_select_cannot_be_a_decision():
    document = flows()
    document["schema"]["properties"]["decision"] = {"type": "array", "uniqueItems": True, "items": {
        "type": "string", "oneOf": [{"const": "ok", "title": "同意"}]}}
    assert lines(document) == ["/steps/1/sign/pass: the decision field 'decision' cannot hold \"ok\""]


def test_a_signer_field_filled_before_the_step_passes():
    document = flows()
    document["steps"][1]["sign"]["of"] = {"type": "field", "value": "owner"}
    assert lines(document, **known()) == []


@pytest.mark.parametrize("edit, expected", [
    (lambda w: w["sla"].update(calendar="nope"), "/steps/2/sla/calendar: unknown calendar 'nope'"),
    (lambda w: w["timeout"].update(calendar="nope"), "/steps/2/timeout/calendar: unknown calendar 'nope'"),
    (lambda w: w["timeout"].update(to="gone"), "/steps/2/timeout/to: no such step 'gone'"),
    (lambda w: w["sla"].update(escalate={"to": "gone"}), "/steps/2/sla/escalate/to: no such step 'gone'"),
    (lambda w: w["sla"].update(escalate={"to": "$end"}),
     "/steps/2/sla/escalate/to: an escalation goes to a step, not to $end"),
    (lambda w: w["spawn"][0].update(process="nope"), "/steps/2/spawn/0/process: unknown process 'nope'"),
    (lambda w: w["spawn"][0].update(map={"ghost": "title"}),
     "/steps/2/spawn/0/map/ghost: process 'repair' has no field 'ghost'"),
    (lambda w: w["spawn"][0].update(map={"total": "title"}),
     "/steps/2/spawn/0/map/total: 'total' is computed in the child: it cannot be pre-filled"),
    (lambda w: w["spawn"][0].update(map={"fault": "ghost"}), "/steps/2/spawn/0/map/fault: no such field in schema"),
])
def test_check_11_each_problem_at_its_path(edit, expected):
    document = flows()
    edit(document["steps"][2])
    assert lines(document, **known()) == [expected]


def test_check_11_reports_every_problem_at_once_and_skips_what_is_not_known():
    document = flows()
    work = document["steps"][2]
    work["sla"]["calendar"] = work["timeout"]["calendar"] = "nope"
    work["spawn"].append({"process": "other", "label": "其他", "map": {"x": "ghost"}})
    assert lines(document, **known()) == [
        "/steps/2/sla/calendar: unknown calendar 'nope'",
        "/steps/2/spawn/1/map/x: no such field in schema",
        "/steps/2/spawn/1/process: unknown process 'other'",
        "/steps/2/timeout/calendar: unknown calendar 'nope'",
    ]
    # Without the database's answers, only what the document itself shows.
    assert lines(document) == ["/steps/2/spawn/1/map/x: no such field in schema"]


def test_a_process_may_spawn_its_own_kind():
    document = flows()
    document["steps"][2]["spawn"] = [{"process": "change", "label": "子变更", "map": {"title": "title"}}]
    assert lines(document, **known(processes={})) == []
    document["steps"][2]["spawn"][0]["map"] = {"ghost": "title"}
    assert lines(document, **known(processes={})) == [
        "/steps/2/spawn/0/map/ghost: process 'change' has no field 'ghost'"]


def test_malformed_keys_are_the_meta_schemas_alone():
    document = flows()
    document["steps"][1]["sign"] = {"mode": "all", "of": "x", "decision": 3, "pass": "ok"}
    document["steps"][2]["timeout"] = {"minutes": 5, "to": 7}
    found = lines(document, **known())
    assert found and all("/sign/of" in line or "/sign/decision" in line or "/timeout/to" in line for line in found)
    assert not any("no such" in line for line in found)


def test_the_it_change_example_passes_once_its_calendar_exists():
    document = json.loads(IT_CHANGE.read_text("utf-8"))
    assert lines(document) == []
    assert lines(document, calendars={"cn_workdays"}, processes={}) == []
    assert lines(document, calendars=set(), processes={}) == [
        "/steps/3/sla/calendar: unknown calendar 'cn_workdays'",
        "/steps/4/timeout/calendar: unknown calendar 'cn_workdays'",
    ]
    broken = copy.deepcopy(document)
    broken["format"] = 1
    assert "/steps/1/sign: " + NEEDS % "sign" in lines(broken)


def test_a_step_reached_only_by_a_timeout_or_an_escalation_is_reachable():
    """Check 5 counts the worker's moves: a step only a timeout or an escalation leads to is not unreachable."""
    document = flows()
    document["steps"].append({"key": "late", "name": "超时处理", "fields": {"title": "readonly"},
                              "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "结束"}]})
    assert any("/steps/3" in line for line in lines(document, **known()))  # nothing leads to it yet
    document["steps"][2]["timeout"]["to"] = "late"
    assert lines(document, **known()) == []
    document["steps"][2]["timeout"]["to"] = "$end"
    document["steps"][2]["sla"]["escalate"] = {"to": "late"}
    assert lines(document, **known()) == []
