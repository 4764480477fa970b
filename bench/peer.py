"""Benchmark against a peer: our REST API and Redmine 5.0's, the same four operations, interleaved.

The peer is ``../shared/peers/redmine/`` (``setup.sh`` installs and starts it,
``setup.sh seed 10000`` fills it; read-only to us). Its ``bench.py`` is imported
for the client (``requests``, a new connection per request unless
``--keepalive``), the bounded phase runner and the percentile rule, so both
sides are measured by the very same code. Per round, per operation, per
client thread count (1 and 4): a Redmine phase, then ours on SQLite, then
ours on PostgreSQL, 300 operations each (capped at 180 s).

- create: POST a "return goods" ticket / issue with its order number;
- update: move that new ticket on with the required approval field
  (ours: ``advance`` at the approve step; Redmine: New -> Approval);
- list: one assignee's open tickets of the process, newest first, 25 a page
  (ours: that user's token, ``scope=mine&status=open``; Redmine:
  ``assigned_to_id`` and ``status_id=Approval`` with the admin key);
- get: one ticket by number / id, picked at random from those created.

Ours: gunicorn with 2 sync workers (as Redmine's puma has 2 workers) on a
fresh database of 10,000 tickets (8,000 bulk-seeded history, 2,000 created by
the engine so the approvers' queues are real). The list asks ``limit=25``
(``--page``: Redmine's ``limit``; the API's default page is 50) and
``step=approve`` (Redmine asks ``status_id=Approval``).
Run ``python -m bench.peer [--quick] [--db sqlite|postgresql|both] [--rounds R] [--count N]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import http
from bench.results import Figure
from bench.seeding import ROOT, demo_version, migrated, seed, staff
from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import User
from workflows.tickets import engine

PEER_DIR = Path(os.environ.get("LZ_PEER_DIR", ROOT.parent / "shared" / "peers" / "redmine"))
PEER_JSON = "/tmp/redmine-peer/state/peer.json"
OPS = ("create", "update", "list", "get")
TARGETS = {"create": 4.0, "update": 4.0, "list": 10.0, "get": 4.0}  # ours / Redmine, ops/s, at least
LISTERS = ("supervisor", "supervisor2", "wh_lead", "fin_lead")  # four approvers, as Redmine's four agents
DATA = {"source": "phone", "category": "fr", "model": "fr-200", "purchase_date": "2026-11-01",
        "defect": "Customer returns 2 items; benchmark ticket."}


def peer_bench():
    """The peer's ``bench.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("redmine_peer_bench", PEER_DIR / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PEER = peer_bench()


class OurClient(PEER.Client):
    """The peer's client with a bearer token instead of Redmine's key header; ``token`` overrides per call."""

    def __init__(self, base: str, token: str, timeout: float = 30, keepalive: bool = False):
        super().__init__(base, "", timeout, keepalive)
        del self.headers["X-Redmine-API-Key"]
        self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method, path, body=None, token=None):
        if token is None:
            return super().call(method, path, body)
        saved = self.headers
        self.headers = {**saved, "Authorization": f"Bearer {token}"}
        try:
            return super().call(method, path, body)
        finally:
            self.headers = saved


@dataclass
class Ours:
    """Our API as one side: the admin's token for writes and reads, each lister's own for the lists."""

    base: str
    admin: str
    listers: list[str]
    page: int = 25
    tag: str = field(default_factory=lambda: f"{int(time.time()) % 10**6}{os.getpid() % 1000}")
    name: str = "ours"

    def clients(self, count: int, keepalive: bool = False) -> list[OurClient]:
        return [OurClient(self.base, self.admin, keepalive=keepalive) for _ in range(count)]

    def create(self, i: int, client, mode: str = "seq"):
        """201 and the new number; the approve step's handler is the process's pick (round robin)."""
        body = {"process": "return_goods", "data": {**DATA, "order_no": f"ORD-{self.tag}-{mode.upper()}-{i}"}}
        code, text = client.call("POST", "/api/v1/tickets", body)
        return (True, json.loads(text)["number"]) if code == 201 else (False, f"{code} {text[:200]}")

    def update(self, number: str, client):
        body = {"action": "advance", "version": 1, "data": {"approval": "approve"}, "comment": "approved by bench"}
        code, text = client.call("POST", f"/api/v1/tickets/{number}/actions", body)
        return (True, number) if code == 200 else (False, f"{code} {text[:200]}")

    def listing(self, i: int, client):
        code, text = client.call("GET", "/api/v1/tickets?scope=mine&status=open&process=return_goods&step=approve"
                                 f"&limit={self.page}", token=self.listers[i % len(self.listers)])
        return (True, len(json.loads(text)["items"])) if code == 200 else (False, f"{code} {text[:200]}")

    def get(self, number: str, client):
        code, text = client.call("GET", f"/api/v1/tickets/{number}")
        return (True, number) if code == 200 else (False, f"{code} {text[:200]}")


