"""The host-kill load: accepted actions through the balancer, one host SIGKILLed mid-load, nothing lost.

Each client thread repeats, through HAProxy's front address and the REST API with bearer tokens:
create a return-goods ticket as ``agent`` (its ``order_no`` unique to the run), then advance it at
the approve step as whoever it was assigned to. Every 2xx answer goes into a ledger; afterwards
``lost()`` reads the database and names every acknowledged create or advance it does not hold.
A request in flight on the killed host may fail (502 or a reset): it was never acknowledged.
Used by ``tests/test_hosts.py`` (short) and ``python -m bench.hosts --seconds N`` (full).
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.seeding import migrated, phone_of
from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import Ticket, User

DATA = {"source": "phone", "category": "fr", "model": "fr-200", "purchase_date": "2026-11-01", "defect": "门把手断裂"}


@dataclass
class Ledger:
    """What the clients were told: acknowledged creates and advances, failures, latencies by kind."""

    created: dict[str, str] = field(default_factory=dict)  # ticket number -> order_no
    advanced: dict[str, int] = field(default_factory=dict)  # ticket number -> version acknowledged
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (sent at, kind, what)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"create": [], "advance": []})
    done: list[float] = field(default_factory=list)  # when each acknowledged request was sent
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, sent: float, took: float) -> None:
        with self.lock:
            self.latencies[kind].append(took)
            self.done.append(sent)

    def failed(self, kind: str, sent: float, what: str) -> None:
        with self.lock:
            self.failures.append((sent, kind, what))


def tokens() -> dict[str, str]:
    """A bearer token for every active user of the demo (the assignee of a new ticket varies)."""
    with lzdb.database.connection_context():
        return {user.username: org.issue_token(user, "hosts") for user in User.select() if user.active}


def call(front: str, method: str, path: str, token: str, payload: dict) -> tuple[int, dict]:
    """One request on a new connection (gunicorn's sync workers close theirs anyway)."""
    parts = urlsplit(front)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.request(method, path, body=json.dumps(payload).encode(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read()
        return response.status, json.loads(text) if text.startswith(b"{") else {}
    finally:
        conn.close()


def attempt(ledger: Ledger, kind: str, front: str, path: str, token: str, payload: dict) -> dict | None:
    """One request; its answer if 2xx (then recorded as acknowledged), else None (recorded as a failure)."""
    sent = time.monotonic()
    try:
        status, answer = call(front, "POST", path, token, payload)
    except (OSError, http.client.HTTPException) as error:
        ledger.failed(kind, sent, type(error).__name__)
        return None
    if not 200 <= status < 300:
        ledger.failed(kind, sent, f"HTTP {status}")
        return None
    ledger.ok(kind, sent, time.monotonic() - sent)
    return answer


def client(front: str, keys: dict[str, str], tag: str, ledger: Ledger, stop: threading.Event) -> None:
    """Create and advance tickets until ``stop``; record each acknowledgement the moment it arrives."""
    sequence = 0
    while not stop.is_set():
        sequence += 1
        order_no = f"{tag}-{sequence}"
        body = {"process": "return_goods", "data": {**DATA, "order_no": order_no},
                "customer": {"name": "张三", "phone": phone_of(sequence % 50 + 1)}}
        ticket = attempt(ledger, "create", front, "/api/v1/tickets", keys["agent"], body)
        if ticket is None:
            continue
        with ledger.lock:
            ledger.created[ticket["number"]] = order_no
        act = {"action": "advance", "version": ticket["version"], "data": {"approval": "approve"}}
        done = attempt(ledger, "advance", front, f"/api/v1/tickets/{ticket['number']}/actions",
                       keys[ticket["assignee"]], act)
        if done is not None:
            with ledger.lock:
                ledger.advanced[ticket["number"]] = done["version"]


def lost(ledger: Ledger) -> list[str]:
    """Every acknowledged create the database lacks (or holds with another order_no), every advance it lacks."""
    with lzdb.database.connection_context():
        rows = {t.number: t for t in Ticket.select().where(Ticket.number.in_(list(ledger.created) or [""]))}
    missing = [f"create {n} ({o}) missing" for n, o in ledger.created.items()
               if n not in rows or rows[n].data.get("order_no") != o]
    missing += [f"advance {n} to v{v} missing" for n, v in ledger.advanced.items()
                if n not in rows or rows[n].version < v]
    return missing


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else (values[0] if values else 0.0)


@dataclass
class Result:
    """One load with a kill: the ledger, when the host died, and what the database lacks."""

    ledger: Ledger
    killed_at: float
    missing: list[str]
    span: tuple[float, float] = (0.0, 0.0)  # when the load began and ended (monotonic)
    grace: float = 3.0  # seconds after the kill in which a failure is a request caught in flight

    def late_failures(self) -> list[tuple[float, str, str]]:
        return [f for f in self.ledger.failures if f[0] > self.killed_at + self.grace]

    def after_kill(self) -> int:
        return sum(sent > self.killed_at for sent in self.ledger.done)

    def ok(self) -> bool:
        return not self.missing and not self.late_failures() and self.after_kill() > 0

    def rates(self) -> tuple[float, float]:
        """Accepted requests per second on two hosts (before the kill) and on one (after)."""
        before, after = self.killed_at - self.span[0], self.span[1] - self.killed_at
        done = len(self.ledger.done)
        return (done - self.after_kill()) / max(before, 1e-9), self.after_kill() / max(after, 1e-9)

    def report(self) -> str:
        lines = [f"accepted: {len(self.ledger.done)} ({self.after_kill()} sent after the kill), "
                 f"failed: {len(self.ledger.failures)} ({len(self.late_failures())} later than "
                 f"{self.grace:.0f} s after the kill), lost: {len(self.missing)}",
                 "accepted per second: {:.1f} on two hosts, {:.1f} on one".format(*self.rates())]
        for kind, values in self.ledger.latencies.items():
            lines.append(f"{kind}: {len(values)} accepted, p50 {statistics.median(values or [0]) * 1000:.0f} ms, "
                         f"p95 {p95(values) * 1000:.0f} ms")
        lines += [f"failure: {kind} {what} at kill{sent - self.killed_at:+.2f} s"
                  for sent, kind, what in self.ledger.failures[:10]]
        return "\n".join(lines + self.missing[:10])


def load_with_kill(site, keys: dict[str, str], before: float, after: float, threads: int) -> Result:
    """``threads`` clients for ``before`` seconds, SIGKILL host1, ``after`` more seconds; then the check."""
    ledger, stop = Ledger(), threading.Event()
    workers = [threading.Thread(target=client, args=(site.front, keys, f"HK{i}", ledger, stop), daemon=True)
               for i in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    time.sleep(before)
    killed_at = time.monotonic()
    site.hosts[0].kill()
    time.sleep(after)
    stop.set()
    for worker in workers:
        worker.join(30)
    return Result(ledger, killed_at, lost(ledger), (began, time.monotonic()))


def full_run(seconds: float, threads: int) -> Result:
    """``python -m bench.hosts``: a fresh database, two hosts, load for ``seconds`` with a kill at a third."""
    from bench.hosts import two_hosts
    drops: list = []
    try:
        url = migrated("postgresql", drops)
        keys = tokens()
        with tempfile.TemporaryDirectory(prefix="lz_hosts_uploads_") as uploads, two_hosts(url, uploads) as site:
            print(f"front {site.front}, hosts {[h.address for h in site.hosts]}, workdir {site.workdir}", flush=True)
            result = load_with_kill(site, keys, seconds / 3, seconds * 2 / 3, threads)
            print(f"after the kill HAProxy says {site.states()}", flush=True)
            return result
    finally:
        for drop in drops:
            drop()
