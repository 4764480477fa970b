"""Webhooks on both databases: a test server on 127.0.0.1 receives signed deliveries.

Checked: the HMAC signature of the exact body, the retry after a 500 (and its
back-off), a ticket action that succeeds while the receiver is down, a rolled-back
action that queues nothing, exactly-once delivery with two concurrent workers
(threads, and two ``flask --app app worker --once`` processes), and the admin pages
(403 for agents, the secret shown once and never in the audit log).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import example
from helpers import assert_retried_now
from test_engine import FINANCE, WAREHOUSE, advance, fresh, new_ticket, to_warehouse

from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import AuditEntry, Ticket, TicketEvent, WebhookDelivery, WebhookEndpoint, utcnow
from workflows.subscribers import webhooks
from workflows.tickets import engine, feedback, sla

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-for-tests"


class Receiver:
    """What the test server got: (headers with lower-case names, body bytes), in arrival order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[tuple[dict, bytes]] = []
        self.codes: list[int] = []  # answers to give, first to last; then 200
        self.delay = 0.0
        self.url = ""

    def answer(self, headers: dict, body: bytes) -> int:
        with self.lock:
            self.received.append((headers, body))
            return self.codes.pop(0) if self.codes else 200

    def ids(self) -> Counter:
        return Counter(headers["x-liuzhuan-delivery"] for headers, _ in self.received)


@pytest.fixture
def receiver():
    """An HTTP server on a free 127.0.0.1 port, in a thread, recording every POST."""
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(got.delay)
            code = got.answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no" if code >= 400 else b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield got
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def endpoint(url: str, events=webhooks.EVENTS, active: bool = True, name: str = "crm") -> WebhookEndpoint:
    return WebhookEndpoint.create(name=name, url=url, secret=SECRET, events=list(events), active=active)


def deliveries() -> list[WebhookDelivery]:
    return list(WebhookDelivery.select().order_by(WebhookDelivery.id))


def test_a_created_ticket_is_delivered_signed_over_the_exact_body(world, receiver):
    endpoint(receiver.url)
    ticket = fresh(new_ticket(world))
    assert webhooks.deliver_due("w1") == {"delivered": 1, "pending": 0, "failed": 0}
    (headers, body), = receiver.received
    row = WebhookDelivery.get()
    assert body == row.payload.encode("utf-8")
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-liuzhuan-signature"], expected)
    assert (headers["x-liuzhuan-event"], headers["x-liuzhuan-delivery"]) == ("ticket.created", row.uuid)
    payload = json.loads(body)
    assert (payload["id"], payload["event"], payload["actor"]) == (row.uuid, "ticket.created", "agent")
    summary = payload["ticket"]
    assert (summary["number"], summary["process"], summary["step"], summary["status"]) == (
        ticket.number, "return_goods", "approve", "open")
    assert summary["assignee"] == ticket.assignee.username and summary["data"] == {}  # no field is x-public
    assert (row.status, row.attempts, row.last_status_code, row.locked_by) == ("delivered", 1, 200, None)


def test_only_x_public_fields_leave(world, receiver):
    document = example("return_goods.process.json")
    document["schema"]["properties"]["category"]["x-public"] = True
    docs.save_process(document, publish=True)
    endpoint(receiver.url, ["ticket.created"])
    ticket = new_ticket(world)
    body = json.loads(WebhookDelivery.get().payload)
    assert body["ticket"]["data"] == {"category": ticket.data["category"]}
    assert ticket.data["defect"] not in WebhookDelivery.get().payload


def test_each_action_queues_its_event_for_subscribed_active_endpoints_only(world, receiver):
    endpoint(receiver.url)
    endpoint(receiver.url, ["ticket.closed"], name="closed only")
    endpoint(receiver.url, active=False, name="off")
    ticket = to_warehouse(world)
    handler = fresh(ticket).assignee.username
    other = "wh2" if handler != "wh2" else "wh1"
    advance(world, handler, ticket, action="transfer", assignee=other, comment="我休假")
    advance(world, other, ticket, action="return", comment="照片不清楚")
    approver = fresh(ticket).assignee.username
    advance(world, approver, ticket, {"approval": "approve"}, transition="warehouse")
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, FINANCE, action="close")
    advance(world, "fin_lead", ticket, action="reopen", comment="客户未收到退款")
    crm, closed_only, _ = WebhookEndpoint.select().order_by(WebhookEndpoint.id)
    assert [d.event for d in deliveries() if d.endpoint_id == crm.id] == [
        "ticket.created", "ticket.advanced", "ticket.transferred", "ticket.returned", "ticket.advanced",
        "ticket.advanced", "ticket.closed", "ticket.reopened"]
    assert [d.event for d in deliveries() if d.endpoint_id != crm.id] == ["ticket.closed"]
    closing = next(json.loads(d.payload) for d in deliveries() if d.event == "ticket.closed")
    assert (closing["ticket"]["status"], closing["ticket"]["step"], closing["actor"]) == ("closed", None, "fin1")