@dataclass
class Redmine:
    """The peer as one side: the bodies and paths of its ``bench.py`` (whose op functions are local to main)."""

    peer: dict
    key: str
    tag: str = field(default_factory=lambda: f"{int(time.time())}-{os.getpid()}")
    name: str = "redmine"

    @classmethod
    def load(cls, path: str = PEER_JSON) -> Redmine:
        peer = json.loads(Path(path).read_text())
        return cls(peer, Path(peer["api_key_file"]).read_text().strip())

    def status(self, name: str) -> int:
        return next(s["id"] for s in self.peer["statuses"] if s["name"] == name)

    def clients(self, count: int, keepalive: bool = False):
        return [PEER.Client(self.peer["base_url"], self.key, 30, keepalive) for _ in range(count)]

    def create(self, i: int, client, mode: str = "seq"):
        p, cf = self.peer, self.peer["custom_fields"]
        body = {"issue": {"project_id": p["project_id"], "tracker_id": p["tracker_id"],
                          "subject": f"Return {self.tag} {mode} #{i}",
                          "description": "Customer returns 2 items; benchmark issue.",
                          "assigned_to_id": p["assignee_ids"][i % len(p["assignee_ids"])],
                          "custom_fields": [{"id": cf["order_no"], "value": f"ORD-{self.tag}-{mode}-{i}"}]}}
        code, text = client.call("POST", "/issues.json", body)
        return (True, json.loads(text)["issue"]["id"]) if code == 201 else (False, f"{code} {text[:200]}")

    def update(self, issue: int, client):
        body = {"issue": {"status_id": self.status("Approval"), "notes": "approved by bench",
                          "custom_fields": [{"id": self.peer["custom_fields"]["approval"], "value": "approve"}]}}
        code, text = client.call("PUT", f"/issues/{issue}.json", body)
        return (True, issue) if code == 204 else (False, f"{code} {text[:200]}")

    def listing(self, i: int, client):
        users = self.peer["assignee_ids"]
        code, text = client.call("GET", f"/issues.json?project_id={self.peer['project_id']}"
                                        f"&assigned_to_id={users[i % len(users)]}"
                                        f"&status_id={self.status('Approval')}&limit=25&sort=id:desc")
        return (True, len(json.loads(text)["issues"])) if code == 200 else (False, f"{code} {text[:200]}")

    def get(self, issue: int, client):
        code, text = client.call("GET", f"/issues/{issue}.json")
        return (True, issue) if code == 200 else (False, f"{code} {text[:200]}")

    def issues(self) -> int | None:
        code, text = self.clients(1)[0].call("GET", f"/issues.json?project_id={self.peer['project_id']}"
                                                   "&status_id=*&limit=1")
        return json.loads(text)["total_count"] if code == 200 else None


