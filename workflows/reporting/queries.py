"""Ticket lists: who sees which tickets, filtered, sorted and paged, in SQL.

The workspace page and ``GET /api/v1/tickets`` both list through here. Pages
are keyset pages: the cursor holds the last row's sort key and id, so the
next page is an index range, never an OFFSET, however deep the user reads.
Besides the small look-ups of the user's team, a page costs one query for the
tickets (with their customer; one per sort segment it spans), one for their
users and one for their process versions, however many rows it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from peewee import JOIN, SQL, Case, Expression, fn

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.people import customers, phones
from workflows.people.org import managed_by, members, subtree
from workflows.search import query as search
from workflows.storage import generation
from workflows.storage.models import (
    Customer,
    Process,
    ProcessVersion,
    Signature,
    Ticket,
    TicketCC,
    TicketEvent,
    User,
    utcnow,
)
from workflows.tickets.access import HANDLING, may_create
from workflows.tickets.engine import PRIORITIES
from workflows.tickets.errors import EngineError, Forbidden
from workflows.tickets.tags import tag_condition

SCOPES = ("mine", "team", "all")
SORTS = ("newest", "due", "priority", "updated")  # updated: latest change first (issue 21, docs/workspace.md)
TAB_ROLES = {"mine": None, "team": ("supervisor", "admin"), "all": ("admin",)}
# Lists show no field data: it is large, and the reader's visible fields are decided per ticket.
LIST_FIELDS = [f for f in Ticket._meta.sorted_fields if f.name != "data"]


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the list to; None (or False) leaves a criterion out."""

    status: str | None = None
    process: str | None = None
    step: str | None = None
    priority: str | None = None
    overdue: bool = False
    created_from: date | None = None
    created_to: date | None = None
    q: str | None = None
    customer: int | None = None
    tag: str | None = None


@dataclass
class TicketPage:
    """One page of tickets, each with its ``process_version`` and customer attached."""

    tickets: list[Ticket]
    next_cursor: str | None
    users: dict[int, User]

    def usernames(self) -> dict[int, str]:
        return {uid: user.username for uid, user in self.users.items()}


def tabs(user: User) -> list[str]:
    """The list scopes ``user``'s role may open."""
    return [s for s in SCOPES if TAB_ROLES[s] is None or user.role in TAB_ROLES[s]]


def scope_condition(user: User, scope: str, statuses: tuple[str, ...] | None = None) -> Expression | None:
    """Which tickets a scope holds for ``user`` (None: every ticket); ``statuses``: the list's status filter,
    which the caller applies too (``mine_condition`` also reads it, so as to look up only those)."""
    if scope not in SCOPES:
        raise EngineError(Msg(N_("scope must be mine, team or all.")))
    if scope not in tabs(user):
        raise Forbidden(Msg(N_("Your role may not list %(scope)s tickets."), {"scope": scope}))
    if scope == "mine":
        return mine_condition(user, statuses)
    if scope == "team":
        team = _team(user)
        return Ticket.assignee.in_(team) | Ticket.creator.in_(team) | Ticket.id.in_(_signing(team))
    return None


def _team(user: User):
    """The users of ``user``'s department subtree, as a subquery on their department (the same set as
    ``org.team_ids``): a large team's literal id list was built into every statement of the reports page
    (620 ids x 16 statements: 200 ms of SQL building) and of the team list."""
    departments = subtree(user.department_id)
    if not departments:
        return {user.id}
    return User.select(User.id).where(User.department.in_(sorted(departments)))


