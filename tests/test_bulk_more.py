"""Bulk assign, transfer, tag and close from the workspace list (``POST /tickets/bulk``, docs/workspace.md).

The must-show of issue 21: 50 tickets closed in bulk, 3 of which cannot be (another person's
ticket, a required field still empty, changed since the list was read); the 47 others close,
each with its one ``close`` event, and the 3 are named with the engine's reason.
"""

from __future__ import annotations

import copy

import pytest
from test_bulk import outcomes
from test_pending_pages import fresh, login

from workflows.processes import documents as docs
from workflows.storage.models import Ticket, TicketEvent
from workflows.tickets import engine, tags

CLOSING = {
    "format": 1, "code": "bulkclose", "name": "批量结单", "number_prefix": "BC",
    "schema": {"type": "object", "properties": {"note": {"type": "string", "title": "备注"},
                                                "verdict": {"type": "string", "title": "结论"}}},
    "steps": [
        {"key": "register", "name": "登记", "fields": {"note": "editable"}, "assignee": {"type": "creator"},
         "transitions": [{"to": "handle", "label": "处理"}, {"to": "review", "label": "复核"},
                         {"to": "other", "label": "财务"}]},
        {"key": "handle", "name": "处理", "fields": {"note": "editable"}, "allow_transfer": True,
         "assignee": {"type": "department", "value": "warehouse", "pick": "least_loaded"},
         "transitions": [{"to": "$end", "label": "结束"}]},
        {"key": "review", "name": "复核", "fields": {"verdict": "required"},
         "assignee": {"type": "department", "value": "warehouse", "pick": "least_loaded"},
         "transitions": [{"to": "$end", "label": "结束"}]},
        {"key": "other", "name": "财务", "fields": {}, "assignee": {"type": "user", "value": "fin1"},
         "transitions": [{"to": "$end", "label": "结束"}]},
    ],
}


@pytest.fixture
def closing(world):
    docs.save_process(copy.deepcopy(CLOSING), publish=True)
    return world


def new(users, step: str = "handle") -> Ticket:
    return fresh(engine.create(users["agent"], "bulkclose", {"note": "x"}, transition=step))


def selection(tickets) -> list[str]:
    return [f"{t.number}:{t.version}" for t in tickets]


def events(ticket: Ticket, action: str) -> list[TicketEvent]:
    return list(TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == action))


def reasons(page: str) -> dict[str, str]:
    """number -> the reason the result page gives for a refused ticket."""
    found = {}
    for part in page.split('data-lz-outcome="refused"')[1:]:
        number = part.split("</a>")[0].rsplit(">", 1)[1]
        found[number] = part.split('class="lz-bulk-reason">', 1)[1].split("</span>", 1)[0]
    return found