def prepare(kind: str, size: int, drops: list) -> tuple[str, str, list[str]]:
    """A fresh database of ``size`` tickets: its URL, the admin's token and the listers' tokens.

    A fifth of the tickets go through the engine (so each approver has a real
    queue at the approve step, as each Redmine agent has 500 issues per status);
    the rest is the bulk-seeded history of ``bench.seeding``.
    """
    url = migrated(kind, drops)
    with lzdb.database.connection_context():
        seed(size - size // 5, demo_version(), staff(), random.Random(size))
        admin = User.get(User.username == "admin")
        for i in range(size // 5):
            engine.create(admin, "return_goods", {**DATA, "order_no": f"SEED-{i}"})
        lzdb.database.execute_sql("ANALYZE")
        tokens = [org.issue_token(User.get(User.username == name), "peer") for name in LISTERS]
        admin_token = org.issue_token(admin, "peer")
    lzdb.database.close()
    return url, admin_token, tokens


def serve(url: str, workers: int = 2) -> tuple[subprocess.Popen, int, str]:
    """gunicorn with ``workers`` sync workers on ``url``, once it answers; returns it, its port and its log."""
    port = http.free_port()
    log = tempfile.NamedTemporaryFile(prefix="lz_peer_gunicorn_", suffix=".log", delete=False)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    deadline, probe = time.monotonic() + 60, OurClient(f"http://127.0.0.1:{port}", "-", timeout=2)
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if probe.call("GET", "/healthz")[0] == 200:
                return server, port, log.name
        except OSError:  # requests' ConnectionError is an OSError: not listening yet
            pass
        time.sleep(0.3)
    http.stop(server)
    raise SystemExit(f"gunicorn on {url} did not answer: see {log.name}")


@dataclass
class Run:
    """Every phase's result by (side, op, threads), and what later phases take from earlier ones."""

    count: int
    seconds: float
    keepalive: bool = False
    results: dict = field(default_factory=dict)  # (side, op, threads) -> [peer stats dict per round]
    created: dict = field(default_factory=dict)  # (side, threads) -> ids of this round's create phase
    pool: dict = field(default_factory=dict)  # side -> every id created so far (the get phase picks)
    rng: random.Random = field(default_factory=lambda: random.Random(42))

    def phase(self, side, op: str, threads: int, round_: int) -> dict | None:
        """One bounded phase of ``op`` on ``side`` by the peer's own runner; None if it has nothing to do."""
        mode = f"{'seq' if threads == 1 else 'par'}{round_}"
        count, make = self.count, side.listing
        if op == "create":
            def make(i, c):
                return side.create(i, c, mode)
        elif op == "update":
            ids = self.created.get((side.name, threads)) or []
            count = min(count, len(ids))  # each ticket moves on once; a repeat would be a no-op for Redmine

            def make(i, c):
                return side.update(ids[i % len(ids)], c)
        elif op == "get":
            pick = [self.rng.choice(self.pool[side.name]) for _ in range(count)] if self.pool.get(side.name) else []
            count = len(pick)

            def make(i, c):
                return side.get(pick[i], c)
        if not count:
            return None
        stats, infos = PEER.run_phase(op, make, count, threads, side.clients(threads, self.keepalive), self.seconds)
        if op == "create":
            self.created[(side.name, threads)] = infos
            self.pool.setdefault(side.name, []).extend(infos)
        if op == "list" and infos:
            stats["rows_min"], stats["rows_avg"] = min(infos), round(statistics.mean(infos), 1)
        self.results.setdefault((side.name, op, threads), []).append(stats)
        return stats

    def interleaved(self, sides: list, rounds: int, threads: tuple[int, ...] = (1, 4),
                    ops: tuple[str, ...] = OPS) -> None:
        """Per round, operation and thread count, each side's phase in turn (Redmine first)."""
        for round_ in range(1, rounds + 1):
            for op in ops:
                for count in threads:
                    for side in sides:
                        stats = self.phase(side, op, count, round_)
                        if stats:
                            print(json.dumps({"round": round_, "side": side.name, **stats}), flush=True)


def pooled(phases: list[dict]) -> dict:
    """Rounds together: ops/s over the summed wall time, the mean of each round's p50 and p95."""
    wall = sum(p["wall_s"] for p in phases)
    return {"ops": sum(p["done"] for p in phases) / wall if wall else 0.0,
            "p50": statistics.mean(p["p50_ms"] for p in phases), "p95": statistics.mean(p["p95_ms"] for p in phases),
            "done": sum(p["done"] for p in phases), "errors": sum(p["errors"] for p in phases),
            "rows": min((p["rows_min"] for p in phases if "rows_min" in p), default=None)}


def table(run: Run, kinds: list[str], threads: tuple[int, ...] = (1, 4)) -> str:
    """Per operation and thread count: Redmine's ops/s, p50, p95, then each of our databases and the ratio."""
    head = f"{'op':<7}{'thr':>4}  {'Redmine ops/s p50 p95':>24}" + "".join(
        f"  {k + ' ops/s p50 p95':>28} {'x':>6}" for k in kinds)
    lines = [head, "-" * len(head)]
    for op in OPS:
        for count in threads:
            peer = run.results.get(("redmine", op, count))
            if not peer:
                continue
            theirs = pooled(peer)
            line = f"{op:<7}{count:>4}  {theirs['ops']:>10.1f} {theirs['p50']:>6.1f} {theirs['p95']:>6.1f}"
            for kind in kinds:
                ours = pooled(run.results.get((kind, op, count), [])) if run.results.get((kind, op, count)) else None
                line += (f"  {ours['ops']:>14.1f} {ours['p50']:>6.1f} {ours['p95']:>6.1f} "
                         f"{ours['ops'] / theirs['ops']:>6.1f}") if ours else f"  {'-':>28} {'-':>6}"
            lines.append(line)
    return "\n".join(lines)


def figures(run: Run, kinds: list[str], threads: tuple[int, ...] = (1, 4)) -> list[Figure]:
    """One figure per database, operation and thread count; ratio = Redmine / ours ops/s (a Figure's
    target is an upper bound), so ours >= 4x Redmine is a ratio <= 0.25 and >= 10x one <= 0.1."""
    found = []
    for kind in kinds:
        for op in OPS:
            for count in threads:
                peer, ours = run.results.get(("redmine", op, count)), run.results.get((kind, op, count))
                if not peer or not ours:
                    continue
                theirs, mine = pooled(peer), pooled(ours)
                rows = f", rows/page {mine['rows']} vs {theirs['rows']}" if op == "list" else ""
                value = (f"ours/Redmine {mine['ops'] / theirs['ops']:.1f}x (>= {TARGETS[op]:g}x): ours "
                         f"{mine['ops']:.1f} ops/s p50 {mine['p50']:.1f} p95 {mine['p95']:.1f} ms, Redmine "
                         f"{theirs['ops']:.1f} ops/s p50 {theirs['p50']:.1f} p95 {theirs['p95']:.1f} ms, errors "
                         f"{mine['errors']}/{theirs['errors']}{rows}")
                found.append(Figure("peer", kind, f"{op}, {count} thr (Redmine / ours)", value,
                                    theirs["ops"] / mine["ops"] if mine["ops"] else None, 1 / TARGETS[op]))
    return found


def warm(sides: list, count: int = 8) -> None:
    """A few uncounted lists and creates per side, so no side pays its first requests' setup in a phase."""
    for side in sides:
        client = side.clients(1)[0]
        for i in range(count):
            side.listing(i, client)
            side.create(i, client, "warm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 operations, 1 round, 1,000 tickets")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--tickets", type=int, help="our database's size (default 10000; quick 1000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 2; quick 1)")
    parser.add_argument("--count", type=int, help="operations per phase (default 300; quick 30)")
    parser.add_argument("--phase-seconds", type=float, default=180, help="time cap per phase (as the peer's)")
    parser.add_argument("--page", type=int, default=25, help="rows per list page: our API's limit, as Redmine's")
    parser.add_argument("--keepalive", action="store_true", help="keep connections open (both sides)")
    parser.add_argument("--peer", default=PEER_JSON, help="peer.json written by the peer's setup.sh")
    parser.add_argument("--ops", default=",".join(OPS), help="comma-separated (update needs create)")
    parser.add_argument("--out", type=Path, help="write every phase's figures here (JSON)")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    redmine = Redmine.load(args.peer)
    print(f"Redmine: {redmine.issues()} issues in project {redmine.peer['project']}", flush=True)
    run = Run(args.count or (30 if args.quick else 300), args.phase_seconds, args.keepalive)
    drops, servers = [], []
    try:
        sides = [redmine]
        for kind in kinds:
            url, admin, listers = prepare(kind, args.tickets or (1000 if args.quick else 10000), drops)
            server, port, log = serve(url)
            servers.append((server, log))
            sides.append(Ours(f"http://127.0.0.1:{port}", admin, listers, args.page, name=kind))
        warm(sides)
        run.interleaved(sides, args.rounds or (1 if args.quick else 2), ops=tuple(args.ops.split(",")))
    finally:
        for server, log in servers:
            http.stop(server)
            os.unlink(log)
        for drop in drops:
            drop()
    report(run, kinds, args)
    return 0


def report(run: Run, kinds: list[str], args: argparse.Namespace) -> None:
    """The table, the figures' lines and, with ``--out``, every phase as JSON."""
    print(table(run, kinds))
    for figure in figures(run, kinds):
        print(figure.line())
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    if args.out:
        rows = [{"side": s, "op": o, "threads": t, "rounds": r} for (s, o, t), r in run.results.items()]
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
