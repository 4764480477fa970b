"""A call-center day (issue 24): 1,000 staff on two hosts behind HAProxy, 30,000 tickets in a compressed day.

A fresh PostgreSQL database with the demo, the staff (by default 1,000: 5 % supervisors in the service,
warehouse and finance departments, 35 % handlers in warehouse and finance, the rest agents in service)
and a history of 10,000 tickets (``bench.seeding.seed``: customers, closed history, an open backlog),
served by ``bench.hosts.two_hosts`` (two network-namespace hosts, ``gunicorn -w 2`` and ``flask worker
--sla`` each, HAProxy in front). ``bench.callmix`` plays the day through the balancer, open loop: calls
arrive at planned times (Poisson) over the first 80 % of ``--minutes``; each goes through the call page
(screen-pop with the caller panel, duplicates, sometimes a workspace search) into a ticket that its
approver, the warehouse and finance then work (their list, the ticket page, the step's result through the
API) after compressed think times, to the end for 82 % of tickets (5 % rejected, the rest left at warehouse
or finance); supervisors now and then open their team list, tag up to 20 tickets at once or open the
reports; every one of the staff is logged in and polls ``GET /live`` as static/js/live.js does.

Measured: per kind of request count, errors, p50, p95, max; CPU seconds of each host's process tree
(gunicorn master and workers, background worker), of the database's PostgreSQL backends and of HAProxy,
sampled from /proc every second; from them the CPU per request, what one 2-core host carries at 70 %
CPU and how many hosts a 1,000-seat center needs in its real day's peak hour.

The whole machine has 2 CPUs shared by the client, both hosts, HAProxy and PostgreSQL. A ticket's
requests cost about 0.34 CPU seconds in all (hosts 0.20, PostgreSQL 0.07, HAProxy and client the rest;
measured 2026-12-07), 1,000 pages polling about 0.24 cores, so 30,000 tickets in the default 180 minutes
(arrivals in 144) keep the machine about half busy when nothing else runs on it (docs/performance.md has
the p95 of each kind measured at that rate and at half of it); a machine shared with other work shows its
waits in the tail. ``--quick``: 100 users, 150 tickets in 35 s (tests/test_callday.py). Needs root.

Run ``python -m bench.callday [--tickets 30000] [--users 1000] [--minutes 180] [--history 10000] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import results
from bench.callmix import KINDS, Day, Person, Plan, Staff, Tally
from bench.live import TICK, backends, children, cookies
from bench.results import Figure
from bench.seeding import customer_count, demo_version, migrated, seed
from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import Department, Tag, Ticket, User

results.PARTS.setdefault("callday", "Call-center day: 1,000 staff, 30,000 tickets on two 2-worker hosts behind "
                                    "HAProxy, PostgreSQL (p95 per request kind / 300 ms; errors)")
BUDGET = 0.300  # seconds: the p95 every page and API kind must keep
HOST_CORES, HOST_BUSY = 2, 0.70
SECRET = "bench"  # bench.live.cookies signs with it; the hosts listen on this machine's loopback only
PASSWORD = "benchpass1"


@dataclass
class Options:
    """The day's size: tickets played, staff, the compressed day's length, the history seeded before it."""

    tickets: int = 30000
    users: int = 1000
    minutes: float = 180.0
    history: int = 10000
    seed: int = 24


def make_staff(users: int) -> dict[str, list[int]]:
    """``users`` staff: supervisors, warehouse and finance handlers and agents, one password hash copied."""
    first = org.create_user("cd0000", PASSWORD, "agent", "service")
    department = {d.code: d.id for d in Department.select()}
    chiefs, handlers = max(3, users // 20), max(2, users * 35 // 100)
    rows = []
    for i in range(1, users):
        role, where = (("supervisor", ("service", "warehouse", "finance")[i % 3]) if i <= chiefs else
                       ("handler", ("warehouse", "finance")[i % 2]) if i <= chiefs + handlers else
                       ("agent", "service"))
        rows.append({"username": f"cd{i:04d}", "name": f"员工{i:04d}", "password_hash": first.password_hash,
                     "role": role, "department": department[where]})
    User.insert_many(rows).execute()
    mine = list(User.select(User.id, User.role).where(User.username.startswith("cd")).tuples())
    return {"agents": [u for u, r in mine if r == "agent"], "handlers": [u for u, r in mine if r != "agent"],
            "all": [u for u, _ in mine]}


def prepare(options: Options, drops: list) -> tuple[str, dict[str, list[int]]]:
    """The fresh database: the demo, the staff, the history, the tag supervisors put on in bulk."""
    url = migrated("postgresql", drops)
    with lzdb.database.connection_context():
        people = make_staff(options.users)
        seed(options.history, demo_version(), people, random.Random(options.seed))
        Tag.create(name="回访", color="#0d6efd")
    return url, people


def clients(url: str, mine: list[int]) -> Staff:
    """Every active user as a client (anyone may be handed a ticket), with an API token and a signed session
    cookie as a login leaves (hashing 1,000 passwords would take minutes); ``mine`` are logged in and poll."""
    with lzdb.database.connection_context():
        users = list(User.select().where(User.active == True))  # noqa: E712
        department = {d.id: d.code for d in Department.select()}
        with lzdb.database.atomic():
            tokens = {u.id: org.issue_token(u, "callday") for u in users}
    jars = dict(zip([u.id for u in users], cookies(url, [u.id for u in users]), strict=True))
    everyone = {u.username: Person(u.username, u.role, tokens[u.id], dict([jars[u.id].split("=", 1)]))
                for u in users}
    ours = [u for u in users if u.id in set(mine)]
    return Staff(everyone, [everyone[u.username] for u in ours if u.role == "agent"],
                 [u.username for u in ours if u.role == "handler" and department[u.department_id] == "finance"],
                 [everyone[u.username] for u in ours if u.role == "supervisor"],
                 [everyone[u.username] for u in ours])


@dataclass
class CpuMeter:
    """CPU seconds per group of processes (each host's tree, PostgreSQL's backends of the database, HAProxy),
    sampled every second so a process that ends (a backend whose connection closed) keeps what it used."""

    groups: dict[str, object]  # name -> a function returning the group's pids now
    first: dict[int, float] = field(default_factory=dict)
    last: dict[tuple[str, int], float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    loads: list[tuple[float, float]] = field(default_factory=list)  # (when, the machine's 1-minute load average)

    def sample(self) -> None:
        self.loads.append((time.monotonic(), os.getloadavg()[0]))
        for name, pids in self.groups.items():
            for pid in pids():
                used = _cpu(pid)
                if used is not None:
                    self.first.setdefault(pid, used)
                    self.last[(name, pid)] = used

    def loop(self) -> None:
        while not self.stop.wait(1.0):
            self.sample()

    def start(self) -> threading.Thread:
        self.sample()
        self.baseline = dict(self.first)  # what each process had used before the run
        thread = threading.Thread(target=self.loop, daemon=True)
        thread.start()
        return thread

    def totals(self) -> dict[str, float]:
        self.sample()
        self.stop.set()
        found = dict.fromkeys(self.groups, 0.0)
        for (name, pid), used in self.last.items():
            found[name] += used - self.baseline.get(pid, 0.0)
        return found


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children(found[-1])
    return found


def meter(site, database: str) -> CpuMeter:
    config = str(site.workdir / "haproxy.cfg").encode()
    haproxy = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
               and config in _read(entry / "cmdline")]  # HAProxy in the foreground writes no pid file
    groups = {h.name: (lambda h=h: [p for proc in h.processes for p in tree(proc.pid)]) for h in site.hosts}
    return CpuMeter({**groups, "postgresql": lambda: backends(database), "haproxy": lambda: haproxy})


def check(tally: Tally) -> list[str]:
    """Every created ticket in the database with its order number; every ticket played to its end closed."""
    with lzdb.database.connection_context():
        rows = {t.number: t for t in Ticket.select(Ticket.number, Ticket.status, Ticket.data)
                .where(Ticket.number.in_(list(tally.created) or [""]))}
    wrong = [f"{n} ({o}) missing" for n, o in tally.created.items()
             if n not in rows or rows[n].data.get("order_no") != o]
    return wrong + [f"{n} is {rows[n].status if n in rows else 'missing'}, the day left it {s}"
                    for n, s in tally.finished.items() if n not in rows or rows[n].status != s]


@dataclass
class Result:
    """One day: what the clients saw, the wall time, CPU seconds per group, and what the database lacks."""

    options: Options
    tally: Tally
    wall: float
    cpu: dict[str, float]
    client_cpu: float
    wrong: list[str]
    poll_cpu: float  # server CPU seconds of one poll, measured while the staff only polled (0: not measured)
    loads: list[tuple[float, float]] = field(default_factory=list)

    def requests(self, kinds: tuple[str, ...] | None = None) -> int:
        return sum(len(v) for k, v in self.tally.latencies.items() if kinds is None or k in kinds)

    def ok(self) -> bool:
        return not self.wrong and not self.tally.error_count()

    def hosts_cpu(self) -> float:
        return sum(v for k, v in self.cpu.items() if k.startswith("host"))

    def per_ticket(self) -> tuple[float, float]:
        """Host and database CPU seconds per ticket, once the polls' share (at ``poll_cpu``) is taken out."""
        polls = len(self.tally.latencies.get("live poll", []))
        share = self.hosts_cpu() / max(self.hosts_cpu() + self.cpu["postgresql"], 1e-9)
        tickets = max(len(self.tally.created), 1)
        return ((self.hosts_cpu() - polls * self.poll_cpu * share) / tickets,
                (self.cpu["postgresql"] - polls * self.poll_cpu * (1 - share)) / tickets)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3 if values else (0.0, 0.0, 0.0)
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return cuts[9], cuts[18], max(values)


