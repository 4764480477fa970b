"""Who may act on a ticket, who may read it, and which fields each reader sees.

These rules live here, below every view and the API, so no path can skip
them. Hidden fields are removed from data before anything is rendered.
"""

from __future__ import annotations

from collections.abc import Callable

from formbuilder import readers
from workflows.intake.channels import SYSTEM_USERNAME
from workflows.people.org import department_of, manager_chain, subtree
from workflows.processes import documents as docs
from workflows.storage import generation
from workflows.storage.models import Department, ProcessVersion, Signature, Ticket, TicketCC, TicketEvent, User
from workflows.storage.prepared import Prepared

ALL = None  # visible_fields() result meaning "every field"
CREATORS = ("admin", "supervisor", "agent")  # the roles that register calls and create tickets
HANDLING = ("create", "advance", "close", "return", "transfer", "sign")  # the events by which someone handles a step


def in_chain(user: User, member_id: int | None) -> bool:
    """Whether ``user`` manages ``member_id``'s department or one above it."""
    return member_id is not None and user.id in manager_chain(department_of(member_id))


def oversees(reader: User, member_id: int | None) -> bool:
    """Admins, the manager chain, and supervisors whose subtree holds the member."""
    if is_admin(reader) or in_chain(reader, member_id):
        return True
    return reader.role == "supervisor" and department_of(member_id) in subtree(reader.department_id)


def can_act(actor: User, ticket: Ticket) -> bool:
    """Only the current assignee, their manager chain and admins act on a ticket; at a countersign step, its signers."""
    if is_admin(actor) or actor.id == ticket.assignee_id or in_chain(actor, ticket.assignee_id):
        return True
    return signs(actor, ticket)


def signs(user: User, ticket: Ticket) -> bool:
    """Whether ``user`` has a waiting part at the ticket's countersign step (its step has no handler then).

    One index lookup (signer, state, ticket), asked only of a ticket without a handler.
    """
    if ticket.assignee_id is not None or ticket.status != "open" or ticket.entered_at is None:
        return False
    return Signature.select().where(Signature.signer == user.id, Signature.state == "waiting",
                                    Signature.ticket == ticket.id, Signature.step == ticket.step,
                                    Signature.entered_at == ticket.entered_at).exists()


def may_act(actor: User, ticket: Ticket) -> bool:
    """Whether ``actor`` may act on the ticket now: it is open and :func:`can_act` says so.

    The ticket page (its step form) and the API (a ticket's transitions) both ask this.
    """
    return ticket.status == "open" and can_act(actor, ticket)


def may_create(user: User) -> bool:
    """Whether ``user``'s role registers calls and creates tickets (the engine, the call page and menus ask)."""
    return user.role in CREATORS


def is_admin(user: User) -> bool:
    """Admins manage processes, people and settings, and see every ticket and report."""
    return user.role == "admin"


_HANDLED = Prepared(lambda ticket, reader: TicketEvent.select(TicketEvent.from_step).where(
    TicketEvent.ticket == ticket, TicketEvent.actor == reader, TicketEvent.action.in_(HANDLING)), int, int)


def handled_steps(reader: User, ticket: Ticket) -> frozenset[str]:
    """Steps ``reader`` handled; a note, CC or tag written at a step does not show them its fields.

    Asked once per request for a ticket's state (an action renews the version): ``can_read`` and
    ``visible_fields`` both ask it for the same answer.
    """
    memo, key = generation.memo(), _handled_key(reader, ticket)
    if memo is not None and key in memo:
        return memo[key]
    steps = frozenset(step for (step,) in _HANDLED.tuples(ticket.id, reader.id) if step)
    if memo is not None:
        memo[key] = steps
    return steps


def _handled_key(reader: User, ticket: Ticket) -> tuple:
    return "handled", ticket.id, ticket.version, ticket.updated_at, reader.id


def known_history(reader: User, ticket: Ticket, events: list[TicketEvent]) -> None:
    """``events`` (all of the ticket's history, already read for a page or an answer) tell which steps
    ``reader`` handled: :func:`handled_steps` then asks no query for this state of the ticket."""
    memo = generation.memo()
    if memo is not None:
        memo[_handled_key(reader, ticket)] = frozenset(
            e.from_step for e in events if e.actor_id == reader.id and e.action in HANDLING and e.from_step)


def can_read(reader: User, ticket: Ticket) -> bool:
    if reader.id in (ticket.assignee_id, ticket.creator_id) or oversees(reader, ticket.assignee_id):
        return True
    if handled_steps(reader, ticket) or _is_cc(reader, ticket) or signs(reader, ticket):  # handled: asked again
        return True                                                                         # by visible_fields
    return oversees(reader, ticket.creator_id) or oversees_a_signer(reader, ticket)


