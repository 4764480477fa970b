"""Move the open tickets of older versions of a process to a newer one, with a step mapping (issue 20).

A ticket pins the version it was created with, and publishing leaves it there. An admin may move
the open ones (open or pending) over: each old step is mapped to a step of the target version, or
to none. :func:`plan` says per ticket what would change, or why it cannot move; :func:`migrate`
moves every movable ticket, each in its own transaction under its row lock and checked again
there, writes one ``migrated`` history row per ticket and one audit entry for the whole action.

The ticket stays at its step as far as time goes: ``entered_at`` is kept, so nothing of entering a
step runs again (no signers' parts, spawns or automation), its SLA is counted from the same entry
and returning from it still goes to the step it came from. The checks are in ``migrate_checks``;
the decisions are in docs/migration.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from peewee import fn

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.calendars.store import worktime
from workflows.people import roster
from workflows.processes import documents as docs
from workflows.processes import migrate_checks as checks
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Notification, Process, ProcessVersion, Ticket, TicketEvent, User, utcnow
from workflows.tickets import engine, moves, signing, sla, timing
from workflows.tickets.assignment import NO_CANDIDATE, Context, candidates
from workflows.tickets.errors import EngineError, NotFound

#: The history row's action, and the key of its diff holding [old version, new version] (no field has it).
ACTION, VERSIONS = "migrated", "$versions"
OPEN = ("open", "pending")
NOTHING_MOVED = N_("Nothing was moved: see the fields.")
GONE = N_("Its step %(step)s is not in version %(version)s and is not mapped to one of its steps.")
NOT_A_STEP = N_("Version %(version)s has no step %(step)s.")
NO_SUCH_STEP = N_("No open ticket of these versions is at a step %(step)s.")
NOT_OLDER = N_("Choose published versions older than version %(version)s.")
NO_VERSION = N_("No published version %(version)s.")
CLOSED = N_("The ticket is no longer open.")
ELSEWHERE = N_("The ticket is at version %(version)s now.")
KEPT = N_("Handler %(user)s stays.")
NEW_HANDLER = N_("New handler %(user)s: %(old)s cannot handle step %(step)s in the new version.")
CLOCK = N_("Its time limits follow step %(step)s of the new version, counted from when the ticket entered it.")
PRIORITY = N_("Priority becomes %(priority)s: the new version does not use priorities.")
NO_RETURN = N_("Returning from step %(step)s will find no step to go back to: the ticket's history names none of "
               "the new version.")


@dataclass
class TicketPlan:
    """One open ticket: where it would go and what would change, or the reasons it cannot move."""

    number: str
    from_version: int
    from_step: str
    from_step_name: str
    to_version: int
    to_step: str | None = None
    to_step_name: str | None = None
    status: str = "open"
    assignee: str | None = None  # username before
    new_assignee: str | None = None  # after (the same one when kept)
    changes: list[Msg] = field(default_factory=list)
    reasons: list[Msg] = field(default_factory=list)
    moved: bool = False

    @property
    def movable(self) -> bool:
        return not self.reasons


@dataclass
class Target:
    """The version tickets move to, from which versions, the complete step mapping, and what every check shares."""

    code: str
    version: ProcessVersion
    sources: list[ProcessVersion]
    mapping: dict[str, str | None]
    dictionaries: dict = field(default_factory=dict)
    validators: checks.Validators | None = None
    people: object = None

    def step(self, key: str | None) -> dict | None:
        return next((s for s in self.version.document["steps"] if s["key"] == key), None)


@dataclass
class Move:
    """What :func:`apply` writes besides what :func:`assess` set on the ticket: the handler and the clock."""

    step: dict
    old_step: dict
    before: dict  # the ticket's version number, data, handler id and priority before the move
    assignee: User | None = None
    reclock: bool = False


# -- the page's questions ------------------------------------------------------------------------------------

def open_counts(code: str, to_number: int | None = None) -> list[dict]:
    """Per older version with open tickets (newest first): its number, count and ``steps`` [(key, name, count)]."""
    versions = {v.number: v for v in _versions(code) if to_number is None or v.number < to_number}
    rows = (Ticket.select(ProcessVersion.number, Ticket.step, fn.COUNT(Ticket.id)).join(ProcessVersion)
            .where(ProcessVersion.id.in_([v.id for v in versions.values()] or [0]), Ticket.status.in_(OPEN))
            .group_by(ProcessVersion.number, Ticket.step).order_by(ProcessVersion.number, Ticket.step).tuples())
    found: dict[int, dict] = {}
    for number, key, count in rows:
        entry = found.setdefault(number, {"number": number, "count": 0, "steps": []})
        entry["count"] += count
        entry["steps"].append((key, _step_name(versions[number], key), count))
    return [found[n] for n in sorted(found, reverse=True)]


def default_mapping(steps: list[str], to: ProcessVersion) -> dict[str, str | None]:
    """Each old step to the target's step of the same key, else to none."""
    keys = {s["key"] for s in to.document["steps"]}
    return {key: key if key in keys else None for key in steps}


