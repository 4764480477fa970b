"""Child tickets (format 2 ``spawn``), links between tickets and merges of duplicates (issue 19).

They are engine actions (``engine.register``), so each is one ``engine.act`` call: permission,
version and status checked once, one transaction, one history row and one signal on the ticket
acted on. A spawn creates the child through ``engine.create`` as the actor, so the child
process's own first step validates what the ``map`` copied; a wait child holds its parent
through the ``engine.LEAVING`` guard. ``docs/relations.md`` says what was decided and why.
"""

from __future__ import annotations

from datetime import datetime

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.processes import documents as docs
from workflows.storage.models import Notification, ProcessVersion, Ticket, TicketEvent, TicketLink, User
from workflows.storage.prepared import Prepared
from workflows.tickets import collab, engine, moves
from workflows.tickets.access import can_act, can_read, is_admin, oversees, unreadable
from workflows.tickets.errors import Conflict, EngineError, Forbidden, Invalid, NotFound
from workflows.tickets.moves import NOTHING_SAVED, close, record, save, step_of

NOT_CREATED = N_("The child ticket was not created: see the fields.")
HELD = N_("Waiting for the child tickets to close: %(numbers)s.")



def _bad(field: str, text: str) -> EngineError:
    """A 400 naming the option at fault (``other``, ``spawn``)."""
    return EngineError(Msg(NOTHING_SAVED), {field: [Msg(text)]})


def spawn_entries(ticket: Ticket) -> list[dict]:
    """The ``spawn`` entries of the ticket's current step (none once it is closed)."""
    if ticket.status == "closed":
        return []
    return step_of(ticket.process_version, ticket.step).get("spawn", [])


def _entry(ticket: Ticket, choice) -> dict:
    """The entry asked for: its index in the step's ``spawn`` list, or its process code."""
    entries = spawn_entries(ticket)
    text = str(choice if choice is not None else "").strip()
    if text.isdigit() and int(text) < len(entries):
        return entries[int(text)]
    found = [entry for entry in entries if entry["process"] == text]
    if len(found) == 1:
        return found[0]
    raise EngineError(Msg(NOT_CREATED), {"spawn": [Msg(N_("This step offers no such child ticket."))]})


def _mapped(actor: User, ticket: Ticket, entry: dict, child_hidden: frozenset[str]) -> dict:
    """The child's first values, ``child_field <- parent.data[parent_field]``; what the actor may not read stays."""
    hidden = unreadable(actor, ticket.process_version)
    return {child: ticket.data[parent] for child, parent in (entry.get("map") or {}).items()
            if parent in ticket.data and parent not in hidden and child not in child_hidden}


