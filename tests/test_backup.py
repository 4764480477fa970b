"""``backup PATH`` and ``restore PATH --yes`` on both databases: a populated database round-trips exactly."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextlib import closing

import pytest
from conftest import _session_hash
from test_engine import REGISTER

from workflows import demo
from workflows.people import org
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import MODELS, Customer, Ticket, TicketEvent, User
from workflows.tickets import collab, engine


def snapshot() -> dict[str, tuple[int, str]]:
    """Per table: its row count and a digest of every row in primary-key order."""
    state = {}
    with database.connection_context():
        for model in MODELS:
            rows = list(model.select().order_by(model._meta.primary_key).tuples())
            state[model._meta.table_name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


@pytest.fixture
def populated(app, monkeypatch):
    """The demo, two tickets moved through the engine, a note with a mention and a CC."""
    monkeypatch.setattr(org, "generate_password_hash", _session_hash)  # demo.seed hashes ten passwords
    with app.app_context(), database.connection_context():
        demo.seed()
        agent = User.get(User.username == "agent")
        for order in ("TH-1", "TH-2"):
            ticket = engine.create(agent, "return_goods", {**REGISTER, "order_no": order},
                                   customer={"name": "王先生", "phone": "13800138000"})
        approver = Ticket.get(Ticket.number == ticket.number).assignee
        engine.act(approver, ticket.number, "advance", version=1, data={"approval": "approve"},
                   transition="warehouse")
        collab.add_note(agent, ticket.number, "请 @wh1 尽快收货")
        collab.add_cc(agent, ticket.number, "fin1")
    return app


def spoil() -> None:
    """Change and delete data the way a bad day would."""
    with database.connection_context(), database.atomic():
        TicketEvent.delete().where(TicketEvent.action == "note").execute()
        Ticket.update(step="finance", data={}).execute()
        User.update(name="改掉了").where(User.username == "agent").execute()
        Customer.create(name="new", phone="13900000000")


def invoke(runner, *args: str):
    return runner.invoke(args=[*args, "--lang", "en"])


def test_a_populated_database_round_trips(populated, runner, tmp_path):
    before = snapshot()
    assert before["ticket"][0] == 2 and before["ticket_event"][0] >= 4 and before["ticket_cc"][0] >= 2
    result = invoke(runner, "backup", str(tmp_path / "lz.backup"))
    assert result.exit_code == 0, result.output
    assert "backup written to" in result.output and (tmp_path / "lz.backup").stat().st_size > 0
    spoil()
    assert snapshot() != before
    result = invoke(runner, "restore", str(tmp_path / "lz.backup"), "--yes")
    assert result.exit_code == 0, result.output
    assert "database restored from" in result.output
    assert snapshot() == before


def test_the_restored_database_keeps_working(populated, runner, tmp_path):
    """Sequences and counters come back too: the next ticket gets a new id and the next number."""
    path = str(tmp_path / "odd #1?%20 name.backup")  # read back through a file: URI, so it must be quoted
    assert invoke(runner, "backup", path).exit_code == 0
    spoil()
    assert invoke(runner, "restore", path, "--yes").exit_code == 0
    with populated.app_context(), database.connection_context():
        ticket = engine.create(User.get(User.username == "agent"), "return_goods", dict(REGISTER))
        assert ticket.number.endswith("0003") and Ticket.select().count() == 3
        assert docs.get_version("return_goods").number == 1


def test_restore_without_yes_is_refused_and_changes_nothing(populated, runner, tmp_path):
    assert invoke(runner, "backup", str(tmp_path / "lz.backup")).exit_code == 0
    spoil()
    spoiled = snapshot()
    result = invoke(runner, "restore", str(tmp_path / "lz.backup"))
    assert result.exit_code == 1
    assert "run it again with --yes" in result.output
    assert snapshot() == spoiled


def write_other_kind(path, db_url: str) -> str:
    """A backup of the other database kind than ``db_url``'s; returns that kind's name."""
    if db_url.startswith("sqlite"):
        path.write_bytes(b"PGDMP\x01\x0f\x00" + b"\x00" * 64)
        return "PostgreSQL"
    sqlite3.connect(path).execute("CREATE TABLE schema_migration (name TEXT)").connection.close()
    return "SQLite"


def test_a_backup_of_the_other_kind_is_refused(populated, runner, tmp_path, db_url):
    before = snapshot()
    kind = write_other_kind(tmp_path / "other.backup", db_url)
    this = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    result = invoke(runner, "restore", str(tmp_path / "other.backup"), "--yes")
    assert result.exit_code == 1
    assert f"other.backup is a {kind} backup, but this database is {this}" in result.output
    assert snapshot() == before


@pytest.mark.parametrize("content", [b"", b"{\"format\": 1}", b"SQLite format 2\x00"])
def test_a_file_that_is_no_backup_is_refused(populated, runner, tmp_path, content):
    before = snapshot()
    (tmp_path / "junk").write_bytes(content)
    result = invoke(runner, "restore", str(tmp_path / "junk"), "--yes")
    assert result.exit_code == 1
    assert "junk is not a backup (neither a SQLite file nor a pg_dump custom archive)" in result.output
    assert snapshot() == before


def test_a_backup_into_a_missing_directory_is_refused(runner, tmp_path):
    result = invoke(runner, "backup", str(tmp_path / "nowhere" / "lz.backup"))
    assert result.exit_code == 1 and "no such directory for" in result.output
    assert not (tmp_path / "nowhere").exists()


def test_a_missing_file_is_refused_with_its_path(runner, tmp_path):
    result = invoke(runner, "restore", str(tmp_path / "nope.backup"), "--yes")
    assert result.exit_code == 1 and "cannot read" in result.output and "nope.backup" in result.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sqlite_file_of_another_application_is_refused(populated, runner, tmp_path):
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    result = invoke(runner, "restore", str(tmp_path / "other.db"), "--yes")
    assert result.exit_code == 1
    assert "is not a Liuzhuan database (no schema_migration table)" in result.output


def write_customers(stop: threading.Event, written: list) -> None:
    """Insert customers one transaction at a time until told to stop."""
    with database.connection_context():
        while not stop.is_set():
            with database.atomic():
                Customer.create(name=f"c{len(written)}", phone=None)
            written.append(1)


def test_a_backup_taken_while_another_connection_writes_is_consistent(populated, runner, tmp_path, db_url):
    with database.connection_context():
        start = Customer.select().count()
    stop, written = threading.Event(), []
    writer = threading.Thread(target=write_customers, args=(stop, written))
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        result = invoke(runner, "backup", str(tmp_path / "online.backup"))
        while len(written) < 40:
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join(30)
    assert result.exit_code == 0, result.output
    if db_url.startswith("sqlite"):
        with closing(sqlite3.connect(tmp_path / "online.backup")) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert invoke(runner, "restore", str(tmp_path / "online.backup"), "--yes").exit_code == 0
    with database.connection_context():
        assert start + 20 <= Customer.select().count() < start + len(written)


def test_uploads_go_alongside_the_database(populated, runner, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir(exist_ok=True)
    (uploads / "a1b2c3").write_bytes(b"photo bytes")
    result = invoke(runner, "backup", str(tmp_path / "lz.backup"), "--uploads")
    assert result.exit_code == 0 and "lz.backup.uploads.tar.gz" in result.output
    (uploads / "a1b2c3").unlink()
    result = invoke(runner, "restore", str(tmp_path / "lz.backup"), "--yes", "--uploads")
    assert result.exit_code == 0, result.output
    assert (uploads / "a1b2c3").read_bytes() == b"photo bytes"
