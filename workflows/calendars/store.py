"""Calendar documents in the database, and a code's working time for the SLA clock.

Every write (admin form, JSON and upload, CLI ``calendar import``) goes through
:func:`save_calendar`: the whole document checked, stored with its audit entry in one
transaction. :func:`worktime` is what the engine asks on every move, so it costs one
small query (the row's revision) and rebuilds a :class:`WorkTime` only when the
calendar was revised: several processes and hosts each notice a change on their next read.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date

from formbuilder.calendars import check_calendar
from formbuilder.messages import N_, Msg, Problem
from workflows.calendars.worktime import ALWAYS, Always, WorkTime, known_year
from workflows.processes.documents import DocumentError
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Calendar, User, utcnow

_cache: dict[str, tuple[tuple, WorkTime]] = {}
_lock = threading.Lock()


def worktime(code: str | None) -> WorkTime | Always:
    """The working time of calendar ``code``; :data:`ALWAYS` (every minute counts) for None or an unknown code.

    Cached per (code, revision, update time) in this process; the stamp is read on every call.
    """
    if not code:
        return ALWAYS
    stamp = (Calendar.select(Calendar.revision, Calendar.updated_at)
             .where(Calendar.code == code).tuples().first())
    if stamp is None:
        return ALWAYS
    cached = _cache.get(code)
    if cached is None or cached[0] != tuple(stamp):
        row = Calendar.get_or_none(Calendar.code == code)
        if row is None:
            return ALWAYS
        cached = ((row.revision, row.updated_at), WorkTime.from_document(row.document))
        with _lock:
            _cache[code] = cached
    return cached[1]


#: What is said of each such year where a calendar is shown, edited, checked or imported.
UNKNOWN_YEAR = N_("%(year)d: official holidays not known; only weekends are counted; "
                  "add that year's days under closed/open")


def unknown_years(document: dict, today: date | None = None) -> list[int]:
    """Last year .. two years ahead where ``holidays: "cn"`` cannot apply: ``chinese_calendar`` does not know them."""
    if not isinstance(document, dict) or document.get("holidays") != "cn":
        return []
    this = (today or date.today()).year
    return [year for year in range(this - 1, this + 3) if not known_year(year)]


def get(code: str) -> Calendar | None:
    """The stored calendar row, or None."""
    return Calendar.get_or_none(Calendar.code == code)


def codes() -> set[str]:
    """The codes of every stored calendar (for the process checks' ``sla.calendar``)."""
    return {code for (code,) in Calendar.select(Calendar.code).tuples()}


def rows() -> list[Calendar]:
    """Every calendar, by code, for the admin list."""
    return list(Calendar.select().order_by(Calendar.code))


def export(code: str) -> dict | None:
    """The stored document of ``code`` (None when unknown), as imported or saved."""
    row = get(code)
    return None if row is None else row.document


_INTERVAL = re.compile(r'\[\s*("[0-9:]{5}"),\s*("[0-9:]{5}")\s*\]')


def dumps(document: dict) -> str:
    """The document as indented JSON with each interval on one line (``["09:00", "12:00"]``), for people."""
    return _INTERVAL.sub(r"[\1, \2]", json.dumps(document, ensure_ascii=False, indent=2))


def checked(document: object) -> dict:
    """``document`` when it is a valid calendar document; else :class:`DocumentError` with every problem."""
    problems = check_calendar(document)
    if problems:
        raise DocumentError(problems)
    return document


def _actor(actor: User | str | None) -> User | None:
    if isinstance(actor, str):
        return User.get_or_none(User.username == actor)
    return actor


def _same(a: object, b: object) -> bool:
    return json.dumps(a, ensure_ascii=False, sort_keys=True) == json.dumps(b, ensure_ascii=False, sort_keys=True)


def _locked(code: str) -> Calendar | None:
    query = Calendar.select().where(Calendar.code == code)
    return (query.for_update() if database.for_update else query).first()


def save_calendar(document: object, actor: User | str | None = None, action: str = "calendar.save",
                  expect_new: bool = False) -> Calendar:
    """Create or replace the calendar ``document`` names, checked, audited, in one transaction.

    An identical document changes nothing (no new revision, no audit entry). ``expect_new``
    refuses an existing code instead of replacing it (the admin's "new calendar").
    """
    checked(document)
    code = document["code"]
    with database.atomic():
        row = _locked(code)
        if row is not None and expect_new:
            raise DocumentError([Problem("/code", Msg(N_("a calendar '%(code)s' already exists"), {"code": code}))])
        before = None if row is None else row.document
        if row is None:
            row = Calendar.create(code=code, name=document["name"], document=document)
        elif _same(before, document):
            return row  # nothing changed: no new revision, no audit entry
        else:
            # The increment in SQL: two saves racing cannot both write the same revision.
            Calendar.update(name=document["name"], document=document, revision=Calendar.revision + 1,
                            updated_at=utcnow()).where(Calendar.id == row.id).execute()
        audit.record(_actor(actor), action, f"calendar:{code}", before, document)
        return Calendar.get_by_id(row.id)
