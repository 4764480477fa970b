"""Check working-time calendar documents (format 2's third kind, docs/calendars.md).

First the meta-schema (``schemas/calendar.schema.json``: the shape), then what a schema
cannot say: the time zone is one the system knows, each weekday's intervals start
before they end and follow each other without overlapping, the dates are real dates
listed once, an ``open`` day borrows a weekday that has hours, and the week has some
working time at all. Every problem is returned at once, located by its JSON pointer.
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from zoneinfo import ZoneInfo

from .documents import _meta_problems, _order
from .messages import N_, Msg, Problem, pointer
from .validator import EcmaValidator, format_checker

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

CALENDAR_META = EcmaValidator(
    json.loads(resources.files(__package__).joinpath("schemas", "calendar.schema.json").read_text("utf-8")),
    format_checker=format_checker)


def _shape(document: object) -> list[Problem]:
    problems: list[Problem] = []
    for error in CALENDAR_META.iter_errors(document):
        if error.validator in ("minItems", "maxItems") and error.schema.get("maxItems") == 2:
            found = [Problem(pointer(error.absolute_path), Msg(N_("an interval is a start and an end time")))]
        else:
            found = list(_meta_problems(error))
        problems.extend(p for p in found if p not in problems)
    return problems


def valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this system knows (``Asia/Shanghai``)."""
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False  # ZoneInfoNotFoundError is a KeyError; a malformed key is a ValueError
    return True


def _timezone(document: dict) -> list[Problem]:
    zone = document["timezone"]
    if valid_zone(zone):
        return []
    return [Problem("/timezone", Msg(N_("unknown time zone '%(zone)s' (use an IANA name such as Asia/Shanghai)"),
                                     {"zone": zone}))]


def _intervals(name: str, spans: list) -> list[Problem]:
    """Each interval starts before it ends and after the previous one ended."""
    problems, previous = [], None
    for i, (start, end) in enumerate(spans):
        if start >= end:
            problems.append(Problem(pointer(["hours", name, i]),
                                    Msg(N_("%(start)s must be earlier than %(end)s"), {"start": start, "end": end})))
        elif previous is not None and start < previous:
            problems.append(Problem(pointer(["hours", name, i]),
                                    Msg(N_("starts at %(start)s, before the previous interval ends (%(end)s)"),
                                        {"start": start, "end": previous})))
        previous = max(end, previous or end)
    return problems


def _hours(hours: dict, broken: set[tuple]) -> list[Problem]:
    """Each weekday of the right shape in order; some working time in the week."""
    problems = [p for name in WEEKDAYS if ("hours", name) not in broken
                for p in _intervals(name, hours.get(name) or [])]
    if not any(hours.get(name) for name in WEEKDAYS):
        problems.append(Problem("/hours", Msg(N_("no weekday has working hours"))))
    return problems


def _date(text: str, path: list) -> tuple[date | None, list[Problem]]:
    try:
        return date.fromisoformat(text), []
    except ValueError:
        return None, [Problem(pointer(path), Msg(N_("%(value)s is not a valid date"), {"value": json.dumps(text)}))]


def _closed(document: dict, broken: set[tuple]) -> tuple[set[date], list[Problem]]:
    """The closed days, each a real date listed once."""
    problems, closed = [], set()
    for i, text in enumerate(document.get("closed") or []):
        if ("closed", str(i)) in broken:
            continue
        day, found = _date(text, ["closed", i])
        if day is not None and day in closed:
            found.append(Problem(pointer(["closed", i]), Msg(N_("%(date)s is listed twice"), {"date": text})))
        closed.add(day)
        problems += found
    return closed, problems


def _open(document: dict, closed: set[date], hours: dict | None, broken: set[tuple]) -> list[Problem]:
    """Open days: real dates, listed once and not also closed, borrowing a weekday that has hours."""
    problems, opened = [], set()
    for i, entry in enumerate(document.get("open") or []):
        if ("open", str(i)) in broken:
            continue
        day, found = _date(entry["date"], ["open", i, "date"])
        if day is not None and day in opened | closed:
            found.append(Problem(pointer(["open", i, "date"]),
                                 Msg(N_("%(date)s is listed twice (a date is either closed or open)"),
                                     {"date": entry["date"]})))
        if hours is not None and not (hours.get(entry["as"]) or []):
            found.append(Problem(pointer(["open", i, "as"]),
                                 Msg(N_("%(weekday)s has no working hours to lend"), {"weekday": entry["as"]})))
        opened.add(day)
        problems += found
    return problems


def _meaning(document: dict, broken: set[tuple]) -> list[Problem]:
    """The checks past the schema, on each part (a weekday, a listed date) whose shape is right."""
    problems = [] if ("timezone",) in broken or "timezone" not in document else _timezone(document)
    hours = None if ("hours",) in broken or "hours" not in document else document["hours"]
    if hours is not None:
        problems += _hours(hours, broken)
    closed, found = (set(), []) if ("closed",) in broken else _closed(document, broken)
    problems += found
    if ("open",) not in broken:
        problems += _open(document, closed, hours, broken)
    return problems


def _broken(problems: list[Problem]) -> set[tuple]:
    """The parts the schema found wrong: each problem's first and first two path segments (``/hours/mon/0``:
    ``("hours",)`` only when the problem is at ``/hours`` itself, else ``("hours", "mon")``)."""
    parts = [tuple(p.path.split("/")[1:]) for p in problems if p.path]
    return {part[:2] for part in parts} | {part[:1] for part in parts if len(part) == 1}


def check_calendar(document: object) -> list[Problem]:
    """All problems of a calendar document: its shape, then its time zone, hours and dates."""
    problems = _shape(document)
    if isinstance(document, dict):
        problems += [p for p in _meaning(document, _broken(problems)) if p not in problems]
    return sorted(problems, key=_order)
