"""Work per request on both databases: SQL statements per page, the same for 5 and for 50 tickets (no N+1)
and under a ceiling; compiled forms and dictionary indexes built once and rebuilt when their rows change.

Every statement peewee sends while one request runs is counted through the
database's query hooks. The world has tickets with customers (a few tickets
each), tags, CCs, notes with mentions, photos and history, and one ticket, the
subject of the detail pages, with as many notes, tags and CCs as there are
tickets. The ceilings are today's counts plus a little room: a page that
starts to query per row fails the equality, one that grows a query or two
per page the ceiling.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import example
from test_engine import REGISTER, advance

from formbuilder import DictionaryIndex, cache
from workflows.people import org
from workflows.processes import documents as docs
from workflows.storage import db as lzdb
from workflows.storage.models import Attachment, Customer, Dictionary, Ticket, TicketCC, utcnow
from workflows.tickets import collab, engine, tags

CREATORS = ("agent", "agent2", "sup")
CC = ("fin1", "wh1", "wh2", "fin2", "sup2")
SUBJECT_PHONE = "13800000000"
CEILINGS = {  # page: most statements allowed, today's count + 2 (the counts are the same on SQLite and PostgreSQL)
    "home mine": 25, "home team": 27, "home all": 20, "inbox": 5, "detail": 21, "detail as a CC": 36,
    "customer": 13, "call with the caller's history": 21, "reports": 28, "list export": 16, "api list": 8,
    "api detail": 11,
}
SORTED = {"home by due time": 28}  # one query per sort segment the page spans: fewer when the first fills it


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL of every statement sent while the block runs."""
    seen: list[str] = []

    def hook(event) -> None:
        seen.append(event.sql)

    hooks = lzdb.database.obj.query_hooks
    hooks.append(hook)
    try:
        yield seen
    finally:
        hooks.remove(hook)


def photo(world, who: str, index: int) -> str:
    """An uploaded (not yet linked) photo of ``who``; its key."""
    key = f"k-{who}-{index}"
    Attachment.create(key=key, filename=f"photo{index}.jpg", mimetype="image/jpeg", size=3, stored_name=key,
                      uploaded_by=world[who])
    return key


def new_subject(world) -> Ticket:
    """The ticket of the detail pages: five photos, handled by sup."""
    subject = engine.create(world["agent"], "return_goods",
                            {**REGISTER, "photos": [photo(world, "agent", 1000 + i) for i in range(5)]},
                            customer={"name": "客户0", "phone": SUBJECT_PHONE})
    Ticket.update(assignee=world["sup"]).where(Ticket.id == subject.id).execute()
    return subject


def add_tickets(world, subject: Ticket, start: int, stop: int) -> None:
    """Tickets ``start`` to ``stop``, each with a tag, a CC, a note and a photo; as many of each on ``subject``."""
    for i in range(start, stop):
        who = CREATORS[i % len(CREATORS)]
        tags.create_tag(world["admin"], f"tag{i}", "#336699")
        ticket = engine.create(world[who], "return_goods", {**REGISTER, "photos": [photo(world, who, i)]},
                               customer={"name": f"客户{i % 3}", "phone": f"1380000{i % 3:04d}"})
        tags.add(ticket, f"tag{i % 7}", world["admin"])
        TicketCC.insert(ticket=ticket, user=world[CC[i % len(CC)]]).on_conflict_ignore().execute()
        collab.add_note(world[who], ticket.number, f"note {i} @sup2")
        if i % 3 == 0:
            advance(world, Ticket.get_by_id(ticket.id).assignee.username, ticket, {"approval": "approve"},
                    transition="warehouse")
        tags.add(subject, f"tag{i}", world["admin"])
        collab.add_note(world["agent"], subject.number, f"subject note {i}")
        TicketCC.insert(ticket=subject, user=world[CC[i % len(CC)]]).on_conflict_ignore().execute()


