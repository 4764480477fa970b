"""The step editor's format-2 flow section (issue 19): every key round-trips from the form into the draft,
a bad value is refused at its field with nothing saved, a format-1 draft has no such section."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, example
from htmlforms import form
from werkzeug.datastructures import MultiDict

from workflows.calendars import store as calendars
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Process

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
RG = "/admin/processes/return_goods"
CALENDAR = json.loads((ROOT / "workflows/demo/cn_workdays.calendar.json").read_text("utf-8"))


def draft() -> dict:
    with database.connection_context():
        return Process.get(Process.code == "return_goods").draft


def step(key: str) -> dict:
    return next(s for s in draft()["steps"] if s["key"] == key)


def audits() -> int:
    with database.connection_context():
        return AuditEntry.select().count()


@pytest.fixture
def f2(admin, seeded, users):
    """return_goods's draft at format 2, a stored calendar ``cn_workdays``; the client is the admin."""
    with database.connection_context():
        docs.save_process({**example("return_goods.process.json"), "format": 2})
        calendars.save_calendar(CALENDAR, "admin")
    return admin


def page_fields(client, key: str = "approve") -> MultiDict:
    """The step page's form as a browser would post it back (selects' chosen options, ticked boxes)."""
    html = client.get(f"{RG}/steps/{key}", headers=EN).get_data(as_text=True)
    _, fields = form(html, "lz-step-form")
    out = MultiDict(fields)
    for attrs, body in re.findall(r"<select([^>]*\bmultiple\b[^>]*)>(.*?)</select>", html, re.S):
        name = re.search(r'name="([^"]+)"', attrs).group(1)
        out.setlist(name, re.findall(r'<option selected value="([^"]*)"', body))
    return out


def post(client, fields: MultiDict, key: str = "approve", **changes):
    for name, value in changes.items():
        name = name.replace("__", "-")
        if isinstance(value, list):
            fields.setlist(name, value)
        else:
            fields[name] = value
    return client.post(f"{RG}/steps/{key}", data=fields, headers=EN)


def saved(client, key: str = "approve", **changes) -> dict:
    response = post(client, page_fields(client, key), key, **changes)
    assert response.status_code == 302, response.get_data(as_text=True)
    return step(key)


SIGN = {"flow__sign_mode": "ratio", "flow__sign_ratio": "0.6", "flow__sign_of_type": "department",
        "flow__sign_of_departments": ["warehouse", "finance"], "flow__sign_decision": "approval",
        "flow__sign_pass": "approve"}


def test_sign_round_trips(f2):
    got = saved(f2, **SIGN)
    assert got["sign"] == {"mode": "ratio", "ratio": 0.6,
                           "of": {"type": "department", "value": ["warehouse", "finance"]},
                           "decision": "approval", "pass": "approve"}
    got = saved(f2, flow__sign_mode="all", flow__sign_ratio="", flow__sign_of_type="role",
                flow__sign_of_roles=["supervisor"])
    assert got["sign"] == {"mode": "all", "of": {"type": "role", "value": "supervisor"},
                           "decision": "approval", "pass": "approve"}
    before = draft()
    assert saved(f2) == step("approve") and draft() == before  # re-saving the page changes nothing


def test_several_candidates_round_trip(f2):
    got = saved(f2, assignee_type="department", assignee_value="", pick="round_robin",
                flow__assignee_values=["warehouse", "finance"])
    assert got["assignee"] == {"type": "department", "value": ["warehouse", "finance"], "pick": "round_robin"}
    html = f2.get(f"{RG}/steps/approve", headers=EN).get_data(as_text=True)
    assert 'value="warehouse" selected' in html.replace("selected ", "selected ") or "selected" in html
    assert saved(f2)["assignee"] == got["assignee"]
    assert saved(f2, flow__assignee_values=["finance"])["assignee"]["value"] == ["finance"]  # a list stays a list


