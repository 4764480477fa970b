"""Child tickets (format 2 ``spawn``, docs/relations.md) on both databases: the map, hidden values, the wait.

``fault`` is return-goods as format 2 with a finance-only field ``secret``; its warehouse step
offers a ``fix`` child (``map``: item <- model, detail <- defect, leak <- secret) that holds it.
"""

from __future__ import annotations

import copy

import pytest
from conftest import example

from workflows.processes import documents as docs
from workflows.storage.models import Ticket, TicketEvent
from workflows.tickets import engine
from workflows.tickets.errors import Conflict, EngineError, Forbidden, Invalid

REGISTER = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "门坏了"}
WAREHOUSE = {"received": True, "received_at": "2026-11-22T10:00:00+08:00", "as_described": "yes"}
SPAWN = {"process": "fix", "label": "派生维修单", "map": {"item": "model", "detail": "defect", "leak": "secret"},
         "wait": True}


def fix_process() -> dict:
    """The child: its first step takes what the map gives and goes on by its only transition."""
    text = {"type": "string", "maxLength": 200}
    return {
        "format": 2, "code": "fix", "name": "维修单", "number_prefix": "WX",
        "schema": {"type": "object", "properties": {"item": {**text, "title": "型号"},
                                                    "detail": {**text, "title": "故障"},
                                                    "leak": {**text, "title": "备注"},
                                                    "result": {**text, "title": "结果"}}},
        "steps": [
            {"key": "open", "name": "开单", "fields": {"item": "required", "detail": "editable", "leak": "editable"},
             "assignee": {"type": "creator"}, "transitions": [{"to": "repair", "label": "派工"}]},
            {"key": "repair", "name": "维修", "fields": {"item": "readonly", "result": "required"},
             "assignee": {"type": "department", "value": "warehouse", "pick": "least_loaded"},
             "transitions": [{"to": "$end", "label": "修好"}]},
        ],
    }


def fault_process(spawn: list | None = None) -> dict:
    document = copy.deepcopy(example("return_goods.process.json"))
    document.update(format=2, code="fault", name="故障退货", number_prefix="FT")
    document["schema"]["properties"]["secret"] = {"type": "string", "title": "财务密", "x-readers":
                                                  {"departments": ["finance"]}}
    document["steps"][2]["spawn"] = spawn or [SPAWN]
    return document


@pytest.fixture
def family(world):
    docs.save_process(fix_process(), publish=True)
    docs.save_process(fault_process(), publish=True)
    return world


def fresh(ticket) -> Ticket:
    return engine.load(ticket if isinstance(ticket, str) else ticket.number)


def act(users, who: str, ticket, action: str = "advance", **request) -> Ticket:
    ticket = fresh(ticket)
    return engine.act(users[who], ticket.number, action, version=ticket.version, **request)


def at_warehouse(users) -> Ticket:
    ticket = engine.create(users["agent"], "fault", dict(REGISTER))
    Ticket.update(data={**REGISTER, "secret": "底价 99"}).where(Ticket.id == ticket.id).execute()
    act(users, fresh(ticket).assignee.username, ticket, data={"approval": "approve"}, transition="warehouse")
    return fresh(ticket)


def spawned(users, parent: Ticket, **request) -> Ticket:
    handler = fresh(parent).assignee.username
    act(users, handler, parent, "spawn", spawn=request.pop("spawn", 0), **request)
    return Ticket.select().where(Ticket.parent == parent).order_by(Ticket.id.desc()).get()


def test_spawn_copies_the_map_but_not_what_the_handler_may_not_read(family):
    parent = at_warehouse(family)
    handler = parent.assignee.username  # a warehouse handler: no reader of ``secret``
    child = fresh(spawned(family, parent))
    assert child.number.startswith("WX") and child.parent_id == parent.id and child.holds_parent
    assert child.data == {"item": "fr-200", "detail": "门坏了"}  # ``leak`` <- ``secret`` not copied
    assert (child.step, child.creator.username) == ("repair", handler)
    spawn = TicketEvent.get(TicketEvent.ticket == parent, TicketEvent.action == "spawn")
    assert spawn.comment == child.number and spawn.actor.username == handler
    assert TicketEvent.get(TicketEvent.ticket == child).action == "create"
    assert fresh(parent).version == parent.version + 1


def test_a_reader_of_the_field_gets_it_copied(family):
    parent = at_warehouse(family)
    engine.act(family["admin"], parent.number, "spawn", version=parent.version, spawn="fix")  # by process code
    child = Ticket.get(Ticket.parent == parent)
    assert child.data["leak"] == "底价 99"


def test_a_wait_child_holds_the_parent_until_it_closes(family):
    parent = at_warehouse(family)
    handler = parent.assignee.username
    child = spawned(family, parent)
    with pytest.raises(Invalid) as refused:
        act(family, handler, parent, data=WAREHOUSE, assignee="fin1")
    assert child.number in refused.value.fields["children"][0].render(lambda s: s)
    act(family, fresh(child).assignee.username, child, "close", data={"result": "换门"})
    moved = act(family, handler, parent, data=WAREHOUSE, assignee="fin1")
    assert (moved.step, moved.assignee.username) == ("finance", "fin1")


