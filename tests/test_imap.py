"""IMAP intake on both databases, against a real private Dovecot on 127.0.0.1 (tests/imapserver.py).

Checked: a poll turns each unseen message into a ticket and marks it (\\Seen, or moved); two workers
polling one mailbox at once (threads, and two ``flask --app app mail poll`` processes) create each
ticket once, and a message ingested by a worker that died before marking it adds nothing when read
again; a refused, a crashing and a garbage message do not stop the others and are flagged; a wrong
password is the mailbox's last result and shown in the admin; a disabled or not-yet-due mailbox is not
polled; the worker's round polls (``--no-mail`` does not); the admin form (CSRF, errors at the field,
the password never shown back nor audited).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import imapserver
import pytest
from conftest import PASSWORD
from test_channels import inquiry

from app import create_app
from workflows.intake import imap, mailin
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Mailbox, Ticket, utcnow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server():
    """A private Dovecot on 127.0.0.1 for this test (tests/imapserver.py)."""
    yield from imapserver.running()


@pytest.fixture
def ctx(app, users, seeded):
    """An app context with a connection, the ``inquiry`` process published (channel e-mail opens ZX tickets)."""
    with app.app_context(), database.connection_context():
        docs.save_process(inquiry(), publish=True)
        yield app


def message(subject: str, sender: str = "Wang <wang@example.com>", body: str = "门坏了, please help") -> bytes:
    """A message as a mail program writes it (non-ASCII headers RFC 2047-encoded, body quoted-printable)."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "service@example.com", subject
    mail["Message-ID"] = f"<{subject.encode().hex()[:60] or 'x'}.{os.getpid()}@example.com>"
    mail["Date"] = "Mon, 07 Dec 2026 03:00:00 +0800"
    mail.set_content(body)
    return mail.as_bytes(policy=SMTP)


def mailbox(server, **changes) -> Mailbox:
    values = {"name": "service", "host": server.host, "port": server.port, "security": "none",
              "username": server.username, "password": server.password, "process": "inquiry"}
    return Mailbox.create(**(values | changes))


def topics() -> list[str]:
    return sorted(t.data.get("topic", "") for t in Ticket.select().where(Ticket.channel == "email"))


def poll(runner, *args):
    return runner.invoke(args=["mail", "poll", "--lang", "en", *args])


def test_polling_creates_tickets_and_marks_the_messages(ctx, server, runner):
    for subject in ("fridge door", "washer noise", "冰箱不制冷"):
        server.append(message(subject))
    box = mailbox(server)
    result = poll(runner)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("service: 3 handled, 0 refused\n") and result.output.count("created ZX") == 3
    assert topics() == sorted(["fridge door", "washer noise", "冰箱不制冷"])
    assert [flags & {"\\Seen", "\\Flagged"} for flags in server.flags()] == [{"\\Seen"}] * 3
    again = poll(runner)
    assert again.output == "service: 0 handled, 0 refused\n" and len(topics()) == 3
    box = Mailbox.get_by_id(box.id)
    assert box.last_ok and box.last_result.startswith("0 handled") and box.locked_by is None
    assert box.last_poll_at is not None and box.next_poll_at > utcnow()


def test_handled_mail_is_moved_when_asked(ctx, server, runner):
    server.create_folder("Done")
    server.append(message("fridge door"))
    mailbox(server, after="move", move_to="Done")
    assert poll(runner).exit_code == 0
    assert server.flags() == [] and [f & {"\\Seen"} for f in server.flags("Done")] == [{"\\Seen"}]
    assert topics() == ["fridge door"]


def _two_threads(app, target) -> dict:
    start, results = threading.Barrier(2), {}

    def work(name: str):
        start.wait()
        with app.app_context(), database.connection_context():  # each thread: its own connection
            results[name] = target(name)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_two_worker_threads_polling_one_mailbox_create_each_ticket_once(ctx, server):
    subjects = [f"question {i}" for i in range(8)]
    for subject in subjects:
        server.append(message(subject))
    mailbox(server)
    results = _two_threads(ctx, lambda name: imap.poll_due(name, due_only=False))
    polls = [p for got in results.values() for p in got]
    assert len(polls) == 1 and polls[0].handled == 8  # the other worker found the mailbox taken
    assert topics() == sorted(subjects)
    assert all("\\Seen" in flags for flags in server.flags())