def test_sla_timeout_wait_transfer_round_trip(f2):
    got = saved(f2, flow__sla_minutes="", flow__sla_urgent="30", flow__sla_high="120", flow__sla_normal="480",
                flow__sla_low="1440", flow__sla_calendar="cn_workdays", flow__sla_warn="80",
                flow__sla_escalate="to:finance", flow__timeout_minutes="10080", flow__timeout_to="$end",
                flow__timeout_label="7 天无回复自动结单", flow__timeout_calendar="cn_workdays",
                flow__allow_wait="y", flow__allow_transfer="anyone")
    assert got["sla"] == {"minutes": {"urgent": 30, "high": 120, "normal": 480, "low": 1440},
                          "calendar": "cn_workdays", "warn": 0.8, "escalate": {"to": "finance"}}
    assert got["timeout"] == {"minutes": 10080, "to": "$end", "label": "7 天无回复自动结单",
                              "calendar": "cn_workdays"}
    assert got["allow_wait"] is True and got["allow_transfer"] == "anyone"
    assert saved(f2) == got
    got = saved(f2, flow__sla_minutes="240", flow__sla_urgent="", flow__sla_high="", flow__sla_normal="",
                flow__sla_low="", flow__sla_escalate="manager", flow__sla_warn="", flow__sla_calendar="",
                flow__allow_transfer="within")
    assert got["sla"] == {"minutes": 240, "escalate": {"notify": "manager"}} and got["allow_transfer"] is True
    got = saved(f2, flow__sla_minutes="", flow__sla_escalate="", flow__timeout_minutes="", flow__timeout_to="",
                flow__timeout_label="", flow__timeout_calendar="", flow__allow_transfer="no")
    assert not {"sla", "timeout", "allow_transfer"} & set(got) and got["allow_wait"] is True


def test_spawn_round_trips(f2):
    got = saved(f2, **{"flow-spawn-0-code": "return_goods", "flow-spawn-0-caption": "派生维修单",
                       "flow-spawn-0-wait": "y", "flow-spawn-0-map-0-child": "order_no",
                       "flow-spawn-0-map-0-parent": "order_no"})
    assert got["spawn"] == [{"process": "return_goods", "label": "派生维修单", "map": {"order_no": "order_no"},
                             "wait": True}]
    assert saved(f2)["spawn"] == got["spawn"]
    got = saved(f2, **{"flow-spawn-0-map-1-child": "model", "flow-spawn-0-map-1-parent": "model"})
    assert list(got["spawn"][0]["map"].items()) == [("order_no", "order_no"), ("model", "model")]
    assert "spawn" not in saved(f2, **{"flow-spawn-0-remove": "y"})


