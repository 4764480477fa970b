"""Benchmark: HTTP throughput of the product under gunicorn, against a bare Flask endpoint (the ceiling).

Per database: a fresh database is migrated and seeded (the demo, a few
thousand tickets, a pool of tickets waiting at the approve step), then
``gunicorn -w 4 'app:create_app()'`` serves it on a free loopback port. A
bounded load generator (K threads, one ``http.client`` connection each, S
seconds per scenario) measures requests/s and p50/p95 latency of:

- ``detail``: ``GET /tickets/NUMBER``, the handler's view with the step form (session login);
- ``list``: ``GET /``, the handler's "my open tickets" page;
- ``advance``: ``POST /api/v1/tickets/NUMBER/actions`` with a bearer token, a fresh pool ticket each time;
- ``ceiling``: ``GET /`` of ``bench.ceiling:app`` under the same gunicorn settings.

gunicorn's sync workers close each connection after the response, so every
request pays a TCP connect, for the product and the ceiling alike.
Run ``python -m bench.http [--quick] [--db sqlite|postgresql|both] [--seconds S] [--connections K]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from bench.results import Figure
from bench.seeding import ROOT, demo_version, migrated, phone_of, seed, staff
from workflows import demo
from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import Ticket, User
from workflows.tickets import engine

WORKERS = 4
DATA = {"order_no": "TH-2026-001", "source": "phone", "category": "fr", "model": "fr-200",
        "purchase_date": "2026-11-01", "defect": "门把手断裂"}
Request = tuple[str, str, dict[str, str], bytes | None]  # method, path, headers, body


@dataclass
class Target:
    """What the scenarios need from the seeded database."""

    url: str
    handler: str
    password: str
    detail: str
    token: str
    pool: Iterator[str]


@dataclass
class Tally:
    """Latencies (seconds) and failures of one scenario, shared by its threads."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _pool(version: int, creator: int, approver: int, count: int, data: dict) -> Iterator[str]:
    """``count`` tickets waiting at the approve step for ``approver``; yields their numbers, each once."""
    rows = [{"number": f"BP{i:010d}", "process_version": version, "step": "approve", "assignee": approver,
             "creator": creator, "data": data, "channel": "phone"} for i in range(count)]
    with lzdb.database.atomic():
        for start in range(0, count, 500):
            Ticket.insert_many(rows[start:start + 500]).execute()
    lock, numbers = threading.Lock(), iter([row["number"] for row in rows])

    def take() -> Iterator[str]:
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            yield number
    return take()


def prepare(kind: str, tickets: int, pool: int, drops: list) -> Target:
    """Migrate, seed and create the detail ticket through the engine; its handler is the user the pages load."""
    url = migrated(kind, drops)
    with lzdb.database.connection_context():
        people = staff()
        version = demo_version()
        seed(tickets, version, people, random.Random(tickets))
        agent, chief = User.get(User.username == "agent"), User.get(User.username == "supervisor2")
        ticket = engine.create(agent, "return_goods", DATA, customer={"name": "张三", "phone": phone_of(1)})
        ticket = engine.act(User.get_by_id(ticket.assignee_id), ticket.number, "advance", version=ticket.version,
                            data={"approval": "approve"})
        handler = ticket.assignee
        password = demo.PASSWORD if any(u[0] == handler.username for u in demo.USERS) else "benchpass1"
        numbers = _pool(version, agent.id, chief.id, pool, engine.load(ticket.number).data)
        token = org.issue_token(chief, "bench")
    lzdb.database.close()
    return Target(url, handler.username, password, ticket.number, token, numbers)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(app: str, env: dict[str, str]) -> tuple[subprocess.Popen, int, str]:
    """gunicorn serving ``app`` on a free loopback port, once it answers; returns it, the port and its log path."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="lz_bench_gunicorn_", suffix=".log", delete=False)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", app], cwd=ROOT, env={**os.environ, **env},
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn {app} exited: see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port, log.name
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit(f"gunicorn {app} did not answer within 60 s: see {log.name}")


def stop(server: subprocess.Popen) -> None:
    """Stop this gunicorn (its master ends its workers) and wait for it."""
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def send(conn: http.client.HTTPConnection, request: Request) -> http.client.HTTPResponse:
    method, path, headers, body = request
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


def login(port: int, username: str, password: str) -> str:
    """The session cookie of a browser login (CSRF token read from the form)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    html = page.read().decode()
    cookie = _cookies(page)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    body = urlencode({"username": username, "password": password, "csrf_token": csrf}).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    answer = send(conn, ("POST", "/login", headers, body))
    conn.close()
    if answer.status != 302:
        raise SystemExit(f"bench login as {username} failed: HTTP {answer.status}")
    return _cookies(answer)


