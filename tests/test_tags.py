"""Tags on both databases: add/remove with history, free tags, who may tag, colours, filters, the admin screens."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from test_api import Api
from test_engine import new_ticket

from workflows.reporting.queries import Filters, ticket_list
from workflows.reporting.reports import ReportFilters, report
from workflows.reporting.reportsql import LOCAL_OFFSET
from workflows.storage import settings
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Tag, Ticket, TicketEvent, TicketTag, utcnow
from workflows.tickets import tags
from workflows.tickets.errors import Conflict, Forbidden, Invalid
from workflows.tickets.present import ticket_view


def login(client, username: str):
    response = client.post("/login", data={"username": username, "password": "password1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


@pytest.fixture
def tagged(world):
    """Two managed tags and two tickets by the agent (both handled by sup): the first holds 退款."""
    refund = tags.create_tag(world["admin"], "退款", "#D9534F")
    tags.create_tag(world["admin"], "BUG", "#ffc107")
    first, second = new_ticket(world), new_ticket(world)  # round robin: to sup, then sup2
    Ticket.update(assignee=world["sup"]).where(Ticket.id == second.id).execute()
    second = Ticket.get_by_id(second.id)
    assert tags.add(first, "退款", world["sup"])
    assert refund.color == "#d9534f"  # stored in lower case
    return first, second


def tag_events(ticket) -> list[tuple]:
    rows = TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "tag").order_by(
        TicketEvent.id)
    return [(e.actor.username if e.actor else None, e.comment, e.diff) for e in rows]


def test_add_and_remove_leave_history_events(world, tagged):
    first, _ = tagged
    version = Ticket.get_by_id(first.id).version
    assert not tags.add(first, "退款", world["sup"])  # already there: no second event
    assert tags.add(first, " BUG ", world["admin"])
    assert tags.add(first, "bug", world["sup"]) is False  # the same tag whatever the case
    assert tags.names(first) == ["BUG", "退款"]
    assert tags.remove(first, "退款", world["sup"]) and not tags.remove(first, "退款", world["sup"])
    assert tags.add(first, "退款", world["sup"], rule="投诉关键词")
    assert tag_events(first) == [
        ("sup", "+退款", {"tag": {"added": "退款", "rule": None}}),
        ("admin", "+BUG", {"tag": {"added": "BUG", "rule": None}}),
        ("sup", "-退款", {"tag": {"removed": "退款", "rule": None}}),
        ("sup", "+退款", {"tag": {"added": "退款", "rule": "投诉关键词"}}),
    ]
    assert Ticket.get_by_id(first.id).version == version  # tagging does not make an open step form stale
    history = [h for h in ticket_view(world["agent"], Ticket.get_by_id(first.id))["history"] if h["action"] == "tag"]
    assert history[-1]["changes"] == {"tag": {"added": "退款", "rule": "投诉关键词"}}


def test_a_tag_joins_the_callers_transaction(world, tagged):
    _, second = tagged
    with database.atomic() as transaction:
        assert tags.add(second, "BUG", world["sup"], rule="r1")
        transaction.rollback()
    assert tags.names(second) == [] and tag_events(second) == []


def test_free_tags_are_refused_unless_the_admin_allows_them(world, tagged):
    _, second = tagged
    with pytest.raises(Invalid) as refused:
        tags.add(second, "加急", world["sup"])
    assert list(refused.value.fields) == ["tag"]
    for bad in ("", "   ", "x" * 33):
        with pytest.raises(Invalid):
            tags.add(second, bad, world["sup"])
    assert settings.get(settings.FREE_TAGS, False) is False
    tags.set_free(world["admin"], True)
    assert tags.add(second, "加急", world["sup"])
    made = Tag.get(Tag.name == "加急")
    assert (made.managed, made.color) == (False, tags.DEFAULT_COLOR)
    assert [t.name for t in tags.managed()] == ["BUG", "退款"]  # free tags are no suggestions
    entry = AuditEntry.get(AuditEntry.target == "setting:tags.free")
    assert (entry.actor_id, entry.before, entry.after) == (world["admin"].id, {"tags.free": None},
                                                          {"tags.free": True})


@pytest.mark.parametrize(("who", "allowed"), [("sup", True), ("admin", True), ("sup2", True), ("agent", False),
                                              ("wh1", False), ("agent2", False), ("wh_lead", False)])
def test_who_may_tag(world, tagged, who, allowed):
    """The handler (sup), admins, supervisors overseeing the handler (sup2); not the creator (agent), nor others."""
    _, second = tagged
    if allowed:
        assert tags.add(second, "BUG", world[who]) and tags.remove(second, "BUG", world[who])
    else:
        with pytest.raises(Forbidden):
            tags.add(second, "BUG", world[who])
        tags.add(second, "BUG", world["sup"])
        with pytest.raises(Forbidden):
            tags.remove(second, "BUG", world[who])
        assert tags.names(second) == ["BUG"]


def test_a_rule_tags_whoever_triggered_it(world, tagged):
    _, second = tagged
    assert tags.add(second, "BUG", world["agent"], rule="新工单分类")
    assert tag_events(second) == [("agent", "+BUG", {"tag": {"added": "BUG", "rule": "新工单分类"}})]


def test_colours_are_validated_and_text_contrasts(world):
    assert tags.valid_color(" #A1B2C3 ") == "#a1b2c3"
    for bad in ("red", "#fff", "#12345g", "#123456;background:url(x)", "", None, "javascript:1"):
        assert tags.valid_color(bad) is None
    assert (tags.text_color("#ffffff"), tags.text_color("#000000")) == ("#000000", "#ffffff")
    assert (tags.text_color("#ffc107"), tags.text_color("#0d47a1")) == ("#000000", "#ffffff")
    with pytest.raises(Invalid) as refused:
        tags.create_tag(world["admin"], "坏颜色", "red; x")
    assert list(refused.value.fields) == ["color"]
    forged = Tag.create(name="forged", color="red;}")  # whatever a row holds, pages get a checked colour
    assert tags.badge(forged)["color"] == tags.DEFAULT_COLOR


def test_the_ticket_page_shows_escaped_coloured_badges_and_the_rule(world, client, tagged):
    first, _ = tagged
    tags.set_free(world["admin"], True)
    tags.add(first, "<b>x</b>", world["sup"], rule="<i>规则</i>")
    html = login(client, "sup").get(f"/tickets/{first.number}").get_data(as_text=True)
    assert 'data-lz-color="#d9534f" data-lz-text="#000000">退款</span>' in html  # black contrasts more
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "&lt;i&gt;规则&lt;/i&gt;" in html and "<i>规则</i>" not in html
    assert 'list="lz-tag-names"' in html and "lz-tag-remove" in html  # free text allowed: an input with a datalist
    tags.set_free(world["admin"], False)
    html = client.get(f"/tickets/{first.number}").get_data(as_text=True)
    assert 'list="lz-tag-names"' not in html and 'id="lz-tag-name" name="tag" required>' in html


def test_the_tag_routes(world, client, tagged):
    first, second = tagged
    login(client, "sup")
    response = client.post(f"/tickets/{second.number}/tags", data={"tag": "BUG"})
    assert response.status_code == 302 and tags.names(second) == ["BUG"]
    client.post(f"/tickets/{second.number}/tags", data={"tag": "不存在"})
    assert tags.names(second) == ["BUG"]
    assert "没有这个标签" in client.get(f"/tickets/{second.number}").get_data(as_text=True)  # flashed in Chinese
    assert client.post(f"/tickets/{first.number}/tags/remove", data={"tag": "退款"}).status_code == 302
    assert tags.names(first) == []
    assert client.post("/tickets/NOPE/tags", data={"tag": "BUG"}).status_code == 404


def test_a_reader_who_does_not_handle_the_ticket_gets_403(world, client, tagged):
    first, _ = tagged
    login(client, "agent")  # the creator reads the ticket but does not handle it
    html = client.get(f"/tickets/{first.number}").get_data(as_text=True)
    assert "lz-tag-add" not in html and "lz-tag-remove" not in html and 'data-tag="退款"' in html
    assert client.post(f"/tickets/{first.number}/tags", data={"tag": "BUG"}).status_code == 403
    assert client.post(f"/tickets/{first.number}/tags/remove", data={"tag": "退款"}).status_code == 403
    client.post("/logout")
    login(client, "wh1")  # may not even read it
    assert client.post(f"/tickets/{first.number}/tags", data={"tag": "BUG"}).status_code == 403
    assert tags.names(first) == ["退款"]


def test_the_workspace_list_filters_by_tag(world, client, tagged):
    first, second = tagged
    page = ticket_list(world["sup"], "mine", Filters(tag="退款"))
    assert [t.number for t in page.tickets] == [first.number]
    assert {t.number for t in ticket_list(world["sup"], "mine", Filters()).tickets} == {first.number, second.number}
    assert ticket_list(world["sup"], "mine", Filters(tag="BUG")).tickets == []
    html = login(client, "sup").get("/", query_string={"tag": "退款"}).get_data(as_text=True)
    assert first.number in html and second.number not in html
    assert '<option selected value="退款">退款</option>' in html
    html = client.get("/", query_string={"tag": "不存在"}).get_data(as_text=True)  # shown wrong, left out
    assert first.number in html and second.number in html


def test_the_api_list_filters_by_tag(world, client, tagged):
    first, second = tagged
    api = Api(client)
    found = api("GET", "/tickets", "sup", query_string={"tag": "退款"}).json
    assert [t["number"] for t in found["items"]] == [first.number]
    assert api("GET", "/tickets", "sup", query_string={"tag": "BUG"}).json["items"] == []
    assert len(api("GET", "/tickets", "sup", query_string={"tag": ""}).json["items"]) == 2
    parameters = api("GET", "/openapi.json").json["paths"]["/tickets"]["get"]["parameters"]
    assert "tag" in [p["name"] for p in parameters]


def test_a_report_filters_by_tag(world, client, tagged):
    today = (utcnow() + LOCAL_OFFSET).date()
    span = (today - timedelta(days=1), today + timedelta(days=1))
    assert report(world["admin"], ReportFilters(*span), ()).total.created == 2
    assert report(world["admin"], ReportFilters(*span, tag="退款"), ()).total.created == 1
    assert report(world["sup"], ReportFilters(*span, tag="BUG"), ()).total.created == 0
    query = {"start": span[0].isoformat(), "end": span[1].isoformat(), "group": "agent"}
    tagged_page = login(client, "sup").get("/reports", query_string={**query, "tag": "退款"})
    assert tagged_page.status_code == 200 and '<option selected value="退款">退款</option>' in tagged_page.get_data(
        as_text=True)
    for tag, created in (("退款", "1"), ("BUG", "0")):
        assert csv_total(client.get("/reports/export.csv", query_string={**query, "tag": tag}))[1] == created


def csv_total(response) -> list[str]:
    """The total row of the report's first section (the groups)."""
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return rows[rows.index([]) - 1]