def _spawn(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    """Create the child as the actor, at its first step taking its only offered transition."""
    entry = _entry(ticket, request.get("spawn"))
    version = docs.get_version(entry["process"])
    if version is None:
        raise EngineError(Msg(NOT_CREATED), {"spawn": [Msg(N_("No published process %(code)s."),
                                                               {"code": entry["process"]})]})
    data = _mapped(actor, ticket, entry, unreadable(actor, version))
    try:
        child = engine.create(actor, entry["process"], data, parent=ticket, holds_parent=bool(entry.get("wait")))
        ticket.related = True  # engine.load's column, read by open_holders and relatives: now it has a child
    except Invalid as error:
        fields = {f"spawn/{name}": messages for name, messages in error.fields.items()}
        raise Invalid(Msg(NOT_CREATED), fields) from None
    save(ticket, request["version"], now)
    record(ticket, "spawn", actor, ticket.assignee_id, now, from_step=ticket.step, comment=child.number)


def open_holders(ticket: Ticket) -> list[str]:
    """Numbers of the ticket's wait children that are not closed yet (none to look for when ``engine.load``
    found no related ticket)."""
    if not getattr(ticket, "related", True):
        return []
    query = (Ticket.select(Ticket.number).where(Ticket.parent == ticket, Ticket.holds_parent == True,  # noqa: E712
                                                 Ticket.status != "closed").order_by(Ticket.id))
    return [number for (number,) in query.tuples()]


def held(ticket: Ticket, transition: dict) -> dict:
    """The ``LEAVING`` guard: open wait children keep the parent at its step (advance and close alike)."""
    numbers = open_holders(ticket)
    if not numbers:
        return {}
    return {"children": [Msg(HELD, {"numbers": ", ".join(numbers)})]}


def _other(actor: User, ticket: Ticket, number) -> Ticket:
    """The ticket named by ``other``: it exists, is not this one and the actor may read it (400 at ``other``)."""
    text = str(number or "").strip()
    if not text:
        raise _bad("other", N_("This field is required."))
    try:
        other = engine.load(text)
    except NotFound:
        other = None
    if other is None or not can_read(actor, other):  # one answer: no number's existence is told
        raise _bad("other", N_("No ticket you may read has this number."))
    if other.id == ticket.id:
        raise _bad("other", N_("Choose another ticket than this one."))
    return other


def _pair(ticket: Ticket, other: Ticket) -> TicketLink | None:
    low, high = sorted((ticket.id, other.id))
    return TicketLink.get_or_none(TicketLink.ticket == low, TicketLink.other == high)


def _link(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    """Relate two tickets (关联): the actor acts on this one and reads the other; stored once per pair."""
    other = _other(actor, ticket, request.get("other"))
    if _pair(ticket, other) is not None:
        raise _bad("other", N_("These tickets are linked already."))
    low, high = sorted((ticket.id, other.id))
    TicketLink.create(ticket=low, other=high, kind="related", created_by=actor, created_at=now)
    ticket.related = other.related = True  # engine.load's column: both have a relation now
    save(ticket, request["version"], now)
    record(ticket, "link", actor, ticket.assignee_id, now, from_step=ticket.step, comment=other.number)
    _mark(other, "link", actor, now, ticket.number)


def _unlink(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    """Undo a ``related`` link; a merge's link stays (it is the merge's record)."""
    other = _other(actor, ticket, request.get("other"))
    link = _pair(ticket, other)
    if link is None or link.kind != "related":
        raise _bad("other", N_("These tickets are not linked."))
    link.delete_instance()
    save(ticket, request["version"], now)
    record(ticket, "unlink", actor, ticket.assignee_id, now, from_step=ticket.step, comment=other.number)
    _mark(other, "unlink", actor, now, ticket.number)


def _mark(other: Ticket, action: str, actor: User, now: datetime, number: str) -> None:
    """The other ticket's history row (no version bump: nothing of it changed that a form holds)."""
    TicketEvent.create(ticket=other, action=action, actor=actor, from_step=other.step, to_step=other.step,
                       created_at=now, comment=number)


def _may_merge_into(actor: User, other: Ticket) -> bool:
    return can_act(actor, other) or is_admin(actor) or oversees(actor, other.assignee_id)


def _merge(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    """Close this duplicate into ``other``: its notes and note files move, both histories say so."""
    other = _other(actor, ticket, request.get("other"))
    if not _may_merge_into(actor, other):
        raise Forbidden(Msg(N_("You may merge only into a ticket you handle or oversee.")))
    if other.status == "closed":
        raise _bad("other", N_("Merge into an open ticket."))
    holders = open_holders(ticket)
    if holders:
        raise Conflict(Msg(NOTHING_SAVED), {"children": [Msg(HELD, {"numbers": ", ".join(holders)})]})
    moved = collab.move_notes(ticket, other)
    step, before, entered = ticket.step, ticket.assignee_id, ticket.entered_at
    close(ticket, now)
    ticket.merged_into = other
    save(ticket, request["version"], now)
    _merge_link(ticket, other, actor, now)
    record(ticket, "merge", actor, before, now, entered, from_step=step, comment=other.number)
    _mark(other, "merge", actor, now, f"{ticket.number} ({moved})" if moved else ticket.number)


def _merge_link(ticket: Ticket, other: Ticket, actor: User, now: datetime) -> None:
    link = _pair(ticket, other)
    if link is not None:
        TicketLink.update(kind="merged").where(TicketLink.id == link.id).execute()
        return
    low, high = sorted((ticket.id, other.id))
    TicketLink.create(ticket=low, other=high, kind="merged", created_by=actor, created_at=now)
    ticket.related = other.related = True  # engine.load's column: both have a relation now


def _step_name(ticket: Ticket, closed: str) -> str:
    if ticket.status == "closed":
        return closed
    return next((s["name"] for s in ticket.process_version.document["steps"] if s["key"] == ticket.step), ticket.step)


def _brief(reader: User, ticket: Ticket, closed: str) -> dict:
    """What a relation shows of another ticket: number, process, step and status; no field data."""
    return {"number": ticket.number, "process": ticket.process_version.document["code"],
            "process_name": ticket.process_version.document["name"],
            "step": {"key": ticket.step, "name": _step_name(ticket, closed)}, "status": ticket.status,
            "readable": can_read(reader, ticket)}


def relatives(ticket: Ticket) -> list[Ticket]:
    """Parent, children, linked and merged tickets in one query, each with ``linked`` (a ``TicketLink`` exists)."""
    if not getattr(ticket, "related", True) and ticket.parent_id is None and ticket.merged_into_id is None:
        return []  # loaded with ``engine.load``'s related column: nothing to look for
    return _RELATIVES.rows(ticket.id, ticket.parent_id or 0, ticket.merged_into_id or 0)  # ids start at 1


def _relatives_query(ticket: int, parent: int, merged_into: int):
    """The relatives' ids as a union of index lookups: on PostgreSQL an OR of the same conditions, one of them
    a subquery, read every ticket (4.7 ms at 10k tickets, seconds at 10M); SQLite's plan was already so."""
    linked = (TicketLink.select(TicketLink.other).where(TicketLink.ticket == ticket)
              + TicketLink.select(TicketLink.ticket).where(TicketLink.other == ticket))
    ids = (Ticket.select(Ticket.id).where(Ticket.parent == ticket)
           + Ticket.select(Ticket.id).where(Ticket.merged_into == ticket)
           + Ticket.select(Ticket.id).where(Ticket.id.in_([parent, merged_into])) + linked)
    return (Ticket.select(Ticket, ProcessVersion, Ticket.id.in_(linked).alias("linked"))
            .join(ProcessVersion).where(Ticket.id.in_(ids)).order_by(Ticket.id))


_RELATIVES = Prepared(_relatives_query, int, int, int)


def relations(reader: User, ticket: Ticket, closed: str = "Closed") -> dict:
    """The ticket's parent, children, links and merges as ``reader`` sees them (page and API)."""
    found = relatives(ticket)
    by_id = {t.id: t for t in found}
    parent = by_id.get(ticket.parent_id)

    def merged_kind(other: Ticket) -> str:
        return "merged" if ticket.id == other.merged_into_id or other.id == ticket.merged_into_id else "related"

    return {
        "parent": _brief(reader, parent, closed) if parent else None,
        "children": [{**_brief(reader, t, closed), "wait": t.holds_parent} for t in found if t.parent_id == ticket.id],
        "links": [{**_brief(reader, t, closed), "kind": merged_kind(t)} for t in found if t.linked],
        "merged_into": by_id[ticket.merged_into_id].number if ticket.merged_into_id in by_id else None,
        "merged": [t.number for t in found if t.merged_into_id == ticket.id],
        "held": [t.number for t in found if t.parent_id == ticket.id and t.holds_parent and t.status != "closed"],
    }


def install(register, leaving: list) -> None:
    """Register the actions and the wait guard with the engine; called on every (re)load of ``engine``."""
    register("spawn", _spawn, ("open",))
    register("link", _link, ("open", "pending", "closed"))
    register("unlink", _unlink, ("open", "pending", "closed"))
    register("merge", _merge, ("open", "pending"))
    if held not in leaving:
        leaving.append(held)
    if freed not in moves.CLOSED:
        moves.CLOSED.append(freed)


def freed(ticket: Ticket, now: datetime) -> None:
    """``moves.CLOSED`` hook: when the last open child that held its parent closes, tell the parent's handler
    that the parent may move on (in the child's closing transaction; nothing moves by itself)."""
    if ticket.parent_id is None or not ticket.holds_parent:
        return
    others = Ticket.select().where(Ticket.parent == ticket.parent_id, Ticket.holds_parent == True,  # noqa: E712
                                   Ticket.status != "closed", Ticket.id != ticket.id)
    parent = Ticket.get_or_none(Ticket.id == ticket.parent_id)
    if parent is None or parent.assignee_id is None or parent.status == "closed" or others.exists():
        return
    Notification.create(user=parent.assignee_id, ticket=parent, kind="children_closed", created_at=now,
                        message=f"{parent.number}: its child tickets are closed")