def test_overdue_and_rated_events(world, receiver):
    endpoint(receiver.url, ["ticket.overdue", "ticket.rated"])
    ticket = new_ticket(world)
    Ticket.update(due_at=utcnow() - timedelta(minutes=5), next_check_at=utcnow() - timedelta(minutes=5)).where(
        Ticket.id == ticket.id).execute()
    assert sla.sweep() == [ticket.number] and sla.sweep() == []
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "reject", "reject_reason": "过期"},
            transition="$end")
    feedback.rate(feedback.rating_link_token(ticket, "k"), 4, "很好", secret="k")
    assert [d.event for d in deliveries()] == ["ticket.overdue", "ticket.rated"]
    assert json.loads(deliveries()[1].payload)["rating"] == {"score": 4, "comment": "很好"}


def test_a_500_is_retried_after_the_back_off(world, receiver):
    endpoint(receiver.url)
    new_ticket(world)
    receiver.codes = [500]
    start = utcnow()
    assert webhooks.deliver_due("w1", now=start) == {"delivered": 0, "pending": 1, "failed": 0}
    row = WebhookDelivery.get()
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("pending", 1, 500, "HTTP 500: no")
    wait = (row.next_attempt_at - start).total_seconds()
    assert 24 <= wait <= 36  # 30 s, ±20 % jitter
    assert webhooks.deliver_due("w1", now=start + timedelta(seconds=wait - 1))["delivered"] == 0
    assert len(receiver.received) == 1  # not due yet: nothing sent
    assert webhooks.deliver_due("w1", now=row.next_attempt_at)["delivered"] == 1
    (first_headers, first), (second_headers, second) = receiver.received
    assert first == second and first_headers["x-liuzhuan-delivery"] == second_headers["x-liuzhuan-delivery"]
    row = WebhookDelivery.get()
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 2, 200, None)


def test_back_off_doubles_up_to_an_hour():
    assert [round(webhooks.backoff(n).total_seconds() / 30) for n in (1, 2, 3)] in ([1, 2, 4], [1, 2, 3], [1, 2, 5])
    assert all(2880 <= webhooks.backoff(n).total_seconds() <= 4320 for n in (8, 20))


def test_an_action_succeeds_while_the_endpoint_is_down(world):
    endpoint(f"http://127.0.0.1:{closed_port()}/hook")
    ticket = new_ticket(world)
    assert fresh(ticket).status == "open" and TicketEvent.select().count() == 1
    assert webhooks.deliver_due("w1")["pending"] == 1
    row = WebhookDelivery.get()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert "refused" in row.last_error.lower() and row.next_attempt_at > utcnow()
    WebhookDelivery.update(attempts=webhooks.MAX_ATTEMPTS - 1, next_attempt_at=utcnow()).execute()
    assert webhooks.deliver_due("w1")["failed"] == 1
    assert WebhookDelivery.get().status == "failed"
    assert webhooks.retry_now(row.id) and WebhookDelivery.get().status == "pending"


def test_a_rolled_back_action_queues_nothing(world, receiver, monkeypatch):
    endpoint(receiver.url)
    ticket = new_ticket(world)
    queued = WebhookDelivery.select().count()

    def boom(**fields):
        raise RuntimeError("disk full")

    monkeypatch.setattr(TicketEvent, "create", boom)  # fails after the delivery row was written
    with pytest.raises(RuntimeError):
        new_ticket(world)
    with pytest.raises(RuntimeError):
        advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    assert WebhookDelivery.select().count() == queued == 1 and Ticket.select().count() == 1
    with pytest.raises(engine.Invalid):  # refused actions queue nothing either
        engine.create(world["agent"], "return_goods", {})
    assert WebhookDelivery.select().count() == 1


def test_a_stale_sending_row_is_claimed_again_after_its_lease(world, receiver):
    endpoint(receiver.url)
    new_ticket(world)
    start = utcnow()
    assert len(webhooks.claim("dead worker", now=start)) == 1  # ... and it never reports back
    assert webhooks.claim("w2", now=start + timedelta(seconds=60)) == []
    later = start + webhooks.LEASE + timedelta(seconds=1)
    assert webhooks.deliver_due("w2", now=later)["delivered"] == 1
    assert len(receiver.received) == 1 and WebhookDelivery.get().status == "delivered"


def _queue(world, count: int) -> set[str]:
    """``count`` deliveries of one ticket's event, queued in one transaction."""
    ticket = new_ticket(world)
    with database.atomic():
        for _ in range(count - 1):
            webhooks.enqueue("ticket.created", ticket)
    return {d.uuid for d in deliveries()}


def test_two_worker_threads_deliver_each_event_exactly_once(world, receiver):
    endpoint(receiver.url, ["ticket.created"])
    queued = _queue(world, 30)
    receiver.delay = 0.005
    start, results = threading.Barrier(2), {}

    def work(name: str):
        start.wait()
        with database.connection_context():  # each thread: its own connection
            results[name] = webhooks.deliver_due(name, limit=3)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r["delivered"] for r in results.values()) == 30
    assert receiver.ids() == Counter(dict.fromkeys(queued, 1))
    assert {d.status for d in deliveries()} == {"delivered"}


