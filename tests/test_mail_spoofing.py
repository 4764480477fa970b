"""Mail replies on both databases: only the ticket's customer adds to a ticket by mail (issue 16, defect 6).

A stranger who writes a ticket's number in a subject opens a new ticket that
says which ticket it quoted; the quoted ticket gets no event, no note and no
notification. The sender is judged by the bare From address, in any case,
never by the display name (docs/mail.md).
"""

from __future__ import annotations

import re

import pytest
from test_channels import inquiry

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Customer, Notification, Ticket, TicketEvent

SECRET = "canary-7f3a reply body"


@pytest.fixture
def runner(app, users, seeded):
    with app.app_context(), database.connection_context():
        docs.save_process(inquiry(), publish=True)
    return app.test_cli_runner()


def message(path, sender: str, subject: str, body: str = SECRET) -> str:
    """A raw message, headers as given (no normalisation by a library)."""
    raw = (f"From: {sender}\r\nTo: service@example.com\r\nSubject: {subject}\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           f"{body}\r\n")
    path.write_bytes(raw.encode("utf-8"))
    return str(path)


def ingest(runner, path: str, *args):
    return runner.invoke(args=["mail", "ingest", path, *args, "--lang", "en"])


def opened(runner, tmp_path) -> str:
    """A ticket opened by mail from wang@example.com; its number."""
    result = ingest(runner, message(tmp_path / "first.eml", "Mr Wang <wang@example.com>", "fridge door"),
                    "--process", "inquiry")
    assert result.exit_code == 0, result.output
    return re.fullmatch(r"created (ZX\d{12,})\n", result.output).group(1)


def state(number: str) -> tuple:
    """What a reply could change on a ticket: its events, notifications, version and update time."""
    with database.connection_context():
        ticket = Ticket.get(Ticket.number == number)
        events = [(e.action, e.comment) for e in TicketEvent.select().where(TicketEvent.ticket == ticket)
                  .order_by(TicketEvent.id)]
        told = [(n.user_id, n.message) for n in Notification.select().where(Notification.ticket == ticket)]
        return events, told, ticket.version, ticket.updated_at


def notes(number: str) -> list[str]:
    with database.connection_context():
        return [e.comment for e in TicketEvent.select().join(Ticket).where(Ticket.number == number,
                                                                             TicketEvent.action == "note")
                .order_by(TicketEvent.id)]


def test_a_mail_ticket_keeps_its_customer_address(runner, tmp_path):
    number = opened(runner, tmp_path)
    with database.connection_context():
        customer = Ticket.get(Ticket.number == number).customer
        assert (customer.name, customer.email) == ("Mr Wang", "wang@example.com")


def test_the_customer_reply_becomes_a_note(runner, tmp_path):
    number = opened(runner, tmp_path)
    result = ingest(runner, message(tmp_path / "r.eml", "Mr Wang <wang@example.com>", f"Re: [{number}] fridge"))
    assert result.exit_code == 0 and result.output == f"appended {number}: the sender is its customer\n"
    assert SECRET in notes(number)[-1]
    with database.connection_context():
        assert Ticket.select().count() == 1


def test_a_stranger_with_the_same_subject_opens_a_new_ticket(runner, tmp_path):
    number = opened(runner, tmp_path)
    before = state(number)
    result = ingest(runner, message(tmp_path / "s.eml", "Mallory <mallory@evil.example>", f"Re: [{number}] fridge"),
                    "--process", "inquiry")
    assert result.exit_code == 0, result.output
    new = re.fullmatch(rf"created (ZX\d{{12,}}): quotes {number} from an unknown sender <mallory@evil.example>\n",
                       result.output).group(1)
    assert new != number and state(number) == before  # no event, no note, no notification, no new version
    first_note = notes(new)[0]
    assert f"quotes ticket {number}" in first_note and "not that ticket's customer" in first_note
    with database.connection_context():
        assert Ticket.get(Ticket.number == new).customer.email == "mallory@evil.example"
        quoted_handler = Ticket.get(Ticket.number == number).assignee_id
        assert not [n for n in Notification.select().where(Notification.user == quoted_handler)
                    if SECRET in n.message or number in n.message and n.ticket.number != number]


def test_a_stranger_without_process_is_refused_and_nothing_changes(runner, tmp_path):
    number = opened(runner, tmp_path)
    before = state(number)
    result = ingest(runner, message(tmp_path / "s.eml", "mallory@evil.example", f"Re: {number}"))
    assert result.exit_code == 1
    assert result.output == (f"refused: s.eml: quotes {number} from an unknown sender <mallory@evil.example>;"
                             " no --process for a new ticket\n")
    assert state(number) == before
    with database.connection_context():
        assert Ticket.select().count() == 1 and Customer.select().count() == 1


@pytest.mark.parametrize(("sender", "appended"), [
    ("WANG@EXAMPLE.COM", True),
    ("Wang <Wang@Example.Com>", True),
    ("<wang@EXAMPLE.com>", True),
    ("Mr. Wang <wang@example.com>", True),  # an obsolete (not invalid) display name
    ("wang@example.com.evil.example", False),
    ("wang@example.co", False),
    ("xwang@example.com", False),
])
def test_addresses_compare_in_any_case_but_exactly(runner, tmp_path, sender, appended):
    number = opened(runner, tmp_path)
    before = state(number)
    result = ingest(runner, message(tmp_path / "r.eml", sender, f"Re: [{number}] fridge"), "--process", "inquiry")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"appended {number}" if appended else "created ")
    assert (state(number) != before) is appended


@pytest.mark.parametrize(("sender", "why"), [
    ('"wang@example.com" <evil@x.example>', "an unknown sender <evil@x.example>"),
    ('"Wang wang@example.com" <evil@x.example>', "an unknown sender <evil@x.example>"),
    # Malformed: Python reads wang@example.com, mail programs show and answer evil@x.example.
    ("wang@example.com <evil@x.example>", "an unrecognisable sender"),
    ("wang@example.com, evil@x.example", "an unrecognisable sender"),  # two senders
])
def test_the_display_name_never_counts(runner, tmp_path, sender, why):
    number = opened(runner, tmp_path)
    before = state(number)
    result = ingest(runner, message(tmp_path / "r.eml", sender, f"Re: [{number}] fridge"), "--process", "inquiry")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created ") and f"quotes {number} from {why}" in result.output
    assert state(number) == before
    assert all(SECRET not in note for note in notes(number))
