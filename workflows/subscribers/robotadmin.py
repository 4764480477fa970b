"""The admin's side of chat robots: targets written with their audit entry, one transaction each.

A robot's URL carries its key (WeCom ``?key=``, DingTalk ``?access_token=``, Feishu ``/hook/<token>``): anyone
holding it can post to the group. So the URL is shown back and audited only masked, and the signing secret
never at all; leaving either blank on the edit form keeps the stored one.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Department, Process, ProcessVersion, RobotDelivery, RobotTarget, User
from workflows.subscribers import robots
from workflows.subscribers.robotformat import SIGNED

TOKEN_MIN = 8  # a path segment or query value this long is taken for a key and masked


def _mask(text: str) -> str:
    return text[:4] + "****" if len(text) >= TOKEN_MIN else text


def masked(url: str) -> str:
    """The URL with every long query value and path segment cut to its first 4 characters, and no password."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    netloc += f":{parts.port}" if parts.port else ""
    path = "/".join(_mask(segment) for segment in parts.path.split("/"))
    query = urlencode([(key, _mask(value)) for key, value in parse_qsl(parts.query, keep_blank_values=True)],
                      safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def snapshot(target: RobotTarget) -> dict:
    """What the audit log keeps of a target: the URL masked, whether a secret is set, never the secret."""
    department = Department.get_or_none(Department.id == target.department_id) if target.department_id else None
    return {"name": target.name, "platform": target.platform, "url": masked(target.url),
            "signed": bool(target.secret), "department": department.code if department else None,
            "process": target.process, "step": target.step, "events": list(target.events or []),
            "active": target.active}


def scope_error(process: str | None, step: str | None) -> tuple[str, Msg] | None:
    """(field, message) when the process/step scope names nothing published; None when it is fine."""
    if step and not process:
        return "process", Msg(N_("Choose the process of this step."))
    if not process:
        return None
    row = Process.get_or_none(Process.code == process)
    if row is None or row.latest_version == 0:
        return "process", Msg(N_("No published process has this code."))
    version = ProcessVersion.get(ProcessVersion.process == row, ProcessVersion.number == row.latest_version)
    if step and step not in {s["key"] for s in version.document["steps"]}:
        return "step", Msg(N_("The process has no step %(step)s."), {"step": step})
    return None


def _audit(actor: User, action: str, target: RobotTarget, before: object, after: object) -> None:
    audit.record(actor, action, f"robot:{target.id}", before, after)


def save_target(actor: User, target: RobotTarget | None, *, name: str, platform: str, url: str | None,
                secret: str | None, clear_secret: bool, department: int | None, process: str | None,
                step: str | None, events: list[str], active: bool) -> RobotTarget:
    """Create (``target`` None) or update a target, audited. A blank ``url`` or ``secret`` keeps the stored
    one; WeCom robots have no secret, so one is dropped on a change of platform."""
    with database.atomic():
        before = snapshot(target) if target else None
        row = target or RobotTarget()
        row.name, row.platform, row.active = name, platform, bool(active)
        row.url = url or row.url
        row.secret = None if clear_secret or platform not in SIGNED else (secret or row.secret)
        row.department, row.process, row.step = department, process or None, (step or None) if process else None
        row.events = [kind for kind in robots.KINDS if kind in events]
        row.save()
        _audit(actor, "robot.update" if target else "robot.create", row, before, snapshot(row))
    return row


def delete_target(actor: User, target: RobotTarget) -> None:
    """Remove a target and its deliveries log (the rows cascade), audited."""
    with database.atomic():
        _audit(actor, "robot.delete", target, snapshot(target), None)
        target.delete_instance()


def test_audited(actor: User, target: RobotTarget) -> RobotDelivery:
    """Queue a test message (no ticket in it) for the worker to send, audited."""
    with database.atomic():
        delivery = robots.queue_test(target)
        _audit(actor, "robot.test", target, None, {"delivery": delivery.uuid})
    return delivery


def retry_audited(actor: User, delivery: RobotDelivery) -> bool:
    """The admin's "retry now" with its audit entry; False when there was nothing to retry."""
    with database.atomic():
        done = robots.retry_now(delivery.id)
        if done:
            _audit(actor, "robot.retry", delivery.target, None, {"delivery": delivery.uuid})
    return done