def test_two_poll_processes_create_each_ticket_once(ctx, server, db_url, tmp_path):
    subjects = [f"question {i}" for i in range(6)]
    for subject in subjects:
        server.append(message(subject))
    mailbox(server)
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret", "UPLOAD_DIR": str(tmp_path / "up")}
    command = [sys.executable, "-m", "flask", "--app", "app", "mail", "poll", "--lang", "en"]
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert topics() == sorted(subjects)
    assert sum(out.count("created ZX") for out, _ in outputs) == 6


def test_a_worker_that_lost_its_lease_stops_and_the_new_holder_goes_on(ctx, server, runner):
    box = mailbox(server)
    now = utcnow()
    assert imap.take(box.id, "w1", now, due_only=False)
    assert not imap.take(box.id, "w2", now, due_only=False)  # held
    assert poll(runner).output == "service: not polled, another worker is polling it\n"
    Mailbox.update(locked_until=now - timedelta(seconds=1)).where(Mailbox.id == box.id).execute()  # w1 hangs
    assert imap.take(box.id, "w2", now, due_only=False)
    assert not imap.renew(box, "w1") and imap.renew(box, "w2")


def test_a_message_read_again_after_a_crash_adds_nothing(ctx, server, runner, monkeypatch):
    """The worker died after the ticket was committed but before \\Seen: the Message-ID claim is the guard."""
    server.append(message("fridge door"))
    box = mailbox(server)
    real_mark = imap.mark

    class Killed(BaseException):
        """Like SIGKILL: nothing after it runs in the worker (not an Exception the intake would catch)."""

    def crash(*args):
        raise Killed()

    monkeypatch.setattr(imap, "mark", crash)
    with pytest.raises(Killed):
        imap.poll_due("w1", due_only=False)
    assert topics() == ["fridge door"] and "\\Seen" not in server.flags()[0]
    monkeypatch.setattr(imap, "mark", real_mark)
    Mailbox.update(locked_by="w1", locked_until=utcnow() - timedelta(seconds=1)).where(Mailbox.id == box.id).execute()
    result = poll(runner)
    assert topics() == ["fridge door"], result.output  # no second ticket
    assert "\\Seen" in server.flags()[0]


def test_broken_messages_do_not_stop_the_others_and_are_flagged(ctx, server, runner, monkeypatch):
    real_ingest = mailin.ingest

    def ingest(raw, process, gettext):
        if b"Subject: boom" in raw:
            raise RuntimeError("a bug in the intake")
        return real_ingest(raw, process, gettext)

    monkeypatch.setattr(mailin, "ingest", ingest)
    server.append(message("first"))
    server.append(message("boom"))
    server.append(message(f"Re: [ZX{'9' * 12}] order", sender="wang@example.com"))  # no such ticket: new one
    server.append(message("", sender="", body=""))  # refused: nothing the process requires
    server.append(b"\x00\xff\xfe garbage \x80\x81 that is no mail at all")
    server.append(message("last"))
    mailbox(server)
    result = poll(runner)
    assert result.exit_code == 1  # something was refused
    assert "refused: service UID 2: cannot read the message: RuntimeError: a bug in the intake" in result.output
    assert {"first", "last"} <= set(topics())
    flags = server.flags()
    assert all("\\Seen" in f for f in flags)  # every message marked: none is read forever
    assert "\\Flagged" in flags[1] and "\\Flagged" not in flags[0] and "\\Flagged" not in flags[5]
    refused = [i for i, line in enumerate(result.output.splitlines()[1:]) if line.strip().startswith("refused")]
    assert {i for i, f in enumerate(flags) if "\\Flagged" in f} == set(refused)


