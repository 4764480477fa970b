"""The call-center day's client (bench/callday.py): the staff as clients, an open-loop schedule, labelled requests.

Open loop: every ticket's call arrives at a planned time (Poisson arrivals), and each later step of
the ticket is planned a think time after the step before it ended, whatever the server is doing;
a pool of threads sends what is due, and how late it started (``lag``) is kept, so a client that
fell behind is seen rather than hidden in the latencies. Browser work (the call page, the workspace
lists and search, the ticket page, reports, bulk actions, live polling) goes with the user's session
cookie and the CSRF token its pages carry; integration work (the CRM reading a ticket, order-number
lookups, the warehouse and finance systems posting each step's result) with the user's API token.
Every request is labelled with its kind; an error is any status outside the kind's expected ones,
or an exception.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import random
import re
import threading
import time
import traceback
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode, urlsplit

KINDS = ("call page", "call suggest", "create (call form)", "my list", "team list", "search", "ticket page",
         "api get", "api search", "advance (api)", "bulk tag", "reports", "live poll")
FIRST_POLL, MAX_POLL = 15.0, 60.0  # web/live.py POLL_MS and POLL_MAX_MS: 304s stretch it by half up to the max
REAL_GAPS = {"approve": 20 * 60, "warehouse": 60 * 60, "finance": 60 * 60}  # a real day's mean think times (s)
PLANS = (("close", 0.82), ("reject", 0.05), ("warehouse", 0.08), ("finance", 0.05))  # how far a ticket goes
PER_TICKET = {"team list": 0.1, "bulk tag": 0.01, "reports": 0.01}  # supervisors' own rhythm, per ticket
REGISTER = {"source": "phone", "category": "fr", "model": "fr-200", "purchase_date": "2026-11-01"}
PRESENT = ["order_no", "source", "category", "model", "purchase_date", "defect", "photos"]
DEFECTS = ("门把手断裂", "冰箱门关不严", "压缩机异响", "制冷效果差", "外壳有划痕", "通电不工作")
WAREHOUSE = {"received": True, "received_at": "2026-11-22T10:00:00+08:00", "as_described": "yes"}
APPROVE = {"approval": "approve"}
FINANCE = {"refund_amount": 19.99, "refund_channels": ["original"]}
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
CHECKBOX = re.compile(r'name="tickets" value="([^"]+)"')
REFUSED = re.compile(r'class="lz-bulk-reason">([^<]*)<')


@dataclass
class Person:
    """One member of staff as a client: the session cookie jar and CSRF token of their browser, their API token."""

    username: str
    role: str
    token: str
    jar: dict[str, str]
    csrf: str | None = None
    etag: str | None = None
    interval: float = FIRST_POLL
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Tally:
    """Per kind: latencies (s) and errors (what went wrong); the ledger of tickets; the schedule's lags."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    created: dict[str, str] = field(default_factory=dict)  # number -> order_no
    finished: dict[str, str] = field(default_factory=dict)  # number -> the status its last planned step left
    lags: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (sent, seconds) of every request
    refused: list[str] = field(default_factory=list)  # tickets a bulk action left, with the engine's reason
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.timeline.append((time.monotonic() - seconds, seconds))
            if error:
                self.errors[kind].append(error)

    def error_count(self) -> int:
        return sum(len(found) for found in self.errors.values())


