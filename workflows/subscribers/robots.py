"""Chat-robot notices: WeCom, DingTalk and Feishu group robots told of assignments, overdue tickets,
escalations and @mentions in their scope (docs/robots.md).

:func:`queue` is called where the in-app notification of the same happening is written
(``notifications.on_action``, ``tickets/sla.py``, ``tickets/collab.py``), so it runs inside that action's
transaction: a rolled-back action queues nothing. The worker (:mod:`workflows.subscribers.worker`) sends
the :class:`RobotDelivery` rows with the webhooks' claim, lease, back-off and attempt limit
(:mod:`workflows.subscribers.webhooks`), signing each attempt afresh (the platforms' signatures hold a
timestamp that expires). A robot posts to a group chat, so a notice holds the ticket's number, process,
step, what happened and a link, and never a field value.

Scope: an active target whose events hold the kind, whose process (and step) is the ticket's when set,
and whose department, when set, is the department of the ticket's handler or of the step's handling
department, or one of their ancestors (a department's robot hears of its whole subtree).
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime

from formbuilder.messages import N_
from workflows.people import org
from workflows.storage import generation
from workflows.storage.models import Department, RobotDelivery, RobotTarget, Ticket, User, utcnow
from workflows.storage.prepared import Prepared
from workflows.subscribers import mail, robotformat, webhooks
from workflows.subscribers.webhooks import BATCH, LEASE, TIMEOUT
from workflows.tickets import timing

KINDS = ("assignment", "overdue", "escalation", "mention")
TITLES = {"assignment": N_("Ticket assigned"), "overdue": N_("Ticket overdue"), "escalation": N_("Ticket escalated"),
          "mention": N_("Mentioned in a note"), "test": N_("Test message")}
LABELS = (N_("Ticket"), N_("Process"), N_("Step"), N_("Event"), N_("Open the ticket"))
ANSWER_MAX = 4096
END = "$end"
log = logging.getLogger(__name__)

ACTIVE = Prepared(lambda: RobotTarget.select(RobotTarget.id, RobotTarget.platform, RobotTarget.department,
                                             RobotTarget.process, RobotTarget.step, RobotTarget.events)
                  .where(RobotTarget.active == True))  # noqa: E712


def _what(kind: str, ticket: Ticket | None, user: User | None) -> str:
    """What happened, in the site's language; only names and times, never a field value."""
    name = user.name if user is not None else ""
    if kind == "assignment":
        return timing.said(N_("Assigned to %(name)s."), name=name)
    if kind == "overdue":
        due = f"{ticket.due_at:%Y-%m-%d %H:%M}" if ticket.due_at else "-"
        return timing.said(N_("Overdue since %(due)s UTC."), due=due)
    if kind == "escalation":
        return timing.said(N_("SLA exceeded: escalated to %(name)s."), name=name) if user else timing.said(
            N_("SLA exceeded: escalated."))
    if kind == "mention":
        return timing.said(N_("%(name)s was mentioned in a note."), name=name)
    return timing.said(N_("A test message from Liuzhuan: this robot is set up."))


def link(ticket: Ticket | None) -> str:
    base = str(mail.config("BASE_URL", mail.DEFAULT_BASE_URL)).rstrip("/")
    return f"{base}/tickets/{ticket.number}" if ticket is not None else f"{base}/"


def _step_name(ticket: Ticket) -> str:
    if ticket.step == END:
        return timing.said(N_("Closed"))
    steps = ticket.process_version.document["steps"]
    return next((s.get("name", s["key"]) for s in steps if s["key"] == ticket.step), ticket.step)


def notice(kind: str, ticket: Ticket | None, user: User | None = None) -> robotformat.Notice:
    """The notice about ``ticket`` (None: the admin's test message), metadata only."""
    what = _what(kind, ticket, user)
    number = ticket.number if ticket is not None else "-"
    process = ticket.process_version.document["name"] if ticket is not None else "-"
    step = _step_name(ticket) if ticket is not None else "-"
    title = f"{timing.said(TITLES[kind])} {number}" if ticket is not None else timing.said(TITLES[kind])
    labels = tuple(timing.said(label) for label in LABELS)
    return robotformat.Notice(title, number, process, step, what, link(ticket), labels)


def _handling_departments(ticket: Ticket) -> set[int]:
    """The handler's department and the department the step's assignee rule names, if any."""
    found = set()
    if ticket.assignee_id is not None:
        found.add(org.department_of(ticket.assignee_id))
    if ticket.step != END:
        rule = next((s.get("assignee") or {} for s in ticket.process_version.document["steps"]
                     if s["key"] == ticket.step), {})
        if rule.get("type") == "department":
            found.add(Department.select(Department.id).where(Department.code == rule.get("value")).scalar())
    return {d for d in found if d is not None}


def _with_ancestors(departments: set[int]) -> set[int]:
    parents = {d: parent for d, (parent, _) in org.department_tree().items()}
    found, todo = set(), list(departments)
    while todo:
        department = todo.pop()
        if department is not None and department not in found:
            found.add(department)
            todo.append(parents.get(department))
    return found


