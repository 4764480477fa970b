"""Duplicates and threading in the mail intake (issue 22), on both databases.

A message read twice, or by two workers at once, adds one ticket; a message without Message-ID is
known by a hash of From, Date, Subject and body; a reply naming one of our Message-IDs in In-Reply-To
or References finds its ticket without the number in the subject (still only from its customer).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from test_channels import inquiry

from workflows.i18n import cli_gettext
from workflows.intake import intakelog, mailin
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import EmailMessage, MailIntake, Ticket, TicketEvent


@pytest.fixture
def runner(app, users, seeded):
    doc = {**inquiry(), "notify_customer": {"created": True}}
    with app.app_context(), database.connection_context():
        docs.save_process(doc, publish=True)
    return app.test_cli_runner()


def message(tmp_path: Path, subject: str, sender: str = "Mr Wang <wang@example.com>", headers: str = "",
            body: str = "冰箱门坏了") -> Path:
    path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.eml"
    path.write_bytes((f"From: {sender}\r\nTo: service@example.com\r\nSubject: {subject}\r\n{headers}"
                      f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode())
    return path


def ingest(runner, path: Path, *args) -> str:
    result = runner.invoke(args=["mail", "ingest", str(path), *args, "--lang", "en"])
    return result.output


def counts() -> tuple[int, int]:
    with database.connection_context():
        return Ticket.select().count(), TicketEvent.select().where(TicketEvent.action == "note").count()


def outcomes() -> list[str]:
    with database.connection_context():
        return [r.outcome for r in MailIntake.select().order_by(MailIntake.id)]


def test_the_same_message_id_twice_makes_one_ticket(runner, tmp_path):
    raw = message(tmp_path, "冰箱门", headers="Message-ID: <abc.1@mail.example.com>\r\n")
    assert ingest(runner, raw, "--process", "inquiry").startswith("created ZX")
    again = message(tmp_path, "冰箱门 (resent)", headers="Message-ID: <abc.1@mail.example.com>\r\n")
    assert ingest(runner, again, "--process", "inquiry") == \
        "duplicate: abc.1@mail.example.com: read before, nothing added\n"
    assert counts() == (1, 1) and outcomes() == ["created", "duplicate"]


def test_a_message_without_message_id_is_known_by_its_content(runner, tmp_path):
    dated = "Date: Mon, 7 Dec 2026 10:00:00 +0800\r\n"
    raw = message(tmp_path, "冰箱门", headers=dated)
    assert ingest(runner, raw, "--process", "inquiry").startswith("created ")
    assert ingest(runner, raw, "--process", "inquiry").startswith("duplicate: sha256:")
    later = message(tmp_path, "冰箱门", headers="Date: Mon, 7 Dec 2026 11:00:00 +0800\r\n")
    assert ingest(runner, later, "--process", "inquiry").startswith("created ")  # the same text, sent again later
    assert counts()[0] == 2


def test_a_refused_message_may_be_read_again(runner, tmp_path):
    raw = message(tmp_path, "冰箱门", headers="Message-ID: <r.1@mail.example.com>\r\n")
    assert ingest(runner, raw).startswith("refused: ")  # no --process
    assert ingest(runner, raw, "--process", "inquiry").startswith("created ")
    assert outcomes() == ["refused", "created"]


def opened(runner, tmp_path) -> tuple[str, str]:
    """A ticket by mail and the Message-ID of its acknowledgement."""
    raw = message(tmp_path, "冰箱门", headers="Message-ID: <first@mail.example.com>\r\n")
    number = re.match(r"created (ZX\d+)", ingest(runner, raw, "--process", "inquiry")).group(1)
    with database.connection_context():
        ack = EmailMessage.get(EmailMessage.ticket == Ticket.get(Ticket.number == number).id)
    assert ack.message_id.startswith("<") and ack.in_reply_to == "<first@mail.example.com>"
    return number, ack.message_id


def test_in_reply_to_our_message_finds_the_ticket_without_its_number(runner, tmp_path):
    number, ours = opened(runner, tmp_path)
    reply = message(tmp_path, "Re: 谢谢", headers=f"In-Reply-To: {ours}\r\nMessage-ID: <r2@x.example.com>\r\n",
                    body="门还是关不上")
    assert ingest(runner, reply, "--process", "inquiry") == f"appended {number}: the sender is its customer\n"
    deeper = message(tmp_path, "Re: Re: 谢谢", body="照片见附件",
                     headers=f"In-Reply-To: <unknown@x.example.com>\r\nReferences: {ours} <r2@x.example.com>\r\n")
    assert ingest(runner, deeper, "--process", "inquiry").startswith(f"appended {number}")
    assert counts() == (1, 3)


def test_a_stranger_naming_our_message_opens_a_new_ticket(runner, tmp_path):
    number, ours = opened(runner, tmp_path)
    reply = message(tmp_path, "Re: 谢谢", sender="evil@example.net", headers=f"In-Reply-To: {ours}\r\n")
    assert ingest(runner, reply, "--process", "inquiry").endswith(f"quotes {number} from an unknown sender "
                                                                  "<evil@example.net>\n")
    assert counts()[0] == 2


def test_two_workers_reading_one_message_at_once_make_one_ticket(runner, app, tmp_path, monkeypatch):
    """Both pass the "seen before?" check together; the claim's unique index lets one commit."""
    raw = message(tmp_path, "冰箱门", headers="Message-ID: <race@mail.example.com>\r\n").read_bytes()
    barrier, real_seen, lines, calls = threading.Barrier(2, timeout=20), intakelog.seen, [], []

    def seen_together(mid):
        answer = real_seen(mid)
        calls.append(mid)
        if len(calls) <= 2:  # the first look of each worker; the loser looks again after its rollback
            barrier.wait()
        return answer

    monkeypatch.setattr(intakelog, "seen", seen_together)

    def worker():
        with app.app_context(), database.connection_context():
            lines.append(mailin.ingest(raw, "inquiry", cli_gettext("en")))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(line.split(":")[0].split(" ")[0] for line in lines) == ["created", "duplicate"], lines
    assert any("read by another worker at the same time" in line for line in lines), lines
    assert counts() == (1, 1)
    with database.connection_context():
        assert EmailMessage.select().count() == 1  # one acknowledgement