@pytest.mark.parametrize(("changes", "path"), [
    ({**SIGN, "flow__sign_ratio": "0"}, "/steps/1/sign/ratio"),
    ({**SIGN, "flow__sign_mode": "all"}, "/steps/1/sign/ratio"),
    ({**SIGN, "flow__sign_pass": "maybe"}, "/steps/1/sign/pass"),
    ({**SIGN, "flow__sign_of_departments": []}, "/steps/1/sign/of/value"),
    ({"flow__sla_minutes": "240", "flow__sla_calendar": "nowhere"}, "/steps/1/sla/calendar"),
    ({"flow__sla_minutes": "0"}, "/steps/1/sla/minutes"),
    ({"flow__sla_minutes": "abc"}, "/steps/1/sla/minutes"),
    ({"flow__sla_minutes": "", "flow__sla_warn": "80"}, "/steps/1/sla/minutes"),
    ({"flow__sla_minutes": "240", "flow__sla_high": "60"}, "/steps/1/sla/minutes"),
    ({"flow__sla_minutes": "240", "flow__sla_warn": "100"}, "/steps/1/sla/warn"),
    ({"flow__sla_minutes": "240", "flow__sla_escalate": "to:nowhere"}, "/steps/1/sla/escalate/to"),
    ({"flow__timeout_minutes": "60", "flow__timeout_to": "nowhere"}, "/steps/1/timeout/to"),
    ({"flow__timeout_minutes": "0", "flow__timeout_to": "$end"}, "/steps/1/timeout/minutes"),
    ({"flow-spawn-0-code": "nowhere", "flow-spawn-0-caption": "x"}, "/steps/1/spawn/0/process"),
    ({"flow-spawn-0-code": "return_goods", "flow-spawn-0-caption": "x", "flow-spawn-0-map-0-child": "nope",
      "flow-spawn-0-map-0-parent": "order_no"}, "/steps/1/spawn/0/map/nope"),
    ({"assignee_type": "department", "flow__assignee_values": ["warehouse", "nowhere"]}, "/steps/1/assignee/value"),
])
def test_bad_values_are_refused_at_the_field(f2, changes, path):
    before, count = draft(), audits()
    response = post(f2, page_fields(f2), **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html
    assert path in html and "lz-error" in html
    assert draft() == before and audits() == count


def test_format_1_has_no_flow_section(admin, seeded, users):
    html = admin.get(f"{RG}/steps/approve", headers=EN).get_data(as_text=True)
    assert "lz-step-flows" not in html and 'name="sla_minutes"' in html
    before = step("approve")
    response = post(admin, page_fields(admin), flow__sign_mode="all", flow__sla_urgent="5")
    assert response.status_code == 302 and step("approve") == before and draft()["format"] == 1


def test_both_languages_render_and_strings_are_escaped(f2):
    saved(f2, flow__timeout_minutes="60", flow__timeout_to="$end", flow__timeout_label="<b>x</b>")
    for headers, words in ((EN, "Countersign"), (ZH, "会签")):
        html = f2.get(f"{RG}/steps/approve", headers=headers).get_data(as_text=True)
        assert words in html and "lz-step-flows" in html
        assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "超时" in f2.get(f"{RG}/steps/approve", headers=ZH).get_data(as_text=True)



def test_the_section_is_used_by_keyboard_in_chromium(f2, live_server, browser):
    """Chromium, English: label to label with the keyboard, saved with Enter; then the dry run's countersign."""
    from conftest import browser_login
    context = browser.new_context(locale="en", base_url=live_server, extra_http_headers={"Accept-Language": "en"})
    errors: list[str] = []
    context.on("page", lambda p: p.on("pageerror", lambda error: errors.append(str(error))))
    try:
        page = browser_login(context, "admin")
        page.goto(f"{RG}/steps/approve")
        page.get_by_label("Countersign", exact=True).focus()
        page.keyboard.press("End")  # the last mode: a share of signers
        page.keyboard.press("Tab")
        page.keyboard.type("0.5")
        page.get_by_label("Signers", exact=True).select_option("department")
        page.get_by_label("Signers' departments, with their sub-departments").select_option(["finance"])
        page.get_by_label("Field holding each signer's decision").select_option("approval")
        page.get_by_label("Decision that passes").fill("approve")
        page.get_by_label("Timeout after (minutes, waiting included)").fill("90")
        page.get_by_label("Then move the ticket to").select_option("$end")
        with page.expect_navigation():
            page.get_by_role("button", name="Save step").press("Enter")
        assert "Step saved." in page.content()
        assert step("approve")["sign"] == {"mode": "ratio", "ratio": 0.5, "of": {"type": "department",
                                           "value": "finance"}, "decision": "approval", "pass": "approve"}
        assert step("approve")["timeout"] == {"minutes": 90, "to": "$end"}
        page.goto("/admin/processes/return_goods/draft/approve")
        for index in range(2):
            page.locator(f"#lz-sign-{index}").select_option("approve")
        with page.expect_navigation():
            page.get_by_role("button", name="Record these decisions").click()
        assert page.locator(".lz-sign-result").get_attribute("data-result") == "pass"
    finally:
        context.close()
    assert not errors, errors
