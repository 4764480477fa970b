"""A customer's reply resumes a pending ticket (docs/pending.md), on both databases: from the progress page
(``POST /p/<token>``) and by mail (``mailin.append``); the reply and the resume are one transaction.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_pending_pages import at_warehouse, csrf_app, fresh, publish, wait

from workflows.intake import mailin
from workflows.intake.channels import SYSTEM_USERNAME
from workflows.storage.models import Notification, Ticket, TicketEvent
from workflows.tickets import feedback, pending
from workflows.tickets.errors import Conflict

CUSTOMER = {"name": "王先生", "phone": "13800000001", "email": "wang@example.com"}
SECRET = "test-secret"


@pytest.fixture
def waiting(world):
    return publish(world)


@pytest.fixture
def guarded(db_url, tmp_path):
    return csrf_app(db_url, tmp_path)


def link(ticket: Ticket) -> str:
    return f"/p/{feedback.progress_token(ticket, SECRET)}"


def waited_two_hours(users) -> Ticket:
    """A pending ticket whose wait began two hours ago (its due time not yet moved)."""
    ticket = wait(at_warehouse(users, CUSTOMER))
    Ticket.update(pending_since=ticket.pending_since - timedelta(hours=2)).where(Ticket.id == ticket.id).execute()
    return fresh(ticket)


def notes(ticket: Ticket) -> list[str]:
    return [e.comment for e in TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "note")]


def last_event(ticket: Ticket) -> TicketEvent:
    return TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id.desc()).first()


@pytest.mark.parametrize("lang, shown", [("en", ("Waiting for your reply", "Send reply", "Thank you")),
                                         ("zh", ("等待您的回复", "发送回复", "谢谢"))])
def test_progress_page_reply_resumes_and_moves_the_due_time(app, client, waiting, lang, shown):
    ticket = waited_two_hours(waiting)
    headers = {"Accept-Language": lang}
    page = client.get(link(ticket), headers=headers).get_data(as_text=True)
    assert 'data-lz-status="pending"' in page and shown[0] in page and shown[1] in page
    response = client.post(link(ticket), data={"reply": "照片已发到邮箱"}, headers=headers)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and shown[2] in page and response.headers["Cache-Control"] == "no-store"
    resumed = fresh(ticket)
    assert (resumed.status, resumed.pending_since) == ("open", None)
    moved = (resumed.due_at - ticket.due_at).total_seconds()
    assert 2 * 3600 - 60 <= moved <= 2 * 3600 + 60  # by the paused time (no calendar: every minute counts)
    assert any("照片已发到邮箱" in n for n in notes(ticket))
    resume = last_event(ticket)
    assert (resume.action, resume.actor.username) == ("resume", SYSTEM_USERNAME)
    assert Notification.get(Notification.ticket == ticket, Notification.kind == "reply").user_id == ticket.assignee_id
    assert "照片已发到邮箱" not in client.get(link(ticket)).get_data(as_text=True)  # notes stay with the staff


def test_reply_to_an_open_ticket_is_a_note_and_a_closed_one_takes_none(app, client, waiting):
    ticket = at_warehouse(waiting, CUSTOMER)
    assert client.post(link(ticket), data={"reply": "还有一个问题"}).status_code == 200
    assert fresh(ticket).status == "open" and any("还有一个问题" in n for n in notes(ticket))
    Ticket.update(status="closed", step="$end").where(Ticket.id == ticket.id).execute()
    assert "lz-reply" not in client.get(link(ticket)).get_data(as_text=True)
    response = client.post(link(ticket), data={"reply": "再问一下"}, headers={"Accept-Language": "en"})
    assert response.status_code == 409 and "This ticket is closed" in response.get_data(as_text=True)
    assert not any("再问一下" in n for n in notes(ticket))


def test_empty_reply_and_bad_token_write_nothing(app, client, waiting):
    ticket = waited_two_hours(waiting)
    response = client.post(link(ticket), data={"reply": "  "}, headers={"Accept-Language": "en"})
    assert response.status_code == 422 and 'id="reply-error"' in response.get_data(as_text=True)
    too_long = client.post(link(ticket), data={"reply": "x" * 4001})
    assert too_long.status_code == 422
    rating_token = feedback.rating_link_token(ticket, SECRET)  # another salt: not a progress link
    assert client.post(f"/p/{rating_token}", data={"reply": "x"}).status_code == 404
    assert fresh(ticket).status == "pending" and notes(ticket) == []


def test_reply_and_resume_are_one_transaction(app, client, waiting, monkeypatch):
    ticket = waited_two_hours(waiting)

    def refuse(*args):
        raise Conflict(feedback.Msg("changed"))

    monkeypatch.setattr(pending, "resume_for_customer", refuse)
    assert client.post(link(ticket), data={"reply": "会丢吗"}).status_code == 409
    assert notes(ticket) == [] and fresh(ticket).status == "pending"  # the note went with the failed resume


def test_replies_are_rate_limited(app, client, waiting):
    ticket = at_warehouse(waiting, CUSTOMER)
    codes = [client.post(link(ticket), data={"reply": f"第{i}次"}).status_code for i in range(11)]
    assert codes == [200] * 10 + [429]
    assert len(notes(ticket)) == 10


def test_the_reply_form_needs_its_csrf_token(guarded, waiting):
    ticket = waited_two_hours(waiting)
    client = guarded.test_client()
    url = f"/p/{feedback.progress_token(ticket, SECRET)}"
    page = client.get(url).get_data(as_text=True)
    form = page.split('class="lz-card lz-reply"')[1].split("</form>")[0]
    assert 'name="csrf_token"' in form
    assert client.post(url, data={"reply": "x"}).status_code == 400
    assert fresh(ticket).status == "pending"
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post(url, data={"reply": "x", "csrf_token": token}).status_code == 200
    assert fresh(ticket).status == "open"


# --- Mail -----------------------------------------------------------------------------------------------------------


def raw(sender: str, subject: str, body: str = "照片在附件里") -> bytes:
    return (f"From: {sender}\r\nTo: service@example.com\r\nSubject: {subject}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{body}\r\n").encode()


def test_mail_reply_from_the_customer_resumes(app, waiting):
    ticket = waited_two_hours(waiting)
    with app.app_context():
        line = mailin.ingest(raw("Mr Wang <Wang@Example.com>", f"Re: {ticket.number}"), None, str)
    assert line == f"appended {ticket.number}: the sender is its customer; resumed it"
    resumed = fresh(ticket)
    assert resumed.status == "open" and resumed.due_at > ticket.due_at + timedelta(minutes=119)
    assert any("照片在附件里" in n for n in notes(ticket)) and last_event(ticket).action == "resume"


def test_mail_from_a_stranger_does_not_resume(app, waiting):
    ticket = waited_two_hours(waiting)
    with app.app_context(), pytest.raises(mailin.Refused):
        mailin.ingest(raw("someone <x@evil.example>", f"Re: {ticket.number}"), None, str)
    assert fresh(ticket).status == "pending" and notes(ticket) == []


def test_mail_reply_and_resume_are_one_transaction(app, waiting, monkeypatch):
    ticket = waited_two_hours(waiting)

    def refuse(*args):
        raise Conflict(feedback.Msg("changed"))

    monkeypatch.setattr(pending, "resume_for_customer", refuse)
    with app.app_context(), pytest.raises(mailin.Refused):
        mailin.ingest(raw("Mr Wang <wang@example.com>", f"Re: {ticket.number}"), None, str)
    assert notes(ticket) == [] and fresh(ticket).status == "pending"