def kind_lines(result: Result) -> list[str]:
    lines = [f"{'kind':<20} {'count':>7} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"]
    for kind in sorted(result.tally.latencies, key=lambda k: KINDS.index(k) if k in KINDS else 99):
        values = result.tally.latencies[kind]
        p50, p95, top = percentiles(values)
        lines.append(f"{kind:<20} {len(values):>7} {len(result.tally.errors.get(kind, [])):>6} "
                     f"{p50 * 1000:>7.0f} {p95 * 1000:>7.0f} {top * 1000:>7.0f}")
    return lines


def cpu_line(result: Result) -> str:
    wall, total = result.wall, result.requests()
    shares = ", ".join(f"{name} {used:.0f} s = {used / (wall * HOST_CORES) * 100:.0f} % of 2 cores"
                       for name, used in result.cpu.items())
    server = sum(result.cpu.values())
    return (f"CPU over {wall:.0f} s: {shares}; client {result.client_cpu:.0f} s; per request: hosts "
            f"{result.hosts_cpu() / total * 1000:.1f} ms + PostgreSQL {result.cpu['postgresql'] / total * 1000:.1f}"
            f" ms + HAProxy {result.cpu['haproxy'] / total * 1000:.2f} ms = {server / total * 1000:.1f} ms")


@dataclass(frozen=True)
class Sizing:
    """A 1,000-seat center's real day, whatever the run's size: ``tickets`` over ``hours``, its peak hour ``peak``
    times the average, every seat's page polling; from the run's CPU per ticket and per poll."""

    tickets: int = 30000
    seats: int = 1000
    hours: float = 10.0
    peak: float = 2.0
    poll_every: float = 15.0  # live.js's first interval: the bound when every answer changed (idle: 60 s)

    def lines(self, result: Result) -> list[str]:
        host, db = result.per_ticket()
        tickets, users = self.tickets, self.seats
        per_second = tickets / (self.hours * 3600) * self.peak
        polls = users / self.poll_every
        poll_host = result.poll_cpu * result.hosts_cpu() / max(result.hosts_cpu() + result.cpu["postgresql"], 1e-9)
        need = per_second * host + polls * poll_host
        capacity = HOST_CORES * HOST_BUSY
        hosts = max(2, -(-need // capacity))  # two at least: one may fail
        rate = result.requests() / result.wall
        carried = rate * capacity / max(result.hosts_cpu() / result.wall, 1e-9)
        return [f"per ticket (all its requests, polls apart): hosts {host * 1000:.0f} CPU ms, PostgreSQL "
                f"{db * 1000:.0f} CPU ms; a poll {result.poll_cpu * 1000:.1f} CPU ms (hosts and PostgreSQL)",
                f"one 2-core host at {HOST_BUSY:.0%} CPU carries {carried:.0f} requests/s of this mix, "
                f"{capacity / host * 3600:,.0f} tickets an hour with nobody polling",
                f"real day: {tickets:,} tickets in {self.hours:g} h, peak hour {self.peak:g} x the average = "
                f"{per_second * 3600:,.0f} tickets/h, {users:,} pages polling every {self.poll_every:g} s: "
                f"{need:.2f} host cores busy -> {hosts:.0f} hosts of 2 cores at {HOST_BUSY:.0%} (at least 2), "
                f"PostgreSQL {per_second * db + polls * (result.poll_cpu - poll_host):.2f} cores"]


def windows(result: Result, count: int = 10) -> list[str]:
    """p95 of all requests sent in each tenth of the run, beside the machine's load average then: whether the
    tail is the day's own or the machine's other work."""
    if not result.tally.timeline:
        return []
    first = min(sent for sent, _ in result.tally.timeline)
    width = max(max(sent for sent, _ in result.tally.timeline) - first, 1e-9) / count
    lines = []
    for i in range(count):
        took = [s for sent, s in result.tally.timeline if first + i * width <= sent < first + (i + 1) * width]
        loads = [x for when, x in result.loads if first + i * width <= when < first + (i + 1) * width] or [0.0]
        lines.append(f"{i * width / 60:5.1f} min: {len(took) / width:5.1f} req/s, p95 "
                     f"{percentiles(took)[1] * 1000:5.0f} ms, load average {max(loads):.1f}")
    return ["by tenth of the run (all kinds):", *lines]


def report(result: Result) -> str:
    o = result.options
    lines = [f"call-center day: {o.users} staff, {len(result.tally.created)} of {o.tickets} tickets created, "
             f"{len(result.tally.finished)} played to their last planned step, {result.requests()} requests in "
             f"{result.wall:.0f} s ({result.requests() / result.wall:.1f}/s), {result.tally.error_count()} errors, "
             f"{len(result.wrong)} tickets wrong in the database",
             f"schedule lag p95 {percentiles(result.tally.lags)[1] * 1000:.0f} ms, max "
             f"{percentiles(result.tally.lags)[2] * 1000:.0f} ms (the client kept its plan if small); load average "
             f"at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)",
             *kind_lines(result), *windows(result), cpu_line(result), *Sizing().lines(result)]
    errors = [e for found in result.tally.errors.values() for e in found[:3]]
    refused = [f"bulk tag left {len(result.tally.refused)} tickets ({len(set(result.tally.refused))} reasons): "
               + "; ".join(sorted(set(result.tally.refused))[:5])] if result.tally.refused else []
    return "\n".join(lines + refused + [f"error: {e}" for e in errors[:20]] + result.wrong[:20])


def figures(result: Result) -> list[Figure]:
    found = []
    for kind in KINDS:
        values = result.tally.latencies.get(kind, [])
        p50, p95, top = percentiles(values)
        found.append(Figure("callday", "postgresql", f"p95 {kind}", f"{len(values):,} requests, "
                            f"{len(result.tally.errors.get(kind, []))} errors, p50 {p50 * 1000:.0f} ms, p95 "
                            f"{p95 * 1000:.0f} ms, max {top * 1000:.0f} ms", p95 / BUDGET, 1.0))
    found.append(Figure("callday", "postgresql", "errors", f"{result.tally.error_count()} of {result.requests():,} "
                        f"requests; {len(result.wrong)} tickets wrong", float(result.tally.error_count()), 0.5))
    # target 0.5, "below one": results.Figure divides by its target, and a target of 0 fails on any error
    found.append(Figure("callday", "postgresql", "CPU share per host", cpu_line(result)))
    return found + [Figure("callday", "postgresql", "host sizing", line) for line in Sizing().lines(result)]


def idle(site, staff: Staff, seconds: float, database: str) -> tuple[float, Tally]:
    """Only the staff's polling for ``seconds`` (first polls are page loads): server CPU seconds per poll."""
    if seconds <= 0:
        return 0.0, Tally()
    tally, cpu = Tally(), meter(site, database)
    cpu.start()
    Day(site.front, staff, Plan(0, seconds), tally, 0).run(1)
    used, polls = cpu.totals(), len(tally.latencies["live poll"])
    return (used["host1"] + used["host2"] + used["postgresql"]) / max(polls, 1), tally


def day(site, staff: Staff, options: Options, database: str, poll_cpu: float) -> Result:
    tally, cpu = Tally(), meter(site, database)
    cpu.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = Day(site.front, staff, Plan(options.tickets, options.minutes * 60), tally, options.seed).run(
        customer_count(options.history))
    used, after = cpu.totals(), resource.getrusage(resource.RUSAGE_SELF)
    client = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Result(options, tally, wall, used, client, check(tally), poll_cpu, cpu.loads)


def run(options: Options, calibrate: float = 0.0) -> Result:
    """Prepare, start the two hosts, measure a poll alone (``calibrate`` seconds), then play the day."""
    from bench.hosts import two_hosts
    drops: list = []
    try:
        started = time.perf_counter()
        url, people = prepare(options, drops)
        staff = clients(url, people["all"])
        database = url.rsplit("/", 1)[1]
        print(f"prepared {options.users} staff and {options.history:,} tickets of history in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="lz_callday_uploads_") as uploads, \
                two_hosts(url, uploads, secret=SECRET) as site:
            poll_cpu, quiet = idle(site, staff, calibrate, database)
            if calibrate:
                print(f"idle polling: {len(quiet.latencies['live poll'])} polls, {poll_cpu * 1000:.1f} CPU ms each, "
                      f"{quiet.error_count()} errors", flush=True)
            result = day(site, staff, options, database, poll_cpu)
            for kind, found in quiet.errors.items():
                result.tally.errors[f"{kind} (idle)"] += found
            return result
    finally:
        for drop in drops:
            drop()


def parse(argv: list[str] | None) -> tuple[Options, float]:
    parser = argparse.ArgumentParser(prog="python -m bench.callday", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=Options.tickets)
    parser.add_argument("--users", type=int, default=Options.users)
    parser.add_argument("--minutes", type=float, default=Options.minutes, help="the compressed day's length")
    parser.add_argument("--history", type=int, default=Options.history, help="tickets seeded before the day")
    parser.add_argument("--calibrate", type=float, default=45, help="seconds of polling alone first (0: none)")
    parser.add_argument("--quick", action="store_true", help="100 users, 150 tickets in 35 s, no calibration")
    args = parser.parse_args(argv)
    if args.quick:
        return Options(150, 100, 35 / 60, 1000), 0.0
    return Options(args.tickets, args.users, args.minutes, args.history), args.calibrate


def main(argv: list[str] | None = None) -> int:
    options, calibrate = parse(argv)
    result = run(options, calibrate)
    print(report(result))
    print(results.table(figures(result)))
    return 0 if result.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
