"""Benchmark: what 500 idle users with a page open cost the server (live updates, docs/live.md).

Per database: a fresh database with the demo, a few thousand tickets and 500
handlers (each with a few open tickets) is served by ``gunicorn -w 2`` (sync
workers, as docs/deploy.md deploys it). 500 simulated users, one session each,
have the workspace open: each polls ``GET /live?inbox=1&list=`` as
static/js/live.js does, with the ETag of its last answer, at a fixed interval,
first and uncounted once (the page load's baseline). Nothing changes meanwhile:
idle users, so the answers are 304s. Two intervals: 15 s (``LIVE_POLL_MS``, every
user just arrived: the upper bound) and 60 s (``LIVE_POLL_MAX_MS``, where the
script's backoff settles). Measured: requests per minute, the CPU seconds of
gunicorn (master and workers) and, on PostgreSQL, of its backends, as a share of
the machine's CPUs and per user; poll latency; a worker's resident memory, which
is what a held server-sent-events stream would cost per user on sync workers.

Run ``python -m bench.live [--quick] [--db sqlite|postgresql|both] [--users N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import results
from bench.http import free_port, stop
from bench.results import Figure
from bench.seeding import ROOT, demo_version, migrated, seed, staff
from workflows.storage import db as lzdb
from workflows.storage.models import Department, User

results.PARTS.setdefault("live", "Live updates: 500 idle users polling GET /live with ETags, gunicorn 2 sync "
                                 "workers (requests per minute, CPU share of the server)")
WORKERS = 2
USERS = 500
INTERVALS = (15.0, 60.0)  # web/live.py POLL_MS and POLL_MAX_MS, in seconds
QUICK_INTERVALS = (10.0,)
TICK = os.sysconf("SC_CLK_TCK")
POLL = "/live?inbox=1&list="


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


def prepare(kind: str, users: int, tickets: int, drops: list) -> tuple[str, list[int]]:
    """A fresh database with ``users`` handlers in the warehouse among the seeded tickets' assignees."""
    url = migrated(kind, drops)
    with lzdb.database.connection_context():
        people = staff()
        template = User.get(User.username == "bench00").password_hash
        warehouse = Department.get(Department.code == "warehouse").id
        User.insert_many([{"username": f"live{i:04d}", "name": f"处理人{i:04d}", "password_hash": template,
                           "role": "handler", "department": warehouse} for i in range(users)]).execute()
        ids = [i for (i,) in User.select(User.id).where(User.username.startswith("live")).order_by(User.id).tuples()]
        seed(tickets, demo_version(), {**people, "handlers": ids}, random.Random(users))
    lzdb.database.close()
    return url, ids