def _versions(code: str) -> list[ProcessVersion]:
    process = Process.get_or_none(Process.code == code)
    if process is None:
        raise NotFound(Msg(N_("No published process %(code)s."), {"code": code}))
    return list(ProcessVersion.select().where(ProcessVersion.process == process.id).order_by(ProcessVersion.number))


def _step_name(version: ProcessVersion, key: str) -> str:
    return next((s["name"] for s in version.document["steps"] if s["key"] == key), key)


# -- the input: versions and mapping, every problem named by its field ---------------------------------------

def target(code: str, from_numbers: list[int] | None, to_number: int, mapping: dict | None) -> Target:
    """The checked request: ``to``, ``from`` (None: every older version) and ``mapping/<old step>``.

    ``mapping`` maps an old step to a target step key, or to None or "" (no step); an old step it
    leaves out goes to the target's step of the same key, if any. Raises :class:`EngineError` (400)
    with every problem under its field; :class:`NotFound` for an unknown process.
    """
    versions, errors = {v.number: v for v in _versions(code)}, {}
    if to_number not in versions:
        raise EngineError(Msg(NOTHING_MOVED), {"to": [Msg(NO_VERSION, {"version": to_number})]})
    wanted = [n for n in versions if n < to_number] if from_numbers is None else list(dict.fromkeys(from_numbers))
    if not wanted or any(n not in versions or n >= to_number for n in wanted):
        errors["from"] = [Msg(NOT_OLDER, {"version": to_number})]
    sources = [versions[n] for n in wanted if n in versions and n < to_number]
    chosen = _mapping(code, sources, versions[to_number], mapping or {}, errors)
    if errors:
        raise EngineError(Msg(NOTHING_MOVED), errors)
    new = versions[to_number]
    return Target(code, new, sources, chosen, docs.dictionary_indexes(),
                  checks.Validators(new.document["schema"]["properties"]), roster.lazy())


def _mapping(code: str, sources: list[ProcessVersion], to: ProcessVersion, given: dict, errors: dict) -> dict:
    """The complete mapping of every step holding an open ticket of ``sources``; bad entries go to ``errors``."""
    numbers = {s.number for s in sources}
    held = sorted({key for v in open_counts(code, to.number) if v["number"] in numbers for key, _, _ in v["steps"]})
    chosen, keys = default_mapping(held, to), {s["key"] for s in to.document["steps"]}
    for old, new in given.items():
        new = new or None
        if old not in chosen:
            errors[f"mapping/{old}"] = [Msg(NO_SUCH_STEP, {"step": old})]
        elif new is not None and (not isinstance(new, str) or new not in keys):
            errors[f"mapping/{old}"] = [Msg(NOT_A_STEP, {"version": to.number, "step": str(new)})]
        else:
            chosen[old] = new
    return chosen