def test_two_worker_processes_deliver_each_event_exactly_once(world, receiver, db_url):
    endpoint(receiver.url, ["ticket.created"])
    queued = _queue(world, 20)
    receiver.delay = 0.01
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret"}
    command = [sys.executable, "-m", "flask", "--app", "app", "worker", "--once", "--batch", "2"]
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert receiver.ids() == Counter(dict.fromkeys(queued, 1))
    assert {d.status for d in deliveries()} == {"delivered"}


def test_worker_command_once_with_sla(world, receiver, runner):
    endpoint(receiver.url, ["ticket.created", "ticket.overdue"])
    ticket = new_ticket(world)
    Ticket.update(due_at=utcnow() - timedelta(minutes=5), next_check_at=utcnow() - timedelta(minutes=5)).where(
        Ticket.id == ticket.id).execute()
    first = runner.invoke(args=["worker", "--once", "--sla"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "webhooks: 1 delivered, 0 to retry, 0 failed; 1 ticket(s) newly overdue"
    second = runner.invoke(args=["worker", "--once"])
    assert second.output.strip() == "webhooks: 1 delivered, 0 to retry, 0 failed"
    assert [h["x-liuzhuan-event"] for h, _ in receiver.received] == ["ticket.created", "ticket.overdue"]


# -- admin ----------------------------------------------------------------------------------------------

FORM = {"name": "CRM", "url": "https://crm.example.com/hooks/liuzhuan", "events": ["ticket.created", "ticket.closed"],
        "active": "y"}


@pytest.mark.parametrize("path", ["/admin/webhooks/", "/admin/webhooks/new", "/admin/webhooks/deliveries"])
def test_admin_webhook_pages_are_for_admins_only(client, auth, path):
    assert client.get(path).status_code == 302  # anonymous: to the login page
    auth.login("agent")
    assert client.get(path).status_code == 403
    assert client.post("/admin/webhooks/new", data=FORM).status_code == 403
    assert WebhookEndpoint.select().count() == 0


def test_admin_creates_edits_and_rotates_without_the_secret_in_the_audit(client, auth):
    auth.login("admin")
    created = client.post("/admin/webhooks/new", data=FORM)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    hook = WebhookEndpoint.get()
    assert hook.secret in created.get_data(as_text=True) and hook.events == FORM["events"]
    page = client.get(f"/admin/webhooks/{hook.id}/").get_data(as_text=True)
    assert hook.secret not in page  # shown once
    assert 'name="events" type="checkbox" value="ticket.rated"' in page  # no checkbox is "required"
    edited = client.post(f"/admin/webhooks/{hook.id}/", data={**FORM, "active": "", "events": ["ticket.rated"]})
    assert edited.status_code == 302 and not WebhookEndpoint.get().active
    rotated = client.post(f"/admin/webhooks/{hook.id}/rotate")
    new_secret = WebhookEndpoint.get().secret
    assert new_secret != hook.secret and new_secret in rotated.get_data(as_text=True)
    entries = list(AuditEntry.select().order_by(AuditEntry.id))
    assert [e.action for e in entries] == ["webhook.create", "webhook.update", "webhook.rotate_secret"]
    assert entries[1].after == {"name": "CRM", "url": FORM["url"], "events": ["ticket.rated"], "active": False}
    logged = json.dumps([(e.before, e.after, e.target) for e in entries])
    assert hook.secret not in logged and new_secret not in logged and "secret" not in logged


@pytest.mark.parametrize(("field", "value"), [("url", "ftp://crm.example.com/x"), ("url", "file:///etc/passwd"),
                                              ("url", "crm.example.com"), ("url", "http://"), ("events", [])])
def test_admin_refuses_non_http_urls_and_no_events(client, auth, field, value):
    auth.login("admin")
    refused = client.post("/admin/webhooks/new", data={**FORM, field: value})
    assert refused.status_code == 422 and f'data-field="{field}"' in refused.get_data(as_text=True)
    assert WebhookEndpoint.select().count() == 0 and AuditEntry.select().count() == 0


def test_admin_deliveries_log_and_retry_now(client, auth):
    auth.login("admin")
    hook = endpoint("https://crm.example.com/hook")
    row = WebhookDelivery.create(endpoint=hook, uuid="0" * 36, event="ticket.closed", payload="{}", status="failed",
                                 attempts=webhooks.MAX_ATTEMPTS, last_status_code=502,
                                 last_error="HTTP 502: bad gateway", next_attempt_at=utcnow() - timedelta(days=1))
    assert_retried_now(client, "/admin/webhooks/deliveries", row, "HTTP 502: bad gateway", f"lz-retry-{row.id}",
                       "webhook.retry")