def test_bulk_close_of_50_closes_47_and_names_the_3_it_cannot(app, client, closing):
    tickets = [new(closing) for _ in range(47)]
    not_theirs, empty_field, stale = new(closing, "other"), new(closing, "review"), new(closing)
    listed = selection([*tickets[:20], not_theirs, *tickets[20:40], empty_field, stale, *tickets[40:]])
    Ticket.update(version=Ticket.version + 1).where(Ticket.id == stale.id).execute()  # changed since listed
    assert len(listed) == 50
    login(client, "wh_lead")  # the warehouse's manager: acts for wh1 and wh2, not for fin1
    response = client.post("/tickets/bulk", data={"action": "close", "tickets": listed, "next": "/?scope=team"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "47 of 50 tickets done." in page
    assert reasons(page) == {
        not_theirs.number: "You are not the handler of this ticket.",
        empty_field.number: "Nothing was saved: see the fields. This field is required.",
        stale.number: "The ticket was changed by someone else: reload it and try again."}
    assert sum(state == "done" for state in outcomes(page).values()) == 47
    for ticket in tickets:
        closed = events(ticket, "close")
        assert fresh(ticket).status == "closed" and len(closed) == 1 and closed[0].actor.username == "wh_lead"
    for ticket in (not_theirs, empty_field, stale):
        assert fresh(ticket).status == "open" and events(ticket, "close") == []


def test_bulk_assign_by_the_handlers_supervisor_and_refused_to_others(app, client, closing):
    first, second = new(closing), new(closing)
    login(client, "wh_lead")
    targets = {first.number: "wh2" if first.assignee.username == "wh1" else "wh1"}
    page = client.post("/tickets/bulk", data={"action": "assign", "assignee": targets[first.number],
                                              "tickets": selection([first])}).get_data(as_text=True)
    assert outcomes(page) == {first.number: "done"}
    event = events(first, "assign")[0]
    assert (event.assignee_before_id, event.assignee_after.username) == (first.assignee_id, targets[first.number])
    assert fresh(first).assignee.username == targets[first.number] and fresh(first).version == first.version + 1
    outsider = client.post("/tickets/bulk", data={"action": "assign", "assignee": "fin1",
                                                  "tickets": selection([second])}).get_data(as_text=True)
    assert "Choose another active user who may handle this step." in reasons(outsider)[second.number]
    login(client, "sup")  # reads the agent's tickets, but does not oversee the warehouse's handlers
    page = client.post("/tickets/bulk", data={"action": "assign", "assignee": "wh1",
                                              "tickets": selection([second])}).get_data(as_text=True)
    assert reasons(page) == {second.number: "Only an admin or a supervisor of its handler may assign a ticket."}
    assert events(second, "assign") == [] and fresh(second).assignee_id == second.assignee_id


def test_assign_is_an_engine_action_with_its_event_name(app, closing):
    ticket = new(closing)
    other = "wh2" if ticket.assignee.username == "wh1" else "wh1"
    received = []
    from workflows.tickets import events as signals

    def listen(event):
        received.append(event.name)

    signals.ticket_acted.connect(listen)
    try:
        engine.act(closing["admin"], ticket.number, "assign", version=ticket.version, assignee=other)
    finally:
        signals.ticket_acted.disconnect(listen)
    assert received == ["ticket.assigned"] and fresh(ticket).assignee.username == other


def test_bulk_transfer_needs_its_reason_and_goes_through_the_engine(app, client, closing):
    tickets = [new(closing) for _ in range(4)]
    mine = [t for t in tickets if t.assignee.username == "wh1"] or [tickets[0]]
    login(client, mine[0].assignee.username)
    other = "wh2" if mine[0].assignee.username == "wh1" else "wh1"
    page = client.post("/tickets/bulk", data={"action": "transfer", "assignee": other,
                                              "tickets": selection(mine)}).get_data(as_text=True)
    assert set(reasons(page)) == {t.number for t in mine} and "This field is required." in page
    page = client.post("/tickets/bulk", data={"action": "transfer", "assignee": other, "comment": "休假",
                                              "tickets": selection(mine)}).get_data(as_text=True)
    assert reasons(page) == {} and all(len(events(t, "transfer")) == 1 for t in mine)
    assert {fresh(t).assignee.username for t in mine} == {other}


def test_bulk_tag_writes_one_tag_event_per_ticket(app, client, closing):
    tags.create_tag(closing["admin"], "VIP", "#d9534f")
    tickets, finance = [new(closing) for _ in range(3)], new(closing, "other")
    login(client, "wh_lead")
    page = client.post("/tickets/bulk", data={"action": "tag", "tag": "vip",
                                              "tickets": selection([*tickets, finance])}).get_data(as_text=True)
    assert reasons(page) == {finance.number: "You may not change the tags of this ticket."}
    assert all(len(events(t, "tag")) == 1 and tags.names(t) == ["VIP"] for t in tickets)
    again = client.post("/tickets/bulk", data={"action": "tag", "tag": "VIP", "tickets": selection(tickets)})
    assert "Nothing to change" in again.get_data(as_text=True)
    assert all(len(events(t, "tag")) == 1 for t in tickets) and events(finance, "tag") == []


@pytest.mark.parametrize("action, field", [("assign", "assignee"), ("transfer", "assignee"), ("tag", "tag")])
def test_bulk_refuses_a_missing_input_naming_it(app, client, closing, action, field):
    ticket = new(closing)
    login(client, "admin")
    response = client.post("/tickets/bulk", data={"action": action, "tickets": selection([ticket])})
    assert response.status_code == 400 and f"{field}:" in response.get_data(as_text=True)
    assert fresh(ticket).version == ticket.version


def test_the_bulk_bar_offers_every_action(app, client, closing):
    new(closing)
    login(client, "admin")
    page = client.get("/?scope=all").get_data(as_text=True)
    bar = page.split('id="lz-bulk"')[1].split("</form>")[0]
    for action in ("assign", "transfer", "tag", "wait", "resume", "close"):
        assert f'<option value="{action}"' in bar
    assert 'name="assignee"' in bar and 'name="tag"' in bar and 'data-lz-for="tag"' in bar


def test_a_handler_is_not_offered_assign_and_gets_their_team_as_suggestions(app, client, closing):
    assert "wh1" in {new(closing).assignee.username for _ in range(2)}  # least loaded: one each
    page = login(client, "wh1").get("/").get_data(as_text=True)
    bar = page.split('id="lz-bulk"')[1].split("</form>")[0]
    assert '<option value="assign"' not in bar and '<option value="close"' in bar
    people = bar.split('id="lz-bulk-people"')[1].split("</datalist>")[0]
    assert 'value="wh2"' in people and 'value="fin1"' not in people and 'value="agent"' not in people
