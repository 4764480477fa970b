"""The inbox (消息提醒) on both databases: a sentence per kind, unread marks, marking read, only one's own."""

from __future__ import annotations

import re

import pytest
from test_engine import new_ticket
from test_lists import login

from app import create_app
from web import inbox
from workflows.storage.models import Notification
from workflows.subscribers import inbox as notices

SENTENCES = {
    "assigned": "工单 {} 已分派给您。", "returned": "工单 {} 被退回给您。", "transferred": "工单 {} 已转交给您。",
    "overdue": "工单 {} 已超时。", "mentioned": "有人在工单 {} 中提到了您。", "cc": "工单 {} 已抄送给您。",
}


@pytest.fixture
def ticket(world):
    """A ticket assigned to sup, whose creation told sup once."""
    created = new_ticket(world)
    assert [n.kind for n in Notification.select().where(Notification.user == world["sup"])] == ["assigned"]
    return created


def notify(user, ticket, kind: str) -> Notification:
    return Notification.create(user=user, ticket=ticket, kind=kind, message=f"{ticket.number}: {kind}")


def unread(user) -> int:
    return Notification.select().where(Notification.user == user, Notification.read_at.is_null()).count()


def test_each_kind_reads_as_a_sentence_with_the_ticket_linked(app, client, world, ticket):
    for kind in SENTENCES:
        if kind != "assigned":
            notify(world["sup"], ticket, kind)
    notify(world["agent"], ticket, "cc")
    login(client, "sup")
    html = client.get("/inbox").get_data(as_text=True)
    link = f'<a href="/tickets/{ticket.number}">{ticket.number}</a>'
    for sentence in SENTENCES.values():
        assert sentence.format(link) in html
    assert html.count("lz-unread-item") == 6 and 'class="badge badge-danger lz-unread"' in html
    assert re.search(r'lz-unread[^>]*>6<', html)


def test_mark_read_one_by_one_and_all_at_once(app, client, world, ticket):
    first = Notification.get(Notification.user == world["sup"])
    notify(world["sup"], ticket, "overdue")
    notify(world["sup"], ticket, "mentioned")
    login(client, "sup")
    response = client.post(f"/inbox/{first.id}/read", data={"show": "unread"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox?show=unread")
    assert Notification.get_by_id(first.id).read_at is not None and unread(world["sup"]) == 2
    shown = client.get("/inbox?show=unread").get_data(as_text=True)
    assert "已分派给您" not in shown and "已超时" in shown
    everything = client.get("/inbox").get_data(as_text=True)
    assert "已分派给您" in everything and everything.count("lz-unread-item") == 2
    client.post("/inbox/read-all")
    assert unread(world["sup"]) == 0
    assert "没有未读消息" in client.get("/inbox?show=unread").get_data(as_text=True)


def test_someone_elses_notification_is_not_found(app, client, world, ticket):
    theirs = Notification.get(Notification.user == world["sup"])
    mine = notify(world["agent"], ticket, "cc")
    login(client, "agent")
    assert client.post(f"/inbox/{theirs.id}/read").status_code == 404
    assert client.post("/inbox/999999/read").status_code == 404
    client.post("/inbox/read-all")
    assert Notification.get_by_id(theirs.id).read_at is None
    assert Notification.get_by_id(mine.id).read_at is not None
    listed = client.get("/inbox").get_data(as_text=True)
    assert listed.count("list-group-item d-flex") == 1 and "已抄送给您" in listed and "已分派给您" not in listed


def test_pages_and_anonymous_visitors(app, client, world, ticket, monkeypatch):
    for _ in range(3):
        notify(world["sup"], ticket, "overdue")
    monkeypatch.setattr(inbox, "PAGE", 3)
    assert client.get("/inbox").status_code == 302
    with app.test_request_context("/"):
        assert inbox.unread() == 0
    login(client, "sup")
    first = client.get("/inbox").get_data(as_text=True)
    assert first.count("list-group-item d-flex") == 3 and "已分派给您" not in first
    second = client.get(re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&"))
    assert "已分派给您" in second.get_data(as_text=True)
    assert client.get("/inbox?cursor=x").status_code == 400


def test_mark_read_needs_the_csrf_token(world, ticket, db_url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
    client.post("/login", data={"username": "sup", "password": "password1",
                                "csrf_token": token})
    item = Notification.get(Notification.user == world["sup"])
    assert client.post(f"/inbox/{item.id}/read").status_code == 400
    assert client.post("/inbox/read-all").status_code == 400
    assert Notification.get_by_id(item.id).read_at is None
    page = client.get("/inbox").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    assert client.post(f"/inbox/{item.id}/read", data={"csrf_token": token}).status_code == 302
    assert Notification.get_by_id(item.id).read_at is not None


def test_marking_read_touches_only_ones_own_and_keeps_the_first_read_time(world, ticket):
    mine = Notification.get(Notification.user == world["sup"])
    assert not notices.mark_read(world["agent"].id, mine.id)  # not theirs: not found, nothing changes
    assert not notices.mark_read(world["sup"].id, notices.MAX_ID + 1)  # past a 64-bit id: not found, no error
    assert unread(world["sup"]) == 1
    assert notices.mark_read(world["sup"].id, mine.id)
    first = Notification.get_by_id(mine.id).read_at
    assert notices.mark_read(world["sup"].id, mine.id) and Notification.get_by_id(mine.id).read_at == first
    assert notices.unread_count(world["sup"].id) == 0 and notices.mark_all_read(world["sup"].id) == 0
