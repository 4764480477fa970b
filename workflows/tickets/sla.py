"""The SLA sweep: warnings, overdue marks and escalations, timeouts and the end of waits, each once.

``sweep`` reads the ids of the tickets whose ``next_check_at`` (kept by ``workflows.tickets.timing``)
has come: an index range, never every open ticket. Each ticket is then handled in its own
transaction that starts by *claiming* it: ``UPDATE ... SET next_check_at = NULL WHERE id = ? AND
next_check_at <= now``. Of two sweeps racing (threads, processes, hosts), the first holds the row
until it commits and writes the next check time; the second's claim then finds nothing due and
does nothing. Inside the claim, each kind keeps its own mark as well (``warned_at IS NULL``,
``overdue_at IS NULL``, the ticket's version for a move), so nothing fires twice even for a
ticket written around the claim. What the sweep does is recorded as system events (the channels'
system user) with the rule's words: ``warn``, ``escalate``, ``timeout`` and ``resume``.
docs/sla.md has the decisions.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup
from peewee import InterfaceError, OperationalError

from formbuilder.messages import N_
from workflows.intake.channels import system_user
from workflows.people.org import department_of, manager_chain
from workflows.storage.db import database
from workflows.storage.models import Notification, ProcessVersion, Ticket, User, utcnow
from workflows.subscribers import automation, robots, webhooks
from workflows.tickets import engine, moves, pending, timing
from workflows.tickets.assignment import AssignmentError, Context, resolve

sla_cli = AppGroup("sla", help="Service level (SLA) deadlines.")
log = logging.getLogger(__name__)
RETRY = timedelta(minutes=5)  # a ticket whose handling failed is looked at again this much later
KINDS = ("overdue", "warned", "escalated", "timed_out", "resumed")


class Swept(list):
    """The numbers newly overdue (what ``sla sweep`` always answered), and every kind's numbers in ``by_kind``."""

    def __init__(self):
        super().__init__()
        self.by_kind: dict[str, list[str]] = {kind: [] for kind in KINDS}

    def add(self, kind: str, number: str) -> None:
        self.by_kind[kind].append(number)
        if kind == "overdue":
            self.append(number)


def due_query(now: datetime):
    """The tickets with something due: one range of the ``next_check_at`` index (the bench EXPLAINs it)."""
    return Ticket.select(Ticket.id).where(Ticket.next_check_at <= now).order_by(Ticket.next_check_at)


def due_ids(now: datetime) -> list[int]:
    return [ticket_id for (ticket_id,) in due_query(now).tuples()]


def sweep(now: datetime | None = None) -> Swept:
    """Do what is due for every ticket whose next check has come; each ticket in its own transaction."""
    now, swept = now or utcnow(), Swept()
    for ticket_id in due_ids(now):
        try:
            for kind, number in check(ticket_id, now):
                swept.add(kind, number)
        except (OperationalError, InterfaceError):
            raise  # the database is away: the worker waits a round (worker._survive)
        except Exception:  # noqa: BLE001 - one broken ticket must not stop the sweep of the others
            log.exception("SLA sweep: ticket %s failed; looked at again in %s", ticket_id, RETRY)
            Ticket.update(next_check_at=now + RETRY).where(Ticket.id == ticket_id,
                                                           Ticket.next_check_at <= now).execute()
    return swept


def check(ticket_id: int, now: datetime) -> list[tuple[str, str]]:
    """Claim one ticket and do what is due for it, in one transaction; what was done, by kind."""
    with database.atomic():
        if not Ticket.update(next_check_at=None).where(Ticket.id == ticket_id, Ticket.next_check_at <= now).execute():
            return []  # another sweep had it, or it changed since the ids were read
        ticket = Ticket.select(Ticket, ProcessVersion).join(ProcessVersion).where(Ticket.id == ticket_id).get()
        done = [kind for kind, act in (("resumed", pending.resume_due), ("timed_out", _timeout)) if act(ticket, now)]
        if "timed_out" not in done:  # a timeout put it at another step, whose clock starts now
            done += [kind for kind, act in (("warned", _warn), ("overdue", _overdue)) if act(ticket, now)]
            done += ["escalated"] if "overdue" in done and _escalate(ticket, now) else []
        timing.schedule(ticket)
        if ticket.next_check_at is not None and ticket.next_check_at <= now:  # held back (a guard): later
            ticket.next_check_at = now + RETRY
        Ticket.update(next_check_at=ticket.next_check_at).where(Ticket.id == ticket_id).execute()
        return [(kind, ticket.number) for kind in done]