def mine_condition(user: User, statuses: tuple[str, ...] | None = None) -> Expression:
    """Assigned to, created by or CC'd to the user.

    A union of three index lookups: as an OR, PostgreSQL reads the whole table
    for someone with few tickets. With ``statuses`` (the open list, the live poll's
    rows and counts) the handler's and creator's lookups take only those, by the
    (assignee, status, id) and (creator, status, id) indexes: an agent's open list
    read every ticket the agent ever created (migration 0029).
    """
    narrow = [Ticket.status.in_(statuses)] if statuses else []
    assigned = Ticket.select(Ticket.id).where(Ticket.assignee == user.id, *narrow)
    created = Ticket.select(Ticket.id).where(Ticket.creator == user.id, *narrow)
    cc = TicketCC.select(TicketCC.ticket).where(TicketCC.user == user.id)
    # a waiting part at a countersign step (docs/countersign.md): the (signer, state, ticket) index
    signing = Signature.select(Signature.ticket).where(Signature.signer == user.id, Signature.state == "waiting")
    return Ticket.id.in_(assigned | created | cc | signing)


def _signing(people) -> Expression:
    """Tickets where one of ``people`` has a waiting countersign part (the (signer, state, ticket) index)."""
    return Signature.select(Signature.ticket).where(Signature.signer.in_(people), Signature.state == "waiting")


def overseen_ids(user: User) -> set[int]:
    """Users whose tickets ``user`` oversees (``workflows.tickets.access.oversees``), admins aside."""
    departments = subtree(user.department_id) if user.role == "supervisor" else set()
    for managed in managed_by(user.id):
        departments |= subtree(managed)
    if not departments:
        return set()
    return {uid for uid, member in members().items() if member.department_id in departments}


def _readable(user: User) -> Expression | None:
    """``workflows.tickets.access.can_read`` as a condition, so a list needs no check per row.

    Tested row by row (index lookups), for lists already narrowed, like one customer's tickets.
    """
    if user.role == "admin":
        return None
    cc = TicketCC.select(SQL("1")).where(TicketCC.ticket == Ticket.id, TicketCC.user == user.id)
    handled = TicketEvent.select(SQL("1")).where(TicketEvent.actor == user.id, TicketEvent.ticket == Ticket.id,
                                                 TicketEvent.from_step.is_null(False), TicketEvent.action.in_(HANDLING))
    signing = Signature.select(SQL("1")).where(Signature.signer == user.id, Signature.state == "waiting",
                                               Signature.ticket == Ticket.id)
    condition = (Ticket.assignee == user.id) | (Ticket.creator == user.id) | fn.EXISTS(cc) | fn.EXISTS(handled)
    condition |= fn.EXISTS(signing)
    overseen = overseen_ids(user)
    if overseen:
        condition |= Ticket.assignee.in_(overseen) | Ticket.creator.in_(overseen) | Ticket.id.in_(_signing(overseen))
    return condition


def overdue_condition(now: datetime) -> Expression:
    return Ticket.overdue_at.is_null(False) | ((Ticket.status == "open") & (Ticket.due_at < now))


def process_condition(code: str) -> Expression:
    """Tickets of the process ``code``, whichever of its versions they run on (the lists' and reports' filter)."""
    versions = ProcessVersion.select(ProcessVersion.id).join(Process).where(Process.code == code)
    return Ticket.process_version.in_(versions)


def equal_filters(filters, *names: str) -> list[Expression]:
    """``ticket.<name> = value`` for each of the filters ``names`` that is set (list and report filters alike)."""
    return [getattr(Ticket, name) == getattr(filters, name) for name in names if getattr(filters, name)]


#: Statuses a ticket is still being worked on in: the "open" filter lists pending tickets too (docs/pending.md).
UNRESOLVED = ("open", "pending")


def statuses_of(filters: Filters | None) -> tuple[str, ...] | None:
    """The statuses the list filter ``status`` keeps (None: every status)."""
    if filters is None or not filters.status:
        return None
    return UNRESOLVED if filters.status == "open" else (filters.status,)


def status_condition(status: str) -> Expression:
    """The list filter ``status``: "open" means not closed (a handler's pending tickets stay in their list)."""
    return Ticket.status.in_(UNRESOLVED) if status == "open" else Ticket.status == status


