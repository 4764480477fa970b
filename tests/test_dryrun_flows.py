"""The dry run walks format 2's flows (issue 19): a countersign (all, any) with each signer's decision, waiting
and resuming, SLA warning, overdue and escalation and the timeout on a simulated clock, and child tickets;
nothing is written to tickets."""

from __future__ import annotations

import copy
import json
import re

import pytest
from conftest import ROOT, example
from htmlforms import form

from workflows.calendars import store as calendars
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Signature, Ticket

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
DRAFT = "/admin/processes/return_goods/draft/"
CALENDAR = json.loads((ROOT / "workflows/demo/cn_workdays.calendar.json").read_text("utf-8"))
SIGN = {"of": {"type": "department", "value": "finance"}, "decision": "approval", "pass": "approve"}


def document(**approve) -> dict:
    """return_goods at format 2 with the approve step's flow keys replaced by ``approve``."""
    doc = copy.deepcopy({**example("return_goods.process.json"), "format": 2})
    step = next(s for s in doc["steps"] if s["key"] == "approve")
    step.pop("sla", None)
    step.update(approve)
    return doc


@pytest.fixture
def walk(admin, seeded, users):
    """Save ``document(**keys)`` as the draft; the client is the admin."""
    def saved(**keys):
        with database.connection_context():
            calendars.save_calendar(CALENDAR, "admin")
            docs.save_process(document(**keys))
        return admin
    return saved