def _manager(ticket: Ticket) -> int | None:
    """The handler's nearest manager other than the handler."""
    department = department_of(ticket.assignee_id)
    return next((m for m in manager_chain(department) if m != ticket.assignee_id), None)


def _notify(ticket: Ticket, now: datetime) -> None:
    department = department_of(ticket.assignee_id)
    people = [ticket.assignee_id, *manager_chain(department)[:1]]
    for user in dict.fromkeys(p for p in people if p is not None):
        Notification.create(user=user, ticket=ticket, kind="overdue", created_at=now,
                            message=f"{ticket.number}: overdue since {ticket.due_at:%Y-%m-%d %H:%M} UTC")


def _step(ticket: Ticket) -> dict:
    return moves.step_of(ticket.process_version, ticket.step)


def _warn(ticket: Ticket, now: datetime) -> bool:
    """``sla.warn`` reached: tell the handler once, and record it."""
    if ticket.status != "open" or ticket.warned_at is not None or ticket.warn_at is None or ticket.warn_at > now:
        return False
    if not Ticket.update(warned_at=now).where(Ticket.id == ticket.id, Ticket.warned_at.is_null()).execute():
        return False
    ticket.warned_at = now
    words = timing.said(N_("%(percent)s%% of the SLA used (due %(due)s UTC)."),
                        percent=round(_step(ticket)["sla"]["warn"] * 100), due=f"{ticket.due_at:%Y-%m-%d %H:%M}")
    if ticket.assignee_id is not None:
        Notification.create(user=ticket.assignee_id, ticket=ticket, kind="sla_warning", created_at=now,
                            message=f"{ticket.number}: {words}")
    moves.record(ticket, "warn", system_user(), ticket.assignee_id, now, from_step=ticket.step, comment=words)
    return True


def _overdue(ticket: Ticket, now: datetime) -> bool:
    """Past the due time: mark once, notify the handler and their manager, webhooks and rules (as before)."""
    if ticket.status != "open" or ticket.overdue_at is not None or ticket.due_at is None or ticket.due_at > now:
        return False
    claimed = (Ticket.update(overdue_at=now)
               .where(Ticket.id == ticket.id, Ticket.overdue_at.is_null(), Ticket.due_at <= now,
                      Ticket.status == "open").execute())
    if not claimed:
        return False
    ticket.overdue_at = now
    _notify(ticket, now)
    robots.queue("overdue", ticket)
    webhooks.enqueue("ticket.overdue", ticket)
    automation.run("ticket.overdue", ticket, None)  # same transaction as the mark
    return True


def _escalate(ticket: Ticket, now: datetime) -> bool:
    """``sla.escalate`` of the step the ticket was overdue at: tell the manager, or move it (once: the mark's)."""
    rule = (_step(ticket).get("sla") or {}).get("escalate") or {}
    if rule.get("to"):
        words = timing.said(N_("SLA exceeded: escalated to %(step)s."), step=_step_name(ticket, rule["to"]))
        if not move(ticket, rule["to"], "escalate", words, now):
            return False
        robots.queue("escalation", ticket)  # the chat robots in scope of the step it reached (docs/robots.md)
        return True
    manager = _manager(ticket) if rule.get("notify") == "manager" else None
    if manager is None:
        return False
    name = User.select(User.name).where(User.id == manager).scalar()
    words = timing.said(N_("SLA exceeded: %(name)s, the handler's manager, was notified."), name=name)
    Notification.create(user=manager, ticket=ticket, kind="escalated", created_at=now,
                        message=f"{ticket.number}: {words}")
    robots.queue("escalation", ticket, manager)
    moves.record(ticket, "escalate", system_user(), ticket.assignee_id, now, from_step=ticket.step, comment=words)
    return True