def filtered(query, filters: Filters, now: datetime, ranked: list[int] | None = None):
    """``query`` narrowed by the list filters; public because the live stamps (reporting/live.py) must
    narrow exactly as the page they stand for does."""
    conditions = equal_filters(filters, "step", "priority")
    if filters.status:
        conditions.append(status_condition(filters.status))
    if filters.process:
        conditions.append(process_condition(filters.process))
    if filters.overdue:
        conditions.append(overdue_condition(now))
    if filters.created_from:
        conditions.append(Ticket.created_at >= datetime.combine(filters.created_from, time()))
    if filters.created_to:
        conditions.append(Ticket.created_at < datetime.combine(filters.created_to + timedelta(days=1), time()))
    if filters.customer is not None:
        conditions.append(Ticket.customer == filters.customer)
    if filters.q and filters.q.strip():
        conditions.append(_text(filters.q.strip(), ranked))
    if filters.tag:
        conditions.append(tag_condition(filters.tag))
    return query.where(*conditions) if conditions else query


TEXT_CUSTOMERS = 200  # a text that matches more customers than this is searched row by row instead


def _text(text: str, ranked: list[int] | None = None) -> Expression:
    """Ticket number exactly, customer phone by prefix, customer name by part, and the full-text matches.

    ``ranked``: the tickets the search index found for this reader (:func:`_searched`); None when none
    was asked. A specific text (the usual phone or name) becomes a list of customer ids, which
    the (customer, id) index serves; a vague one matches so many rows that reading
    the newest tickets and testing each finds a page quickly.
    """
    matches = customer_match(text, ranked is not None)
    ids = [i for (i,) in Customer.select(Customer.id).where(matches).limit(TEXT_CUSTOMERS + 1).tuples()]
    number = _number(text) | Ticket.id.in_(ranked) if ranked else _number(text)
    if len(ids) > TEXT_CUSTOMERS:
        return number | matches  # on the customer joined in ticket_list
    return number | Ticket.customer.in_(ids) if ids else number


def customer_match(text: str, full_text: bool) -> Expression:
    """Customers whose phone starts with ``text`` (a range of the phone index), or whose name holds it.

    Names by part read every customer (no index serves ``%text%``); with the full text asked (the
    index holds customers' names as the reader may see them) that is left to one-character texts.
    Phones are stored in E.164 (docs/phones.md): ``138001`` or ``010 8888`` also looks for ``+86...``.
    """
    prefix = _phone_prefix(text)
    canonical = phones.search_prefix(text)
    if canonical and canonical != text:
        prefix |= _phone_prefix(canonical)
    return prefix if full_text and len(text) > 1 else prefix | Customer.name.contains(text)


def _phone_prefix(text: str) -> Expression:
    """Customers whose phone starts with ``text``: a range of the phone index."""
    after = ord(text[-1]) + 1
    after = 0xE000 if 0xD800 <= after <= 0xDFFF else after  # past the surrogates, which no text holds
    prefix = Customer.phone >= text
    if after <= 0x10FFFF:
        prefix &= Customer.phone < text[:-1] + chr(after)
    return prefix


def _number(text: str) -> Expression:
    """The ticket numbered ``text`` and, if it was merged (docs/relations.md), the ticket it was merged into."""
    kept = Ticket.alias()  # ids by the number's index: an OR of the number and a subquery made PostgreSQL
    ids = (kept.select(kept.id).where(kept.number == text)  # filter every ticket (1.5 s at 10M tickets)
           | kept.select(kept.merged_into).where(kept.number == text, kept.merged_into.is_null(False)))
    return Ticket.id.in_(ids)