def test_a_child_without_wait_holds_nothing(world):
    docs.save_process(fix_process(), publish=True)
    docs.save_process(fault_process([{**SPAWN, "wait": False}]), publish=True)
    parent = at_warehouse(world)
    assert not spawned(world, parent).holds_parent
    assert act(world, parent.assignee.username, parent, data=WAREHOUSE, assignee="fin1").step == "finance"


def test_only_the_handler_spawns_and_only_what_the_step_offers(family):
    parent = at_warehouse(family)
    with pytest.raises(Forbidden):
        engine.act(family["agent2"], parent.number, "spawn", version=parent.version, spawn=0)
    for choice in (5, "return_goods", None, "x"):
        with pytest.raises(EngineError) as refused:
            engine.act(family["admin"], parent.number, "spawn", version=parent.version, spawn=choice)
        assert refused.value.status == 400 and list(refused.value.fields) == ["spawn"]
    assert not Ticket.select().where(Ticket.parent == parent).exists()


def test_a_child_the_map_cannot_fill_is_refused_at_its_fields(world):
    docs.save_process(fix_process(), publish=True)
    docs.save_process(fault_process([{**SPAWN, "map": {"detail": "defect"}}]), publish=True)
    parent = at_warehouse(world)
    with pytest.raises(Invalid) as refused:
        engine.act(world["admin"], parent.number, "spawn", version=parent.version, spawn=0)
    assert list(refused.value.fields) == ["spawn/item"]
    assert fresh(parent).version == parent.version and Ticket.select().count() == 1  # one transaction


def test_the_api_spawns_and_shows_the_children(family, app):
    client = app.test_client()
    parent = at_warehouse(family)
    handler = parent.assignee.username
    token = client.post("/api/v1/auth/token", json={"username": handler, "password": "password1"}).json["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    answer = client.post(f"/api/v1/tickets/{parent.number}/actions", headers=headers,
                         json={"action": "spawn", "version": parent.version, "spawn": 0})
    assert answer.status_code == 200, answer.json
    child = answer.json["children"][0]
    assert answer.json["held"] == [child["number"]]
    assert child["status"] == "open" and child["wait"] and child["process"] == "fix"
    refused = client.post(f"/api/v1/tickets/{parent.number}/actions", headers=headers,
                          json={"action": "advance", "version": answer.json["version"], "data": WAREHOUSE,
                                "assignee": "fin1"})
    assert refused.status_code == 422 and child["number"] in refused.json["fields"]["children"][0]
    got = client.get(f"/api/v1/tickets/{child['number']}", headers=headers).json
    assert got["parent"]["number"] == parent.number


def test_the_page_offers_the_spawn_and_lists_the_children(family, app):
    parent = at_warehouse(family)
    client = app.test_client()
    handler = parent.assignee.username
    assert client.post("/login", data={"username": handler, "password": "password1"}).status_code == 302
    page = client.get(f"/tickets/{parent.number}").get_data(as_text=True)
    assert "派生维修单" in page and 'name="spawn" value="0"' in page
    answer = client.post(f"/tickets/{parent.number}/act", data={"action": "spawn", "version": parent.version,
                                                                "spawn": "0"})
    assert answer.status_code == 302
    child = Ticket.get(Ticket.parent == parent)
    page = client.get(f"/tickets/{parent.number}").get_data(as_text=True)
    assert f'data-number="{child.number}"' in page and "维修" in page and "lz-held" in page
    assert f'href="/tickets/{parent.number}"' in client.get(f"/tickets/{child.number}").get_data(as_text=True)
    refused = client.post(f"/tickets/{parent.number}/act", data={"action": "advance", "version": parent.version + 1,
                                                                 "transition": "finance", "assignee_finance": "fin1",
                                                                 **{k: str(v) for k, v in WAREHOUSE.items()}},
                          headers={"Accept-Language": "en"})
    assert child.number in refused.get_data(as_text=True) and fresh(parent).step == "warehouse"


def test_a_parent_held_by_its_children_is_not_merged_away(family):
    parent = at_warehouse(family)
    child = spawned(family, parent)
    other = engine.create(family["agent"], "fault", dict(REGISTER))
    with pytest.raises(Conflict) as refused:
        act(family, "admin", parent, "merge", other=other.number)
    assert child.number in refused.value.fields["children"][0].render(lambda s: s)
    act(family, "admin", child, "merge", other=other.number)  # a child merged away is closed: it frees the parent
    assert act(family, "admin", parent, data=WAREHOUSE, assignee="fin1").step == "finance"


def test_the_parents_handler_is_told_once_the_last_waiting_child_closes(family):
    """Nothing moves by itself; the handler of the held parent gets one notice when no waiting child is open."""
    from workflows.storage.models import Notification

    parent = at_warehouse(family)
    first, second = spawned(family, parent), spawned(family, parent)

    def notices() -> int:
        return Notification.select().where(Notification.ticket == parent.id,
                                           Notification.kind == "children_closed").count()

    act(family, fresh(first).assignee.username, first, "close", data={"result": "换门"})
    assert notices() == 0  # the second child still holds it
    act(family, fresh(second).assignee.username, second, "close", data={"result": "换门"})
    [notice] = Notification.select().where(Notification.ticket == parent.id, Notification.kind == "children_closed")
    assert notice.user_id == fresh(parent).assignee_id and fresh(parent).step == "warehouse"