def _step_name(ticket: Ticket, key: str) -> str:
    return key if key == moves.END else moves.step_of(ticket.process_version, key).get("name", key)


def _timeout(ticket: Ticket, now: datetime) -> bool:
    """The step's ``timeout`` has come (pending time included): take its transition as a system event."""
    rule = _step(ticket).get("timeout") if ticket.status != "closed" else None
    if not rule or ticket.timeout_at is None or ticket.timeout_at > now:
        return False
    words = rule.get("label") or timing.said(N_("No reply within %(minutes)s minutes."), minutes=rule["minutes"])
    return move(ticket, rule["to"], "timeout", words, now)


def handler_at(ticket: Ticket, step: dict) -> User | None:
    """Who takes ``step`` when the system moves the ticket: its assignee rule, a manual pick made least
    loaded (nobody chooses), else nobody (the step's supervisors and admins see it unassigned)."""
    rule = step.get("assignee")
    if not rule:
        return None
    ctx = Context(ticket.process_version.document["code"], step, ticket.creator, ticket.assignee or ticket.creator,
                  ticket.id, ticket)
    for attempt in (rule, {**rule, "pick": "least_loaded"}):
        try:
            return resolve(attempt, ctx)
        except AssignmentError:
            continue
    return None


def move(ticket: Ticket, to: str, action: str, words: str, now: datetime) -> bool:
    """Move the ticket to step ``to`` (or close it) as the system: one version-checked write, one event.

    The engine's ``LEAVING`` guards hold it as they hold a person (open ``wait`` children): False then,
    and the sweep looks again later (a timeout; an escalation is not retried, the overdue mark stays).
    """
    if any(guard(ticket, {"to": to}) for guard in engine.LEAVING):
        return False
    before, entered, left = ticket.assignee_id, ticket.entered_at, ticket.step
    version = Ticket.select(Ticket.version).where(Ticket.id == ticket.id).scalar()  # the claim holds the row
    if to == moves.END:
        moves.close(ticket, now)
    else:
        step = moves.step_of(ticket.process_version, to)
        moves.enter(ticket, step, handler_at(ticket, step), now)
    moves.save(ticket, version, now)
    moves.record(ticket, action, system_user(), before, now, from_step=left, comment=words,
                 dwell_seconds=timing.dwell(ticket, left, entered, now))
    return True


def catch_up(now: datetime | None = None) -> int:
    """Give a next check to open tickets past due whose row says otherwise (written before migration 0016,
    or around ``timing``: a due time changed in SQL without its next check).

    Reads the ``(status, due_at)`` range of past-due open tickets, as the sweep did before
    ``next_check_at``: run by ``sla sweep`` and once when ``worker --sla`` starts, not every minute.
    """
    now = now or utcnow()
    return (Ticket.update(next_check_at=Ticket.due_at)
            .where(Ticket.status == "open", Ticket.due_at <= now, Ticket.overdue_at.is_null(),
                   Ticket.next_check_at.is_null() | (Ticket.next_check_at > Ticket.due_at)).execute())


def summary(swept: Swept) -> str:
    """``N ticket(s) newly overdue: ...`` as before, then the other kinds that happened."""
    text = f"{len(swept)} ticket(s) newly overdue" + (": " + ", ".join(swept) if swept else "")
    others = [f"{len(found)} {kind}" for kind, found in swept.by_kind.items() if kind != "overdue" and found]
    return text + ("; " + ", ".join(others) if others else "")


@sla_cli.command("sweep")
def sweep_command():
    """Warn, mark overdue, escalate, time out and end waits that are due, each once."""
    with database.connection_context():
        catch_up()
        swept = sweep()
    click.echo(summary(swept))
