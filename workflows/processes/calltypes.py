"""The call page's ticket types (来电登记的工单类型): which published processes it offers, in which order.

The admin chooses them on ``/admin/call-types``; the choice is the admin setting ``calls.processes``, the
list of process codes in the order the page lists them. Until the admin saves it once, the page offers
every published process ordered by name (then code), so a fresh install registers calls without a visit
to the admin. Once saved, the list is what the page offers: a process published later is not offered until
the admin adds it, because publishing a process is no decision about what agents register (issue 20). A
listed process that is no longer published is skipped.

The agent's last choice is the type of the last ticket they created (not a child a step spawned): it is
read from the tickets on the server, so it follows the agent to any desk and needs nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.storage import settings
from workflows.storage.db import database
from workflows.storage.models import Process, ProcessVersion, Ticket, User
from workflows.tickets.errors import Invalid, NotFound

KEY = "calls.processes"


def published() -> list[Process]:
    """Every published process by name, then code; sorted here so both databases give one order."""
    return sorted(Process.select().where(Process.latest_version > 0), key=lambda p: (p.name, p.code))


def chosen() -> list[str] | None:
    """The admin's saved codes in order, or None when the admin never saved the setting."""
    value = settings.get(KEY)
    return [code for code in value if isinstance(code, str)] if isinstance(value, list) else None


def offered() -> list[Process]:
    """The processes the call page offers, in its order."""
    codes, processes = chosen(), published()
    if codes is None:
        return processes
    by_code = {process.code: process for process in processes}
    return [by_code[code] for code in codes if code in by_code]


def last_registered(user: User) -> str | None:
    """The process code of the last ticket ``user`` created; one step of the (creator, id) index."""
    return (Process.select(Process.code).join(ProcessVersion).join(Ticket)
            .where(Ticket.creator == user, Ticket.parent.is_null())
            .order_by(Ticket.id.desc()).limit(1).scalar())


def choose(offer: list[Process], requested: str | None, user: User) -> Process | None:
    """The type the page shows: the one asked for, else the agent's last if still offered, else the first.

    A type asked for that is not offered is refused (the page answers 404), never silently swapped."""
    by_code = {process.code: process for process in offer}
    if requested:
        if requested not in by_code:
            raise NotFound(Msg(N_("%(code)s is not offered on the call page."), {"code": requested}))
        return by_code[requested]
    if not offer:
        return None
    return by_code.get(last_registered(user)) or offer[0]


def save(actor: User, codes: Iterable[object]) -> list[str]:
    """Store the offered codes in order; one transaction with its audit entry (none when nothing changes).

    Every code must name a published process, once; otherwise nothing is stored and the field ``offer``
    lists every problem."""
    codes = list(codes)
    with database.atomic():
        known = {process.code for process in published()}
        problems = _problems(codes, known)
        if problems:
            raise Invalid(problems[0], {"offer": problems})
        settings.put(KEY, codes, actor)
    return codes


def _problems(codes: list[object], known: set[str]) -> list[Msg]:
    problems, seen = [], set()
    for code in codes:
        if not isinstance(code, str) or code not in known:
            problems.append(Msg(N_("%(code)s is not a published process."), {"code": str(code)}))
        elif code in seen:
            problems.append(Msg(N_("%(code)s is listed twice."), {"code": code}))
        else:
            seen.add(code)
    return problems