# -- plan ----------------------------------------------------------------------------------------------------

def plan(code: str, from_numbers: list[int] | None, to_number: int, mapping: dict | None = None) -> list[TicketPlan]:
    """Per open ticket of the older versions: would it move, where to, what changes, or why not. Writes nothing."""
    goal = target(code, from_numbers, to_number, mapping)
    tickets = _open_tickets(goal.sources)
    passed = _passed([t.id for t in tickets])
    return [assess(t, goal, passed.get(t.id, set()), dry=True)[0] for t in tickets]


def _open_tickets(sources: list[ProcessVersion]) -> list[Ticket]:
    creator = User.alias()
    return list(Ticket.select(Ticket, ProcessVersion, creator).join(ProcessVersion).switch(Ticket)
                .join(creator, on=(Ticket.creator == creator.id), attr="creator")
                .where(Ticket.process_version.in_([v.id for v in sources] or [0]), Ticket.status.in_(OPEN))
                .order_by(Ticket.id))


def _passed(ids: list[int]) -> dict[int, set[str]]:
    """Steps each ticket completed: created at, or advanced from (their requirements were met then)."""
    found: dict[int, set[str]] = {}
    rows = (TicketEvent.select(TicketEvent.ticket, TicketEvent.from_step)
            .where(TicketEvent.ticket.in_(ids or [0]), TicketEvent.action.in_(("create", "advance", "close")))
            .distinct().tuples())
    for ticket_id, step in rows:
        found.setdefault(ticket_id, set()).add(step)
    return found


def assess(ticket: Ticket, goal: Target, passed: set[str], dry: bool) -> tuple[TicketPlan, Move | None]:
    """The ticket's plan, and its move when it can go.

    A movable ticket is left as it would be at the new version (its version, step, data and priority
    set, not saved): the handler rule and the way back are asked of it so. ``passed``: old step keys.
    """
    old, old_step = ticket.process_version, moves.step_of(ticket.process_version, ticket.step)
    report = TicketPlan(ticket.number, old.number, ticket.step, old_step["name"], goal.version.number,
                        status=ticket.status, assignee=ticket.assignee.username if ticket.assignee_id else None)
    step = goal.step(goal.mapping.get(ticket.step))
    if step is None:
        report.reasons.append(Msg(GONE, {"step": old_step["name"], "version": goal.version.number}))
        return report, None
    report.to_step, report.to_step_name = step["key"], step["name"]
    found = checks.state(ticket, old_step, step)
    if not found.reasons:
        passed = {goal.mapping.get(key) or key for key in passed}  # a mapped step was passed under its new key
        more = checks.data(ticket, old, old_step, goal.version, step, passed, goal.validators, goal.dictionaries,
                           goal.people)
        found.data, found.changes, found.reasons = more.data, found.changes + more.changes, more.reasons
    report.changes, report.reasons = found.changes, found.reasons
    if report.reasons:
        return report, None
    move = Move(step, old_step, {"version": old.number, "data": ticket.data, "assignee": ticket.assignee_id,
                                 "priority": ticket.priority})
    ticket.process_version, ticket.step, ticket.data = goal.version, step["key"], found.data
    ticket.priority = _priority(ticket, goal)
    _placed(ticket, goal, report, move, dry)
    return report, (None if report.reasons else move)


def _priority(ticket: Ticket, goal: Target) -> str:
    """The ticket's priority, or the target's default when the target does not use priorities."""
    setting = goal.version.document.get("priority", {})
    default = setting.get("default", "normal")
    return ticket.priority if setting.get("enabled") or ticket.priority == default else default