def _searched(reader: User | None, filters: Filters, now: datetime) -> list[int] | None:
    """For ``q``: the ticket it numbers, then the full-text matches in what ``reader`` sees, best first.

    The index is asked among the tickets the reader may read, with the list's other filters
    (``workflows/search/query.py``); the list's query applies its scope. Numbers and phones keep
    matching as before (:func:`_text`).
    """
    text = (filters.q or "").strip()
    if not text or reader is None:
        return None
    others = replace(filters, q=None)

    def narrow(query):  # the scope is left to the list's own query: a union of ids would be read in full here
        return filtered(query, others, now)

    numbered = Ticket.select(Ticket.id, Ticket.merged_into).where(Ticket.number == text).tuples()  # by its index
    exact = [i for row in numbered for i in row if i is not None]
    return list(dict.fromkeys(exact + search.ranked(reader, text, narrow)))


# A sort reads segments one after the other, each one index-friendly ORDER BY:
# by id, newest first, or by due time, soonest first.

_STAMP = "%Y%m%d%H%M%S%f"


@dataclass(frozen=True)
class _Segment:
    """Rows matching ``where``; ``label`` starts their cursors (None: by due time, the cursor holds it)."""

    label: str | None
    where: Expression | None = None

    def order(self) -> tuple:
        return (Ticket.due_at, Ticket.id) if self.label is None else (Ticket.id.desc(),)

    def cursor(self, ticket: Ticket) -> str:
        key = ticket.due_at.strftime(_STAMP) if self.label is None else self.label
        return f"{key}-{ticket.id}" if key else str(ticket.id)

    def after(self, key: str, last: int) -> Expression:
        if self.label is not None:
            return Ticket.id < last
        try:
            due = datetime.strptime(key, _STAMP)
        except ValueError:
            raise _bad_cursor() from None
        # The redundant "due_at >= due" gives the planner an index range to start from.
        return (Ticket.due_at >= due) & ((Ticket.due_at > due) | (Ticket.id > last))


class _Latest(_Segment):
    """All rows by the time of their last change, latest first; the cursor holds that time and the id.

    ``updated_at`` is never null (written on create and by every action's save), so one segment
    holds every row; the (updated_at, id) index of migration 0019 serves the order and the range.
    """

    def order(self) -> tuple:
        return (Ticket.updated_at.desc(), Ticket.id.desc())

    def cursor(self, ticket: Ticket) -> str:
        return f"{ticket.updated_at.strftime(_STAMP)}-{ticket.id}"

    def after(self, key: str, last: int) -> Expression:
        try:
            moment = datetime.strptime(key, _STAMP)
        except ValueError:
            raise _bad_cursor() from None
        return (Ticket.updated_at <= moment) & ((Ticket.updated_at < moment) | (Ticket.id < last))


class _Ranked(_Segment):
    """The search's matches in its order (``ids``, best first); the cursor holds the last row's place."""

    def __init__(self, ids: list[int]):
        super().__init__("r", Ticket.id.in_(ids))
        object.__setattr__(self, "ids", list(ids))

    def order(self) -> tuple:
        return (Case(Ticket.id, [(i, place) for place, i in enumerate(self.ids)]),)

    def cursor(self, ticket: Ticket) -> str:
        return f"r-{self.ids.index(ticket.id)}"

    def after(self, key: str, last: int) -> Expression:
        return Ticket.id.in_(self.ids[last + 1:] or [0])


def ranked_segments(ranked: list[int] | None, sort: str, text: str | None) -> list[_Segment]:
    """With a search (``q``) and the default sort, its matches best first, then other matches (a phone's), newest.

    The second segment only when a customer matches: else it would read every ticket to find none.
    """
    if not ranked or sort != "newest":
        return SEGMENTS[sort]
    others = Customer.select(Customer.id).where(customer_match(text.strip(), True)).exists()
    return [_Ranked(ranked)] + ([_Segment("", Ticket.id.not_in(ranked))] if others else [])


