"""Links and merges of tickets (docs/relations.md) on both databases: the engine, the API and the page.

A merge closes the duplicate into the kept ticket: its notes and their files move, both
histories say so, both numbers stay findable, and only who may act on both may do it.
"""

from __future__ import annotations

import pytest
from helpers import plan_nodes
from test_children import REGISTER, act, fresh

from workflows.reporting.queries import Filters, ticket_list
from workflows.storage import db as lzdb
from workflows.storage.models import Attachment, Ticket, TicketEvent, TicketLink
from workflows.tickets import children, collab, engine
from workflows.tickets.errors import Conflict, EngineError, Forbidden


def two(users) -> tuple[Ticket, Ticket]:
    """Two tickets at the approval step, both with the same supervisor (round robin: sup, sup2 ... pinned)."""
    first = engine.create(users["agent"], "return_goods", dict(REGISTER))
    second = engine.create(users["agent"], "return_goods", dict(REGISTER))
    Ticket.update(assignee=users["sup"]).execute()
    return fresh(first), fresh(second)


def history(ticket) -> list[tuple[str, str | None]]:
    return [(e.action, e.comment) for e in TicketEvent.select().where(TicketEvent.ticket == ticket)
            .order_by(TicketEvent.id)]


def test_link_is_stored_once_and_written_in_both_histories(world):
    first, second = two(world)
    act(world, "sup", second, "link", other=first.number)
    link = TicketLink.get()
    assert (link.ticket_id, link.other_id, link.kind, link.created_by.username) == (first.id, second.id,
                                                                                     "related", "sup")
    assert ("link", first.number) in history(second) and ("link", second.number) in history(first)
    with pytest.raises(EngineError) as again:
        act(world, "sup", first, "link", other=second.number)
    assert again.value.status == 400 and list(again.value.fields) == ["other"]
    act(world, "sup", first, "unlink", other=second.number)
    assert TicketLink.select().count() == 0


@pytest.mark.parametrize("other", [None, "", "GD000", "self"])
def test_a_bad_other_is_a_400_naming_other(world, other):
    first, second = two(world)
    for action in ("link", "merge"):
        with pytest.raises(EngineError) as refused:
            act(world, "sup", first, action, other=first.number if other == "self" else other)
        assert refused.value.status == 400 and list(refused.value.fields) == ["other"]


def test_linking_needs_to_act_on_this_ticket_and_read_the_other(world):
    first, second = two(world)
    with pytest.raises(Forbidden):
        act(world, "agent2", first, "link", other=second.number)  # no reader of either
    with pytest.raises(Forbidden):
        act(world, "agent", first, "link", other=second.number)  # the creator reads, does not act
    Ticket.update(assignee=world["wh1"]).where(Ticket.id == second.id).execute()
    with pytest.raises(EngineError) as refused:
        act(world, "wh1", second, "link", other=first.number)  # wh1 cannot read the first: told nothing of it
    assert list(refused.value.fields) == ["other"]


def test_merge_moves_notes_and_their_files_and_records_it_in_both_histories(world):
    first, second = two(world)
    collab.add_note(world["agent"], second.number, "客户又打来一次")
    note_file = Attachment.create(key="k-note", ticket=second, field=None, filename="录音.mp3", mimetype="audio/mpeg",
                                  size=3, stored_name="s1", uploaded_by=world["agent"])
    field_file = Attachment.create(key="k-field", ticket=second, field="photos", filename="a.png",
                                   mimetype="image/png", size=3, stored_name="s2", uploaded_by=world["agent"])
    merged = act(world, "sup", second, "merge", other=first.number)
    assert (merged.status, merged.step, merged.merged_into_id) == ("closed", "$end", first.id)
    assert TicketEvent.get(TicketEvent.action == "note").ticket_id == first.id
    assert Attachment.get_by_id(note_file.id).ticket_id == first.id
    assert Attachment.get_by_id(field_file.id).ticket_id == second.id  # a field's value stays with its field
    assert history(second)[-1] == ("merge", first.number)
    assert history(first)[-1] == ("merge", f"{second.number} (1)")
    assert TicketLink.get().kind == "merged"
    with pytest.raises(Conflict):  # closed by a merge: nothing to reopen into
        act(world, "admin", second, "reopen", comment="再看看")


def test_a_merge_needs_to_act_on_both_and_an_open_target(world):
    first, second = two(world)
    Ticket.update(assignee=world["wh1"]).where(Ticket.id == first.id).execute()
    TicketEvent.create(ticket=first, action="advance", actor=world["sup"], from_step="approve", to_step="approve")
    with pytest.raises(Forbidden):  # sup reads the first (handled a step) but neither acts on it nor oversees wh1
        act(world, "sup", second, "merge", other=first.number)
    act(world, "admin", first, "close", data={"approval": "reject", "reject_reason": "重复"})
    with pytest.raises(EngineError) as refused:
        act(world, "admin", second, "merge", other=first.number)
    assert list(refused.value.fields) == ["other"]
    assert fresh(second).status == "open"