def targets_for(kind: str, ticket: Ticket) -> list[tuple[int, str]]:
    """(id, platform) of the active targets of ``kind`` whose scope holds ``ticket``."""
    candidates = [t for t in generation.cached("robots.active", ACTIVE.rows) if kind in (t.events or [])]
    document = ticket.process_version.document
    candidates = [t for t in candidates if (t.process is None or t.process == document["code"])
                  and (t.step is None or t.step == ticket.step)]
    if any(t.department_id is not None for t in candidates):
        departments = _with_ancestors(_handling_departments(ticket))
        candidates = [t for t in candidates if t.department_id is None or t.department_id in departments]
    return [(t.id, t.platform) for t in candidates]


def _row(target_id: int, platform: str, kind: str, ticket: Ticket | None, message: robotformat.Notice,
         now: datetime) -> dict:
    return {"target": target_id, "uuid": str(uuid.uuid4()), "kind": kind, "ticket": ticket.id if ticket else None,
            "payload": robotformat.payload(platform, message), "status": "pending", "next_attempt_at": now,
            "created_at": now}


def queue(kind: str, ticket: Ticket, user: User | int | None = None) -> int:
    """Queue the notice of ``kind`` about ``ticket`` for every robot in scope; call it INSIDE the action's
    transaction. ``user`` is whom it concerns (the new handler, the manager, the mentioned). Returns the
    number of deliveries written; nothing is sent here."""
    if kind not in KINDS:
        raise ValueError(f"unknown robot notice {kind!r}")
    targets = targets_for(kind, ticket)
    if not targets:
        return 0
    if isinstance(user, int):
        user = User.get_or_none(User.id == user)
    now, message = utcnow(), notice(kind, ticket, user)
    RobotDelivery.insert_many([_row(t, platform, kind, ticket, message, now) for t, platform in targets]).execute()
    return len(targets)


def queue_test(target: RobotTarget) -> RobotDelivery:
    """One test message for ``target`` (the admin's "send a test message"), sent by the worker."""
    now = utcnow()
    row = _row(target.id, target.platform, "test", None, notice("test", None), now)
    return RobotDelivery.create(**row)


# -- the worker's side: claimed, sent and recorded as webhooks.claim / webhooks.record do ------------------

def send(delivery: RobotDelivery, target: RobotTarget) -> tuple[int | None, str | None]:
    """POST one signed attempt; (HTTP status or None, error or None). An answer with a non-zero
    ``errcode`` / ``code`` is an error too, so it is retried."""
    url, body = robotformat.signed(target.platform, target.url, delivery.payload, target.secret, time.time())
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Liuzhuan-Robots/1"}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with webhooks._opener.open(request, timeout=TIMEOUT) as response:  # no redirects, as webhooks
            text = response.read(ANSWER_MAX).decode("utf-8", errors="replace")
            return response.status, robotformat.answer_error(target.platform, text)
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}: {webhooks._excerpt(error)}"
    except urllib.error.URLError as error:
        return None, f"{type(error.reason).__name__}: {error.reason}"
    except (OSError, ValueError, http.client.HTTPException) as error:
        return None, f"{type(error).__name__}: {error}"


def _due(now: datetime):
    pending = (RobotDelivery.status == "pending") & (RobotDelivery.next_attempt_at <= now)
    stale = (RobotDelivery.status == "sending") & (RobotDelivery.locked_until < now)
    return pending | stale


def _take(delivery_id: int, worker_id: str, now: datetime) -> bool:
    changed = (RobotDelivery.update(status="sending", locked_by=worker_id, locked_until=now + LEASE)
               .where(RobotDelivery.id == delivery_id, _due(now)).execute())
    return changed == 1


def claim(worker_id: str, limit: int = BATCH, now: datetime | None = None) -> list[RobotDelivery]:
    """Take up to ``limit`` due deliveries of active robots; never one another worker holds (webhooks.claim)."""
    now = now or utcnow()
    candidates = (RobotDelivery.select(RobotDelivery.id).join(RobotTarget)
                  .where(_due(now), RobotTarget.active == True)  # noqa: E712
                  .order_by(RobotDelivery.next_attempt_at, RobotDelivery.id).limit(limit * 4))
    taken: list[int] = []
    for delivery_id in [row[0] for row in candidates.tuples()]:  # all ids first: see webhooks.claim
        if len(taken) < limit and _take(delivery_id, worker_id, now):
            taken.append(delivery_id)
    if not taken:
        return []
    return list(RobotDelivery.select(RobotDelivery, RobotTarget).join(RobotTarget)
                .where(RobotDelivery.id.in_(taken)).order_by(RobotDelivery.id))


def deliver_due(worker_id: str, limit: int = BATCH, now: datetime | None = None) -> dict[str, int]:
    """Send everything due, batch by batch, outside any transaction; counts of outcomes."""
    counts = {"delivered": 0, "pending": 0, "failed": 0}
    while batch := claim(worker_id, limit, now):
        for delivery in batch:
            status_code, error = send(delivery, delivery.target)
            if error is not None:  # the URL holds the robot's key: name the target, not its URL
                log.warning("robot delivery %s to target %s: %s", delivery.uuid, delivery.target_id, error)
            counts[webhooks.record(delivery, worker_id, status_code, error, now)] += 1
    return counts


def retry_now(delivery_id: int) -> bool:
    """Make a pending or failed notice due at once (the admin's "retry now"), as webhooks do."""
    return webhooks.retry_now(delivery_id, RobotDelivery)