def _placed(ticket: Ticket, goal: Target, report: TicketPlan, move: Move, dry: bool) -> None:
    """The priority, handler, clock and way back of the ticket at its new step, in words."""
    if ticket.priority != move.before["priority"]:
        report.changes.append(Msg(PRIORITY, {"priority": ticket.priority}))
    if signing.rule(move.step) is None:  # a carried countersign round has signers, no handler
        _handler(ticket, goal, move, report, dry)
    move.reclock = _clock(move.old_step, move.before["priority"]) != _clock(move.step, ticket.priority)
    report.changes += [Msg(CLOCK, {"step": move.step["name"]})] if move.reclock else []
    report.changes += _way_back(ticket, move.old_step, move.step)


def _handler(ticket: Ticket, goal: Target, move: Move, report: TicketPlan, dry: bool) -> None:
    """Keep the handler if the step's assignee rule still names them; else pick as the SLA worker does when the
    system moves a ticket (``sla.handler_at``: the rule, a manual pick made least loaded). A dry run's pick
    is undone (round robin and least loaded write their cursor)."""
    ctx = Context(goal.code, move.step, ticket.creator, ticket.assignee or ticket.creator, ticket.id, ticket)
    people = candidates(move.step["assignee"], ctx)
    if not people:
        report.reasons.append(Msg(NO_CANDIDATE, {"step": move.step["name"]}))
        return
    move.assignee = next((p for p in people if p.id == ticket.assignee_id), None)
    if move.assignee is not None:
        report.changes.append(Msg(KEPT, {"user": move.assignee.username}))
    else:
        move.assignee = _pick(ticket, move.step, dry)
        report.changes.append(Msg(NEW_HANDLER, {"user": move.assignee.username if move.assignee else "—",
                                                "old": report.assignee or "—", "step": move.step["name"]}))
    report.new_assignee = move.assignee.username if move.assignee else None


def _pick(ticket: Ticket, step: dict, dry: bool) -> User | None:
    if not dry:
        return sla.handler_at(ticket, step)
    with database.atomic() as savepoint:
        chosen = sla.handler_at(ticket, step)
        savepoint.rollback()
    return chosen


def _clock(step: dict, priority: str | None) -> tuple:
    """What the step's clock depends on: SLA minutes for the priority, warning share, calendar, timeout."""
    rule = step.get("sla") or {}
    return timing.sla_minutes(step, priority or "normal"), rule.get("warn"), rule.get("calendar"), step.get("timeout")


def _way_back(ticket: Ticket, old_step: dict, step: dict) -> list[Msg]:
    """At a step that allows returning: say so when the ticket will have no step to return to (the one it came
    from is not in the new version, or its step's key changed, so its history names no entry into it)."""
    if not step.get("allow_return"):
        return []
    entry = moves.entry(ticket)  # asked at the new step key
    keys = {s["key"] for s in ticket.process_version.document["steps"]}
    if entry is None and old_step["key"] == step["key"] or entry is not None and entry.from_step in keys:
        return []
    return [Msg(NO_RETURN, {"step": step["name"]})]


# -- migrate -------------------------------------------------------------------------------------------------

def migrate(actor: User, code: str, from_numbers: list[int] | None, to_number: int,
            mapping: dict | None = None) -> list[TicketPlan]:
    """Move every movable open ticket, one transaction each (a refused one stops nothing), then audit it all."""
    goal = target(code, from_numbers, to_number, mapping)
    reports: list[TicketPlan] = []
    try:
        for number in [t.number for t in _open_tickets(goal.sources)]:
            reports.append(_move_one(actor, number, goal))
    finally:  # what moved is audited even if a later ticket failed unexpectedly
        _audit(actor, goal, reports)
    return reports


def _move_one(actor: User, number: str, goal: Target) -> TicketPlan:
    """One ticket in its own transaction: locked, checked again as it is now, moved or left as it was."""
    with database.atomic() as transaction:
        ticket = _locked(number)
        if ticket.status not in OPEN or ticket.process_version_id not in {v.id for v in goal.sources}:
            return _gone(ticket, goal)
        report, move = assess(ticket, goal, _passed([ticket.id]).get(ticket.id, set()), dry=False)
        if move is None:
            transaction.rollback()  # a refusal writes nothing
            return report
        try:
            apply(ticket, move, actor, utcnow())
        except EngineError as error:  # the optimistic write lost after all: this ticket stays, the rest go on
            transaction.rollback()
            report.reasons.append(error.msg)
            return report
        report.moved = True
        return report