SEGMENTS = {
    "newest": [_Segment("")],
    "updated": [_Latest(None)],
    # Open tickets by due time, then the rest (closed, or at a step without SLA). Closed tickets
    # have no due time anyway: "open" lets the (status, due_at) index serve the order.
    "due": [_Segment(None, (Ticket.status == "open") & Ticket.due_at.is_null(False)),
            _Segment("n", (Ticket.status != "open") | Ticket.due_at.is_null())],
    "priority": [*(_Segment(str(rank), Ticket.priority == p) for rank, p in enumerate(PRIORITIES)),
                 _Segment(str(len(PRIORITIES)), Ticket.priority.not_in(PRIORITIES))],
}


def _bad_cursor() -> EngineError:
    """400 naming ``cursor``: a forged, garbled or outsized one, on every list alike."""
    msg = Msg(N_("cursor is not valid."))
    return EngineError(msg, {"cursor": [msg]})


CURSOR_MAX = 64  # no cursor we hand out is longer: a sort key and a row id


def cursor_id(text: str) -> int:
    """The row id a cursor (or its last part) holds; one a database column can hold, else a 400.

    Every list's cursor passes here: an id past 64 bits is an OverflowError on
    SQLite and an out-of-range error on PostgreSQL, a 500 either way.
    """
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) >= 2**63:
        raise _bad_cursor()
    return int(text)


def _parse(cursor: str | None, segments: list[_Segment]) -> tuple[int, Expression | None]:
    """The segment a cursor points into and the condition for the rows after it."""
    if not cursor:
        return 0, None
    key, dash, last = cursor.rpartition("-")
    if len(cursor) > CURSOR_MAX or (dash and not key):
        raise _bad_cursor()
    last_id = cursor_id(last)
    found = [i for i, s in enumerate(segments) if s.label == key] or [
        i for i, s in enumerate(segments) if s.label is None]
    if not found:
        raise _bad_cursor()
    return found[0], segments[found[0]].after(key, last_id)


def _read(query, segments: list[_Segment], cursor: str | None, size: int) -> list[tuple[Ticket, _Segment]]:
    """Up to ``size`` rows after the cursor, each with the segment it came from."""
    start, after = _parse(cursor, segments)
    rows: list[tuple[Ticket, _Segment]] = []
    for index in range(start, len(segments)):
        segment, part = segments[index], query
        for extra in (segment.where, after if index == start else None):
            part = part.where(extra) if extra is not None else part
        rows += [(t, segment) for t in part.order_by(*segment.order()).limit(size - len(rows))]
        if len(rows) == size:
            break
    return rows


def ticket_list(user: User, scope: str = "mine", filters: Filters | None = None, cursor: str | None = None,
                sort: str = "newest", page_size: int = 50) -> TicketPage:
    """One page of the tickets ``scope`` holds for ``user``; Forbidden if the role may not open it."""
    from workflows.reporting import minelist  # it builds on this module: imported when first listed
    if minelist.applies(scope, filters, cursor, sort):
        return minelist.page(user, filters, cursor, page_size)
    return _page(scope_condition(user, scope, statuses_of(filters)), filters, cursor, sort, page_size, user)


def readable_list(user: User, filters: Filters, cursor: str | None = None, page_size: int = 50) -> TicketPage:
    """One page, newest first, of the tickets ``user`` may read; for lists the filters narrow, like a customer's."""
    return _page(_readable(user), filters, cursor, "newest", page_size, user)


def caller_history(user: User, customer_id: int, limit: int = 5) -> tuple[list[Ticket], int]:
    """A caller's latest tickets ``user`` may read, and how many there are: the rule of ``/customers/ID``."""
    condition = _readable(user)
    query = Ticket.select().where(Ticket.customer == customer_id)
    query = query.where(condition) if condition is not None else query
    latest = list(query.order_by(Ticket.id.desc()).limit(limit))
    _attach_versions(latest)
    return latest, query.count()


