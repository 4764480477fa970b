"""The IT change example (docs/examples/it_change.process.json, issue 19) and its place in the demo.

It is the demo's copy, passes ``process check`` once its calendar is stored (and names the missing
calendar at its paths before), is published by the demo seed (calendar first) on both databases, and
the demo organisation holds its signers: one in each of network, DBA and security, a CAB of three
managers, the implementers and their manager.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import _session_hash

from workflows import demo
from workflows.calendars import store as calendars
from workflows.people import org
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Calendar, Department, Process, ProcessVersion, User

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "it_change.process.json"


def test_the_documented_example_is_the_demos():
    assert EXAMPLE.is_symlink() and EXAMPLE.resolve() == ROOT / "workflows" / "demo" / "it_change.process.json"
    assert json.loads(EXAMPLE.read_text("utf-8")) == demo._load("it_change.process.json")


def test_the_example_says_what_the_issue_asks():
    document = demo._load("it_change.process.json")
    steps = {step["key"]: step for step in document["steps"]}
    assert list(steps) == ["apply", "review", "cab", "implement", "verify"] and document["format"] == 2
    assert steps["review"]["sign"] == {"mode": "all", "of": {"type": "department",
                                                            "value": ["network", "dba", "security"]},
                                       "decision": "review", "pass": "approve"}
    assert steps["cab"]["sign"]["mode"] == "any" and steps["cab"]["sign"]["of"] == {"type": "department",
                                                                                   "value": "cab"}
    sla = steps["implement"]["sla"]
    assert sla["minutes"]["urgent"] == 240 and sla["calendar"] == "cn_workdays" and steps["implement"]["allow_wait"]
    # 7 working days of cn_workdays (7.5 working hours a day), not 10080: the minutes count working time.
    assert steps["verify"]["timeout"] == {"minutes": 7 * 450, "to": "$end", "label": "7 个工作日无回复自动结单",
                                          "calendar": "cn_workdays"}
    assert document["x-rules"][0]["field"] == "window_end" and document["priority"]["enabled"] is True


def _store_calendar() -> None:
    calendars.save_calendar(demo._load("cn_workdays.calendar.json"), None, "calendar.import")


def test_process_check_names_the_missing_calendar_then_passes(app, runner):
    before = runner.invoke(args=["process", "check", str(EXAMPLE)])
    assert before.exit_code != 0
    assert "/steps/3/sla/calendar: " in before.output and "/steps/4/timeout/calendar: " in before.output
    assert "cn_workdays" in before.output
    with app.app_context(), database.connection_context():
        _store_calendar()
    after = runner.invoke(args=["process", "check", str(EXAMPLE)])
    assert after.exit_code == 0, after.output


def test_the_demo_stores_the_calendar_then_publishes_the_example(runner, monkeypatch):
    monkeypatch.setattr(org, "generate_password_hash", _session_hash)  # the demo hashes every password
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines.index("calendar cn_workdays imported") < lines.index("process it_change version 1 published")
    with database.connection_context():
        process = Process.get(Process.code == "it_change")
        version = ProcessVersion.get(ProcessVersion.process == process)
        assert version.document == demo._load("it_change.process.json")
        assert Calendar.get_or_none(Calendar.code == "cn_workdays") is not None
        assert docs.check(version.document) == []
    for username in ("net1", "dba1", "sec1", "cab1", "cab2", "cab3", "ops1", "ops2", "ops_lead"):
        assert any(line.split()[:1] == [username] and line.endswith(demo.PASSWORD) for line in lines), username
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "process it_change version 1 published" in again.output


def members(code: str) -> list[User]:
    department = Department.get(Department.code == code)
    return list(User.select().where(User.department == department, User.active == True)  # noqa: E712
                .order_by(User.username))


def test_the_demo_organisation_holds_the_signers(app, users):
    with app.app_context(), database.connection_context():
        for code, username in (("network", "net1"), ("dba", "dba1"), ("security", "sec1")):
            assert [u.username for u in members(code)] == [username]  # one signer each: three in all
            assert Department.get(Department.code == code).manager.username == username
        cab = members("cab")
        assert [u.username for u in cab] == ["cab1", "cab2", "cab3"] and {u.role for u in cab} == {"supervisor"}
        assert [u.username for u in members("itops")] == ["ops1", "ops2", "ops_lead"]
        assert Department.get(Department.code == "itops").manager.username == "ops_lead"


@pytest.mark.parametrize("edit, problem", [
    (lambda d: d["steps"][1]["sign"].update({"pass": "yes"}),
     "/steps/1/sign/pass: the decision field 'review' cannot hold \"yes\""),
    (lambda d: d["steps"][4]["timeout"].update(to="gone"), "/steps/4/timeout/to: no such step 'gone'"),
])
def test_a_broken_copy_is_refused_at_its_path(app, runner, tmp_path, edit, problem):
    with app.app_context(), database.connection_context():
        _store_calendar()
    document = demo._load("it_change.process.json")
    edit(document)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["process", "check", str(path)])
    assert result.exit_code != 0 and problem in result.output


APPLY = {"title": "核心交换机升级", "systems": ["network", "database"], "window_start": "2026-12-12T22:00:00+08:00",
         "window_end": "2026-12-13T02:00:00+08:00", "risk": "high", "plan": "分批升级", "rollback": "回退到旧固件"}


def _walk_to(app, users, step: str):
    """A demo ticket of the example moved by the engine to ``step`` (review, cab, implement, verify)."""
    from workflows.storage.models import Signature
    from workflows.tickets import engine

    def act(who: str, ticket, action: str, **kwargs):
        return engine.act(users[who], ticket.number, action, version=engine.load(ticket.number).version, **kwargs)

    _store_calendar()
    docs.save_process(demo._load("it_change.process.json"), publish=True)
    ticket = engine.create(users["agent"], "it_change", dict(APPLY), priority="urgent", transition="review")
    signers = {s.signer.username for s in Signature.select().where(Signature.ticket == ticket.id)}
    assert signers == {"net1", "dba1", "sec1"}  # all three departments, one signer each
    for who in ("net1", "dba1", "sec1")[: 3 if step != "review" else 0]:
        act(who, ticket, "sign", data={"review": "approve"})
    if step in ("implement", "verify"):
        act("cab2", ticket, "sign", data={"cab_decision": "approve"})  # any one of the three decides
    if step == "verify":
        holder = engine.load(ticket.number).assignee.username
        act(holder, ticket, "advance", data={"result": "已升级"}, transition="verify")
    return engine.load(ticket.number)


@pytest.mark.parametrize("step", ["review", "cab", "implement", "verify"])
def test_the_example_walks_through_the_engine(app, users, step):
    with app.app_context(), database.connection_context():
        ticket = _walk_to(app, users, step)
        assert ticket.step == step
        if step == "implement":
            assert ticket.assignee.department.code == "itops" and ticket.data["cab_decision"] == "approve"
            assert ticket.due_at is not None  # urgent: 4 working hours of cn_workdays
        if step == "verify":
            assert ticket.assignee.username == "agent" and ticket.timeout_at is not None


def test_one_reject_sends_it_back_and_the_cab_alone_can_end_it(app, users):
    from workflows.tickets import engine

    with app.app_context(), database.connection_context():
        ticket = _walk_to(app, users, "review")
        engine.act(users["dba1"], ticket.number, "sign", version=engine.load(ticket.number).version,
                   data={"review": "reject"})
        ticket = engine.load(ticket.number)
        assert ticket.step == "apply" and ticket.data["review"] == "reject"  # all: the first other choice decides
        ticket = _walk_to(app, users, "cab")
        for who in ("cab1", "cab2", "cab3"):  # any: fails only when every manager chose otherwise
            assert engine.load(ticket.number).step == "cab"
            engine.act(users[who], ticket.number, "sign", version=engine.load(ticket.number).version,
                       data={"cab_decision": "reject"})
        assert engine.load(ticket.number).status == "closed"


def test_check_reads_the_spawned_process_published_or_drafted(app):
    child = {"format": 2, "code": "fix", "name": "维修", "schema": {"type": "object", "properties": {
        "fault": {"type": "string", "title": "故障"}}},
        "steps": [{"key": "do", "name": "处理", "fields": {"fault": "required"}, "assignee": {"type": "creator"},
                   "transitions": [{"to": "$end", "label": "完成"}]}]}
    with app.app_context(), database.connection_context():
        _store_calendar()
        document = demo._load("it_change.process.json")
        document["steps"][3]["spawn"] = [{"process": "fix", "label": "派生维修单", "map": {"fault": "title"}}]
        assert [str(p) for p in docs.check(document)] == ["/steps/3/spawn/0/process: unknown process 'fix'"]
        docs.save_process(child)  # a draft only
        assert docs.check(document) == []
        document["steps"][3]["spawn"][0]["map"] = {"cause": "title"}
        assert [str(p) for p in docs.check(document)] == [
            "/steps/3/spawn/0/map/cause: process 'fix' has no field 'cause'"]
        child["schema"]["properties"]["cause"] = {"type": "string", "title": "原因"}
        docs.save_process(child, publish=True)
        assert docs.check(document) == []


def test_the_process_editor_lists_the_example_whose_sign_steps_have_no_assignee(app, admin):
    """The editor's step list names a countersign step's signers (it has no ``assignee``) instead of failing."""
    with app.app_context(), database.connection_context():
        _store_calendar()
        docs.save_process(demo._load("it_change.process.json"), publish=True)
    page = admin.get("/admin/processes/it_change/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "network, dba, security" in text and "any: department: cab" in text


def test_a_signers_values_reach_only_readers_of_those_fields_on_the_page_and_the_api(app, users):
    """The implementer reads the ticket at 实施, where the 会签 notes are hidden: the finished round's signatures
    show them who signed and when, never what they wrote (``signing.present`` filters like ``visible_fields``)."""
    from helpers import logged_in

    from workflows.people import org
    from workflows.tickets import engine

    with app.app_context(), database.connection_context():
        ticket = _walk_to(app, users, "review")
        for who in ("net1", "dba1", "sec1"):
            engine.act(users[who], ticket.number, "sign", version=engine.load(ticket.number).version,
                       data={"review": "approve", "review_note": f"SECRET-{who}"}, comment=f"said-{who}")
        engine.act(users["cab1"], ticket.number, "sign", version=engine.load(ticket.number).version,
                   data={"cab_decision": "approve"})
        holder = engine.load(ticket.number).assignee
        token = org.issue_token(holder)
    page = logged_in(app, holder.username).get(f"/tickets/{ticket.number}").get_data(as_text=True)
    signed = app.test_client().get(f"/api/v1/tickets/{ticket.number}", headers={"Authorization": f"Bearer {token}"})
    assert signed.status_code == 200 and "SECRET-" not in signed.get_data(as_text=True)
    assert 'data-lz-sign-step="review"' in page and "SECRET-" not in page
    reader = logged_in(app, "net1").get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "SECRET-net1" in reader  # a signer of 会签 reads the notes of that round