def page(client, step: str = "approve", headers=EN) -> str:
    response = client.get(DRAFT + step, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def act(client, html: str, css: str, **values) -> str:
    """Post the panel form ``css`` of ``html`` with ``values``; the next page."""
    action, fields = form(html, css)
    data = {**dict(fields), **values}
    response = client.post(action or DRAFT + "approve", data=data, headers=EN)
    assert response.status_code in (200, 422), response.status_code
    return response.get_data(as_text=True)


def signers(html: str) -> int:
    return len(re.findall(r'name="lz_sign-\d+"', html))


def result(html: str) -> str:
    return re.search(r'lz-sign-result" data-result="(\w+)"', html).group(1)


def nothing_written():
    with database.connection_context():
        assert Ticket.select().count() == 0 and Signature.select().count() == 0


def test_sign_all_passes_when_everyone_passes_and_fails_at_the_first_other(walk):
    client = walk(sign={"mode": "all", **SIGN})
    html = page(client)
    count = signers(html)
    assert count == 3 and result(html) == "open"  # fin1, fin2, fin_lead
    html = act(client, html, "lz-sign-form", **{"lz_sign-0": "approve", "lz_sign-1": "approve"})
    assert result(html) == "open" and "2 passed, 0 decided otherwise, 1 waiting; 3 of 3 must pass" in html
    passed = act(client, html, "lz-sign-form", **{"lz_sign-2": "approve"})
    assert result(passed) == "pass" and "lz-sign-moves" in passed and "warehouse" in passed.split("lz-sign-moves")[1]
    failed = act(client, html, "lz-sign-form", **{"lz_sign-1": "reject"})
    assert result(failed) == "fail"
    action, fields = form(failed.split("lz-sign-moves")[1], "lz-move")
    moved = client.post(action, data=dict(fields), headers=EN).get_data(as_text=True)
    assert "lz-closed" in moved  # the reject transition closes the ticket
    nothing_written()


def test_sign_any_passes_at_the_first_pass(walk):
    client = walk(sign={"mode": "any", **SIGN})
    html = act(client, page(client), "lz-sign-form", **{"lz_sign-0": "reject", "lz_sign-1": "reject"})
    assert result(html) == "open" and "1 of 3 must pass" in html
    assert result(act(client, html, "lz-sign-form", **{"lz_sign-2": "approve"})) == "pass"
    assert result(act(client, html, "lz-sign-form", **{"lz_sign-2": "reject"})) == "fail"
    nothing_written()


def marks(html: str) -> dict[str, str]:
    return dict(re.findall(r'lz-mark lz-mark-(\w+)" data-reached="(\w+)"', html))


def test_sla_warn_overdue_and_timeout_on_the_simulated_clock(walk):
    client = walk(sla={"minutes": 60, "warn": 0.5, "escalate": {"notify": "manager"}},
                  timeout={"minutes": 120, "to": "$end", "label": "两小时无人处理自动结单"})
    html = act(client, page(client), "lz-clock-start-form", lz_start="2026-12-07T01:00")  # Monday
    assert marks(html) == {"warn": "no", "due": "no", "timeout": "no"}
    assert "2026-12-07 01:30 UTC" in html and "2026-12-07 02:00 UTC" in html and "2026-12-07 03:00 UTC" in html
    html = act(client, html, "lz-clock-advance", lz_minutes="30")
    assert marks(html) == {"warn": "yes", "due": "no", "timeout": "no"}
    html = act(client, html, "lz-clock-advance", lz_minutes="30")
    assert marks(html)["due"] == "yes" and "manager is notified" in html
    html = act(client, html, "lz-clock-advance", lz_minutes="60")
    assert marks(html)["timeout"] == "yes" and "lz-timed-move" in html
    action, fields = form(html, "lz-timed-move")
    moved = client.post(action, data=dict(fields), headers=EN).get_data(as_text=True)
    assert "lz-closed" in moved and "两小时无人处理自动结单" in moved
    nothing_written()


def test_a_timeout_move_before_its_time_is_refused(walk):
    client = walk(timeout={"minutes": 120, "to": "$end"})
    html = page(client)
    _, fields = form(html, "lz-clock-advance")
    data = {**dict(fields), "lz_from": "approve", "lz_go": "timeout"}
    data.pop("lz_flow")
    response = client.post(DRAFT + "$end", data=data, headers=EN)
    assert response.status_code == 422 and "lz-closed" not in response.get_data(as_text=True)


def test_waiting_stops_the_sla_and_working_time_counts_on_the_calendar(walk):
    client = walk(sla={"minutes": 60, "calendar": "cn_workdays"}, allow_wait=True)
    # Friday 2026-12-04 17:30 in Shanghai (09:30 UTC): 30 working minutes left that day, the rest on Monday.
    html = act(client, page(client), "lz-clock-start-form", lz_start="2026-12-04T09:30")
    assert "2026-12-07 01:30 UTC" in html  # Monday 09:30 in Shanghai
    html = act(client, html, "lz-wait-form", lz_reason="等待客户回复", lz_until="")
    assert "lz-pending" in html and "stopped while the ticket waits" in html
    html = act(client, html, "lz-clock-advance", lz_minutes="15")
    html = act(client, html, "lz-resume-form")
    assert "lz-pending" not in html and "2026-12-07 01:45 UTC" in html  # 15 working minutes later
    nothing_written()


def test_wait_until_resumes_by_itself(walk):
    client = walk(sla={"minutes": 60}, allow_wait=True)
    html = act(client, page(client), "lz-clock-start-form", lz_start="2026-12-07T01:00")
    html = act(client, html, "lz-wait-form", lz_reason="customer", lz_until="10")
    html = act(client, html, "lz-clock-advance", lz_minutes="30")
    assert "lz-pending" not in html and "2026-12-07 02:10 UTC" in html


def test_children_show_their_mapped_values(walk):
    client = walk(spawn=[{"process": "return_goods", "label": "派生维修单", "map": {"order_no": "order_no"},
                          "wait": True}])
    html = page(client)
    assert "lz-dry-spawn" in html and "派生维修单" in html and "lz-child-row" in html and "empty" in html
    html = client.post(DRAFT + "approve", data={"lz_sample": json.dumps({"order_no": "TH-77"})},
                       headers=EN).get_data(as_text=True)
    assert "TH-77" in html.split("lz-dry-spawn")[1] and "this step waits until it is closed" in html
    nothing_written()


def test_both_languages_and_escaping(walk):
    client = walk(sign={"mode": "ratio", "ratio": 0.6, **SIGN}, allow_wait=True,
                  timeout={"minutes": 60, "to": "$end", "label": "<i>x</i>"})
    for headers, words in ((EN, "Simulated clock"), (ZH, "模拟时钟")):
        html = page(client, headers=headers)
        assert words in html and "lz-dry-sign" in html
        assert "<i>x</i>" not in html and "&lt;i&gt;x&lt;/i&gt;" in html


def test_a_forged_flow_state_starts_afresh(walk):
    client = walk(timeout={"minutes": 60, "to": "$end"})
    html = page(client)
    html = act(client, html, "lz-clock-advance", lz_minutes="5", lz_flows='{"start": "x", "paused": -5}')
    assert marks(html) == {"timeout": "no"}
    assert "lz-flow-problem" in act(client, html, "lz-clock-advance", lz_minutes="0")


def test_sign_ratio_and_an_escalation_to_a_step(walk):
    client = walk(sign={"mode": "ratio", "ratio": 0.6, **SIGN},
                  sla={"minutes": 30, "escalate": {"to": "finance"}})
    html = act(client, page(client), "lz-sign-form", **{"lz_sign-0": "approve"})
    assert result(html) == "open" and "2 of 3 must pass" in html
    assert result(act(client, html, "lz-sign-form", **{"lz_sign-1": "approve"})) == "pass"
    assert result(act(client, html, "lz-sign-form", **{"lz_sign-1": "reject", "lz_sign-2": "reject"})) == "fail"
    html = act(client, html, "lz-clock-advance", lz_minutes="30")
    assert marks(html)["due"] == "yes" and "lz-timed-move" in html
    action, fields = form(html, "lz-timed-move")
    moved = client.post(action, data=dict(fields), headers=EN).get_data(as_text=True)
    assert "lz-trail" in moved and "Escalated" in moved and "finance" in action
    nothing_written()