def _page(condition: Expression | None, filters: Filters | None, cursor: str | None, sort: str,
          page_size: int, reader: User | None = None) -> TicketPage:
    if sort not in SORTS:
        raise EngineError(Msg(N_("sort must be newest, due, priority or updated.")))
    query = list_select()
    if condition is not None:
        query = query.where(condition)
    filters, now = filters or Filters(), utcnow()
    ranked = _searched(reader, filters, now)  # q: full text, in what the reader sees (docs/search.md)
    query = filtered(query, filters, now, ranked)
    return page_of(_read(query, ranked_segments(ranked, sort, filters.q), cursor, page_size + 1), page_size)


def list_select():
    """A list's columns: the ticket's but its data, and its customer's name and phone."""
    return Ticket.select(*LIST_FIELDS, Customer.id, Customer.name, Customer.phone).join(Customer, JOIN.LEFT_OUTER)


def page_of(rows: list[tuple[Ticket, _Segment]], page_size: int) -> TicketPage:
    """The page from up to ``page_size + 1`` rows read (one more says whether a next page exists)."""
    page = [t for t, _ in rows[:page_size]]
    _attach_versions(page)
    next_cursor = rows[page_size - 1][1].cursor(page[-1]) if len(rows) > page_size else None
    return TicketPage(page, next_cursor, users_by_id({i for t in page for i in (t.assignee_id, t.creator_id)}))


def versions_by_id(ids) -> dict[int, ProcessVersion]:
    """Process versions by id, holding at least ``ids``: published versions never change, so each is read
    once per configuration stamp (one query for those not read yet); shared, never changed by readers."""
    versions = generation.cached("versions.by_id", dict)
    if missing := set(ids) - versions.keys():
        fields = (ProcessVersion.id, ProcessVersion.process, ProcessVersion.number, ProcessVersion.document)
        versions.update({v.id: v for v in ProcessVersion.select(*fields).where(ProcessVersion.id.in_(missing))})
    return versions


def _attach_versions(tickets: list[Ticket]) -> None:
    """Each ticket's pinned process version (immutable, usually one or two per page): :func:`versions_by_id`."""
    versions = versions_by_id({t.process_version_id for t in tickets})
    for ticket in tickets:
        ticket.process_version = versions[ticket.process_version_id]


def users_by_id(ids) -> dict[int, User]:
    """id -> User with its username and name, from the users kept per configuration stamp (``org.members``)."""
    known = members()
    return {i: User(id=i, username=known[i].username, name=known[i].name) for i in ids if i in known}


def counts(user: User) -> dict[str, int]:
    """Open tickets in each list scope the user may open, each counted by the database."""
    found = {}
    for scope in tabs(user):
        query = Ticket.select().where(Ticket.status.in_(UNRESOLVED))  # as the default "open" filter lists
        condition = scope_condition(user, scope, UNRESOLVED)
        found[scope] = (query.where(condition) if condition is not None else query).count()
    return found


def step_names(version: ProcessVersion) -> dict[str, str]:
    return {step["key"]: step["name"] for step in version.document["steps"]}


def published_processes() -> list[ProcessVersion]:
    """The latest published version of each process, for filter menus: kept per configuration stamp
    (``storage.generation``); a new list each call, of shared versions (never changed in place)."""
    return list(generation.cached("published_processes", lambda: list(
        ProcessVersion.select(ProcessVersion.id, ProcessVersion.number, ProcessVersion.document)
        .join(Process).where(ProcessVersion.number == Process.latest_version).order_by(Process.code))))


def customer_by_phone(viewer: User, phone: str | None) -> Customer | None:
    """The customer with this phone in any spelling, if ``viewer`` may see them: else nothing is told."""
    found = customers.find_by_phone(phone)
    return found if found is not None and customer_visible(viewer, found.id) else None


def customer_visible(user: User, customer_id: int) -> bool:
    """Whoever registers calls looks customers up; others see those of tickets they may read."""
    if may_create(user):
        return True
    condition = _readable(user)
    query = Ticket.select(Ticket.id).where(Ticket.customer == customer_id)
    return (query.where(condition) if condition is not None else query).exists()