def test_admin_tag_screens(world, client, tagged):
    first, _ = tagged
    login(client, "admin")
    html = client.get("/admin/tags/").get_data(as_text=True)
    assert "退款" in html and "BUG" in html and "#d9534f" in html
    assert client.post("/admin/tags/new", data={"name": "投诉", "color": "#0d47a1"}).status_code == 302
    complaint = Tag.get(Tag.name == "投诉")
    for bad in ({"name": "x", "color": "blue"}, {"name": "x", "color": "#12345"}, {"name": "", "color": "#000000"},
                {"name": "投诉", "color": "#000000"}, {"name": "bug", "color": "#000000"}):
        assert client.post("/admin/tags/new", data=bad).status_code == 422, bad
    assert Tag.select().count() == 3
    response = client.post(f"/admin/tags/{complaint.id}/", data={"name": "投诉 ", "color": "#FF0000"})
    assert response.status_code == 302 and Tag.get_by_id(complaint.id).color == "#ff0000"
    assert client.post(f"/admin/tags/{complaint.id}/", data={"name": "BUG", "color": "#ff0000"}).status_code == 422
    refund = Tag.get(Tag.name == "退款")
    assert "1 个工单带有此标签" in client.get(f"/admin/tags/{refund.id}/").get_data(as_text=True)
    client.post(f"/admin/tags/{refund.id}/delete")
    assert Tag.get_or_none(Tag.id == refund.id) is not None and TicketTag.select().count() == 1
    assert client.post(f"/admin/tags/{complaint.id}/delete").status_code == 302
    assert Tag.get_or_none(Tag.id == complaint.id) is None
    client.post("/admin/tags/free", data={"free": "y"})
    assert tags.free_allowed()
    client.post("/admin/tags/free", data={})
    assert not tags.free_allowed()
    assert client.get("/admin/tags/999/").status_code == 404
    actions = [(e.action, e.target) for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions[-5:] == [("tag.create", f"tag:{complaint.id}"), ("tag.update", f"tag:{complaint.id}"),
                            ("tag.delete", f"tag:{complaint.id}"), ("setting.update", "setting:tags.free"),
                            ("setting.update", "setting:tags.free")]
    update = AuditEntry.get(AuditEntry.action == "tag.update")
    assert (update.before["color"], update.after["color"]) == ("#0d47a1", "#ff0000")


def test_deleting_a_held_tag_is_refused(world, tagged):
    refund = Tag.get(Tag.name == "退款")
    with pytest.raises(Conflict):
        tags.delete_tag(world["admin"], refund)


@pytest.mark.parametrize("who", ["agent", "sup", "wh1"])
def test_admin_tag_pages_are_403_for_others(world, client, tagged, who):
    login(client, who)
    refund = Tag.get(Tag.name == "退款")
    new = {"name": "n", "color": "#000000"}
    for method, url, data in (("GET", "/admin/tags/", None), ("POST", "/admin/tags/new", new),
                              ("GET", f"/admin/tags/{refund.id}/", None), ("POST", f"/admin/tags/{refund.id}/", new),
                              ("POST", f"/admin/tags/{refund.id}/delete", None),
                              ("POST", "/admin/tags/free", {"free": "y"})):
        assert client.open(url, method=method, data=data).status_code == 403, url
    assert not tags.free_allowed() and Tag.select().count() == 2
