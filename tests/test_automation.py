"""Automation rules (自动化规则) on both databases: triggers, actions, order, failures, and the admin screens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_engine import REGISTER, WAREHOUSE, advance, fresh, new_ticket, to_warehouse

from workflows.people import customers, org
from workflows.storage.db import database
from workflows.storage.models import (
    AuditEntry,
    Customer,
    EmailMessage,
    Notification,
    Rule,
    RuleRun,
    Tag,
    Ticket,
    TicketCC,
    TicketEvent,
    utcnow,
)
from workflows.subscribers import automation
from workflows.tickets import engine, sla, tags
from workflows.tickets.engine import Invalid

COMPLAINT = {"properties": {"customer_level": {"const": "vip"}, "text": {"x-contains": "投诉"}},
             "required": ["customer_level", "text"]}


def rule(name: str, trigger: str = "ticket.created", condition: dict | None = None, actions=(), **fields) -> Rule:
    position = (Rule.select().count() or 0) + 1
    return Rule.create(name=name, trigger=trigger, condition=condition or {}, actions=list(actions),
                       position=fields.pop("position", position), **fields)


def make_tags(*names: str) -> None:
    for name in names:
        Tag.create(name=name, color="#cc0000", managed=True)


def rule_events(ticket) -> list[str]:
    return [e.comment for e in TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "rule")
            .order_by(TicketEvent.id)]


def runs(r: Rule) -> list[tuple]:
    return [(x.matched, x.error) for x in RuleRun.select().where(RuleRun.rule == r).order_by(RuleRun.id)]


def vip(phone: str = "13800138000", email: str | None = None) -> dict:
    """A VIP customer, as the call page would pass them to the engine."""
    details = {"name": "王女士", "phone": phone, **({"email": email} if email else {})}
    customer = customers.intake(details)
    Customer.update(level="vip").where(Customer.id == customer.id).execute()
    return details


# -- triggers and actions -------------------------------------------------------------------------------------

def test_created_rule_tags_and_sets_priority_and_the_history_names_it(world):
    make_tags("退款")
    r = rule("门类问题加急", condition={"properties": {"text": {"x-contains": "门"}}},
             actions=[{"type": "add_tag", "tag": "退款"}, {"type": "set_priority", "priority": "high"}])
    ticket = fresh(new_ticket(world))
    assert tags.names(ticket) == ["退款"] and ticket.priority == "high"
    assert ticket.step == "approve"  # the engine's move is untouched
    assert rule_events(ticket) == ["门类问题加急: tag 退款; priority high"]
    tag_event = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "tag")
    assert tag_event.diff["tag"]["rule"] == "门类问题加急"
    assert runs(r) == [(True, None)]  # evaluated once: its own events trigger nothing


def test_advanced_and_entered_step_triggers(world):
    notify = {"type": "notify", "users": ["fin_lead"], "message": "推进"}
    advanced = rule("推进提醒", "ticket.advanced", actions=[notify])
    entered = rule("进仓库抄送", "ticket.entered_step", step="warehouse", actions=[{"type": "add_cc", "user": "fin1"}])
    elsewhere = rule("进财务", "ticket.entered_step", step="finance", actions=[{"type": "add_cc", "user": "fin2"}])
    ticket = new_ticket(world)
    assert runs(advanced) == [] and runs(entered) == []  # created is not advanced
    ticket = fresh(to_warehouse(world))
    assert Notification.select().where(Notification.kind == "rule", Notification.message.contains("推进")).count() == 1
    assert [cc.user.username for cc in TicketCC.select().where(TicketCC.ticket == ticket)] == ["fin1"]
    assert runs(elsewhere) == [] and len(runs(entered)) == 1


def test_overdue_trigger_runs_in_the_sweep(world):
    r = rule("超时升级", "ticket.overdue", actions=[{"type": "set_priority", "priority": "urgent"},
                                                   {"type": "notify", "users": ["sup2"], "message": "超时"}])
    ticket = new_ticket(world)
    Ticket.update(due_at=utcnow() - timedelta(minutes=5), next_check_at=utcnow() - timedelta(minutes=5)).where(
        Ticket.id == ticket.id).execute()
    assert sla.sweep() == [ticket.number]
    assert fresh(ticket).priority == "urgent" and runs(r) == [(True, None)]
    assert sla.sweep() == [] and len(runs(r)) == 1


def test_assign_keeps_the_step_and_the_history_shows_the_new_handler(world):
    rule("仓库接手", actions=[{"type": "assign", "department": "warehouse", "pick": "round_robin"}])
    ticket = fresh(new_ticket(world))
    assert (ticket.step, ticket.assignee.username, ticket.status) == ("approve", "wh1", "open")
    event = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "rule")
    assert (event.assignee_after.username, event.to_step, event.actor) == ("wh1", "approve", None)
    assert Notification.select().where(Notification.user == world["wh1"], Notification.kind == "assigned").exists()
    second = fresh(new_ticket(world))
    assert second.assignee.username == "wh2"  # the rule's own round-robin cursor
    assert fresh(advance(world, "wh2", second, {"approval": "approve"}, transition="warehouse")).step == "warehouse"


def test_assign_to_a_user_and_a_role(world):
    rule("给主管2", actions=[{"type": "assign", "user": "sup2"}])
    assert fresh(new_ticket(world)).assignee.username == "sup2"
    Rule.delete().execute()
    rule("处理人角色", actions=[{"type": "assign", "role": "handler", "pick": "least_loaded"}])
    assert fresh(new_ticket(world)).assignee.username == "wh1"


def test_email_customer_action_queues_the_templated_mail(world):
    rule("告知客户", actions=[{"type": "email_customer", "template": "created"}])
    ticket = new_ticket(world, customer=vip(email="wang@example.com"))
    mails = list(EmailMessage.select().where(EmailMessage.ticket == ticket.id, EmailMessage.event == "created"))
    assert [m.to_addr for m in mails] == ["wang@example.com"] and ticket.number in mails[0].subject + mails[0].body
    assert rule_events(ticket) == ["告知客户: e-mail created"]


# -- order, stop, failures -----------------------------------------------------------------------------------

def test_rules_run_in_order_see_earlier_changes_and_stop_after_a_match(world):
    make_tags("A", "B", "C")
    first = rule("一", position=3, condition={"properties": {"priority": {"const": "high"}}},
                 actions=[{"type": "add_tag", "tag": "A"}], stop=True)
    rule("先", position=1, actions=[{"type": "set_priority", "priority": "high"}])
    later = rule("后", position=5, actions=[{"type": "add_tag", "tag": "B"}])
    off = rule("停用", position=2, actions=[{"type": "add_tag", "tag": "C"}], enabled=False)
    ticket = fresh(new_ticket(world))
    assert tags.names(ticket) == ["A"] and ticket.priority == "high"
    assert rule_events(ticket) == ["先: priority high", "一: tag A"]
    assert runs(first) == [(True, None)] and runs(later) == [] and runs(off) == []
    Rule.update(stop=False).where(Rule.id == first.id).execute()
    assert tags.names(fresh(new_ticket(world))) == ["A", "B"]


def test_a_failing_rule_is_rolled_back_and_logged_and_the_action_still_succeeds(world):
    make_tags("半截", "其他")
    broken = rule("坏规则", actions=[{"type": "add_tag", "tag": "半截"}, {"type": "set_priority", "priority": "urgent"},
                                  {"type": "assign", "department": "nowhere"}])
    fine = rule("好规则", actions=[{"type": "add_tag", "tag": "其他"}])
    returned = new_ticket(world)
    assert returned.priority == "normal"  # the caller's object is restored too, not only the database
    ticket = fresh(returned)
    assert (ticket.step, ticket.assignee.username) == ("approve", "sup")  # the user's action went through
    assert tags.names(ticket) == ["其他"] and ticket.priority == "normal"  # the broken rule left nothing
    (matched, error), = runs(broken)
    assert matched and "No active user" in error
    assert runs(fine) == [(True, None)] and rule_events(ticket) == ["好规则: tag 其他"]


def test_rules_do_not_trigger_rules(world, monkeypatch):
    """An action that causes another rule trigger (here: calls run directly) starts no second round."""
    nested = []

    def again(spec, ticket, actor, rule):
        nested.append(automation.run("ticket.created", ticket, actor))
        return "again"

    monkeypatch.setitem(automation.ACTIONS, "notify", again)
    r = rule("自触发", actions=[{"type": "notify", "users": ["sup"]}])
    ticket = new_ticket(world)
    assert nested == [[]] and runs(r) == [(True, None)] and rule_events(ticket) == ["自触发: again"]


def test_a_broken_condition_or_unknown_action_is_logged_not_raised(world):
    bad_schema = rule("坏条件", condition={"type": 12})
    unknown = rule("未知动作", actions=[{"type": "drop_table"}])
    ticket = fresh(new_ticket(world))
    assert ticket.status == "open"
    assert runs(bad_schema)[0][1] and runs(unknown) == [(True, "unknown action 'drop_table'")]


def test_a_vip_complaint_is_routed_to_the_senior_group_and_tagged(world):
    make_tags("投诉")
    org.create_department("senior", "高级客服组")
    for username in ("senior1", "senior2"):
        org.create_user(username, "password1", "supervisor", "senior")
    rule("VIP 投诉", condition=COMPLAINT, stop=True,
         actions=[{"type": "add_tag", "tag": "投诉"}, {"type": "set_priority", "priority": "high"},
                  {"type": "assign", "department": "senior", "pick": "least_loaded"}])
    data = {**REGISTER, "defect": "客户来电投诉: 门坏了"}
    ticket = fresh(engine.create(world["agent"], "return_goods", data, customer=vip()))
    assert (ticket.assignee.username, ticket.priority, tags.names(ticket)) == ("senior1", "high", ["投诉"])
    assert fresh(engine.create(world["agent"], "return_goods", data, customer=vip())).assignee.username == "senior2"
    plain = fresh(engine.create(world["agent"], "return_goods", data, customer={"name": "李", "phone": "13900000000"}))
    assert plain.assignee.username != "senior1" and tags.names(plain) == []
    calm = fresh(new_ticket(world, customer=vip()))
    assert tags.names(calm) == [] and calm.priority == "normal"


def test_keyword_rules_match_chinese_substrings_without_word_boundaries(world):
    ticket = fresh(new_ticket(world))
    snapshot = automation.view(ticket)
    assert snapshot["text"] == "TH-1\n门坏了"  # free text only: no dictionary codes, options or dates
    cases = {"坏": True, "门坏": True, "坏了": True, "好": False, "门 坏": False}
    for needle, expected in cases.items():
        r = Rule(id=None, condition={"properties": {"text": {"x-contains": needle}}})
        assert automation.matches(r, snapshot) is expected, needle
    assert automation.matches(Rule(condition={"properties": {"text": {"x-contains": ["好", "坏"]}}}), snapshot)


def test_rules_never_bypass_required_fields(world):
    spy = rule("任何创建", actions=[{"type": "set_priority", "priority": "high"}])
    nudge = rule("任何推进", "ticket.advanced", actions=[{"type": "set_priority", "priority": "low"}])
    with pytest.raises(Invalid) as missing:
        engine.create(world["agent"], "return_goods", {**REGISTER, "defect": ""})
    assert "defect" in missing.value.fields and runs(spy) == [] and Ticket.select().count() == 0
    ticket = fresh(to_warehouse(world))
    before = (ticket.data, ticket.step)
    with pytest.raises(Invalid):
        advance(world, ticket.assignee.username, ticket, {"received": True}, assignee="fin1")  # as_described missing
    assert runs(nudge) == [(True, None)]  # only the earlier, valid advance
    assert (fresh(ticket).data, fresh(ticket).step) == before
    assert not any("data" in kind or "field" in kind for kind in automation.ACTIONS)
    assert automation.check_actions([{"type": "set_field", "field": "as_described", "value": "yes"}])
    rule("填字段", "ticket.advanced", actions=[{"type": "set_field", "field": "as_described", "value": "no"}])
    with pytest.raises(Invalid):
        advance(world, ticket.assignee.username, ticket, {"received": True}, assignee="fin1")
    done = advance(world, ticket.assignee.username, ticket, WAREHOUSE, assignee="fin1")
    assert fresh(done).step == "finance" and fresh(done).data["as_described"] == "yes"  # the handler's own value


# -- admin screens ------------------------------------------------------------------------------------------------

@pytest.fixture
def admin_world(app, seeded, auth, client):
    """The demo organisation, the return-goods process, a managed tag and one ticket; the admin logged in."""
    database.connect(reuse_if_open=True)
    with app.app_context():
        make_tags("投诉")
        ticket = engine.create(org_user("agent"), "return_goods", {**REGISTER, "defect": "客户投诉门坏了"})
    auth.login("admin")
    yield ticket
    database.close()


def org_user(username: str):
    from workflows.storage.models import User

    return User.get(User.username == username)


FORM = {"name": "投诉加急", "trigger": "ticket.created", "step": "", "process_code": "return_goods",
        "conditions-0-field": "text", "conditions-0-op": "contains", "conditions-0-value": "投诉",
        "conditions-1-field": "data.source", "conditions-1-op": "eq", "conditions-1-value": "phone",
        "condition_json": '{"properties": {"priority": {"enum": ["normal", "high"]}}}',
        "actions-0-kind": "add_tag", "actions-0-value": "投诉",
        "actions-1-kind": "assign", "actions-1-value": "department:warehouse:round_robin",
        "actions-2-kind": "notify", "actions-2-value": "wh_lead,fin_lead: 有投诉", "stop": "y", "enabled": "y"}


def test_admin_rule_pages_are_for_admins_only(client, auth, users):
    auth.login("agent")
    for path in ("/admin/rules/", "/admin/rules/new", "/admin/rules/1/"):
        assert client.get(path).status_code == 403
    assert client.post("/admin/rules/new", data=FORM).status_code == 403
    assert client.post("/admin/rules/1/test", data={"ticket": "X"}).status_code == 403


def test_admin_creates_a_rule_from_pickers_and_the_audit_records_it(client, admin_world):
    page = client.get("/admin/rules/new")
    assert page.status_code == 200 and 'value="data.source"' in page.text
    response = client.post("/admin/rules/new", data=FORM)
    assert response.status_code == 302
    saved = Rule.get()
    assert saved.condition == {"properties": {"priority": {"enum": ["normal", "high"]},
                                              "text": {"x-contains": "投诉"},
                                              "data": {"properties": {"source": {"const": "phone"}},
                                                       "required": ["source"]}},
                               "required": ["text", "data"]}
    assert saved.actions == [{"type": "add_tag", "tag": "投诉"},
                             {"type": "assign", "department": "warehouse", "pick": "round_robin"},
                             {"type": "notify", "users": ["wh_lead", "fin_lead"], "message": "有投诉"}]
    assert (saved.process, saved.stop, saved.enabled, saved.position) == ("return_goods", True, True, 1)
    assert AuditEntry.get(AuditEntry.action == "rule.create").after["name"] == "投诉加急"
    edit = client.get(f"/admin/rules/{saved.id}/")
    assert "department:warehouse:round_robin" in edit.text and "wh_lead,fin_lead: 有投诉" in edit.text


def test_admin_form_refuses_bad_json_and_actions(client, admin_world):
    bad = {**FORM, "condition_json": "{nope", "actions-1-value": "team:x"}
    response = client.post("/admin/rules/new", data=bad)
    assert response.status_code == 422 and "JSON" in response.text and "team:x" in response.text
    assert Rule.select().count() == 0
    step_missing = {**FORM, "trigger": "ticket.entered_step"}
    assert client.post("/admin/rules/new", data=step_missing).status_code == 422


def test_admin_orders_and_toggles_rules(client, admin_world):
    one, two = rule("一", actions=[{"type": "add_tag", "tag": "投诉"}]), rule("二", actions=[])
    assert client.post(f"/admin/rules/{two.id}/move", data={"direction": "up"}).status_code == 302
    assert [r.name for r in Rule.select().order_by(Rule.position)] == ["二", "一"]
    client.post(f"/admin/rules/{one.id}/toggle")
    assert not Rule.get_by_id(one.id).enabled
    listing = client.get("/admin/rules/").text
    assert listing.index(f'data-rule="{two.id}"') < listing.index(f'data-rule="{one.id}"')
    assert {e.action for e in AuditEntry.select()} >= {"rule.move", "rule.disable"}


def counts(ticket) -> tuple:
    return (TicketEvent.select().count(), RuleRun.select().count(), Notification.select().count(),
            Ticket.get_by_id(ticket.id).version, len(tags.names(ticket)), AuditEntry.select().count())


def test_test_against_a_ticket_shows_each_part_and_changes_nothing(client, admin_world):
    ticket = admin_world
    r = rule("VIP 投诉", condition=COMPLAINT, actions=[{"type": "add_tag", "tag": "投诉"}])
    before = counts(ticket)
    page = client.post(f"/admin/rules/{r.id}/test", data={"ticket": ticket.number})
    assert page.status_code == 200
    assert 'data-part="properties.customer_level" data-match="no"' in page.text
    assert 'data-part="properties.text" data-match="yes"' in page.text
    assert 'data-part="required" data-match="yes"' in page.text  # the key is there, its value None
    assert 'class="lz-rule-overall" data-match="no"' in page.text
    assert counts(ticket) == before
    missing = client.post(f"/admin/rules/{r.id}/test", data={"ticket": "NOPE"})
    assert missing.status_code == 302