def test_both_numbers_stay_findable(world):
    first, second = two(world)
    act(world, "sup", second, "merge", other=first.number)
    found = ticket_list(world["admin"], "all", Filters(q=second.number)).tickets
    assert {t.number for t in found} == {first.number, second.number}
    assert engine.load(second.number).merged_into_id == first.id


def token(client, username: str) -> dict:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": "password1"})
    return {"Authorization": f"Bearer {answer.json['token']}", "Accept-Language": "en"}


def test_the_api_links_and_merges(world, app):
    client = app.test_client()
    first, second = two(world)
    headers, url = token(client, "sup"), f"/api/v1/tickets/{second.number}"
    answer = client.post(f"{url}/actions", headers=headers, json={"action": "link", "version": second.version,
                                                                   "other": first.number})
    assert answer.status_code == 200 and answer.json["links"][0]["number"] == first.number
    bad = client.post(f"{url}/actions", headers=headers, json={"action": "merge", "version": answer.json["version"],
                                                                "other": "nope"})
    assert bad.status_code == 400 and list(bad.json["fields"]) == ["other"]
    merged = client.post(f"{url}/actions", headers=headers, json={"action": "merge", "other": first.number,
                                                                   "version": answer.json["version"]})
    assert merged.status_code == 200 and merged.json["merged_into"] == first.number
    got = client.get(url, headers=headers).json
    assert (got["number"], got["status"], got["merged_into"]) == (second.number, "closed", first.number)
    assert client.get(f"/api/v1/tickets/{first.number}", headers=headers).json["merged"] == [second.number]
    stranger = client.post(f"/api/v1/tickets/{first.number}/actions", headers=token(client, "agent2"),
                           json={"action": "link", "version": 1, "other": second.number})
    assert stranger.status_code == 403


def test_the_page_shows_and_posts_the_relations(world, app):
    client = app.test_client()
    assert client.post("/login", data={"username": "sup", "password": "password1"}).status_code == 302
    first, second = two(world)
    page = client.get(f"/tickets/{second.number}").get_data(as_text=True)
    assert 'id="lz-merge-other"' in page and 'id="lz-link-other"' in page
    client.post(f"/tickets/{second.number}/act", data={"action": "link", "version": second.version,
                                                       "other": first.number})
    assert TicketLink.select().count() == 1
    client.post(f"/tickets/{second.number}/act", data={"action": "merge", "version": second.version + 1,
                                                       "other": first.number})
    page = client.get(f"/tickets/{second.number}").get_data(as_text=True)
    assert "lz-merged-into" in page and f'href="/tickets/{first.number}"' in page
    assert second.number in client.get(f"/tickets/{first.number}").get_data(as_text=True)
    wrong = client.post(f"/tickets/{first.number}/act", data={"action": "merge", "version": fresh(first).version,
                                                              "other": "nope"}, follow_redirects=True,
                        headers={"Accept-Language": "en"})
    assert "No ticket you may read has this number." in wrong.get_data(as_text=True)


def test_relatives_are_found_by_index_lookups(world, db_url):
    """Parent, child, link and merge in one read, each kind by its own index: on PostgreSQL the OR they replaced
    read every ticket (seconds at 10M); here, among 2,000 others, the rows read are counted."""
    parent, linked = two(world)
    third = engine.create(world["agent"], "return_goods", dict(REGISTER))
    Ticket.update(parent=parent.id).where(Ticket.id == third.id).execute()
    Ticket.update(merged_into=parent.id).where(Ticket.id == linked.id).execute()
    TicketLink.create(ticket=parent.id, other=linked.id, kind="merged", created_by=world["sup"])
    found = children.relatives(fresh(parent))
    assert [(t.id, t.linked) for t in found] == [(linked.id, True), (third.id, False)]
    assert [t.id for t in children.relatives(fresh(third))] == [parent.id]
    sql, params = children._relatives_query(parent.id, 0, 0).sql()
    if db_url.startswith("sqlite"):
        plan = [row[3] for row in lzdb.database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert not [step for step in plan if step.startswith("SCAN")], plan
        return
    template = {k: v for k, v in fresh(third).__data__.items() if k not in ("id", "number", "parent")}
    Ticket.insert_many([{**template, "number": f"OTHER{i}"} for i in range(2000)]).execute()
    lzdb.database.execute_sql("ANALYZE ticket")
    ((plan,),) = lzdb.database.execute_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchall()
    read = [node["Actual Rows"] + node.get("Rows Removed by Filter", 0) for node in plan_nodes(plan[0]["Plan"])
            if node.get("Relation Name") == "ticket"]
    assert read and max(read) < 100, plan  # the OR read all 2,003
