"""The demo's sample tickets (workflows/demo/tickets.py, docs/demo.md): every state, work for every demo user,
idempotent, ``flask demo --no-tickets`` empty, and quick; on both databases."""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from conftest import _session_hash

import app as app_module
from workflows import demo
from workflows.demo import samples
from workflows.demo import tickets as demo_tickets
from workflows.people import org
from workflows.reporting import queries
from workflows.storage import uploads
from workflows.storage.db import database
from workflows.storage.models import (
    Attachment,
    Customer,
    Notification,
    Rating,
    Signature,
    Ticket,
    TicketCC,
    TicketEvent,
    User,
    utcnow,
)

STEPS = {"return_goods": {"register", "approve", "warehouse", "finance"},
         "repair": {"register", "visit", "warehouse", "settle"},
         "it_change": {"apply", "review", "cab", "implement", "verify"}}


@pytest.fixture
def seeded_demo(app, users, db_url):
    """The demo organisation (``users``), its processes and the sample tickets; the seconds it took."""
    with app.app_context(), database.connection_context():
        demo.seed_documents()
        started, cpu = time.perf_counter(), time.process_time()
        lines = demo_tickets.seed_tickets()
        took = (time.perf_counter() - started, time.process_time() - cpu)
    print(f"\nsample tickets seeded in {took[0]:.2f} s ({took[1]:.2f} s CPU) on {db_url.split(':')[0]}")
    yield {"lines": lines, "seconds": took}


def process_of(ticket: Ticket) -> str:
    return ticket.process_version.process.code


def test_the_fixtures_seed_no_tickets(app, users):
    """``users`` (demo.seed_org) and demo.seed() stay as the other tests know them: no ticket."""
    with app.app_context(), database.connection_context():
        demo.seed()
        assert Ticket.select().count() == 0


def test_every_state_is_seeded(app, seeded_demo):
    with app.app_context(), database.connection_context():
        tickets = list(Ticket.select())
        assert len(tickets) == len(samples.SAMPLES) == 41
        assert seeded_demo["lines"] == ["sample tickets: 41 added (docs/demo.md lists them by user)"]
        at = {(process_of(t), t.step) for t in tickets if t.status != "closed"}
        for process, steps in STEPS.items():
            assert {step for code, step in at if code == process} == steps, process  # a ticket at each step
        by_status = {status: sum(t.status == status for t in tickets) for status in ("open", "pending", "closed")}
        assert by_status == {"open": 30, "pending": 2, "closed": 9}
        now = utcnow()
        overdue = [t for t in tickets if t.status == "open" and t.due_at is not None and t.due_at < now]
        assert len(overdue) >= 4 and all(t.overdue_at is not None for t in overdue)  # marked by the SLA sweep
        assert {t.number for t in overdue} >= {t.number for t in tickets if t.overdue_at is not None}
        assert Notification.select().where(Notification.kind == "overdue").count() >= 4
        returned_transferred_countersigned_rated_noted_and_attached()


def actions(name: str) -> set[int]:
    return {tid for (tid,) in TicketEvent.select(TicketEvent.ticket).where(TicketEvent.action == name).tuples()}


def returned_transferred_countersigned_rated_noted_and_attached():
    """The moves besides advancing, the customers' part, and the notes and files (one seeding, several checks)."""
    open_ids = {t.id for t in Ticket.select().where(Ticket.status != "closed")}
    assert len(actions("return") & open_ids) == 5  # returned at a step: agent, warehouse, engineer, finance
    assert len(actions("transfer")) == 2 and len(actions("wait")) == 2 and len(actions("escalate")) >= 1
    review = Ticket.select().where(Ticket.step == "review")
    parts = {t.id: sorted(s.state for s in Signature.select().where(Signature.ticket == t)) for t in review}
    assert sorted(parts.values()) == [["signed", "signed", "waiting"], ["signed", "waiting", "waiting"],
                                      ["waiting", "waiting", "waiting"]]  # half-signed countersigns
    assert sorted(r.score for r in Rating.select()) == [2, 3, 5, 5]
    notes = [e.comment for e in TicketEvent.select().where(TicketEvent.action == "note")]
    assert len(notes) >= 15 and sum("@" in text for text in notes) >= 8
    assert TicketCC.select().count() >= 5  # mentions by whoever may CC
    kinds = {a.mimetype for a in Attachment.select().where(Attachment.ticket.is_null(False))}
    assert kinds == {"image/png", "application/pdf", "text/plain"}
    assert Attachment.select().where(Attachment.ticket.is_null()).count() == 0  # nothing left unlinked
    assert Customer.select().count() == 9


