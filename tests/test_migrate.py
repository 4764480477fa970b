"""Moving open tickets of older versions to a newer one (issue 20, docs/migration.md), on both databases.

The plan says per ticket where it goes and what changes, or why it cannot move; the move is one
transaction per ticket with a ``migrated`` history row, and one audit entry for the whole action.
The admin page reads its input strictly (400 naming the field) and is the admin's alone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import example
from test_engine import FINANCE, REGISTER, WAREHOUSE, advance, fresh, new_ticket, to_warehouse

from workflows.processes import documents as docs
from workflows.processes import migrate as migration
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Notification, Ticket, TicketEvent, User
from workflows.tickets import engine
from workflows.tickets.engine import Conflict

CODE = "return_goods"
SERIAL = {"type": "string", "title": "序列号", "maxLength": 40}


def step(document: dict, key: str) -> dict:
    return next(s for s in document["steps"] if s["key"] == key)


def publish(change=None) -> int:
    """Publish the next version of the return-goods process, changed by ``change(document)``; its number."""
    document = example("return_goods.process.json")
    if change is not None:
        change(document)
    return docs.save_process(document, publish=True)[1].number


def with_serial(document: dict) -> None:
    """A new field required at registration; the supervisor (approve) may fill it, the warehouse only reads it."""
    document["schema"]["properties"]["serial"] = SERIAL
    step(document, "register")["fields"]["serial"] = "required"
    step(document, "approve")["fields"]["serial"] = "editable"
    step(document, "warehouse")["fields"]["serial"] = "readonly"


def without_warehouse(document: dict) -> None:
    """The warehouse step is gone: an approved return goes straight to finance."""
    document["steps"] = [s for s in document["steps"] if s["key"] != "warehouse"]
    step(document, "approve")["transitions"][0]["to"] = "finance"
    for key in ("received_at", "as_described"):
        del step(document, "finance")["fields"][key]


def words(messages) -> list[str]:
    return [m.render() for m in messages]


def by_number(reports) -> dict:
    return {r.number: r for r in reports}


def to_finance(users) -> Ticket:
    ticket = to_warehouse(users)
    return advance(users, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")


# -- plan --------------------------------------------------------------------------------------------------------

def test_the_same_steps_move_with_their_handlers_and_nothing_else_changes(world):
    approve, warehouse = fresh(new_ticket(world)), fresh(to_warehouse(world))
    due = approve.due_at
    publish(lambda d: d.update(description="v2"))
    reports = by_number(migration.plan(CODE, None, 2))
    assert set(reports) == {approve.number, warehouse.number}
    first = reports[approve.number]
    assert (first.movable, first.from_version, first.from_step, first.to_version, first.to_step) == \
        (True, 1, "approve", 2, "approve")
    assert words(first.changes) == [f"Handler {approve.assignee.username} stays."]
    assert first.new_assignee == approve.assignee.username
    assert fresh(approve).process_version.number == 1 and fresh(approve).due_at == due  # a plan writes nothing
    assert TicketEvent.select().where(TicketEvent.action == "migrated").count() == 0


def test_a_removed_step_refuses_its_tickets_unless_it_is_mapped(world):
    held = fresh(to_warehouse(world))
    publish(without_warehouse)
    (refused,) = migration.plan(CODE, None, 2)
    assert not refused.movable and refused.to_step is None
    assert words(refused.reasons) == ["Its step 仓库收货 is not in version 2 and is not mapped to one of its steps."]
    (mapped,) = migration.plan(CODE, [1], 2, {"warehouse": "finance"})
    assert mapped.movable and mapped.to_step == "finance"
    said = words(mapped.changes)
    assert "退款金额 (元) is empty: the handler must fill it at step 财务退款." in said
    new = f"New handler fin1: {held.assignee.username} cannot handle step 财务退款 in the new version."
    assert new in said
    assert "Its time limits follow step 财务退款 of the new version, counted from when the ticket entered it." in said


def test_a_field_required_at_a_passed_step_refuses_a_ticket_whose_step_cannot_fill_it(world):
    at_approve, at_warehouse = fresh(new_ticket(world)), fresh(to_warehouse(world))
    publish(with_serial)
    reports = by_number(migration.plan(CODE, None, 2))
    assert reports[at_approve.number].movable
    assert "序列号 is empty though step 来电登记 requires it: the handler can fill it at step 主管审批." in \
        words(reports[at_approve.number].changes)
    refused = reports[at_warehouse.number]
    assert words(refused.reasons) == ["序列号 is required at step 来电登记, which the ticket has passed, but it is "
                                      "empty, and step 仓库收货 does not let its handler fill it."]


def test_data_the_new_schema_refuses_is_named_by_its_field(world):
    ticket = fresh(new_ticket(world))
    publish(lambda d: d["schema"]["properties"]["defect"].update(maxLength=2))
    (refused,) = migration.plan(CODE, None, 2)
    assert refused.number == ticket.number
    assert words(refused.reasons) == ["瑕疵描述 no longer fits the new version: At most 2 characters."]


def test_a_pending_ticket_needs_a_step_that_allows_waiting(world):
    ticket = fresh(new_ticket(world))
    Ticket.update(status="pending").where(Ticket.id == ticket.id).execute()
    publish(lambda d: d.update(description="v2"))
    (refused,) = migration.plan(CODE, None, 2)
    assert words(refused.reasons) == ["The ticket is waiting (pending) and step 主管审批 does not allow waiting: "
                                      "resume it first."]


def test_no_handler_left_refuses(world):
    fresh(new_ticket(world))
    publish(lambda d: step(d, "approve").update(assignee={"type": "user", "value": "nobody"}))
    (refused,) = migration.plan(CODE, None, 2)
    assert words(refused.reasons) == ["No active user can handle the step 主管审批."]


# -- migrate -----------------------------------------------------------------------------------------------------

def test_migrate_moves_the_movable_and_records_each_ticket_and_the_action(world):
    moving, staying = fresh(new_ticket(world)), fresh(to_warehouse(world))
    publish(with_serial)
    admin = world["admin"]
    reports = by_number(migration.migrate(admin, CODE, [1], 2))
    assert reports[moving.number].moved and not reports[staying.number].moved
    after = fresh(moving)
    assert (after.process_version.number, after.step, after.version) == (2, "approve", moving.version + 1)
    assert after.assignee_id == moving.assignee_id and after.entered_at == moving.entered_at
    assert fresh(staying).process_version.number == 1 and fresh(staying).version == staying.version
    event = TicketEvent.get(TicketEvent.ticket == moving, TicketEvent.action == "migrated")
    assert (event.from_step, event.to_step, event.actor_id) == ("approve", "approve", admin.id)
    assert event.diff == {"$versions": [1, 2]}
    assert not TicketEvent.select().where(TicketEvent.ticket == staying, TicketEvent.action == "migrated").exists()
    entry = AuditEntry.get()
    assert (entry.action, entry.target) == ("process.migrate", "process:return_goods")
    assert entry.before == {"tickets": {moving.number: {"version": 1, "step": "approve"}}}
    assert entry.after["tickets"] == {moving.number: "approve"} and list(entry.after["refused"]) == [staying.number]
    # the moved ticket lives on under version 2: its supervisor fills the new field and approves
    engine.act(after.assignee, after.number, "advance", version=after.version,
               data={"approval": "approve", "serial": "SN-1"}, transition="warehouse")
    assert fresh(moving).step == "warehouse" and fresh(moving).data["serial"] == "SN-1"


def test_nothing_moved_writes_no_audit_entry(world):
    fresh(to_warehouse(world))
    publish(with_serial)
    assert [r.moved for r in migration.migrate(world["admin"], CODE, None, 2)] == [False]
    assert AuditEntry.select().count() == 0


def test_each_ticket_is_its_own_transaction(world, monkeypatch):
    first, second, third = (fresh(new_ticket(world)) for _ in range(3))
    publish(lambda d: d.update(description="v2"))
    real = migration.apply

    def failing(ticket, move, actor, now):
        real(ticket, move, actor, now)  # written, then refused: only this ticket's transaction rolls back
        if ticket.number == second.number:
            raise Conflict(migration.Msg("The ticket was changed by someone else: reload it and try again."))

    monkeypatch.setattr(migration, "apply", failing)
    reports = by_number(migration.migrate(world["admin"], CODE, None, 2))
    assert [reports[t.number].moved for t in (first, second, third)] == [True, False, True]
    assert words(reports[second.number].reasons) == ["The ticket was changed by someone else: reload it and try "
                                                     "again."]
    assert [fresh(t).process_version.number for t in (first, second, third)] == [2, 1, 2]
    assert TicketEvent.select().where(TicketEvent.ticket == second, TicketEvent.action == "migrated").count() == 0


def test_an_unexpected_failure_keeps_what_moved_before_and_audits_it(world, monkeypatch):
    first, second = fresh(new_ticket(world)), fresh(new_ticket(world))
    publish(lambda d: d.update(description="v2"))
    real = migration.apply

    def broken(ticket, move, actor, now):
        real(ticket, move, actor, now)
        if ticket.number == second.number:
            raise RuntimeError("disk full")

    monkeypatch.setattr(migration, "apply", broken)
    with pytest.raises(RuntimeError):
        migration.migrate(world["admin"], CODE, None, 2)
    assert [fresh(t).process_version.number for t in (first, second)] == [2, 1]
    assert list(AuditEntry.get().after["tickets"]) == [first.number]


def test_a_ticket_changed_since_the_plan_is_checked_again(world):
    ticket = fresh(new_ticket(world))
    publish(with_serial)
    (planned,) = migration.plan(CODE, None, 2)
    assert planned.movable
    advance(world, ticket.assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    (done,) = migration.migrate(world["admin"], CODE, None, 2)
    assert not done.moved and done.from_step == "warehouse" and "序列号 is required" in words(done.reasons)[0]


def test_a_handler_the_new_rule_leaves_out_is_replaced_and_told(world):
    ticket = fresh(new_ticket(world))
    other = "sup2" if ticket.assignee.username != "sup2" else "sup"
    publish(lambda d: step(d, "approve").update(assignee={"type": "user", "value": other}))
    (done,) = migration.migrate(world["admin"], CODE, None, 2)
    assert done.moved and (done.assignee, done.new_assignee) == (ticket.assignee.username, other)
    after = fresh(ticket)
    assert after.assignee.username == other
    event = TicketEvent.get(TicketEvent.action == "migrated")
    assert (event.assignee_before_id, event.assignee_after_id) == (ticket.assignee_id, after.assignee_id)
    assert Notification.get(Notification.user == after.assignee_id, Notification.ticket == ticket).kind == "assigned"


def test_the_sla_follows_the_new_step_from_the_same_entry(world):
    ticket = fresh(new_ticket(world))
    assert ticket.due_at == ticket.entered_at + timedelta(minutes=240)
    publish(lambda d: (d.update(format=2), step(d, "approve").update(sla={"minutes": 60, "warn": 0.5})))
    migration.migrate(world["admin"], CODE, None, 2)
    after = fresh(ticket)
    assert after.due_at == ticket.entered_at + timedelta(minutes=60)
    assert after.warn_at == ticket.entered_at + timedelta(minutes=30) and after.next_check_at == after.warn_at


def test_dropped_fields_leave_the_data_and_stay_in_the_history(world):
    ticket = fresh(new_ticket(world))

    def without_defect(document):
        del document["schema"]["properties"]["defect"]
        for s in document["steps"]:
            s["fields"].pop("defect", None)

    publish(without_defect)
    (planned,) = migration.plan(CODE, None, 2)
    assert words(planned.changes)[0] == ("瑕疵描述 is dropped: version 2 has no such field (its value stays in "
                                         "the history).")
    migration.migrate(world["admin"], CODE, None, 2)
    assert "defect" not in fresh(ticket).data
    event = TicketEvent.get(TicketEvent.action == "migrated")
    assert event.diff == {"defect": [REGISTER["defect"], None], "$versions": [1, 2]}


def test_returning_after_the_previous_step_was_removed_is_a_conflict_not_a_crash(world):
    ticket = fresh(to_finance(world))

    def without_warehouse_step(document):
        without_warehouse(document)

    publish(without_warehouse_step)
    (planned,) = migration.plan(CODE, None, 2)
    assert ("Returning from step 财务退款 will find no step to go back to: the ticket's history names none of the "
            "new version.") in words(planned.changes)
    migration.migrate(world["admin"], CODE, None, 2)
    moved = fresh(ticket)
    assert moved.process_version.number == 2 and moved.step == "finance"
    with pytest.raises(Conflict):
        engine.act(moved.assignee, moved.number, "return", version=moved.version, comment="back")
    engine.act(moved.assignee, moved.number, "advance", version=moved.version, data=FINANCE)
    assert fresh(ticket).status == "closed"


def test_bad_input_is_named_by_its_field(world):
    fresh(new_ticket(world))
    publish()  # the same document is not published again
    publish(lambda d: d.update(description="v2"))
    with pytest.raises(engine.EngineError) as bad:
        migration.plan(CODE, None, 2, {"approve": "nowhere", "gone": "approve"})
    assert set(bad.value.fields) == {"mapping/approve", "mapping/gone"}
    assert words(bad.value.fields["mapping/approve"]) == ["Version 2 has no step nowhere."]
    with pytest.raises(engine.EngineError) as late:
        migration.plan(CODE, [2], 2)
    assert list(late.value.fields) == ["from"]
    with pytest.raises(engine.EngineError) as missing:
        migration.plan(CODE, None, 7)
    assert list(missing.value.fields) == ["to"]
    with pytest.raises(engine.NotFound):
        migration.plan("nope", None, 2)


def test_open_counts_and_the_default_mapping(world):
    fresh(new_ticket(world)), fresh(new_ticket(world)), fresh(to_warehouse(world))
    closed = fresh(new_ticket(world))
    advance(world, closed.assignee.username, closed, {"approval": "reject", "reject_reason": "过期"},
            transition="$end")
    number = publish(without_warehouse)
    assert migration.open_counts(CODE, number) == [
        {"number": 1, "count": 3, "steps": [("approve", "主管审批", 2), ("warehouse", "仓库收货", 1)]}]
    version = docs.get_version(CODE, number)
    assert migration.default_mapping(["approve", "warehouse"], version) == {"approve": "approve", "warehouse": None}


# -- countersign (the demo's IT change) --------------------------------------------------------------------------

@pytest.fixture
def review(app, seeded, users):
    """An IT change at its countersign step (三方会签), nobody signed yet."""
    from test_it_change_demo import APPLY

    from workflows import demo

    with app.app_context(), database.connection_context():
        demo.seed_documents()
        ticket = engine.create(users["agent"], "it_change", dict(APPLY), transition="review")
        yield ticket


def _it_change(change) -> int:
    document = docs.latest_version("it_change").document
    change(document)
    return docs.save_process(document, publish=True)[1].number


def test_a_countersign_round_goes_on_under_the_same_rule_and_not_under_another(review):
    number = _it_change(lambda d: d.update(description="v2"))
    (carried,) = migration.plan("it_change", None, number)
    assert carried.movable and "The countersign round goes on under the same rule." in words(carried.changes)
    number = _it_change(lambda d: step(d, "review")["sign"].update(mode="any"))
    (refused,) = migration.plan("it_change", None, number)
    assert words(refused.reasons) == ["A countersign round is in progress at step 会签: its signatures cannot be "
                                      "carried to step 会签. Move the ticket once the round is decided."]
    (moved,) = migration.migrate(User.get(User.username == "admin"), "it_change", [number - 2], number - 1)
    assert moved.moved and fresh(review).process_version.number == number - 1 and fresh(review).assignee is None


def test_a_pending_ticket_stays_pending_and_no_round_is_started_by_a_move(review):
    for who in ("net1", "dba1", "sec1"):
        engine.act(User.get(User.username == who), review.number, "sign", version=fresh(review).version,
                   data={"review": "approve"})
    engine.act(User.get(User.username == "cab1"), review.number, "sign", version=fresh(review).version,
               data={"cab_decision": "approve"})
    ticket = fresh(review)
    assert ticket.step == "implement"
    engine.act(ticket.assignee, ticket.number, "wait", version=ticket.version, comment="等客户确认停机窗口")
    ticket = fresh(review)
    number = _it_change(lambda d: d.update(description="v2"))
    (waiting,) = migration.plan("it_change", None, number)
    assert waiting.movable and "It stays pending." in words(waiting.changes)
    (refused,) = migration.plan("it_change", None, number, {"implement": "cab"})
    assert words(refused.reasons)[0] == ("Step CAB 审批 is a countersign step: a migration does not start a round of "
                                         "signatures. Map the ticket to another step.")
    (moved,) = migration.migrate(User.get(User.username == "admin"), "it_change", None, number)
    after = fresh(review)
    assert moved.moved and (after.status, after.pending_since, after.due_at) == ("pending", ticket.pending_since,
                                                                                  ticket.due_at)


# -- the admin page ----------------------------------------------------------------------------------------------

URL = "/admin/processes/return_goods/migrate"
EN = {"Accept-Language": "en"}


@pytest.fixture
def two_versions(app, seeded, users):
    """Three tickets on version 1 (two at 主管审批, one at 仓库收货); version 2 requires 序列号 at registration."""
    with app.app_context(), database.connection_context():
        people = {u.username: u for u in User.select()}
        numbers = [fresh(new_ticket(people)).number for _ in range(2)] + [fresh(to_warehouse(people)).number]
        publish(with_serial)
        return numbers


def test_the_page_counts_maps_dry_runs_and_moves(admin, two_versions):
    first, second, stuck = two_versions
    page = admin.get(URL, headers=EN).get_data(as_text=True)
    assert "Migrate open tickets" in page and 'name="mapping/approve"' in page and 'name="mapping/warehouse"' in page
    assert 'value="approve" selected' in page
    dry = admin.get(URL, query_string={"to": 2, "from": 1, "dry": 1, "mapping/approve": "approve",
                                       "mapping/warehouse": "warehouse"}, headers=EN)
    text = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "Dry run: 2 of 3 tickets can move" in text
    assert "does not let its handler fill it" in text and "Move 2 tickets" in text
    with database.connection_context():
        assert Ticket.select().join(engine.ProcessVersion).where(engine.ProcessVersion.number == 2).count() == 0
    done = admin.post(URL, data={"to": 2, "from": 1, "mapping/approve": "approve", "mapping/warehouse": "warehouse"},
                      headers=EN)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Result: 2 of 3 tickets moved" in text
    with database.connection_context():
        assert [engine.load(n).process_version.number for n in (first, second, stuck)] == [2, 2, 1]
    history = admin.get(f"/tickets/{first}", headers=EN).get_data(as_text=True)
    assert "moved the ticket from process version 1 to 2" in history
    chinese = admin.get(f"/tickets/{first}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "将工单从流程版本 1 迁移到 2" in chinese


@pytest.mark.parametrize(("values", "field"), [
    ({"to": "x", "from": 1}, "to"), ({"to": 2}, "from"), ({"to": 2, "from": "v1"}, "from"),
    ({"to": 2, "from": 2}, "from"), ({"to": 9, "from": 1}, "to"),
    ({"to": 2, "from": 1, "mapping/approve": "nowhere"}, "mapping/approve"),
    ({"to": 2, "from": 1, "mapping/elsewhere": "approve"}, "mapping/elsewhere"),
])
def test_bad_input_gets_400_naming_the_field(admin, two_versions, values, field):
    for response in (admin.get(URL, query_string={**values, "dry": 1}, headers=EN),
                     admin.post(URL, data=values, headers=EN)):
        assert response.status_code == 400
        assert f"{field}: " in response.get_data(as_text=True)
    with database.connection_context():
        assert TicketEvent.select().where(TicketEvent.action == "migrated").count() == 0


def test_the_page_is_the_admins_alone(app, client, auth, two_versions):
    assert client.get(URL).status_code == 302  # anonymous: to the login page
    auth.login("supervisor")
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"to": 2, "from": 1}).status_code == 403
    with database.connection_context():
        assert TicketEvent.select().where(TicketEvent.action == "migrated").count() == 0


def test_the_versions_page_links_to_it(admin, two_versions):
    assert 'href="/admin/processes/return_goods/migrate"' in admin.get("/admin/processes/return_goods/versions") \
        .get_data(as_text=True)


def test_a_process_unknown_or_never_published_is_404(admin, users):
    assert admin.get("/admin/processes/nope/migrate").status_code == 404


def test_a_dropped_fields_old_value_stays_out_of_the_page_of_a_reader_who_may_not_see_it(world, client):
    """The migrated row keeps a dropped field's value; the timeline filters it by reader like any change."""
    ticket = fresh(to_finance(world))  # 购买时间 is not shown at finance: fin1 never reads it

    def without_purchase_date(document):
        del document["schema"]["properties"]["purchase_date"]
        for s in document["steps"]:
            s["fields"].pop("purchase_date", None)

    publish(without_purchase_date)
    migration.migrate(world["admin"], CODE, None, 2)
    assert TicketEvent.get(TicketEvent.action == "migrated").diff["purchase_date"][0] == REGISTER["purchase_date"]
    client.post("/login", data={"username": "fin1", "password": "password1"})
    page = client.get(f"/tickets/{ticket.number}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "moved the ticket from process version 1 to 2" in page
    assert REGISTER["purchase_date"] not in page