class Schedule:
    """Tasks at planned times (seconds since the start), sent by a pool of threads; ``run`` returns when none
    is due, running or planned any more."""

    def __init__(self, threads: int, tally: Tally):
        self.heap: list = []
        self.cond = threading.Condition()
        self.order = itertools.count()
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="callday")
        self.busy, self.tally, self.start = 0, tally, time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.start

    def at(self, when: float, task, *args) -> None:
        with self.cond:
            heapq.heappush(self.heap, (when, next(self.order), task, args))
            self.cond.notify()

    def run(self) -> None:
        while True:
            with self.cond:
                while not (self.heap and self.heap[0][0] <= self.now()):
                    if not self.heap and not self.busy:
                        self.pool.shutdown()
                        return
                    self.cond.wait(self.heap[0][0] - self.now() if self.heap else None)
                when, _, task, args = heapq.heappop(self.heap)
                self.busy += 1
            self.pool.submit(self._one, when, task, args)

    def _one(self, when: float, task, args) -> None:
        with self.tally.lock:
            self.tally.lags.append(self.now() - when)
        try:
            task(*args)
        except Exception:  # a client bug must show as an error, not vanish in the pool
            self.tally.add("client", 0.0, traceback.format_exc(limit=3))
        finally:
            with self.cond:
                self.busy -= 1
                self.cond.notify()


def exchange(front: str, method: str, path: str, headers: dict, body: bytes | None):
    """One request on a new connection (gunicorn's sync workers close each): status, headers, text."""
    parts = urlsplit(front)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        conn.close()


class Client:
    """Sends a person's requests through the balancer, keeping their cookies and CSRF token as a browser would."""

    def __init__(self, front: str, tally: Tally):
        self.front, self.tally = front, tally

    def send(self, kind: str, person: Person, method: str, path: str, *, form: dict | None = None,
             payload: dict | None = None, ok: tuple[int, ...] = (200,), extra: dict | None = None):
        """The answer (status, headers, text) if its status is one of ``ok``; else None, recorded as an error."""
        headers, body = self._prepare(person, form, payload, extra or {})
        began = time.perf_counter()
        try:
            status, answer, text = exchange(self.front, method, path, headers, body)
        except (OSError, http.client.HTTPException) as error:
            self.tally.add(kind, time.perf_counter() - began, f"{method} {path}: {type(error).__name__}")
            return None
        took = time.perf_counter() - began
        if payload is None:
            self._keep(person, answer, text)
        wrong = None if status in ok else f"{method} {path}: HTTP {status} {text[:200]!r}"
        self.tally.add(kind, took, wrong)
        return None if wrong else (status, answer, text)

    @staticmethod
    def _prepare(person: Person, form: dict | None, payload: dict | None, extra: dict) -> tuple[dict, bytes | None]:
        if payload is not None:
            return ({"Authorization": f"Bearer {person.token}", "Content-Type": "application/json", **extra},
                    json.dumps(payload).encode())
        with person.lock:
            cookie = "; ".join(f"{k}={v}" for k, v in person.jar.items())
            csrf = person.csrf
        headers = {"Cookie": cookie, "Accept-Language": "zh", **extra}
        if form is None:
            return headers, None
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers, urlencode({**form, "csrf_token": csrf or ""}, doseq=True).encode()

    @staticmethod
    def _keep(person: Person, answer, text: str) -> None:
        """What a browser keeps: the cookies set, and the CSRF token of the last page."""
        jar = SimpleCookie()
        for header in answer.get_all("Set-Cookie") or []:
            jar.load(header)
        found = CSRF.search(text)
        with person.lock:
            person.jar.update({name: morsel.value for name, morsel in jar.items()})
            person.csrf = found.group(1) if found else person.csrf

    def api(self, kind: str, person: Person, method: str, path: str, payload: dict | None = None,
            ok: tuple[int, ...] = (200,)) -> dict | None:
        headers = {"Authorization": f"Bearer {person.token}"}
        if method == "GET":
            found = self.send(kind, person, method, path, payload=None, ok=ok, extra=headers)
        else:
            found = self.send(kind, person, method, path, payload=payload or {}, ok=ok)
        return json.loads(found[2]) if found else None


@dataclass
class Staff:
    """Who plays which part: the bench's agents, handlers and supervisors, and everyone by username."""

    everyone: dict[str, Person]
    agents: list[Person]
    finance: list[str]  # the finance handlers a warehouse handler picks from (that step's pick is manual)
    supervisors: list[Person]
    polling: list[Person]  # the logged-in users with the workspace open


