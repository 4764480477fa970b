"""The flow diagram: the SVG itself (pure), and on the admin versions page and the ticket page."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, browser_login, example

from formbuilder.diagram import condition_text, flow_svg
from workflows.storage.db import database
from workflows.tickets import engine

SVG = "{http://www.w3.org/2000/svg}"
REGISTER = {"order_no": "TH-9", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "漏水"}


@pytest.fixture
def doc() -> dict:
    return example("return_goods.process.json")


def nodes(svg: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if "lz-flow-node" in g.get("class", "").split()]


def test_the_example_is_well_formed_with_four_steps_and_the_end(doc):
    svg = flow_svg(doc, "approve")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}defs/{SVG}marker") is not None
    boxes = nodes(svg)
    assert len(boxes) == 5 and "lz-flow-end" in boxes[-1].get("class")
    texts = ["".join(b.find(f"{SVG}text").itertext()) for b in boxes]
    assert texts == ["来电登记", "主管审批", "仓库收货", "财务退款", "结束"]
    assert [b for b in boxes if "lz-current" in b.get("class")] == [boxes[1]]
    title = root.find(f"{SVG}title").text
    assert all(name in title for name in texts) and all(name in root.get("aria-label") for name in texts)
    assert "[审批意见 = 不同意退货]" in svg and "[审批意见 = 同意退货]" in svg  # the labels, not the codes
    assert "不同意退货, 结束" in svg and len(root.findall(f".//{SVG}g[@class='lz-flow-edge lz-flow-skip']")) == 1


def test_the_end_label_and_the_end_node_can_be_current(doc):
    svg = flow_svg(doc, "$end", end_label="End")
    assert "lz-current" in nodes(svg)[-1].get("class") and ">End</text>" in svg
    assert "lz-current" not in flow_svg(doc)


def test_hostile_strings_are_escaped(doc):
    doc["steps"][0]["name"] = "<script>alert(1)</script>"
    doc["steps"][0]["transitions"][0]["label"] = '"><img src=x onerror=alert(2)>'
    doc["steps"][1]["transitions"][0]["when"] = {"properties": {"approval": {"const": "<b>x</b>"}}}
    svg = flow_svg(doc, "register", end_label="<i>end</i>")
    ET.fromstring(svg)
    for raw in ("<script>", "<img", "<b>", "<i>"):
        assert raw not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_condition_text():
    assert condition_text({"properties": {"approval": {"const": "reject"}}, "required": ["approval"]}) \
        == "approval = reject"
    assert condition_text({"properties": {"a": {"enum": ["x", "y"]}, "b": {"const": True}}}) == "a ∈ x/y, b = true"
    complex_ = condition_text({"anyOf": [{"properties": {"refund_amount": {"minimum": 100}}}, {"required": ["x"]}]})
    assert len(complex_) <= 30 and complex_.endswith("…")


@pytest.mark.parametrize("count", range(2, 9))
def test_two_to_eight_steps_with_back_and_skip_arrows(count):
    steps = [{"key": f"s{i}", "name": f"第{i}步", "fields": {}, "assignee": {"type": "creator"},
              "transitions": [{"to": f"s{i + 1}" if i + 1 < count else "$end", "label": "下一步"}]}
             for i in range(count)]
    steps[-1]["transitions"].append({"to": "s0", "label": "重来", "when": {"anyOf": [{"required": ["a"]}]}})
    steps[0]["transitions"].append({"to": "$end", "label": "直接结束"})
    svg = flow_svg({"steps": steps}, f"s{count - 1}")
    root = ET.fromstring(svg)
    assert len(nodes(svg)) == count + 1
    assert len(root.findall(f".//{SVG}g[@class='lz-flow-edge']")) == count
    assert len(root.findall(f".//{SVG}path[@stroke-dasharray]")) == 1  # the way back
    widths = [int(flow_svg({"steps": steps[:n]}).split('width="')[1].split('"')[0]) for n in (1, 2)]
    assert widths[1] > widths[0]


def test_unknown_targets_are_left_out(doc):
    changed = copy.deepcopy(doc)
    changed["steps"][0]["transitions"].append({"to": "nowhere", "label": "x"})
    assert flow_svg(changed) == flow_svg(changed) and "nowhere" not in flow_svg(changed)


def test_the_admin_versions_page_shows_the_diagram(client, seeded, auth):
    auth.login("admin")
    html = client.get("/admin/processes/return_goods/versions").get_data(as_text=True)
    assert 'class="mb-3 lz-flow"' in html and "<svg" in html and "审批意见 = 不同意退货" in html
    assert "lz-current" not in html


def test_the_ticket_page_marks_the_current_step(app, client, seeded, auth, users):
    with app.app_context(), database.connection_context():
        number = engine.create(users["agent"], "return_goods", dict(REGISTER)).number
    auth.login("agent")
    response = client.get(f"/tickets/{number}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    svg = html[start:end]
    marked = [g for g in nodes(svg) if "lz-current" in g.get("class")]
    assert len(marked) == 1 and "".join(marked[0].find(f"{SVG}text").itertext()) == "主管审批"


def test_the_ticket_page_in_the_browser(app, seeded, users, live_server, browser, request):
    """The handler's ticket page with the diagram under the step form; saved as tests/artifacts/flow-diagram.png."""
    with app.app_context(), database.connection_context():
        ticket = engine.create(users["agent"], "return_goods", dict(REGISTER))
        number, handler = ticket.number, ticket.assignee.username
    context = browser.new_context(locale="zh-CN", base_url=live_server, viewport={"width": 1280, "height": 900})
    try:
        page = browser_login(context, handler)
        page.goto(f"/tickets/{number}")
        diagram = page.locator(".lz-flow svg")
        assert diagram.get_attribute("role") == "img"
        assert page.locator(".lz-flow .lz-current text").text_content() == "主管审批"
        box = diagram.bounding_box()
        assert box is not None and 400 < box["width"] <= page.locator(".lz-flow").bounding_box()["width"] + 1
        if request.node.callspec.id == "sqlite":
            path = ROOT / "tests" / "artifacts" / "flow-diagram.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
    finally:
        context.close()