def cookies(url: str, ids: list[int]) -> list[str]:
    """A signed session cookie per user, as a login would leave (the demo's password hashing would take minutes)."""
    from app import create_app
    from web.auth import SESSION_VERSION

    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url})
    signer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    return [f"{name}={signer.dumps({'_user_id': str(i), '_fresh': False, SESSION_VERSION: 0})}" for i in ids]


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of ``pids`` (those still alive)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / TICK


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def backends(database: str) -> list[int]:
    """PostgreSQL's backend processes serving ``database`` (their command line names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if line.startswith("postgres:") and f" {database} " in line:
                found.append(int(entry.name))
    return found


def rss_mib(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def once(port: int, cookie: str, etag: str | None, tally: Tally | None) -> str | None:
    """One poll (a new connection: sync workers close each); returns the ETag to send next."""
    headers = {"Cookie": cookie, "Accept": "application/json", **({"If-None-Match": etag} if etag else {})}
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", POLL, headers=headers)
        response = conn.getresponse()
        response.read()
        status, etag = response.status, response.headers.get("ETag") or etag
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        conn.close()
    if tally is not None:
        tally.add(time.perf_counter() - began, status)
    return etag


def user(port: int, cookie: str, etag: str, interval: float, start: float, end: float, tally: Tally) -> None:
    """One idle user: a poll every ``interval`` from a random phase, until ``end``."""
    due = start + random.uniform(0, interval)
    while due < end:
        time.sleep(max(0.0, due - time.perf_counter()))
        etag = once(port, cookie, etag, tally) or etag
        due += interval


def baseline(port: int, jar: list[str]) -> list[str]:
    """Each user's page load: the first, uncounted poll (200 and its ETag); warms both workers too."""
    etags: list[str | None] = [None] * len(jar)

    def load(part: range) -> None:
        for i in part:
            etags[i] = once(port, jar[i], None, None)
    threads = [threading.Thread(target=load, args=(range(k, len(jar), 8),)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if None in etags:
        raise SystemExit("live bench: a first poll failed (no ETag): is the session cookie accepted?")
    return etags


def measure(port: int, jar: list[str], etags: list[str], interval: float, seconds: float,
            pids: list[int]) -> tuple[Tally, float, list[float]]:
    """All users polling for ``seconds``; the tally, the wall time and the CPU seconds of each process group."""
    tally = Tally()
    threading.stack_size(256 * 1024)
    start = time.perf_counter()
    threads = [threading.Thread(target=user, args=(port, jar[i], etags[i], interval, start, start + seconds, tally),
                                daemon=True) for i in range(len(jar))]
    before = [cpu_seconds(group) for group in pids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return tally, wall, [cpu_seconds(group) - b for group, b in zip(pids, before, strict=True)]


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """``gunicorn -w 2 'app:create_app()'`` on a free loopback port for the block; yields its pid and port."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="lz_bench_live_", suffix=".log", delete=False)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "app:create_app()"], cwd=ROOT, env={**os.environ, **env},
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while len(children(server.pid)) < WORKERS or not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start: see {log.name}")
            time.sleep(0.2)
        yield server.pid, port
    finally:
        stop(server)
    os.unlink(log.name)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def figures(kind: str, interval: float, seconds: float, tally: Tally, wall: float, cpu: list[float],
            users: int) -> list[Figure]:
    """Requests per minute the users make and the server's CPU share (of all the machine's CPUs) at one interval.

    The users poll on their schedule whatever the server does, so the rate is their polls over the window;
    on a busy machine the last answers may come after it (``wall``), and the CPU share is over that time.
    """
    cpus = os.cpu_count() or 1
    per_minute = len(tally.latencies) / seconds * 60
    cuts = statistics.quantiles(tally.latencies, n=20) if len(tally.latencies) > 1 else [0.0] * 19
    statuses = ", ".join(f"{count} x {status or 'error'}" for status, count in sorted(tally.statuses.items()))
    server = sum(cpu)
    share = server / (wall * cpus)
    parts = f"gunicorn {cpu[0]:.2f} s" + (f" + PostgreSQL {cpu[1]:.2f} s" if len(cpu) > 1 else "")
    late = f", the last answered {wall - seconds:.0f} s after the window" if wall > seconds + 1 else ""
    value = (f"{per_minute:,.0f} req/min ({statuses}{late}); server CPU {server:.2f} s in {wall:.0f} s ({parts}) = "
             f"{share * 100:.2f} % of {cpus} CPUs, {server / max(len(tally.latencies), 1) * 1000:.2f} ms a poll, "
             f"{server / wall * 60 / users * 1000:.1f} CPU ms per user-minute; p50 {cuts[9] * 1000:.1f} ms, "
             f"p95 {cuts[18] * 1000:.1f} ms")
    return [Figure("live", kind, f"{users} idle users, poll every {interval:g} s", value, share)]


def run(kind: str, users: int, intervals: tuple[float, ...], seconds: float, tickets: int) -> list[Figure]:
    """Seed, serve with two workers, load every user's page once, then each interval in turn."""
    drops: list = []
    try:
        url, ids = prepare(kind, users, tickets, drops)
        jar = cookies(url, ids)
        found: list[Figure] = []
        with gunicorn({"DATABASE_URL": url, "SECRET_KEY": "bench"}) as (pid, port):
            etags = baseline(port, jar)
            workers = children(pid)
            groups = [[pid, *workers]] + ([backends(url.rsplit("/", 1)[1])] if kind == "postgresql" else [])
            for interval in intervals:
                tally, wall, cpu = measure(port, jar, etags, interval, seconds, groups)
                found += figures(kind, interval, seconds, tally, wall, cpu, users)
            memory = sum(rss_mib(w) for w in workers) / len(workers)
        found.append(Figure("live", kind, "server-sent events on sync workers",
                            f"one worker held per open page: {memory:.0f} MiB resident each (measured), "
                            f"{users} users = {users} workers = {memory * users / 1024:.1f} GiB"))
        return found
    finally:
        for drop in drops:
            drop()


def bench(kinds: list[str], quick: bool, users: int | None = None, seconds: float | None = None) -> list[Figure]:
    found: list[Figure] = []
    for kind in kinds:
        part = run(kind, users or USERS, QUICK_INTERVALS if quick else INTERVALS, seconds or (5 if quick else 60),
                   1000 if quick else 5000)
        for figure in part:
            print(figure.line(), flush=True)
        found += part
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: one 10 s interval for 5 s")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--users", type=int, help=f"idle users (default {USERS})")
    parser.add_argument("--seconds", type=float, help="per interval (default 60; quick 5)")
    args = parser.parse_args(argv)
    bench(["sqlite", "postgresql"] if args.db == "both" else [args.db], args.quick, args.users, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
