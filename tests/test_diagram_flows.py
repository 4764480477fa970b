"""The flow diagram's format 2 marks (issue 19): countersigns and their signers, the pause mark, timeout and
escalation edges, child processes; every string the admin wrote escaped."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from formbuilder.diagram import flow_svg
from formbuilder.diagram_marks import duration

SVG = "{http://www.w3.org/2000/svg}"
IT_CHANGE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "it_change.process.json"


@pytest.fixture
def doc() -> dict:
    document = json.loads(IT_CHANGE.read_text("utf-8"))
    document["steps"][3]["spawn"] = [{"process": "repair", "label": "派生维修单", "wait": True},
                                      {"process": "return_goods", "label": "退货", "map": {}}]
    document["steps"][3]["sla"]["escalate"] = {"to": "cab"}
    return document


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in g.get("class", "").split()]


def text(element: ET.Element) -> str:
    return "".join(element.itertext())


def test_sign_steps_show_their_mode_and_signers(doc):
    root = ET.fromstring(flow_svg(doc))
    signs = [text(t) for t in root.iter(f"{SVG}text") if t.get("class") == "lz-flow-sign"]
    signers = [text(t) for t in root.iter(f"{SVG}text") if t.get("class") == "lz-flow-signers"]
    assert signs == ["会签 all", "或签 any"]
    assert signers[1] == "部门 cab" and signers[0].startswith("部门 network/")  # clipped: the tooltip has it all
    review = groups(root, "lz-flow-node")[1]
    assert "部门 network/dba/security" in review.find(f"{SVG}title").text
    ratio = copy.deepcopy(doc)
    ratio["steps"][1]["sign"].update(mode="ratio", ratio=0.6)
    assert "会签 60%" in flow_svg(ratio)
    by_field = copy.deepcopy(doc)
    by_field["steps"][1]["sign"]["of"] = {"type": "field", "value": "title"}
    assert "字段 变更标题" in flow_svg(by_field)  # the field's title, not its key


def test_each_node_keeps_one_text_its_name(doc):
    root = ET.fromstring(flow_svg(doc, "review"))
    names = [text(g.find(f"{SVG}text")) for g in groups(root, "lz-flow-node")]
    assert names == ["申请", "会签", "CAB 审批", "实施", "验证", "结束"]
    assert all(len(g.findall(f"{SVG}text")) == 1 for g in groups(root, "lz-flow-node"))


def test_the_pause_mark_and_a_pending_ticket(doc):
    root = ET.fromstring(flow_svg(doc))
    waits = groups(root, "lz-flow-wait")
    assert len(waits) == 1 and "allow_wait" in waits[0].find(f"{SVG}title").text
    assert not groups(root, "lz-flow-pending")
    pending = groups(ET.fromstring(flow_svg(doc, "implement", pending=True)), "lz-flow-pending")
    assert len(pending) == 1 and pending[0].find(f"{SVG}title").text == "挂起中"
    # A pending ticket at a step without allow_wait (set pending by another path) still shows it.
    assert groups(ET.fromstring(flow_svg(doc, "verify", pending=True)), "lz-flow-pending")


def test_timeout_and_escalation_edges_have_their_own_dashed_styles(doc):
    root = ET.fromstring(flow_svg(doc))
    (timeout,) = groups(root, "lz-flow-timeout")
    (escalate,) = groups(root, "lz-flow-escalate")
    assert timeout.find(f"{SVG}path").get("stroke-dasharray") == "2 3"
    assert escalate.find(f"{SVG}path").get("stroke-dasharray") == "8 3 2 3"
    assert "超时 52.5h · 7 个工作日无回复自动结单 (日历 cn_workdays)" == timeout.find(f"{SVG}title").text
    assert "超时升级 4h–1d" in text(escalate)
    assert "SLA 4h–1d" in flow_svg(doc) and "SLA urgent 4h, high 8h, normal 16h, low 1d" in flow_svg(doc)


def test_child_processes_in_their_lane(doc):
    svg = flow_svg(doc)
    root = ET.fromstring(svg)
    spawns = groups(root, "lz-flow-spawn")
    assert [text(t) for g in spawns for t in g.iter(f"{SVG}text") if t.get("class") == "lz-flow-child"] == [
        "⎇ repair", "⎇ return_goods"]
    assert [len([t for t in g.iter(f"{SVG}text") if t.get("class") == "lz-flow-waits"]) for g in spawns] == [1, 0]
    height = int(root.get("height"))
    bottoms = [float(g.find(f"{SVG}rect").get("y")) + 36 for g in spawns]
    assert max(bottoms) < height  # the lane is inside the picture
    without = copy.deepcopy(doc)
    del without["steps"][3]["spawn"]
    assert int(ET.fromstring(flow_svg(without)).get("height")) < height


def test_hostile_strings_in_the_new_keys_are_escaped(doc):
    hostile = "<script>alert(1)</script>"
    doc["steps"][1]["sign"]["of"] = {"type": "department", "value": [hostile, '"><img src=x onerror=alert(2)>']}
    doc["steps"][4]["timeout"]["label"] = hostile
    doc["steps"][4]["timeout"]["calendar"] = "<b>cal</b>"
    doc["steps"][3]["spawn"][0].update(label=hostile, process="<i>x</i>")
    doc["steps"][3]["sla"]["calendar"] = "<u>c</u>"
    svg = flow_svg(doc, "implement", pending=True, words={"pending": "<em>p</em>"})
    ET.fromstring(svg)
    for raw in ("<script>", "<img", "<b>", "<i>", "<u>", "<em>"):
        assert raw not in svg
    assert "&lt;script&gt;" in svg and "&lt;em&gt;p&lt;/em&gt;" in svg


def test_translated_words_replace_the_defaults(doc):
    svg = flow_svg(doc, words={"all": "All sign", "any": "Any signs", "department": "Dept.", "timeout": "Timeout"})
    assert "All sign" in svg and "Any signs" in svg and "Dept. cab" in svg and "Timeout 52.5h" in svg


def test_a_format_1_document_draws_as_before():
    steps = [{"key": "a", "name": "甲", "fields": {}, "assignee": {"type": "creator"},
              "transitions": [{"to": "$end", "label": "完"}]}]
    root = ET.fromstring(flow_svg({"steps": steps}))
    assert root.get("height") == "116" and not groups(root, "lz-flow-marks")
    assert float(groups(root, "lz-flow-node")[0].find(f"{SVG}rect").get("height")) == 44


@pytest.mark.parametrize("minutes, shown", [(240, "4h"), (10080, "7d"), (90, "1.5h"), (45, "45m"), (0, "0m"),
                                            (3150, "52.5h"), (61, "61m"),
                                            ({"urgent": 30, "low": 1440}, "30m–1d"), ({"high": 60}, "1h"),
                                            ("x", ""), (True, "")])
def test_durations(minutes, shown):
    assert duration(minutes) == shown


def test_malformed_keys_do_not_break_the_drawing(doc):
    doc["steps"][1]["sign"] = {"mode": 3, "of": "x"}
    doc["steps"][3]["spawn"] = [None, {"process": 5}]
    doc["steps"][3]["sla"] = {"minutes": "soon", "escalate": {"to": "nowhere"}}
    doc["steps"][4]["timeout"] = {"minutes": None, "to": "$end"}
    ET.fromstring(flow_svg(doc))
    doc["steps"][2]["transitions"] = 1  # a draft in the making
    doc["schema"]["properties"]["cab_decision"] = {"type": "string", "oneOf": 1.5}
    doc["schema"]["properties"]["review"] = None
    ET.fromstring(flow_svg(doc))
    ET.fromstring(flow_svg({**doc, "schema": "x", "steps": {"a": 1}}))


def test_the_words_are_msgids_whose_chinese_is_the_default():
    from babel.messages.pofile import read_po

    from formbuilder.diagram_marks import MSGIDS, WORDS, translated

    with open(Path(__file__).resolve().parents[1] / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po",
              "rb") as fh:
        catalog = {m.id: m.string for m in read_po(fh) if m.id}
    assert translated(catalog.get) == WORDS and set(MSGIDS) == set(WORDS)
    english = flow_svg(json.loads(IT_CHANGE.read_text("utf-8")), words=translated(lambda s: s))
    assert "countersign: all" in english and "Department cab" in english and "会签 all" not in english


def test_the_admin_pages_draw_the_marks_in_the_readers_language(app, client, admin):
    from workflows import demo
    from workflows.calendars import store as calendars
    from workflows.processes import documents as docs
    from workflows.storage.db import database

    with app.app_context(), database.connection_context():
        calendars.save_calendar(demo._load("cn_workdays.calendar.json"), None, "calendar.import")
        docs.save_process(demo._load("it_change.process.json"), publish=True)
    for page in ("/admin/processes/it_change/versions",):
        chinese = client.get(page, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        english = client.get(page, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "会签 all" in chinese and "或签 any" in chinese and "lz-flow-wait" in chinese, page
        assert "countersign: all" in english and "Department cab" in english and "会签 all" not in english, page
