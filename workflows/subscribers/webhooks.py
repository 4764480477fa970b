"""Webhooks: ticket events pushed to admin-configured endpoints, signed, retried and logged.

A user's action never waits for, nor fails because of, a receiver: :func:`enqueue`
only writes :class:`WebhookDelivery` rows, inside the transaction of the action
(a rolled-back action therefore queues nothing), and a worker (``flask --app app
worker``, :mod:`workflows.subscribers.worker`) sends them later.

Several workers, on any number of hosts, may run at once. A worker takes a row
with one conditional ``UPDATE`` (due ``pending``, or ``sending`` whose lease has
run out) and keeps it only if that UPDATE changed exactly one row. PostgreSQL
re-checks the condition after waiting for a concurrent writer of the same row,
and SQLite runs one writer at a time, so the same code is a lock on both and no
live delivery is sent twice. A worker that dies mid-send leaves its rows
``sending``; they are claimed again once ``locked_until`` passes (at-least-once:
receivers drop repeats by the ``X-Liuzhuan-Delivery`` id).

The body is JSON: ``{"id", "event", "occurred_at", "ticket": {...}}`` plus the
event's extras (``actor``, ``rating``). ``ticket`` holds metadata only (number,
process, step, status, priority, channel, handler and creator usernames, times)
and ``data`` with the fields the process marks ``"x-public": true`` and that name no
readers (``x-readers``; the same rule as the customer's progress page); other fields, comments, notes, customer
details and attachments never leave. It is stored as the exact text whose UTF-8
bytes are signed: ``X-Liuzhuan-Signature: sha256=<hex HMAC-SHA256(secret, body)>``
with the endpoint's secret at send time (so a rotated secret applies at once).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import secrets
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from formbuilder import readers
from workflows.storage import audit, generation
from workflows.storage.db import database
from workflows.storage.models import Ticket, User, WebhookDelivery, WebhookEndpoint, utcnow
from workflows.storage.prepared import Prepared

if TYPE_CHECKING:
    from workflows.tickets.events import Acted

EVENTS = ("ticket.created", "ticket.advanced", "ticket.returned", "ticket.transferred", "ticket.closed",
          "ticket.reopened", "ticket.overdue", "ticket.rated")
EVENTS += ("ticket.spawned", "ticket.linked", "ticket.unlinked", "ticket.merged")  # issue 19: tickets/children.py
EVENTS += ("ticket.waiting", "ticket.resumed", "ticket.warned", "ticket.escalated", "ticket.timed_out")  # pending, sla
EVENTS += ("ticket.signed",)  # issue 19: a signer's part at a countersign step, tickets/signing.py
EVENTS += ("ticket.assigned",)  # issue 21: a supervisor's assign, tickets/assign.py (docs/workspace.md)
STATUSES = ("pending", "sending", "delivered", "failed")
END = "$end"
TIMEOUT = 10  # seconds per request; a worker holds at most BATCH rows, so LEASE outlasts a batch
BATCH = 10
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10  # 30 s doubling to the 1 h cap: about three hours of retries
BACKOFF_BASE, BACKOFF_CAP = 30, 3600
ERROR_MAX = 500
log = logging.getLogger(__name__)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _username(user_id: int | None) -> str | None:
    return None if user_id is None else User.select(User.username).where(User.id == user_id).scalar()


def _is_attachment(schema: dict) -> bool:
    return schema.get("type") == "array" and schema.get("items", {}).get("format") == "attachment"


def public_data(ticket: Ticket) -> dict:
    """The values of the fields marked ``"x-public": true``; attachments stay behind the login.

    A field with ``x-readers`` never goes, even if also ``x-public``: a receiver is no reader.
    """
    properties = ticket.process_version.document["schema"]["properties"]
    return {key: ticket.data[key] for key, schema in properties.items()
            if readers.is_public(schema) and key in (ticket.data or {}) and not _is_attachment(schema)}


def ticket_summary(ticket: Ticket) -> dict:
    """What an integration needs to know about the ticket, and nothing internal (see the module doc)."""
    version = ticket.process_version
    document = version.document
    names = {step["key"]: step["name"] for step in document["steps"]}
    step = None if ticket.step == END else ticket.step
    return {"number": ticket.number, "process": document["code"], "process_name": document["name"],
            "process_version": version.number, "step": step, "step_name": names.get(step),
            "status": ticket.status, "priority": ticket.priority, "channel": ticket.channel,
            "assignee": _username(ticket.assignee_id), "creator": _username(ticket.creator_id),
            "version": ticket.version, "created_at": _iso(ticket.created_at), "updated_at": _iso(ticket.updated_at),
            "due_at": _iso(ticket.due_at), "overdue_at": _iso(ticket.overdue_at),
            "closed_at": _iso(ticket.closed_at), "data": public_data(ticket)}


ACTIVE = Prepared(lambda: WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.events)
                  .where(WebhookEndpoint.active == True))  # noqa: E712


def subscribers(event: str) -> list[int]:
    """Ids of the active endpoints subscribed to ``event`` (a handful of rows: filtered here, on any DB)."""
    rows = generation.cached("webhooks.active", ACTIVE.rows)  # per configuration stamp (storage.generation)
    return [row.id for row in rows if event in (row.events or [])]


def enqueue(event: str, ticket: Ticket, extra: dict | None = None) -> int:
    """Queue ``event`` for every subscribed endpoint; call it INSIDE the action's transaction.

    Returns the number of deliveries written. Nothing is sent here.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = subscribers(event)
    if not endpoints:
        return 0
    now = utcnow()
    body = {"event": event, "occurred_at": _iso(now), "ticket": ticket_summary(ticket), **(extra or {})}
    rows = []
    for endpoint_id in endpoints:
        delivery_id = str(uuid.uuid4())
        payload = json.dumps({"id": delivery_id, **body}, ensure_ascii=False, separators=(",", ":"))
        rows.append({"endpoint": endpoint_id, "uuid": delivery_id, "event": event, "payload": payload,
                     "status": "pending", "next_attempt_at": now, "created_at": now})
    WebhookDelivery.insert_many(rows).execute()
    return len(rows)


