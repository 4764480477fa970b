"""Load harness: gunicorn as a subprocess on loopback, and a bounded load of simulated API users.

The server is the production stack (``gunicorn 'app:create_app()'``, sync workers,
each binding its own database pool); the load is threads speaking HTTP/1.1 with
``http.client`` and bearer tokens. Every response is recorded with its status and
latency; a connection that breaks before an answer is an *unknown outcome* (the
action may or may not have committed), never a success or a 5xx.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from test_engine import FINANCE, REGISTER, WAREHOUSE

ROOT = Path(__file__).resolve().parents[2]
REQUEST_TIMEOUT = 60.0
WRITES = ("create", "act")
FINANCE_PEOPLE = ("fin1", "fin2", "fin_lead")


class Server:
    """``gunicorn -w N`` on a free 127.0.0.1 port, logging to ``log``; stopped gracefully, killed if it hangs."""

    def __init__(self, database_url: str, workers: int, log: Path, upload_dir: Path):
        self.workers, self.log, self.port = workers, log, 0
        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "load-test-secret",
                    "UPLOAD_DIR": str(upload_dir)}
        self.process: subprocess.Popen | None = None

    def start(self, ready_within: float = 120.0) -> Server:
        """Start gunicorn; return once it listens, every worker booted and /healthz answers 200."""
        command = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", "127.0.0.1:0",
                   "--graceful-timeout", "10", "--timeout", "60", "--error-logfile", str(self.log),
                   "--capture-output", "--no-control-socket", "app:create_app()"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_text()}")
            if self._ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn not ready within {ready_within} s:\n{self.log_text()}")

    def _ready(self) -> bool:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.log_text())
        if found is None or len(self.worker_pids()) < self.workers:
            return False
        self.port = int(found.group(1))
        return get_status(self.port, "/healthz") == 200

    def worker_pids(self) -> list[int]:
        """The master's child processes (its workers), from /proc."""
        pids: list[int] = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:
                pids += [int(pid) for pid in children.read_text().split()]
            except OSError:  # a thread ended while we read
                continue
        return sorted(pids)

    def kill_worker(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> int:
        """SIGTERM (graceful: in-flight requests finish), SIGKILL after the graceful timeout."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def get_status(port: int, path: str) -> int | None:
    """The status of a plain GET, or None when nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


@dataclass
class Call:
    """One request as a client saw it; ``status`` None means the connection broke (outcome unknown)."""

    user: str
    kind: str
    status: int | None
    seconds: float
    body: str = ""


@dataclass
class Recorder:
    """Everything the clients saw, shared by all user threads."""

    calls: list[Call] = field(default_factory=list)
    confirmed: dict[str, dict[int, tuple[str, str | None]]] = field(default_factory=lambda: defaultdict(dict))
    unknown: Counter = field(default_factory=Counter)  # ticket number ("" for creations) -> broken writes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call, number: str | None = None) -> None:
        with self.lock:
            self.calls.append(call)
            if call.status is None and call.kind in WRITES:
                self.unknown[number or ""] += 1

    def confirm(self, number: str, version: int, action: str, step: str | None) -> None:
        """A successful write: the ticket's event number ``version`` must be ``action`` into ``step``."""
        with self.lock:
            self.confirmed[number][version] = (action, step)

    def statuses(self) -> Counter:
        return Counter(call.status for call in self.calls)

    def server_errors(self) -> list[Call]:
        """Answers with a 5xx: the application failed the user."""
        return [call for call in self.calls if call.status is not None and call.status >= 500]

    def broken(self) -> list[Call]:
        """Requests whose connection broke before an answer (counted apart from 5xx: nothing answered)."""
        return [call for call in self.calls if call.status is None]

    def summary(self) -> str:
        """Requests, statuses and latency percentiles per kind of request, for the -s output."""
        lines = [f"{len(self.calls)} requests, {len(self.server_errors())} 5xx, {len(self.broken())} broken "
                 f"connections; statuses {dict(sorted(self.statuses().items(), key=str))}"]
        by_kind = defaultdict(list)
        for call in self.calls:
            by_kind[call.kind].append(call.seconds)
        for kind, times in sorted(by_kind.items()):
            times.sort()
            p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
            lines.append(f"  {kind:<6} n={len(times):<5} p50={p50 * 1000:.0f}ms p95={p95 * 1000:.0f}ms "
                         f"max={times[-1] * 1000:.0f}ms")
        return "\n".join(lines)


class Client:
    """One simulated user: a bearer token and a fresh connection per request (sync workers close it anyway)."""

    def __init__(self, port: int, user: str, token: str, recorder: Recorder, rng: Random):
        self.port, self.user, self.token, self.recorder, self.rng = port, user, token, recorder, rng

    def send(self, kind: str, method: str, path: str, body: dict | None = None, number: str | None = None):
        """(status, JSON answer); (None, None) when the connection broke before an answer."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept-Language": "en"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        start = time.perf_counter()
        try:
            connection.request(method, "/api/v1" + path, json.dumps(body) if body is not None else None, headers)
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            self.recorder.add(Call(self.user, kind, None, time.perf_counter() - start, repr(error)), number)
            return None, None
        finally:
            connection.close()
        text = raw.decode("utf-8", "replace")
        self.recorder.add(Call(self.user, kind, status, time.perf_counter() - start, text if status >= 400 else ""))
        return status, _json(text)

    def create(self) -> None:
        """An agent registers a return; callers come from a small pool, so customers are found as often as new."""
        phone = f"1380000{self.rng.randrange(40):04d}"
        body = {"process": "return_goods", "data": {**REGISTER, "order_no": f"TH-{self.rng.randrange(10**6)}"},
                "customer": {"name": "客户", "phone": phone}}
        status, view = self.send("create", "POST", "/tickets", body)
        if status == 201:
            self.recorder.confirm(view["number"], view["version"], "create", view["step"]["key"])

    def work_inbox(self) -> bool:
        """Open one ticket of the inbox and act on it; False when the inbox was empty."""
        status, page = self.send("inbox", "GET", "/tickets?scope=mine&status=open")
        items = [item for item in page["items"] if item["assignee"] == self.user] if status == 200 else []
        if not items:  # "mine" also lists the tickets this user created
            return False
        number = self.rng.choice(items)["number"]
        status, view = self.send("read", "GET", f"/tickets/{number}")
        if status == 200 and view["status"] == "open" and view["assignee"] == self.user:  # not moved meanwhile
            self.act(number, view["version"], view["step"]["key"])
        return True

    def act(self, number: str, version: int, step: str) -> None:
        body = {"version": version, **choose_action(step, self.rng)}
        status, after = self.send("act", "POST", f"/tickets/{number}/actions", body, number)
        if status == 200:
            action = "close" if after["status"] == "closed" else body["action"]
            self.recorder.confirm(number, after["version"], action, (after.get("step") or {}).get("key"))


def choose_action(step: str, rng: Random) -> dict:
    """What a handler does at ``step``: mostly send it on, sometimes reject or return it."""
    roll = rng.random()
    if step == "register":
        return {"action": "advance", "transition": "approve"}
    if step == "approve" and roll < 0.7:
        return {"action": "advance", "transition": "warehouse", "data": {"approval": "approve"}}
    if step == "approve" and roll < 0.85:
        return {"action": "advance", "transition": "$end", "data": {"approval": "reject", "reject_reason": "过期"}}
    if step == "warehouse" and roll < 0.75:
        return {"action": "advance", "data": WAREHOUSE, "assignee": rng.choice(FINANCE_PEOPLE)}
    if step == "finance" and roll < 0.8:
        return {"action": "close", "data": FINANCE}
    return {"action": "return", "comment": "请补充材料"}


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def simulate(client: Client, creates: float, deadline: float) -> None:
    """Loop until ``deadline``: create with probability ``creates``, else work the inbox; short think times."""
    while time.monotonic() < deadline:
        if client.rng.random() < creates:
            client.create()
        elif not client.work_inbox():
            time.sleep(0.2)  # an empty inbox: look again a little later
        time.sleep(client.rng.uniform(0.01, 0.1))


def run_load(port: int, people: list[tuple[str, str, float]], seconds: float,
             during=None) -> Recorder:
    """Run one thread per (username, token, share of creations) for ``seconds``; ``during()`` runs meanwhile."""
    recorder, deadline = Recorder(), time.monotonic() + seconds
    threads = [threading.Thread(target=simulate, daemon=True,
                                args=(Client(port, user, token, recorder, Random(i)), creates, deadline))
               for i, (user, token, creates) in enumerate(people)]
    for thread in threads:
        thread.start()
    if during is not None:
        during()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT * 3)
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        raise RuntimeError(f"{len(stuck)} simulated users still running after the run")
    return recorder
