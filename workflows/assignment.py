"""Who handles a ticket at a step: the step's ``assignee`` rule and its ``pick``.

Picks that depend on shared state (round robin, least loaded) first touch the
step's cursor row, which serialises them under concurrency: PostgreSQL locks
the row until commit, SQLite's IMMEDIATE transaction already holds the writer
lock. Candidates are ordered by id, so every pick is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from formbuilder.messages import N_, Msg

from .models import AssignmentCursor, Department, Ticket, User
from .org import ROLES, subtree

NO_CANDIDATE = N_("No active user can handle the step %(step)s.")
CHOOSE = N_("Choose who handles the step %(step)s.")
NOT_CANDIDATE = N_("%(user)s cannot handle the step %(step)s.")


class AssignmentError(ValueError):
    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


@dataclass(frozen=True)
class Context:
    """What a rule may refer to: the ticket's creator and who is sending it on."""

    process: str
    step: dict
    creator: User
    sender: User
    ticket_id: int | None = None  # the ticket being moved does not count as its holder's load


def _active() -> object:
    return User.select().where(User.active == True).order_by(User.id)  # noqa: E712


def _in_department(code: str):
    department = Department.get_or_none(Department.code == code)
    return _active().where(User.department.in_(subtree(department.id))) if department else _active().where(False)


def candidates(rule: dict, ctx: Context) -> list[User]:
    kind, value = rule["type"], rule.get("value")
    if kind == "creator":
        return [ctx.creator]
    if kind == "previous":
        return [ctx.sender]
    if kind == "user":
        return list(_active().where(User.username == value))
    if kind == "role" or (kind == "choose" and value in ROLES):
        return list(_active().where(User.role == value))
    if kind == "department" or (kind == "choose" and value):
        return list(_in_department(value))
    return list(_active())


def offered(rule: dict, ctx: Context) -> list[User]:
    """Whom the sender may pick from, when the rule lets them pick."""
    return candidates(rule, ctx) if _picks(rule) == "manual" else []


def _picks(rule: dict) -> str:
    if rule["type"] == "choose":
        return "manual"
    return rule.get("pick", "manual") if rule["type"] in ("role", "department") else "fixed"


def resolve(rule: dict, ctx: Context, chosen: str | None = None) -> User:
    """The next handler; raises :class:`AssignmentError` naming what is wrong."""
    params = {"step": ctx.step["name"]}
    people = candidates(rule, ctx)
    if not people:
        raise AssignmentError(Msg(NO_CANDIDATE, params))
    pick = _picks(rule)
    if pick == "fixed":
        return people[0]
    if pick == "manual":
        return _chosen(people, chosen, params)
    cursor = _lock(f"{ctx.process}:{ctx.step['key']}")
    user = _round_robin(people, cursor) if pick == "round_robin" else _least_loaded(people, ctx.ticket_id)
    AssignmentCursor.update(last_user=user).where(AssignmentCursor.id == cursor.id).execute()
    return user


def _chosen(people: list[User], chosen: str | None, params: dict) -> User:
    if not chosen:
        raise AssignmentError(Msg(CHOOSE, params))
    for user in people:
        if user.username == chosen:
            return user
    raise AssignmentError(Msg(NOT_CANDIDATE, {**params, "user": chosen}))


def _lock(scope: str) -> AssignmentCursor:
    AssignmentCursor.insert(scope=scope).on_conflict_ignore().execute()
    AssignmentCursor.update(scope=scope).where(AssignmentCursor.scope == scope).execute()  # takes the row lock
    return AssignmentCursor.get(AssignmentCursor.scope == scope)


def _round_robin(people: list[User], cursor: AssignmentCursor) -> User:
    after = [u for u in people if cursor.last_user_id is not None and u.id > cursor.last_user_id]
    return after[0] if after else people[0]


def _least_loaded(people: list[User], moving: int | None) -> User:
    load = dict(Ticket.select(Ticket.assignee, fn.COUNT(Ticket.id))
                .where(Ticket.status == "open", Ticket.assignee.in_([u.id for u in people]), Ticket.id != (moving or 0))
                .group_by(Ticket.assignee).tuples())
    return min(people, key=lambda u: (load.get(u.id, 0), u.id))