def logged_in(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": "password1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def pages(subject: Ticket) -> dict[str, tuple[str, str]]:
    """Page name: (who reads it, URL); an "api" page is read with a bearer token."""
    customer = Customer.get(Customer.phone == "+86" + SUBJECT_PHONE).id
    return {
        "home mine": ("sup", "/"), "home team": ("sup", "/?scope=team&status="), "home all": ("admin", "/?scope=all"),
        "home by due time": ("sup", "/?scope=team&sort=due&status="), "inbox": ("sup2", "/inbox"),
        "detail": ("sup", f"/tickets/{subject.number}"), "detail as a CC": ("fin1", f"/tickets/{subject.number}"),
        "customer": ("sup", f"/customers/{customer}"),
        "call with the caller's history": ("agent", f"/call?phone={SUBJECT_PHONE}"),
        "reports": ("sup", "/reports"), "list export": ("sup", "/tickets/export.csv?scope=team&status="),
        "api list": ("sup", "/api/v1/tickets?scope=team"), "api detail": ("sup", f"/api/v1/tickets/{subject.number}"),
    }


def statements(app, world, subject: Ticket) -> dict[str, int]:
    """How many statements each page sends, read after one warm-up request (caches filled, session loaded)."""
    clients = {name: logged_in(app, name) for name in ("sup", "sup2", "admin", "fin1", "agent")}
    bearer = {"Authorization": f"Bearer {org.issue_token(world['sup'])}"}
    found = {}
    for name, (who, url) in pages(subject).items():
        headers = bearer if name.startswith("api") else {}
        for _ in range(2):
            with counting() as seen:
                response = clients[who].get(url, headers=headers, buffered=True)  # a streamed body too
            assert response.status_code == 200, (name, response.status_code)
        found[name] = len(seen)
    return found


@pytest.fixture
def subject(world):
    return new_subject(world)


def test_pages_send_as_many_statements_for_50_tickets_as_for_5(app, world, subject):
    add_tickets(world, subject, 0, 5)
    few = statements(app, world, subject)
    add_tickets(world, subject, 5, 50)
    assert Ticket.select().count() == 51
    many = statements(app, world, subject)
    steady = {name: count for name, count in many.items() if name not in SORTED}
    assert steady == {name: few[name] for name in steady}, "a page queries per row"
    for name, ceiling in {**CEILINGS, **SORTED}.items():
        assert few[name] <= ceiling and many[name] <= ceiling, (name, few[name], many[name])
    assert many["home by due time"] <= few["home by due time"]


def test_the_lists_show_what_was_counted(app, world, subject):
    """The counted pages are the full ones: every row, its customer and handler are on the page."""
    add_tickets(world, subject, 0, 5)
    page = logged_in(app, "sup").get("/?scope=team&status=", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert html.count("/tickets/TH") == 6 and "客户0" in html and "客户2" in html
    api = logged_in(app, "sup").get(f"/api/v1/tickets/{subject.number}",
                                    headers={"Authorization": f"Bearer {org.issue_token(world['sup'])}"})
    assert api.json["customer"] == {"name": "客户0", "phone": "+86" + SUBJECT_PHONE}
    assert len([e for e in api.json["history"] if e["action"] == "note"]) == 5


# Caches: a published version's forms and a dictionary's index are built once per process (gunicorn
# worker) and checked against the database row on every request, so no worker serves stale data.

@pytest.fixture
def index_builds(monkeypatch) -> list[str]:
    """The code of every dictionary index built from its document from now on."""
    built: list[str] = []
    build = DictionaryIndex.from_document.__func__

    def counted(cls, document: dict) -> DictionaryIndex:
        built.append(document["code"])
        return build(cls, document)

    monkeypatch.setattr(DictionaryIndex, "from_document", classmethod(counted))
    return built


def relabel(code: str, value: str, label: str) -> dict:
    document = example(f"{code}.dictionary.json")
    next(item for item in document["items"] if item["value"] == value)["label"] = label
    return document


def test_an_edited_dictionary_shows_on_the_next_request_and_is_built_once(app, world, subject, index_builds):
    page = logged_in(app, "agent")  # the creator reads the ticket; its source is the channel "phone"
    url = f"/tickets/{subject.number}"
    assert "电话" in page.get(url).get_data(as_text=True)
    index_builds.clear()
    page.get(url)
    assert index_builds == []  # the second request reuses the indexes
    docs.import_dictionary(relabel("channel", "phone", "热线电话"))
    assert "热线电话" in page.get(url).get_data(as_text=True)
    page.get(url)
    assert index_builds == ["channel"]  # rebuilt once, and only the dictionary that changed


def test_a_change_another_worker_made_is_seen_even_at_the_same_revision(app, world, subject):
    """What another process wrote is in the row, not in this process: two saves that raced to one revision
    number still differ in their update time."""
    page = logged_in(app, "agent")
    url = f"/tickets/{subject.number}"
    assert "电话" in page.get(url).get_data(as_text=True)
    (Dictionary.update(document=relabel("channel", "phone", "客服热线"), updated_at=utcnow())
     .where(Dictionary.code == "channel").execute())
    assert "客服热线" in page.get(url).get_data(as_text=True)


def test_a_published_version_shows_on_the_next_request_and_its_form_is_built_once(app, world, subject):
    page = logged_in(app, "agent")
    assert "商品照片" in page.get("/call?process=return_goods").get_data(as_text=True)
    version_one = {key: n for key, n in cache.builds.items() if key[0] == ("return_goods", 1)}
    page.get("/call?process=return_goods")
    assert {key: n for key, n in cache.builds.items() if key[0] == ("return_goods", 1)} == version_one
    document = example("return_goods.process.json")
    document["schema"]["properties"]["photos"]["title"] = "退货照片"
    docs.save_process(document, publish=True)
    html = page.get("/call?process=return_goods").get_data(as_text=True)
    assert "退货照片" in html and "商品照片" not in html
    page.get("/call?process=return_goods")
    assert cache.builds[(("return_goods", 2), "register")] == 1
    assert "商品照片" in page.get(f"/tickets/{subject.number}").get_data(as_text=True)  # pinned to version 1