def on_action(event: Acted) -> None:
    """Subscriber of every engine action: queue its event, in the action's transaction, naming the actor."""
    enqueue(event.name, event.ticket, {"actor": event.actor.username})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would re-send the body as a GET, or elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def send(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> tuple[int | None, str | None]:
    """POST the stored body; returns (HTTP status or None, error text or None when delivered)."""
    body = delivery.payload.encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Liuzhuan-Webhooks/1",
               "X-Liuzhuan-Event": delivery.event, "X-Liuzhuan-Delivery": delivery.uuid,
               "X-Liuzhuan-Signature": signature(endpoint.secret, body)}
    request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}: {_excerpt(error)}"
    except urllib.error.URLError as error:
        return None, f"{type(error.reason).__name__}: {error.reason}"
    except (OSError, ValueError, http.client.HTTPException) as error:
        return None, f"{type(error).__name__}: {error}"


def _excerpt(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(ERROR_MAX).decode("utf-8", errors="replace").strip() or str(error.reason)
    except (OSError, http.client.HTTPException):
        return str(error.reason)


def _due(now: datetime):
    """Claimable rows: pending and due, or ``sending`` whose worker's lease ran out."""
    pending = (WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= now)
    stale = (WebhookDelivery.status == "sending") & (WebhookDelivery.locked_until < now)
    return pending | stale


def _take(delivery_id: int, worker_id: str, now: datetime) -> bool:
    """One conditional UPDATE (its own statement, committed at once): True if this worker won the row."""
    changed = (WebhookDelivery.update(status="sending", locked_by=worker_id, locked_until=now + LEASE)
               .where(WebhookDelivery.id == delivery_id, _due(now)).execute())
    return changed == 1


def claim(worker_id: str, limit: int = BATCH, now: datetime | None = None) -> list[WebhookDelivery]:
    """Take up to ``limit`` due deliveries of active endpoints for ``worker_id``; never one another worker holds.

    Candidates are read without a lock, then taken one by one; rows lost to another
    worker are skipped, so a few extra candidates keep concurrent workers busy.
    """
    now = now or utcnow()
    candidates = (WebhookDelivery.select(WebhookDelivery.id).join(WebhookEndpoint)
                  .where(_due(now), WebhookEndpoint.active == True)  # noqa: E712
                  .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit * 4))
    # Read all ids first: an open SQLite cursor is a read transaction that a write cannot upgrade once
    # another worker has written (SQLITE_BUSY at once, without waiting).
    taken: list[int] = []
    for delivery_id in [row[0] for row in candidates.tuples()]:
        if len(taken) < limit and _take(delivery_id, worker_id, now):
            taken.append(delivery_id)
    if not taken:
        return []
    return list(WebhookDelivery.select(WebhookDelivery, WebhookEndpoint).join(WebhookEndpoint)
                .where(WebhookDelivery.id.in_(taken)).order_by(WebhookDelivery.id))


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, capped at an hour; ±20 % jitter spreads a burst of retries."""
    seconds = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def record(delivery: WebhookDelivery, worker_id: str, status_code: int | None, error: str | None,
           now: datetime | None = None) -> str:
    """Store the outcome of one attempt; returns ``delivered``, ``pending`` (will retry) or ``failed``.

    Only the holder of the row writes it: a worker whose lease ran out leaves the row to its new holder.
    Any delivery table with these columns is written the same way (robot notices: ``robots.py``).
    """
    model = type(delivery)
    now, attempts = now or utcnow(), delivery.attempts + 1
    values = {"attempts": attempts, "last_status_code": status_code, "locked_by": None, "locked_until": None}
    if error is None:
        outcome = "delivered"
        values.update(delivered_at=now, last_error=None)
    else:
        outcome = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        values.update(last_error=error[:ERROR_MAX], next_attempt_at=now + backoff(attempts))
    values["status"] = outcome
    (model.update(values)
     .where(model.id == delivery.id, model.locked_by == worker_id, model.status == "sending").execute())
    return outcome


def deliver_due(worker_id: str, limit: int = BATCH, now: datetime | None = None) -> dict[str, int]:
    """Send everything due now, batch by batch, outside any transaction; counts of outcomes."""
    counts = {"delivered": 0, "pending": 0, "failed": 0}
    while batch := claim(worker_id, limit, now):
        for delivery in batch:
            status_code, error = send(delivery, delivery.endpoint)
            if error is not None:
                log.warning("webhook %s to %s: %s", delivery.uuid, delivery.endpoint.url, error)
            counts[record(delivery, worker_id, status_code, error, now)] += 1
    return counts


def retry_now(delivery_id: int, model=WebhookDelivery) -> bool:
    """Make a pending or failed delivery due at once (the admin's "retry now"); a failed one gets one more try."""
    changed = (model.update(status="pending", next_attempt_at=utcnow())
               .where(model.id == delivery_id, model.status.in_(("pending", "failed"))).execute())
    return changed == 1


# The admin's side: endpoints written with their audit entry, one transaction each. The secret signs every
# delivery, so it never reaches the audit log: entries hold the name, the URL (any password masked), the
# events and the active flag.

def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def masked(url: str) -> str:
    """The URL without the password of any ``user:password@`` part, for the audit log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def endpoint_snapshot(endpoint: WebhookEndpoint) -> dict:
    """What the audit log keeps of an endpoint: everything but the secret."""
    return {"name": endpoint.name, "url": masked(endpoint.url), "events": list(endpoint.events or []),
            "active": endpoint.active}


def _audit(actor: User, action: str, endpoint: WebhookEndpoint, before: object, after: object) -> None:
    audit.record(actor, action, f"webhook:{endpoint.id}", before, after)


def save_endpoint(actor: User, endpoint: WebhookEndpoint | None, *, name: str, url: str, events: list[str],
                  active: bool) -> WebhookEndpoint:
    """Create (``endpoint`` None, with a new secret) or update an endpoint, audited; events kept in EVENTS order."""
    with database.atomic():
        before = endpoint_snapshot(endpoint) if endpoint else None
        target = endpoint or WebhookEndpoint(secret=new_secret())
        target.name, target.url, target.active = name, url, bool(active)
        target.events = [e for e in EVENTS if e in events]
        target.save()
        _audit(actor, "webhook.update" if endpoint else "webhook.create", target, before, endpoint_snapshot(target))
    return target


def rotate_secret(actor: User, endpoint: WebhookEndpoint) -> str:
    """A new secret, effective for every delivery sent from now on (also those already queued)."""
    with database.atomic():
        endpoint.secret = new_secret()
        endpoint.save()
        _audit(actor, "webhook.rotate_secret", endpoint, None, None)
    return endpoint.secret


def retry_audited(actor: User, delivery: WebhookDelivery) -> bool:
    """The admin's "retry now" (:func:`retry_now`) with its audit entry; False when there was nothing to retry."""
    with database.atomic():
        done = retry_now(delivery.id)
        if done:
            _audit(actor, "webhook.retry", delivery.endpoint, None, {"delivery": delivery.uuid})
    return done
