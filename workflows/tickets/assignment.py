"""Who handles a ticket at a step: the step's ``assignee`` rule and its ``pick``.

Picks that depend on shared state (round robin, least loaded) go through the
step's cursor row, which serialises them under concurrency: an upsert locks
the row until commit on PostgreSQL (and reads its latest version), SQLite's
IMMEDIATE transaction already holds the writer lock. A round robin is that one
upsert; a least-loaded pick counts the open tickets in a second statement,
started once the lock is held, so it sees every earlier pick's ticket.
Candidates are ordered by id, so every pick is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import EXCLUDED, JOIN, Case, SqliteDatabase, fn

from formbuilder.fieldtypes import classify
from formbuilder.messages import N_, Msg
from workflows.people.org import ROLES
from workflows.storage import generation
from workflows.storage.db import database
from workflows.storage.models import AssignmentCursor, Department, Ticket, User, UserLoad
from workflows.storage.prepared import Prepared

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
    #: The ticket with its data as the action leaves it (``assignee.type: "field"`` reads the named field).
    ticket: Ticket | None = None


def _active() -> object:
    return User.select().where(User.active == True).order_by(User.id)  # noqa: E712


def _in_department(code: str):
    """Active users of the department ``code`` and of every department below it, in one query."""
    top = Department.select(Department.id).where(Department.code == code).cte("subtree", recursive=True,
                                                                               columns=("id",))
    below = Department.alias()
    tree = top.union(below.select(below.id).join(top, on=(below.parent == top.c.id)))  # UNION: a cycle ends
    return _active().where(User.department.in_(tree.select_from(tree.c.id)))  # the subquery carries its WITH


BY_USERNAME = Prepared(lambda name: _active().where(User.username == name), str)
BY_ROLE = Prepared(lambda role: _active().where(User.role == role), str)
IN_DEPARTMENT = Prepared(_in_department, str)


def candidates(rule: dict, ctx: Context) -> list[User]:
    kind, value = rule["type"], rule.get("value")
    if isinstance(value, list):  # format 2: several departments or roles are candidates together
        return _union([candidates({**rule, "value": one}, ctx) for one in value])
    if kind == "creator":
        return [ctx.creator]
    if kind == "previous":
        return [ctx.sender]
    if kind == "user":
        return _kept("user", str(value))
    if kind == "field":
        return _from_field(str(value), ctx)
    if kind == "role" or (kind == "choose" and value in ROLES):
        return _kept("role", value)
    if kind == "department" or (kind == "choose" and value):
        return _kept("department", str(value))
    return list(generation.cached("candidates:all", lambda: list(_active())))


def _kept(kind: str, value: str) -> list[User]:
    """Active users by name, role or department (``kind``): kept per configuration stamp
    (``storage.generation``), shared by the process's threads (never changed by their readers)."""
    query = {"user": BY_USERNAME, "role": BY_ROLE, "department": IN_DEPARTMENT}[kind]
    return list(generation.cached(f"candidates:{kind}:{value}", lambda: query.rows(value)))  # a caller's own list


def _union(groups: list[list[User]]) -> list[User]:
    """Everyone in any of ``groups``, once, ordered by id as every candidate list is (picks stay deterministic)."""
    people = {user.id: user for group in groups for user in group}
    return [people[uid] for uid in sorted(people)]


def _field_kind(name: str, ctx: Context) -> str | None:
    """"user" or "department": the kind of the member or department field ``name``, else None."""
    schema = ctx.ticket.process_version.document["schema"]["properties"].get(name) if ctx.ticket else None
    found = classify(schema) if schema is not None else None
    return found.name if found is not None and found.name in ("user", "department") else None


def _from_field(name: str, ctx: Context) -> list[User]:
    """The active user a member field holds, or the active members of the department a department field holds.

    Without the ticket (a page listing whom to pick before anything is sent) there is nobody.
    """
    kind, value = _field_kind(name, ctx), ctx.ticket.data.get(name) if ctx.ticket is not None else None
    if kind is None or not isinstance(value, str):
        return []
    return _kept(kind, value)


def offered(rule: dict, ctx: Context) -> list[User]:
    """Whom the sender may pick from, when the rule lets them pick."""
    return candidates(rule, ctx) if _picks(rule, ctx) == "manual" else []


def _picks(rule: dict, ctx: Context | None = None) -> str:
    if rule["type"] == "choose":
        return "manual"
    if rule["type"] == "field":  # a department field: round robin unless the step says otherwise
        return rule.get("pick", "round_robin") if ctx and _field_kind(rule["value"], ctx) == "department" else "fixed"
    return rule.get("pick", "manual") if rule["type"] in ("role", "department") else "fixed"


