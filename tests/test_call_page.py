"""The call page through the test client, on both databases (issue 21): the caller panel kept after a
submission, the possible duplicates (``/call/suggest``) limited to what the agent may read and see, and a call
added as one note to an existing ticket (``/call/note/NUMBER``) instead of a duplicate."""

from __future__ import annotations

import re
import sys
import types

import pytest
from conftest import PASSWORD

from workflows.people import customers
from workflows.storage.db import database
from workflows.storage.models import Ticket, TicketEvent, User
from workflows.tickets import engine

PHONE = "13900000000"
REGISTER = {"order_no": "JD-100", "source": "phone", "category": "fr", "model": "fr-200",
            "purchase_date": "2026-11-01", "defect": "冰箱门关不严"}
PRESENT = ["order_no", "source", "category", "model", "purchase_date", "defect", "photos"]
EN = {"Accept-Language": "en"}


@pytest.fixture
def as_user(app, users, seeded):
    """A logged-in test client per username."""
    def login(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        return client
    return login


def call(client, path: str = "/call?process=return_goods", **extra):
    data = {"phone": PHONE, "customer_name": "李女士", "channel": "phone", "transition": "approve",
            "lz_present": PRESENT, **REGISTER, **extra}
    return client.post(path, data=data, content_type="multipart/form-data", headers=EN)


def created(client, **extra) -> str:
    response = call(client, **extra)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return re.search(r"created=(\w+)", response.headers["Location"]).group(1)


def as_engine(username: str, phone: str = PHONE, **data) -> Ticket:
    """A ticket for ``phone`` created by ``username`` directly through the engine."""
    with database.connection_context():
        return engine.create(User.get(User.username == username), "return_goods", {**REGISTER, **data},
                             customer={"name": "李女士", "phone": phone})


def events(number: str, action: str) -> list[TicketEvent]:
    with database.connection_context():
        return list(TicketEvent.select().join(Ticket).where(Ticket.number == number, TicketEvent.action == action))


def count() -> int:
    with database.connection_context():
        return Ticket.select().count()


def test_after_a_submission_the_agent_stays_with_the_caller(as_user):
    """The redirect keeps the phone; the page shows the new number as a link and the caller panel with it."""
    agent = as_user("agent")
    response = call(agent)
    number = re.search(r"created=(\w+)", response.headers["Location"]).group(1)
    assert f"phone={PHONE}" in response.headers["Location"]
    html = agent.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert f'<a class="alert-link" href="/tickets/{number}">{number}</a>' in html
    panel = html[html.index('class="lz-card lz-caller"'):]
    assert "李女士" in panel and "139 0000 0000" in panel and "Open tickets" in panel  # shown nationally
    assert re.search(rf'lz-caller-open">.*{number}</a> · 退货申请 · 主管审批', panel, re.S)
    assert "data-lz-caller-known" in html and 'value="13900000000"' in html


def test_the_panel_shows_phones_tags_and_notes(as_user):
    agent = as_user("agent")
    number = created(agent)
    with database.connection_context():
        customer = customers.find_by_phone(PHONE)
        customers.update(User.get(User.username == "agent"), customer, add="010-8888 7777", level="vip",
                         notes="只在工作日下午联系")
    html = agent.get(f"/call?phone={PHONE}", headers=EN).get_data(as_text=True)
    panel = html[html.index('class="lz-card lz-caller"'):]
    assert "010 8888 7777" in panel and "VIP" in panel and "只在工作日下午联系" in panel and number in panel


def test_suggestions_list_the_callers_open_tickets_the_agent_may_read(as_user):
    """Closed tickets and tickets the agent may not open stay out; the page itself shows them on load too."""
    agent = as_user("agent")
    mine = created(agent)
    closed = created(agent, order_no="JD-CLOSED")
    hidden = as_engine("fin_lead", order_no="JD-SECRET", defect="SECRET-DEFECT-9")
    with database.connection_context():
        ticket = engine.load(closed)
        engine.act(User.get(User.username == "admin"), closed, "advance", version=ticket.version,
                   data={"approval": "reject", "reject_reason": "过保"}, transition="$end")
    fragment = agent.get(f"/call/suggest?phone={PHONE}&process=return_goods&q=", headers=EN).get_data(as_text=True)
    assert mine in fragment and closed not in fragment and hidden.number not in fragment
    assert "SECRET-DEFECT-9" not in fragment and "JD-SECRET" not in fragment
    assert f'formaction="/call/note/{mine}?process=return_goods"' in fragment and 'data-lz-note-key="1"' in fragment
    page = agent.get(f"/call?phone={PHONE}", headers=EN).get_data(as_text=True)
    assert 'data-lz-note-key="1"' in page and f"/call/note/{mine}" in page


def test_an_excerpt_holds_only_fields_the_agent_may_see(as_user):
    """The agent created the ticket: they see the register step's fields, not the supervisor's reason."""
    agent = as_user("agent")
    number = created(agent)
    with database.connection_context():
        ticket = engine.load(number)
        engine.act(User.get(User.username == "admin"), number, "advance", version=ticket.version,
                   data={"approval": "approve"}, transition="warehouse")
        ticket = engine.load(number)
        ticket.data = {**ticket.data, "reject_reason": "HIDDEN-REASON-42"}  # as if typed, then changed
        Ticket.update(data=ticket.data).where(Ticket.id == ticket.id).execute()
    fragment = agent.get(f"/call/suggest?phone={PHONE}&process=return_goods", headers=EN).get_data(as_text=True)
    assert number in fragment and "冰箱门关不严" in fragment and "JD-100" in fragment
    assert "HIDDEN-REASON-42" not in fragment and "同意退货" not in fragment


def test_only_those_who_register_calls_get_suggestions(as_user):
    assert as_user("wh1").get(f"/call/suggest?phone={PHONE}").status_code == 403


def test_similar_open_tickets_by_text_follow_the_callers_own(as_user, monkeypatch):
    """The text part asks ``workflows.search.query.similar_open`` (stood in for here) and skips the caller's own."""
    agent = as_user("agent")
    mine = created(agent)
    other = as_engine("agent", order_no="JD-OTHER")
    with database.connection_context():
        Ticket.update(customer=None).where(Ticket.number == other.number).execute()
    asked = []

    def similar_open(user, text, *, limit=5):
        asked.append((user.username, text, limit))
        with database.connection_context():
            return list(Ticket.select().order_by(Ticket.id))

    monkeypatch.setitem(sys.modules, "workflows.search.query", types.SimpleNamespace(similar_open=similar_open))
    fragment = agent.get(f"/call/suggest?phone={PHONE}&process=return_goods&q=门关不严", headers=EN)
    html = fragment.get_data(as_text=True)
    assert asked == [("agent", "门关不严", 5)]
    assert html.count(f"/call/note/{mine}?") == 1 and other.number in html and "similar text" in html
    assert html.index(mine) < html.index(other.number)


def test_similar_open_tickets_come_from_the_full_text_search(as_user):
    """Another caller's open ticket with the same words is offered; one the agent may not open is not."""
    agent = as_user("agent")
    other = created(agent, phone="13700000001", customer_name="张三", defect="洗衣机滚筒漏水严重")
    hidden = as_engine("fin_lead", phone="13700000002", defect="洗衣机滚筒漏水")
    url = f"/call/suggest?phone={PHONE}&process=return_goods&q=" + "滚筒漏水"
    html = agent.get(url, headers=EN).get_data(as_text=True)
    assert other in html and "similar text" in html and f"/call/note/{other}?" in html
    assert hidden.number not in html


def test_a_second_call_becomes_one_note_not_a_ticket(as_user):
    """The typed values and the caller become one note on the chosen ticket; back on the page, caller kept."""
    agent = as_user("agent")
    number = created(agent)
    before = count()
    response = call(agent, f"/call/note/{number}?process=return_goods", order_no="JD-101", defect="还是关不严")
    assert response.status_code == 302
    assert f"noted={number}" in response.headers["Location"] and f"phone={PHONE}" in response.headers["Location"]
    assert count() == before
    notes = events(number, "note")
    assert len(notes) == 1
    text = notes[0].comment
    assert "李女士" in text and PHONE in text and "订单号: JD-101" in text and "瑕疵描述: 还是关不严" in text
    assert "商品类别: 冰箱" in text  # labels, not stored codes
    html = agent.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Added to" in html and f'href="/tickets/{number}">{number}</a>' in html and "lz-caller-open" in html


def test_a_note_is_refused_where_the_agent_may_not_write_it(as_user):
    agent = as_user("agent")
    hidden = as_engine("fin_lead")
    assert call(agent, f"/call/note/{hidden.number}?process=return_goods").status_code == 403
    assert call(agent, "/call/note/TH000000000000?process=return_goods").status_code == 404
    assert call(as_user("wh1"), f"/call/note/{hidden.number}?process=return_goods").status_code == 403
    assert events(hidden.number, "note") == []


def test_an_empty_call_names_the_missing_note(as_user):
    agent = as_user("agent")
    number = created(agent)
    response = agent.post(f"/call/note/{number}?process=return_goods", data={"lz_present": ["order_no", "defect"]},
                         headers=EN)
    assert response.status_code == 422
    assert "note: This field is required." in response.get_data(as_text=True)
    assert events(number, "note") == []


def test_a_note_without_the_csrf_token_is_refused(seeded, users, db_url):
    """With CSRF protection on (as in production), the note is one more POST that needs the page's token."""
    from test_workspace_browser import _logged_in, _token

    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    agent = _logged_in(app, "agent")
    number = as_engine("agent").number
    form = {"phone": PHONE, "customer_name": "李女士", "order_no": "JD-9", "lz_present": ["order_no"]}
    refused = agent.post(f"/call/note/{number}?process=return_goods", data=form)
    assert refused.status_code == 400 and b"CSRF" in refused.data and events(number, "note") == []
    token = _token(agent.get(f"/call?phone={PHONE}"))
    done = agent.post(f"/call/note/{number}?process=return_goods", data={**form, "csrf_token": token})
    assert done.status_code == 302 and len(events(number, "note")) == 1


def test_what_callers_and_tickets_hold_is_escaped(as_user):
    """A hostile name, note and description reach the page and the fragment as text, never as markup."""
    agent = as_user("agent")
    hostile = '<img src=x onerror="alert(1)">'
    created(agent, customer_name=hostile, defect=f"<script>alert(2)</script>{hostile}")
    with database.connection_context():
        customers.update(User.get(User.username == "agent"), customers.find_by_phone(PHONE), notes=hostile)
    page = agent.get(f"/call?phone={PHONE}", headers=EN).get_data(as_text=True)
    fragment = agent.get(f"/call/suggest?phone={PHONE}&process=return_goods", headers=EN).get_data(as_text=True)
    for html in (page, fragment):
        assert hostile not in html and "<script>alert(2)" not in html
    assert "&lt;img src=x onerror=" in page and "&lt;script&gt;alert(2)" in fragment
