"""The organisation as ``formbuilder.people.PeopleIndex``: for member and department fields.

Rebuilt per request rather than cached: users and departments carry no revision or
update stamp to compare (a name, role, department or active flag changes in place),
and the index is two queries (users with their department's code; departments).
It is lazy besides: :func:`lazy` hands out a callable that builds the index on first
use and keeps it, so a page or a submission whose process has no member or
department field sends no query for it (``tests/test_query_counts.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from peewee import JOIN
from pypinyin import Style, lazy_pinyin

from formbuilder.people import PEOPLE, PeopleIndex, Person, Unit
from workflows.storage.models import Department, User


def initials(name: str) -> str:
    """Pinyin initials of the Chinese characters of ``name`` (坐席小张 -> "zxxz"), lower case; others dropped.

    pypinyin (pinned in requirements.txt) is the usual table for this; the picker lets a person type
    "xz" for 小张 as they would in any Chinese address book.
    """
    letters = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(part for part in letters if part.isascii() and part.isalpha()).lower()


def build() -> PeopleIndex:
    """Every user (active or not: stored values of the inactive still read as names) and department."""
    dept = Department.alias()
    rows = (User.select(User.username, User.name, User.role, User.active, dept.code)
            .join(dept, JOIN.LEFT_OUTER, on=(User.department == dept.id)).tuples())
    people = [Person(u, n, r, c, bool(a), initials(n)) for u, n, r, a, c in rows]
    parent = Department.alias()
    units = (Department.select(Department.code, Department.name, parent.code)
             .join(parent, JOIN.LEFT_OUTER, on=(Department.parent == parent.id)).tuples())
    return PeopleIndex(people, [Unit(c, n, p) for c, n, p in units])


def lazy() -> Callable[[], PeopleIndex]:
    """The index, built on the first call and kept by the callable: one per request or action."""
    return cache(build)


def with_people(dictionaries: Mapping) -> dict:
    """``dictionaries`` plus the lazy people index under its reserved entry, for forms and display."""
    return {**dictionaries, PEOPLE: lazy()}
