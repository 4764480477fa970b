"""Load and faults: gunicorn on PostgreSQL (4 workers) and SQLite (2 workers), 50 simulated API users.

Agents create return-goods tickets (and resubmit the ones sent back to them),
handlers list their inbox, open a ticket and advance, reject, close or return
it, all at once for ``LZ_LOAD_SECONDS``. Afterwards: no 5xx, no busy/locked
error reached a user, numbers are unique and every ticket's events are a valid
path through the process matching the answers the clients got. A worker killed
mid-run breaks only its in-flight connections and leaves nothing half-written.

Short mode (the default, what CI runs): 15 s per run. Full mode, 60 s per run:
``LZ_LOAD_SECONDS=60 python -m pytest tests/load -q -s`` (``-s`` prints each
run's request count, statuses and latency percentiles).
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from conftest import empty
from harness import Recorder, Server, run_load
from integrity import problems
from loaddb import people, seed

from formbuilder import cache
from workflows.storage import db as lzdb

SECONDS = float(os.environ.get("LZ_LOAD_SECONDS", "15"))
USERS = 50
EXPECTED = {200, 201, 409}  # 409: another user of the same account acted first (optimistic versions)


@pytest.fixture
def load_setup(request):
    """make(database, users) -> (URL of the session's database, emptied and seeded; the simulated users).

    The session's databases, not new ones: dropping a PostgreSQL database waits for a
    checkpoint (seconds to tens of seconds), emptying it does not. The test process
    stays bound to the database to check it after the run, and empties it afterwards.
    """

    made = []

    def make(kind: str, users: int):
        url = request.getfixturevalue("pg_url" if kind == "postgresql" else "sqlite_url")
        made.append(url)
        return url, people(seed(url), users)

    cache.clear()  # the checks compile this database's steps; another test may have cached its own version 1
    yield make
    cache.clear()
    if made:
        empty(lzdb.database.obj)


def assert_no_server_errors(recorder: Recorder, log: str) -> None:
    """No 5xx, no unexpected 4xx, no busy/locked message in any answer, no traceback in the server log."""
    assert recorder.server_errors() == [], recorder.server_errors()[:5]
    unexpected = [c for c in recorder.calls if c.status is not None and c.status not in EXPECTED]
    assert unexpected == [], unexpected[:5]
    locked = [c for c in recorder.calls if "locked" in c.body.lower() or "busy" in c.body.lower()]
    assert locked == [], locked[:5]
    assert "Traceback" not in log, log[-4000:]


def assert_work_was_done(recorder: Recorder) -> None:
    """The run exercised every kind of move, so the integrity checks had something to check."""
    actions = {action for versions in recorder.confirmed.values() for action, _ in versions.values()}
    assert actions >= {"create", "advance", "return", "close"}, actions
    assert len(recorder.confirmed) >= 20, recorder.summary()


def assert_consistent(recorder: Recorder) -> None:
    with lzdb.database.connection_context():
        found = problems(recorder)
    assert found == [], found[:20]


@pytest.mark.parametrize(("database", "workers"), [("postgresql", 4), ("sqlite", 2)])
def test_fifty_users_leave_no_5xx_and_a_consistent_history(load_setup, tmp_path, database, workers):
    url, users = load_setup(database, USERS)
    with Server(url, workers, tmp_path / "gunicorn.log", tmp_path / "uploads") as server:
        recorder = run_load(server.port, users, SECONDS)
        log = server.log_text()
    print(f"\n{database}, {workers} workers, {USERS} users, {SECONDS:.0f} s: {recorder.summary()}")
    assert recorder.broken() == [], "connections broke with no fault injected"
    assert_no_server_errors(recorder, log)
    assert_work_was_done(recorder)
    assert_consistent(recorder)


def _wait_for_workers(server: Server, count: int, gone: int, within: float = 30.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pids = server.worker_pids()
        if len(pids) == count and gone not in pids:
            return pids
        time.sleep(0.2)
    return server.worker_pids()


@pytest.mark.parametrize(("database", "workers"), [("postgresql", 4), ("sqlite", 2)])
def test_a_worker_killed_mid_run_fails_cleanly_and_writes_nothing_half(load_setup, tmp_path, database, workers):
    url, users = load_setup(database, USERS)
    seconds = SECONDS * 2 / 3
    with Server(url, workers, tmp_path / "gunicorn.log", tmp_path / "uploads") as server:
        victim = server.worker_pids()[0]
        killer = threading.Timer(seconds / 2, server.kill_worker, args=(victim,))
        recorder = run_load(server.port, users, seconds, during=killer.start)
        workers_after = _wait_for_workers(server, workers, victim)
        log = server.log_text()
    print(f"\n{database}, worker {victim} killed: {recorder.summary()}")
    assert victim not in workers_after and len(workers_after) == workers, (victim, workers_after)
    assert f"Worker (pid:{victim}) was sent SIGKILL" in log, log[-4000:]
    # A sync worker serves one connection at a time: at most that one breaks, the queued ones are served.
    assert len(recorder.broken()) <= 1, recorder.broken()
    assert_no_server_errors(recorder, log)
    assert_work_was_done(recorder)
    assert_consistent(recorder)
