"""Live updates' stamps (``GET /live``, docs/live.md) on both databases: they change when something the reader
sees changes, stay put (a 304) otherwise, and tell nothing about tickets the reader may not open."""

from __future__ import annotations

import html
import json
import re

import pytest
from test_engine import advance, fresh, new_ticket
from test_lists import login

from workflows.tickets import collab


def poll(client, etag: str | None = None, **query):
    """``GET /live`` with ``query`` (``list=""`` asks for the default workspace list)."""
    headers = {"If-None-Match": etag} if etag else {}
    return client.get("/live", query_string=query, headers=headers)


def stamp(client, **query) -> tuple[dict, str]:
    response = poll(client, **query)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] in ("private, no-cache", "no-cache, private")
    return response.get_json(), response.headers["ETag"]


@pytest.fixture
def sup(app, client, world):
    return login(client, "sup")


def test_an_unchanged_stamp_is_a_304_and_a_new_ticket_for_me_changes_it(sup, world):
    before, etag = stamp(sup, inbox=1, list="")
    assert before["inbox"]["unread"] == 0 and before["list"]["rows"] == {}
    assert poll(sup, etag, inbox=1, list="").status_code == 304
    ticket = new_ticket(world)  # the approve step: sup first (round robin)
    assert fresh(ticket).assignee_id == world["sup"].id
    response = poll(sup, etag, inbox=1, list="")
    assert response.status_code == 200 and response.headers["ETag"] != etag
    after = response.get_json()
    assert after["inbox"]["unread"] == 1 and list(after["list"]["rows"]) == [ticket.number]
    assert after["list"]["counts"]["mine"] == 1


def test_a_ticket_for_someone_else_leaves_my_stamp_alone(app, client, world):
    login(client, "wh1")
    _, etag = stamp(client, inbox=1, list="")
    new_ticket(world)  # to sup: nothing wh1 sees
    assert poll(client, etag, inbox=1, list="").status_code == 304


def test_advancing_moves_the_ticket_between_the_handlers_stamps(app, client, world):
    ticket = new_ticket(world)
    login(client, "wh1")
    _, etag = stamp(client, inbox=1, list="")
    advance(world, "sup", ticket, {"approval": "approve"}, transition="warehouse")
    moved = fresh(ticket)
    assert moved.assignee_id in (world["wh1"].id, world["wh2"].id)
    handler = "wh1" if moved.assignee_id == world["wh1"].id else "wh2"
    login(client, handler)
    now, _ = stamp(client, inbox=1, list="")
    assert ticket.number in now["list"]["rows"] and now["inbox"]["unread"] == 1
    if handler == "wh1":
        assert poll(client, etag, inbox=1, list="").status_code == 200


def test_the_stamp_follows_the_pages_filters_and_sort(sup, world):
    ticket = new_ticket(world)
    closed, _ = stamp(sup, list="status=closed&sort=due")
    assert closed["list"]["rows"] == {}
    shown, _ = stamp(sup, list="status=open&sort=priority")
    assert list(shown["list"]["rows"]) == [ticket.number]


def test_the_rendered_list_is_the_baseline_the_poll_compares_with(sup, world):
    new_ticket(world)
    new_ticket(world)
    page = sup.get("/").get_data(as_text=True)
    baseline = json.loads(html.unescape(re.search(r'data-lz-live-list="([^"]*)"', page).group(1)))
    polled, _ = stamp(sup, list="")
    assert baseline == polled["list"] and len(baseline["rows"]) >= 1
    assert 'name="lz-live" content="/live"' in page and "js/live.js" in page
    assert re.search(r'data-lz-live-inbox="\d+"', page)


def test_the_ticket_stamp_names_who_acted_last(app, client, world):
    ticket = new_ticket(world)
    login(client, "sup")
    first, etag = stamp(client, ticket=ticket.number)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'data-lz-live-state="{first["ticket"]["state"]}"' in page
    collab.add_note(world["sup2"], ticket.number, "客户来电催促")
    response = poll(client, etag, ticket=ticket.number)
    assert response.status_code == 200
    changed = response.get_json()["ticket"]
    assert changed["state"] != first["ticket"]["state"]
    assert changed == {"state": changed["state"], "actor": world["sup2"].name, "by_me": False}
    collab.add_note(world["sup"], ticket.number, "已回电")
    mine, _ = stamp(client, ticket=ticket.number)
    assert mine["ticket"]["by_me"] is True and mine["ticket"]["actor"] == world["sup"].name


def test_a_ticket_i_may_not_read_looks_like_no_ticket(app, client, world):
    ticket = new_ticket(world)
    collab.add_note(world["sup"], ticket.number, "内部备注")
    login(client, "fin1")
    hidden, hidden_etag = stamp(client, ticket=ticket.number)
    unknown, unknown_etag = stamp(client, ticket="TH000000000000")
    assert hidden == unknown == {"ticket": None} and hidden_etag == unknown_etag
    collab.add_note(world["sup"], ticket.number, "又一条")
    assert poll(client, hidden_etag, ticket=ticket.number).status_code == 304
    assert world["sup"].name not in poll(client, ticket=ticket.number).get_data(as_text=True)


def test_a_list_the_role_may_not_open_is_refused(sup, world, client):
    assert poll(sup, list="scope=all").status_code == 403
    assert poll(sup, list="cursor=x-y-z").status_code == 400
    assert poll(sup, list="x" * 3000).status_code == 400
    sup.post("/logout")
    assert poll(client, inbox=1).status_code == 302