def oversees_a_signer(reader: User, ticket: Ticket) -> bool:
    """At a countersign step (no handler), whether ``reader`` oversees one of its waiting signers: they read it
    and its step's fields, as a supervisor reads their handler's ticket (docs/countersign.md)."""
    if ticket.assignee_id is not None or ticket.status != "open" or ticket.entered_at is None:
        return False
    waiting = Signature.select(Signature.signer).where(Signature.ticket == ticket.id, Signature.step == ticket.step,
                                                       Signature.entered_at == ticket.entered_at,
                                                       Signature.state == "waiting")
    return any(oversees(reader, signer) for (signer,) in waiting.tuples())


def sees_all(reader: User, ticket: Ticket, overseen: Callable[[int | None], bool]) -> bool:
    """Admins, and until it is closed (open or pending) the supervisors of its handler (``overseen``: whether
    the reader oversees a member; bulk readers such as exports pass a set's test instead of asking per ticket)."""
    return is_admin(reader) or (ticket.status != "closed" and overseen(ticket.assignee_id))  # pending: still held


def department_codes(department_id: int | None) -> frozenset[str]:
    """The code of a department and of every department above it: a listed department reads with its subtree."""
    tree = generation.cached("access.codes", _code_tree)
    codes: set[str] = set()
    while department_id in tree and tree[department_id][1] not in codes:
        department_id, code = tree[department_id]
        codes.add(code)
    return frozenset(codes)


def _code_tree() -> dict[int, tuple[int | None, str]]:
    rows = Department.select(Department.id, Department.parent, Department.code).tuples()
    return {d: (parent, code) for d, parent, code in rows}


def unreadable(user: User, version: ProcessVersion) -> frozenset[str]:
    """The fields of ``version`` that ``user`` may never receive (format 2 ``x-readers``, ``docs/visibility.md``).

    Admins read everything. The channels' system user (web form, mail intake) has no reader role:
    every restricted field is unreadable there. A process without readers costs no query.
    """
    template = version.document["schema"]
    if not readers.restricted(template) or is_admin(user):
        return frozenset()
    if user.username == SYSTEM_USERNAME:
        return unreadable_outside(version)
    return readers.unreadable(template, user.role, department_codes(user.department_id))


def unreadable_outside(version: ProcessVersion) -> frozenset[str]:
    """Every field of ``version`` that names readers: what the public web form and mail intake may not set."""
    return readers.unreadable(version.document["schema"], None)


def every_field(reader: User, ticket: Ticket, hidden: frozenset[str] | None = None) -> set[str] | None:
    """The "sees all" answer: :data:`ALL`, or every field but those ``reader`` may not read.

    ``hidden``: :func:`unreadable` when the caller knows it already (bulk readers such as exports).
    """
    hidden = unreadable(reader, ticket.process_version) if hidden is None else hidden
    return set(ticket.process_version.document["schema"]["properties"]) - hidden if hidden else ALL


def visible_fields(reader: User, ticket: Ticket) -> set[str] | None:
    """Field keys ``reader`` may see; :data:`ALL` for admins and for supervisors of the current handler.

    Fields follow steps (``docs/visibility.md``): a reader sees the fields shown at the steps
    they handled, the creation step if they created the ticket, the current step if they hold
    it (open or pending); a supervisor of the creator sees what the creator sees. Being CC'd, @mentioned, writing
    a note or a tag adds no step, so adding yourself to a ticket never widens what you see. Fields
    the reader may not read (``x-readers``) are left out of every answer, the "all" one included.
    """
    if sees_all(reader, ticket, lambda member: oversees(reader, member)):
        return every_field(reader, ticket)
    version, steps = ticket.process_version, set(handled_steps(reader, ticket))
    if reader.id == ticket.creator_id or oversees(reader, ticket.creator_id):
        steps.add(version.document["steps"][0]["key"])
    if ticket.status != "closed" and (reader.id == ticket.assignee_id or signs(reader, ticket)
                                    or oversees_a_signer(reader, ticket)):
        steps.add(ticket.step)
    fields: set[str] = set()
    for key in steps & {s["key"] for s in version.document["steps"]}:
        fields |= set(docs.compiled(version, key).spec.visible(ticket.data))
    return fields - unreadable(reader, version)


def _is_cc(reader: User, ticket: Ticket) -> bool:
    return TicketCC.select().where(TicketCC.ticket == ticket, TicketCC.user == reader).exists()


def filter_data(data: dict, fields: set[str] | None) -> dict:
    return dict(data) if fields is ALL else {k: v for k, v in data.items() if k in fields}
