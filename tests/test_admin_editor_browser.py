"""An admin builds a process in the browser by typing and clicking only; an agent then uses it.

Debian's Chromium through Playwright, on both databases. The admin works in
English (Accept-Language), the agent in Chinese. Screenshots of the field
editor, the field matrix and the flow diagram go to ``tests/artifacts/``.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, browser_login
from playwright.sync_api import expect

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Process, Ticket

ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 10_000


def snap(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def submit(page, name: str, within=None) -> None:
    """Click the button ``name`` (inside ``within`` when given) and wait for the next page."""
    with page.expect_navigation():
        (within or page).get_by_role("button", name=name, exact=True).click()


@pytest.fixture
def person(seeded, users, live_server, browser):
    contexts, errors = [], []

    def sign_in(username: str, locale: str):
        context = browser.new_context(locale=locale, base_url=live_server,
                                      extra_http_headers={"Accept-Language": locale})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        context.on("page", lambda p: p.on("pageerror", lambda error: errors.append(str(error))))
        return browser_login(context, username)

    yield sign_in
    for context in contexts:
        context.close()
    assert not errors, errors


def build_dictionary(page) -> None:
    """故障 (fault): 屏幕 -> 碎裂 / 不亮, 电池 -> 鼓包, through the tree editor."""
    page.goto("/admin/dictionaries/")
    page.get_by_label("Code", exact=True).fill("fault")
    page.get_by_label("Name", exact=True).fill("故障")
    submit(page, "New dictionary")
    page.goto("/admin/dictionaries/fault/")
    for value, label in (("screen", "屏幕"), ("battery", "电池")):
        page.get_by_label("Value", exact=True).fill(value)
        page.get_by_label("Label", exact=True).fill(label)
        submit(page, "Add item")
    for parent, value, label in (("screen", "cracked", "碎裂"), ("screen", "dark", "不亮"),
                                 ("battery", "swollen", "鼓包")):
        page.get_by_label(f"Value of a new child of {parent}").fill(value)
        page.get_by_label(f"Label of a new child of {parent}").fill(label)
        submit(page, "Add child", page.locator(f"li[data-value={parent}] > form.lz-item-add-child"))
    expect(page.locator("li[data-value=screen] li.lz-item")).to_have_count(2)


def add_field(page, kind: str, key: str, title: str, fill=None) -> None:
    page.goto("/admin/processes/repair/edit")
    with page.expect_navigation():
        page.get_by_role("link", name=f"+ {kind}", exact=True).click()
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_label("Label", exact=True).fill(title)
    if fill:
        fill(page)
    submit(page, "Save field")
    expect(page.locator(f"tr[data-field={key}]")).to_be_visible()


def add_step(page, key: str, name: str) -> None:
    page.goto("/admin/processes/repair/edit")
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_label("Name", exact=True).last.fill(name)
    submit(page, "Add step")


def transition(page, row: int, to: str, caption: str, when: tuple[str, str, str] | None = None) -> None:
    line = page.locator(f"tr.lz-transition[data-row='{row}']")
    line.get_by_label("Next step").select_option(label=to)
    line.get_by_label("Button label").fill(caption)
    if when:
        line.get_by_label("Condition field").select_option(label=when[0])
        line.get_by_label("Operator").select_option(label=when[1])
        line.get_by_label("Value").fill(when[2])


def edit_step(page, key: str, handler: str, value: str = "", pick: str | None = None, rows=()) -> None:
    page.goto(f"/admin/processes/repair/steps/{key}")
    page.get_by_label("Handled by").select_option(label=handler)
    if value:
        page.get_by_label("User, role or department").fill(value)
    if pick:
        page.get_by_label("How the handler is picked").select_option(label=pick)
    for row, args in enumerate(rows):
        transition(page, row, *args)
    submit(page, "Save step")
    expect(page.locator(".alert-success").first).to_contain_text("Step saved")


def set_matrix(page) -> None:
    page.goto("/admin/processes/repair/matrix")
    modes = {("登记", "故障类型"): "Required", ("登记", "故障现象"): "Required",
             ("主管审核", "故障类型"): "Read-only", ("主管审核", "故障现象"): "Read-only",
             ("主管审核", "审核结论"): "Required", ("主管审核", "驳回理由"): "Required",
             ("维修", "故障类型"): "Read-only",  # static check 9: a cascade's parent shows where it does
             ("维修", "故障现象"): "Read-only", ("维修", "审核结论"): "Read-only"}
    for (step, field), mode in modes.items():
        page.get_by_label(f"{step} / {field}", exact=True).select_option(label=mode)
    cell = page.locator("#cell-review-reject_reason")
    cell.get_by_text("Condition", exact=True).click()
    cell.get_by_label("Condition field").select_option(label="审核结论")
    cell.get_by_label("Operator").select_option(label="equals")
    cell.get_by_label("Value").fill("驳回")
    cell.get_by_label("otherwise").select_option(label="Hidden")
    snap(page, "admin_field_matrix")
    submit(page, "Save field matrix")
    expect(page.locator(".alert-success").first).to_contain_text("Field matrix saved")


def build_process(page) -> None:
    page.goto("/admin/processes/")
    with page.expect_navigation():
        page.get_by_role("link", name="New process", exact=True).click()
    page.get_by_text("Advanced", exact=True).click()  # the code is made from the name unless typed here
    page.get_by_label("Code (optional: made from the name)").fill("repair")
    page.get_by_label("Name", exact=True).fill("报修")
    page.get_by_label("Name of the first step").fill("登记")
    submit(page, "Create")

    def from_dictionary(p):
        p.get_by_label("a dictionary").check()
        p.get_by_label("Dictionary", exact=True).select_option(label="故障 (fault)")

    def cascade(p):
        p.get_by_label("Dictionary", exact=True).select_option(label="故障 (fault)")
        p.get_by_label("Depends on the field").select_option(label="故障类型 (fault_type)")
        snap(p, "admin_field_editor")

    add_field(page, "Dropdown", "fault_type", "故障类型", from_dictionary)
    add_field(page, "Cascading dropdown", "fault_detail", "故障现象", cascade)
    add_field(page, "Radio buttons", "verdict", "审核结论",
              lambda p: p.get_by_label("Options, one a line: value=label").fill("ok=通过\nno=驳回"))
    add_field(page, "Multi-line text", "reject_reason", "驳回理由")
    add_step(page, "review", "主管审核")
    add_step(page, "fix", "维修")
    edit_step(page, "register", "The ticket's creator", rows=[("主管审核 (review)", "提交审核")])
    edit_step(page, "review", "A role", "supervisor", "Round robin", rows=[
        ("End (close the ticket)", "驳回, 结束", ("审核结论", "equals", "驳回")),
        ("维修 (fix)", "通过, 派维修", ("审核结论", "equals", "通过"))])
    edit_step(page, "fix", "A department", "warehouse", "Fewest open tickets",
              rows=[("End (close the ticket)", "维修完成")])
    set_matrix(page)


def test_admin_builds_and_publishes_a_process_an_agent_then_uses(person, runner, tmp_path):
    admin = person("admin", "en-US")
    build_dictionary(admin)
    build_process(admin)
    admin.goto("/admin/processes/repair/edit")
    expect(admin.locator(".lz-checks-ok")).to_contain_text("passes every check")
    submit(admin, "Publish draft")
    expect(admin.locator(".alert-success").first).to_contain_text("Published version 1")
    admin.locator(".lz-flow svg").scroll_into_view_if_needed()
    snap(admin, "admin_flow_diagram")
    expect(admin.locator(".lz-flow svg")).to_contain_text("审核结论 = 驳回")

    agent = person("agent", "zh-CN")
    agent.goto("/call?process=repair&phone=13700001111")
    agent.get_by_label(re.compile(r"^\s*故障类型")).select_option(label="屏幕")
    detail = agent.get_by_label(re.compile(r"^\s*故障现象"))
    expect(detail.locator("option:not([value=''])")).to_have_text(["碎裂", "不亮"])
    detail.select_option(label="不亮")
    submit(agent, "提交工单")
    link = agent.get_by_role("status").get_by_role("link", name=re.compile(r"^GD\d{12}$"))
    expect(link).to_have_count(1)
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == link.inner_text().strip())
        assert (ticket.step, ticket.data) == ("review", {"fault_type": "screen", "fault_detail": "dark"})
        assert ticket.assignee.role == "supervisor"

    exported = admin.request.get("/admin/processes/repair/export").text()
    path = tmp_path / "repair.json"
    path.write_text(exported, encoding="utf-8")
    result = runner.invoke(args=["process", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["process", "import", str(path), "--publish"]).exit_code == 0
    with database.connection_context():
        process = Process.get(Process.code == "repair")
        assert process.latest_version == 1
        assert json.dumps(process.draft, ensure_ascii=False) == json.dumps(json.loads(exported), ensure_ascii=False)
        assert docs.check(process.draft) == []