def test_the_real_world_mail_corpus_is_read_and_every_message_marked(ctx, server, runner):
    """Every sample of tests/data/mail (public projects' fixtures, see SOURCE.md there) through IMAP:
    whatever becomes of each, each is handled or refused and marked, none is left to be read again."""
    samples = sorted((ROOT / "tests" / "data" / "mail").glob("*.eml"))
    server.append(*(path.read_bytes() for path in samples))
    mailbox(server)
    handled = refused = rounds = 0
    lines: list[str] = []
    while rounds := rounds + 1:  # at most imap.BATCH messages a poll: the rest wait for the next
        head, *more = poll(runner).output.splitlines()
        counts = tuple(map(int, re.fullmatch(r"service: (\d+) handled, (\d+) refused", head).groups()))
        if counts == (0, 0):
            break
        assert sum(counts) <= imap.BATCH and rounds <= len(samples) // imap.BATCH + 1
        handled, refused, lines = handled + counts[0], refused + counts[1], lines + more
    assert handled + refused == len(samples) == len(lines) and handled > 0, lines
    print("IMAP corpus:", len(samples), "messages,", Counter(line.split()[0].rstrip(":") for line in lines),
          [line for line in lines if line.strip().startswith("refused")])
    flags = server.flags()
    assert len(flags) == len(samples) and all("\\Seen" in f for f in flags)
    assert sum("\\Flagged" in f for f in flags) == refused


def test_a_wrong_password_is_recorded_and_named_in_the_admin(ctx, server, runner, client, auth):
    server.append(message("fridge door"))
    box = mailbox(server, password="wrong-password")
    result = poll(runner)
    assert result.exit_code == 1 and "service: error: MailboxLoginError" in result.output
    box = Mailbox.get_by_id(box.id)
    assert box.last_ok is False and "AUTHENTICATIONFAILED" in box.last_result
    assert "wrong-password" not in box.last_result and box.locked_by is None
    assert topics() == [] and "\\Seen" not in server.flags()[0]
    auth.login("admin")
    page = client.get("/admin/mailboxes/").get_data(as_text=True)
    assert "lz-mailbox-error" in page and "AUTHENTICATIONFAILED" in page and "wrong-password" not in page


def test_a_refused_connection_is_recorded(ctx, server, runner):
    box = mailbox(server, port=_closed_port())
    assert poll(runner).exit_code == 1
    assert "ConnectionRefusedError" in Mailbox.get_by_id(box.id).last_result


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_disabled_or_not_due_mailbox_is_not_polled(ctx, server, runner):
    server.append(message("fridge door"))
    box = mailbox(server, active=False)
    assert imap.poll_due("w1") == [] and poll(runner).output == ""
    assert poll(runner, "--mailbox", "service").output == "service: inactive, not polled\n"
    Mailbox.update(active=True, next_poll_at=utcnow() + timedelta(minutes=1)).where(Mailbox.id == box.id).execute()
    assert imap.poll_due("w1") == []  # the worker waits for the due time
    assert topics() == [] and "\\Seen" not in server.flags()[0] and Mailbox.get_by_id(box.id).last_poll_at is None
    assert poll(runner, "--mailbox", "nosuch").exit_code == 2


def test_the_worker_round_polls_due_mailboxes_unless_no_mail(ctx, server, runner):
    server.append(message("fridge door"))
    mailbox(server)
    quiet = runner.invoke(args=["worker", "--once", "--no-mail"])
    assert quiet.exit_code == 0 and "IMAP" not in quiet.output and topics() == []
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("; IMAP: 1 handled, 0 refused, 0 mailbox(es) failed")
    assert topics() == ["fridge door"]


# -- admin ----------------------------------------------------------------------------------------------

FORM = {"name": "Service", "host": "imap.example.com", "port": "993", "security": "ssl",
        "username": "service@example.com", "password": "s3cret-imap", "folder": "INBOX", "after": "seen",
        "move_to": "", "process_code": "inquiry", "poll_every": "60", "active": "y"}


@pytest.mark.parametrize("path", ["/admin/mailboxes/", "/admin/mailboxes/new"])
def test_admin_mailbox_pages_are_for_admins_only(ctx, client, auth, path):
    assert client.get(path).status_code == 302
    auth.login("agent")
    assert client.get(path).status_code == 403
    assert client.post("/admin/mailboxes/new", data=FORM).status_code == 403
    assert Mailbox.select().count() == 0