def _locked(number: str) -> Ticket:
    """The ticket read under its row lock (``FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transaction
    already serialises writers), as ``signing.lock`` reads a ticket for a signature."""
    if database.for_update:
        list(Ticket.select(Ticket.id).where(Ticket.number == number).for_update().tuples())
    return engine.load(number)


def _gone(ticket: Ticket, goal: Target) -> TicketPlan:
    """The plan of a ticket that closed or moved since the list was read."""
    version = ticket.process_version
    report = TicketPlan(ticket.number, version.number, ticket.step, _step_name(version, ticket.step),
                        goal.version.number, status=ticket.status)
    closed = ticket.status not in OPEN
    report.reasons.append(Msg(CLOSED) if closed else Msg(ELSEWHERE, {"version": version.number}))
    return report


def apply(ticket: Ticket, move: Move, actor: User, now: datetime) -> None:
    """Write the move :func:`assess` prepared: handler, clock, the ticket's row, its history row, a notice."""
    if signing.rule(move.step) is None:
        ticket.assignee = move.assignee
    if move.reclock:
        _reclock(ticket, move)
    moves.save(ticket, ticket.version, now)
    changes = {**moves.diff(move.before["data"], ticket.data), VERSIONS: [move.before["version"],
                                                                          ticket.process_version.number]}
    TicketEvent.create(ticket=ticket, action=ACTION, actor=actor, from_step=move.old_step["key"],
                       to_step=ticket.step, created_at=now, assignee_before=move.before["assignee"],
                       assignee_after=ticket.assignee_id, diff=changes)
    if ticket.assignee_id not in (None, actor.id, move.before["assignee"]):  # as the notifications subscriber
        Notification.create(user=ticket.assignee_id, ticket=ticket, kind="assigned", created_at=now,
                            message=f"{ticket.number}: {ACTION}")


def _reclock(ticket: Ticket, move: Move) -> None:
    """The new step's SLA and timeout, counted from the ticket's entry (``timing.reprioritised``'s rule across
    two steps): the working time a wait added to the old due time is kept out; marks already made stay."""
    before, minutes = timing.sla_minutes(move.old_step, move.before["priority"] or "normal"), \
        timing.sla_minutes(move.step, ticket.priority or "normal")
    waited = max(0, timing.sla_clock(move.old_step).seconds_between(ticket.entered_at, ticket.due_at)
                 - before * 60) if ticket.due_at is not None and before else 0
    clock, warn = timing.sla_clock(move.step), (move.step.get("sla") or {}).get("warn")
    ticket.due_at = clock.add(ticket.entered_at, minutes + waited / 60) if minutes else None
    ticket.warn_at = clock.add(ticket.entered_at, minutes * warn + waited / 60) if minutes and warn else None
    rule = move.step.get("timeout")
    ticket.timeout_at = worktime(rule.get("calendar")).add(ticket.entered_at, rule["minutes"]) if rule else None
    timing.schedule(ticket)


def _audit(actor: User, goal: Target, reports: list[TicketPlan]) -> None:
    """One entry for the whole action, once something moved: each moved ticket's old and new place, the refusals."""
    moved = [r for r in reports if r.moved]
    if not moved:
        return
    with database.atomic():
        audit.record(actor, "process.migrate", f"process:{goal.code}",
                     {"tickets": {r.number: {"version": r.from_version, "step": r.from_step} for r in moved}},
                     {"version": goal.version.number, "tickets": {r.number: r.to_step for r in moved},
                      "refused": {r.number: [m.render() for m in r.reasons] for r in reports if not r.moved},
                      "mapping": goal.mapping})