@dataclass
class Plan:
    """The day's shape: tickets, when calls arrive and how long each step waits, all compressed."""

    tickets: int
    seconds: float  # the compressed day: arrivals in its first 80 %, the steps after them
    real_day: float = 10 * 3600

    @property
    def arrivals(self) -> float:
        return self.seconds * 0.8

    def gap(self, step: str, rnd: random.Random) -> float:
        """A think time before ``step``: the real day's, compressed, at most 6 % of the run; +-50 %."""
        mean = min(REAL_GAPS[step] * self.seconds / self.real_day, self.seconds * 0.06)
        return mean * rnd.uniform(0.5, 1.5)


class Day:
    """The call-center day: each ticket's calls and steps, the supervisors' lists, bulk actions and reports,
    and every logged-in user's live polling, put on one schedule."""

    def __init__(self, front: str, staff: Staff, plan: Plan, tally: Tally, seed: int, threads: int = 48):
        self.client, self.staff, self.plan, self.tally = Client(front, tally), staff, plan, tally
        self.rnd, self.rnd_lock = random.Random(seed), threading.Lock()
        self.schedule = Schedule(threads, tally)
        self.tag = f"CD{seed % 100000:05d}"

    def random(self, fn, *args):
        with self.rnd_lock:
            return fn(*args)

    def run(self, customers: int) -> float:
        """Plan everything, then send it; returns the wall seconds until the last request ended."""
        self.customers = customers
        when = 0.0
        for number in range(self.plan.tickets):
            when += self.rnd.expovariate(self.plan.tickets / self.plan.arrivals)
            self.schedule.at(when, self.call, number)
        for kind, rate in PER_TICKET.items() if self.plan.tickets else ():
            for _ in range(max(2, round(rate * self.plan.tickets))):
                self.schedule.at(self.rnd.uniform(0, self.plan.arrivals), self.oversee, kind)
        for person in self.staff.polling:
            self.schedule.at(self.rnd.uniform(0, FIRST_POLL), self.poll, person)
        self.schedule.start = time.monotonic()
        self.schedule.run()
        return self.schedule.now()

    def caller(self, number: int) -> str:
        """A known customer's mobile (four calls in five), else a new caller's."""
        if self.random(self.rnd.random) < 0.8:
            return f"139{self.random(self.rnd.randrange, 1, self.customers + 1):08d}"
        return f"137{number:08d}"

    def call(self, number: int) -> None:
        """An agent takes a call: screen-pop, duplicates while typing, maybe a search, the ticket, the page again."""
        agent, phone = self.random(self.rnd.choice, self.staff.agents), self.caller(number)
        defect, roll = self.random(self.rnd.choice, DEFECTS), self.random(self.rnd.random)
        if self.client.send("call page", agent, "GET", f"/call?phone={phone}&process=return_goods") is None:
            return
        if roll < 0.5:
            self.client.send("call suggest", agent, "GET",
                             f"/call/suggest?phone={phone}&process=return_goods&q={quote(defect)}")
        if roll < 0.2:
            self.client.send("search", agent, "GET", f"/?q={quote(phone if roll < 0.1 else defect)}")
        order_no = f"{self.tag}-{number}"
        created = self.register(agent, {"phone": phone, "order_no": order_no, "defect": defect})
        if created is not None:
            self.client.send("call page", agent, "GET", created[1])
            self.later("approve", self.crm, created[0], agent, order_no)

    def register(self, agent: Person, typed: dict) -> tuple[str, str] | None:
        """The call form submitted: the new ticket's number and the page the agent lands on, or None."""
        form = {"customer_name": "来电客户", "channel": "phone", "priority": "normal", "transition": "approve",
                "lz_present": PRESENT, **REGISTER, **typed}
        done = self.client.send("create (call form)", agent, "POST", "/call?process=return_goods", form=form,
                                ok=(302,))
        location = done[1].get("Location", "") if done else ""
        found = re.search(r"created=(\w+)", location)
        if found is None:
            if done:
                self.tally.add("create (call form)", 0.0, f"no ticket number in {location!r}")
            return None
        with self.tally.lock:
            self.tally.created[found.group(1)] = typed["order_no"]
        return found.group(1), urlsplit(location)._replace(scheme="", netloc="").geturl()

    def later(self, step: str, task, *args) -> None:
        self.schedule.at(self.schedule.now() + self.random(self.plan.gap, step, self.rnd), task, *args)

    def crm(self, number: str, agent: Person, order_no: str) -> None:
        """The CRM reads the new ticket (who holds it, its version), sometimes finds it by order number; then the
        approver works it."""
        view = self.client.api("api get", agent, "GET", f"/api/v1/tickets/{number}")
        if self.random(self.rnd.random) < 0.2:
            self.client.api("api search", agent, "GET", f"/api/v1/tickets?scope=mine&q={quote(order_no)}")
        if view is not None:
            plan = self.random(self.rnd.choices, [p for p, _ in PLANS], [w for _, w in PLANS])[0]
            self.work(number, view, "approve", plan)

    def work(self, number: str, view: dict, step: str, plan: str) -> None:
        """The holder finds the ticket in their list, opens it and sends the step's result through the API."""
        holder = self.staff.everyone.get(view.get("assignee") or "")
        if holder is None:
            self.tally.add("advance (api)", 0.0, f"{number}: held by {view.get('assignee')!r}, not a client")
            return
        self.client.send("my list", holder, "GET", "/")
        self.client.send("ticket page", holder, "GET", f"/tickets/{number}")
        body = {"action": "advance", "version": view["version"], "data": self.result(step, plan)}
        if step == "warehouse":
            body["assignee"] = self.random(self.rnd.choice, self.staff.finance)
        after = self.client.api("advance (api)", holder, "POST", f"/api/v1/tickets/{number}/actions", body)
        if after is None:
            return
        following = {"approve": "warehouse", "warehouse": "finance"}.get(step)
        if after["status"] == "closed" or plan == following:
            with self.tally.lock:
                self.tally.finished[number] = after["status"]
            return
        self.later(following, self.work, number, after, following, plan)

    @staticmethod
    def result(step: str, plan: str) -> dict:
        if step == "approve":
            return {"approval": "reject", "reject_reason": "超出退货期"} if plan == "reject" else APPROVE
        return WAREHOUSE if step == "warehouse" else FINANCE

    def oversee(self, kind: str) -> None:
        """A supervisor's own rhythm: the team list, a bulk tag of what it shows, or the reports page."""
        chief = self.random(self.rnd.choice, self.staff.supervisors)
        if kind == "reports":
            self.client.send("reports", chief, "GET", "/reports")
            return
        page = self.client.send("team list", chief, "GET", "/?scope=team")
        if kind == "bulk tag" and page is not None:
            picked = CHECKBOX.findall(page[2])[:20]
            if not picked:
                self.tally.add("bulk tag", 0.0, f"{chief.username}: no ticket to select on the team list")
                return
            done = self.client.send("bulk tag", chief, "POST", "/tickets/bulk",
                                    form={"action": "tag", "tag": "回访", "tickets": picked, "next": "/?scope=team"})
            for reason in REFUSED.findall(done[2] if done else ""):  # a 200: the others were tagged
                with self.tally.lock:
                    self.tally.refused.append(reason.strip())

    def poll(self, person: Person) -> None:
        """``GET /live?inbox=1&list=`` with the last ETag, as static/js/live.js; the next poll planned from it."""
        extra = {"Accept": "application/json", **({"If-None-Match": person.etag} if person.etag else {})}
        found = self.client.send("live poll", person, "GET", "/live?inbox=1&list=", ok=(200, 304), extra=extra)
        if found is not None:
            person.etag = found[1].get("ETag") or person.etag
            person.interval = min(person.interval * 1.5, MAX_POLL) if found[0] == 304 else FIRST_POLL
        if self.schedule.now() + person.interval < self.plan.seconds:
            self.schedule.at(self.schedule.now() + person.interval, self.poll, person)