def resolve(rule: dict, ctx: Context, chosen: str | None = None) -> User:
    """The next handler; raises :class:`AssignmentError` naming what is wrong."""
    params = {"step": ctx.step["name"]}
    people = candidates(rule, ctx)
    if not people:
        raise AssignmentError(Msg(NO_CANDIDATE, params))
    pick = _picks(rule, ctx)
    if pick == "fixed":
        return people[0]
    if pick == "manual":
        return _chosen(people, chosen, params)
    scope = f"{ctx.process}:{ctx.step['key']}"
    return _round_robin(people, scope) if pick == "round_robin" else _least_loaded(people, scope, ctx.ticket_id)


def _chosen(people: list[User], chosen: str | None, params: dict) -> User:
    if not chosen:
        raise AssignmentError(Msg(CHOOSE, params))
    for user in people:
        if user.username == chosen:
            return user
    raise AssignmentError(Msg(NOT_CANDIDATE, {**params, "user": chosen}))


def _upsert(scope: str, first: int, update):
    """Insert the cursor (at ``first``) or set its ``last_user`` to ``update``, returning the user id it holds."""
    return (AssignmentCursor.insert(scope=scope, last_user=first)
            .on_conflict(conflict_target=[AssignmentCursor.scope], update={AssignmentCursor.last_user: update})
            .returning(AssignmentCursor.last_user))


def _following(scope: str, *ids: int):
    """The first of ``ids`` (ascending) after the cursor's last user, else the first."""
    last = AssignmentCursor.last_user
    return _upsert(scope, ids[0], Case(None, [(last < i, i) for i in ids], ids[0]))


def _lightest(scope: str, moving: int, *ids: int):
    """Set the cursor to the one of ``ids`` with the fewest open tickets besides ``moving``, then lowest id.

    The counts are ``user_load`` rows (migration 0027: kept by triggers on ``ticket``), one per candidate;
    the moving ticket's stored handler, while it is open, is counted without it. A pending ticket
    (waiting for its customer) is still its handler's work, so it counts as open."""
    lightest = _lightest_query(moving, ids)
    return (AssignmentCursor.update(last_user=lightest).where(AssignmentCursor.scope == scope)
            .returning(AssignmentCursor.last_user))


def _lightest_query(moving: int, ids: tuple[int, ...]):
    holder = Ticket.select(Ticket.assignee).where(Ticket.id == moving, Ticket.status != "closed")
    load = fn.COALESCE(UserLoad.open, 0) - Case(None, [(User.id == holder, 1)], 0)
    return (User.select(User.id).join(UserLoad, JOIN.LEFT_OUTER, on=(UserLoad.user == User.id))
            .where(User.id.in_(ids)).order_by(load, User.id).limit(1))


def _lightest_at_once(scope: str, moving: int, *ids: int):
    """SQLite: :func:`_lightest` in one statement. Its write transactions are exclusive (``BEGIN IMMEDIATE``),
    so no count can change between the cursor's lock and the pick; PostgreSQL's statement snapshot would be
    taken before waiting for the row, hence its two statements there."""
    return (AssignmentCursor.insert(scope=scope, last_user=_lightest_query(moving, ids))
            .on_conflict(conflict_target=[AssignmentCursor.scope],
                         update={AssignmentCursor.last_user: EXCLUDED.last_user_id})
            .returning(AssignmentCursor.last_user))


_LOCK = Prepared(lambda scope, first: _upsert(scope, first, AssignmentCursor.last_user), str, int)
_by_count: dict[tuple[str, int], Prepared] = {}


def _statement(kind: str, count: int) -> Prepared:
    """The round-robin or least-loaded statement for ``count`` candidates (their ids are parameters)."""
    key = (kind, count)
    if key not in _by_count:
        build, fixed = {"round_robin": (_following, (str,)), "least_loaded": (_lightest, (str, int)),
                        "least_loaded_at_once": (_lightest_at_once, (str, int))}[kind]
        _by_count[key] = Prepared(build, *fixed, *[int] * count)
    return _by_count[key]


def _by_id(people: list[User], user_id: int) -> User:
    return next(u for u in people if u.id == user_id)


def _round_robin(people: list[User], scope: str) -> User:
    """The first candidate after the last one picked, else the first: one statement, on the locked row."""
    ((user_id,),) = _statement("round_robin", len(people)).tuples(scope, *[u.id for u in people])
    return _by_id(people, user_id)


def _least_loaded(people: list[User], scope: str, moving: int | None) -> User:
    """Fewest open tickets (the one being moved aside), then lowest id; counted once the cursor is locked."""
    ids = [u.id for u in people]
    if isinstance(database.obj, SqliteDatabase):
        ((user_id,),) = _statement("least_loaded_at_once", len(people)).tuples(scope, moving or 0, *ids)
        return _by_id(people, user_id)
    _LOCK.tuples(scope, people[0].id)  # the lock: the count below must start after it
    ((user_id,),) = _statement("least_loaded", len(people)).tuples(scope, moving or 0, *ids)
    return _by_id(people, user_id)