def test_admin_creates_and_edits_without_showing_or_auditing_the_password(ctx, client, auth):
    auth.login("admin")
    assert client.post("/admin/mailboxes/new", data=FORM).status_code == 302
    box = Mailbox.get()
    assert (box.password, box.process, box.active, box.port) == ("s3cret-imap", "inquiry", True, 993)
    page = client.get(f"/admin/mailboxes/{box.id}/").get_data(as_text=True)
    assert "s3cret-imap" not in page and 'name="password" type="password" value=""' in page
    kept = client.post(f"/admin/mailboxes/{box.id}/", data={**FORM, "password": "", "active": "", "port": "143"})
    assert kept.status_code == 302
    box = Mailbox.get()
    assert (box.password, box.active, box.port) == ("s3cret-imap", False, 143)
    client.post(f"/admin/mailboxes/{box.id}/", data={**FORM, "password": "n3w-secret"})
    assert Mailbox.get().password == "n3w-secret"
    entries = list(AuditEntry.select().order_by(AuditEntry.id))
    assert [e.action for e in entries] == ["mailbox.create", "mailbox.update", "mailbox.update"]
    assert entries[2].after["password_changed"] and not entries[1].after["password_changed"]
    logged = json.dumps([(e.before, e.after) for e in entries], ensure_ascii=False)
    assert "s3cret-imap" not in logged and "n3w-secret" not in logged
    listing = client.get("/admin/mailboxes/").get_data(as_text=True)
    assert "Service" in listing and "n3w-secret" not in listing


@pytest.mark.parametrize(("field", "value"), [
    ("name", ""), ("host", "imap://imap.example.com"), ("host", "imap.example.com:993"), ("port", "0"),
    ("port", "abc"), ("security", "telnet"), ("security", "none"), ("username", ""), ("password", ""), ("folder", ""),
    ("after", "delete"), ("move_to", ""), ("process_code", "nosuch"), ("poll_every", "1")])
def test_admin_refuses_bad_values_at_their_field(ctx, client, auth, field, value):
    auth.login("admin")
    data = {**FORM, field: value}
    if field == "move_to":
        data["after"] = "move"
    refused = client.post("/admin/mailboxes/new", data=data)
    assert refused.status_code == 422 and f'data-field="{field}"' in refused.get_data(as_text=True)
    assert Mailbox.select().count() == 0 and AuditEntry.select().count() == 0


def test_admin_refuses_a_second_mailbox_of_the_same_name(ctx, client, auth):
    auth.login("admin")
    client.post("/admin/mailboxes/new", data=FORM)
    again = client.post("/admin/mailboxes/new", data=FORM)
    assert again.status_code == 422 and 'data-field="name"' in again.get_data(as_text=True)
    assert Mailbox.select().count() == 1


def _token(html: str) -> str:
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_admin_posts_need_a_csrf_token(users, seeded, db_url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login = _token(client.get("/login").get_data(as_text=True))
    logged_in = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": login})
    assert logged_in.status_code == 302
    page = client.get("/admin/mailboxes/new").get_data(as_text=True)
    refused = client.post("/admin/mailboxes/new", data=FORM)
    assert refused.status_code == 400 and b"CSRF" in refused.data and Mailbox.select().count() == 0
    form = {**FORM, "process_code": "return_goods", "csrf_token": _token(page)}
    assert client.post("/admin/mailboxes/new", data=form).status_code == 302
    assert Mailbox.select().count() == 1


def test_admin_test_connection_says_what_failed(ctx, server, client, auth):
    auth.login("admin")
    good = mailbox(server)
    bad = mailbox(server, name="bad", password="nope")
    ok = client.post(f"/admin/mailboxes/{good.id}/test", follow_redirects=True).get_data(as_text=True)
    failed = client.post(f"/admin/mailboxes/{bad.id}/test", follow_redirects=True).get_data(as_text=True)
    assert "登录和文件夹均正常" in ok or "the login and the folder work" in ok  # the page speaks the browser's language
    assert "AUTHENTICATIONFAILED" in failed and "nope" not in failed