def test_every_user_has_work_the_history_is_dated_and_a_second_run_adds_nothing(app, seeded_demo, client, auth):
    """Each demo login lands on a list with work: assigned, created, CC'd or a part to sign."""
    pages_show_the_work(app, client, auth)
    with app.app_context(), database.connection_context():
        for username, *_ in demo.USERS:
            user = User.get(User.username == username)
            assert queries.ticket_list(user, "mine").tickets, username
        for username in ("agent", "supervisor", "wh1", "wh2", "fin1", "fin2", "eng1", "eng2", "net1", "dba1",
                         "sec1", "cab1", "cab2", "cab3", "ops1", "ops_lead"):
            user = User.get(User.username == username)
            waiting = Signature.select(Signature.ticket).where(Signature.signer == user, Signature.state == "waiting")
            mine = Ticket.select().where((Ticket.assignee == user) | Ticket.id.in_(waiting), Ticket.status == "open")
            assert mine.count() >= 1, username  # something to do today, not only history
        history_in_order()
        a_second_run_adds_nothing()
    wall, cpu = seeded_demo["seconds"]  # measured: see docs/demo.md; generous for a busy machine
    assert cpu < 10, seeded_demo["seconds"]


def pages_show_the_work(app, client, auth):
    """The workspace of a few logins lists their tickets, and each of those ticket pages opens."""
    for username in ("agent", "supervisor", "wh1", "fin2", "eng1", "net1", "cab1", "ops1", "ops_lead"):
        with app.app_context(), database.connection_context():
            numbers = [t.number for t in queries.ticket_list(User.get(User.username == username), "mine").tickets]
        assert auth.login(username).status_code == 302
        home = client.get("/").get_data(as_text=True)
        assert numbers[0] in home, username
        for number in numbers[:6]:
            assert client.get(f"/tickets/{number}").status_code == 200, (username, number)
        auth.logout()


def history_in_order():
    """The history spans the last days (back-dated by the demo's clock), each ticket's rows in order."""
    now = utcnow()
    week = now - timedelta(days=10)
    events = list(TicketEvent.select().order_by(TicketEvent.ticket, TicketEvent.id))
    assert all(week < e.created_at <= now for e in events)
    for first, second in zip(events, events[1:], strict=False):
        if first.ticket_id == second.ticket_id:
            assert first.created_at <= second.created_at, (first.ticket_id, first.action, second.action)
    assert min(t.created_at for t in Ticket.select()) < now - timedelta(days=5)  # a week of work, not a second


def a_second_run_adds_nothing():
    """Idempotent: a database with tickets gets no samples."""
    before = (Ticket.select().count(), TicketEvent.select().count(), Attachment.select().count())
    again = demo.seed(tickets=True)
    assert "sample tickets: none added (the database holds tickets already)" in again
    assert (Ticket.select().count(), TicketEvent.select().count(), Attachment.select().count()) == before


def test_flask_demo_with_and_without_tickets(runner, monkeypatch):
    monkeypatch.setattr(org, "generate_password_hash", _session_hash)
    empty = runner.invoke(args=["demo", "--no-tickets"])
    assert empty.exit_code == 0, empty.output
    assert "sample tickets" not in empty.output and "Demo logins (username, role, password):" in empty.output
    with database.connection_context():
        assert Ticket.select().count() == 0
    full = runner.invoke(args=["demo"])
    assert full.exit_code == 0, full.output
    assert "sample tickets: 41 added (docs/demo.md lists them by user)" in full.output.splitlines()
    again = runner.invoke(args=["demo"])
    assert "created" not in again.output and "41 added" not in again.output
    assert "sample tickets: none added (the database holds tickets already)" in again.output.splitlines()
    with database.connection_context():
        assert Ticket.select().count() == 41


def test_python_app_py_seeds_the_sample_tickets(db_url, db, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setattr(org, "generate_password_hash", _session_hash)
    monkeypatch.setattr(app_module, "_demo_secret", lambda instance: None)
    monkeypatch.setattr(app_module.Flask, "run", lambda self, **options: None)
    app_module.main()
    assert "sample tickets: 41 added (docs/demo.md lists them by user)" in capsys.readouterr().out.splitlines()
    with database.connection_context():
        assert Ticket.select().count() == 41


@pytest.mark.parametrize("local", ["00:05", "09:00", "13:30", "23:55"])
def test_every_sample_happened_before_now_in_order(local):
    """Whatever the hour of seeding, no action is in the future and each sample's actions keep their order."""
    now = datetime.fromisoformat(f"2026-12-07T{local}:00+08:00").astimezone(UTC).replace(tzinfo=None)
    for sample in samples.SAMPLES:
        moments = demo_tickets.timeline(sample, now)
        assert moments == sorted(moments) and moments[-1] < now, sample.key
    assert [key for _, i, _ in demo_tickets.plan(now) for key in [samples.SAMPLES[i].key]][0] == "C07"


def test_the_made_files_are_what_they_say():
    png = demo_tickets.png((1, 2, 3), 4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and zlib.decompress(png[41:-16]).startswith(b"\x00\x01\x02\x03")
    pdf = demo_tickets.pdf("Invoice 1")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF") and b"(Invoice 1) Tj" in pdf
    for name in samples.FILES:
        kinds = uploads.candidates(demo_tickets.upload(name).stream)
        assert kinds and kinds[0].extensions[0] == "." + name.rsplit(".", 1)[1], name
    assert len({s.key for s in samples.SAMPLES}) == 41  # keys name the samples in docs/demo.md