def _cookies(response: http.client.HTTPResponse) -> str:
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


def worker(port: int, make: Callable[[], Request | None], deadline: float, tally: Tally) -> None:
    """Send requests until ``deadline`` (or until ``make`` runs out), recording each latency."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine: list[float] = []
    errors = 0
    while time.perf_counter() < deadline:
        request = make()
        if request is None:
            break
        began = time.perf_counter()
        try:
            ok = send(conn, request).status < 400
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
        mine.append(time.perf_counter() - began)
        errors += not ok
    conn.close()
    with tally.lock:
        tally.latencies += mine
        tally.errors += errors


def load(port: int, make: Callable[[], Request | None], connections: int, seconds: float) -> tuple[float, Tally]:
    """Requests per second over ``connections`` threads for ``seconds``, and what they measured.

    A first, uncounted part (a fifth of ``seconds``, at least half a second) warms every
    worker: its templates, compiled step forms, translations and database connections.
    """
    _measure(port, make, connections, max(seconds / 5, 0.5))
    return _measure(port, make, connections, seconds)


def _measure(port: int, make: Callable[[], Request | None], connections: int,
             seconds: float) -> tuple[float, Tally]:
    tally = Tally()
    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(port, make, began + seconds, tally)) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(tally.latencies) / (time.perf_counter() - began), tally


def scenarios(port: int, target: Target) -> dict[str, Callable[[], Request | None]]:
    """The product's requests: two pages as the logged-in handler, and advances through the API."""
    page = {"Cookie": login(port, target.handler, target.password), "Accept-Language": "zh"}
    api = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    body = json.dumps({"action": "advance", "version": 1, "data": {"approval": "approve"}}).encode()

    def advance() -> Request | None:
        number = next(target.pool, None)
        return None if number is None else ("POST", f"/api/v1/tickets/{number}/actions", api, body)
    return {"detail": lambda: ("GET", f"/tickets/{target.detail}", page, None),
            "list": lambda: ("GET", "/", page, None),
            "advance": advance}


def _figure(kind: str, name: str, rps: float, tally: Tally, ceiling: float | None) -> Figure:
    cuts = statistics.quantiles(tally.latencies, n=20) if len(tally.latencies) > 1 else [0.0] * 19
    share = f" = {rps / ceiling * 100:.1f} % of the ceiling" if ceiling else ""
    value = (f"{rps:.0f} req/s{share}, p50 {cuts[9] * 1000:.1f} ms, p95 {cuts[18] * 1000:.1f} ms, "
             f"{len(tally.latencies)} requests, {tally.errors} errors")
    return Figure("http", kind, f"{name} (share of ceiling)" if ceiling else name, value,
                  rps / ceiling if ceiling else None)


@contextmanager
def served(app: str, env: dict[str, str]) -> Iterator[int]:
    """A gunicorn serving ``app`` for the block; yields its port, then stops it and drops its log."""
    server, port, log = start(app, env)
    try:
        yield port
    finally:
        stop(server)
        os.unlink(log)


def run(kind: str, quick: bool, seconds: float, connections: int) -> list[Figure]:
    """The product's three scenarios on a fresh database of ``kind``, then the ceiling under the same load."""
    drops: list = []
    try:
        target = prepare(kind, 1000 if quick else 5000, 1500 if quick else 10000, drops)
        with served("app:create_app()", {"DATABASE_URL": target.url, "SECRET_KEY": "bench"}) as port:
            measured = {name: load(port, make, connections, seconds) for name, make in scenarios(port, target).items()}
        with served("bench.ceiling:app", {}) as port:
            ceiling, tally = load(port, lambda: ("GET", "/", {}, None), connections, seconds)
        return [_figure(kind, name, rps, found, ceiling) for name, (rps, found) in measured.items()] + [
            _figure(kind, "ceiling (bare Flask)", ceiling, tally, None)]
    finally:
        for drop in drops:
            drop()


def bench(kinds: list[str], quick: bool, seconds: float | None = None, connections: int | None = None) -> list[Figure]:
    figures: list[Figure] = []
    for kind in kinds:
        found = run(kind, quick, seconds or (3 if quick else 15), connections or 8)
        for figure in found:
            print(figure.line(), flush=True)
        figures += found
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, small seed")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--seconds", type=float, help="per scenario (default 3 quick, 15 full)")
    parser.add_argument("--connections", type=int, help="concurrent connections (default 8)")
    args = parser.parse_args(argv)
    bench(["sqlite", "postgresql"] if args.db == "both" else [args.db], args.quick, args.seconds, args.connections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
