"""Member (成员) and department (部门) fields: who may be chosen, how a choice reads, how it is checked.

Pure, like the rest of ``formbuilder``: :class:`PeopleIndex` is a snapshot of the
organisation (users and departments) that ``workflows.people.roster`` builds from
the database. It reaches the field types' ``text`` functions and the step forms as
the reserved entry :data:`PEOPLE` of the mapping they already take as
``dictionaries`` (no dictionary code can start with "@"), and ``validate_step``
as its ``people`` argument. Either may be the index or a zero-argument callable
that builds it, so a page or a submission without such fields never queries it.

Decisions (docs/fields.md): ``x-department`` counts the department's whole
subtree, as the ``department`` assignee does; a stored value stays valid while
unchanged even if its user was deactivated or moved since (like a disabled
dictionary item); a new value must be an active user satisfying ``x-role`` and
``x-department``, or an existing department.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wtforms.fields.choices import SelectChoice

from .messages import N_, Msg

#: The reserved entry of the ``dictionaries`` mapping that carries the people index.
PEOPLE = "@people"
#: The registry names of the field types whose values are people or departments.
MEMBER_KINDS = ("user", "users")
KINDS = (*MEMBER_KINDS, "department")

NO_USER = Msg(N_("No such active user."))
NOT_ALLOWED = Msg(N_("This user cannot be chosen here (role or department)."))
NO_DEPARTMENT = Msg(N_("No such department."))


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    role: str
    department: str | None
    active: bool
    #: Pinyin initials of the name (张三 -> "zs"), for the picker's search.
    initials: str = ""


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    parent: str | None


class PeopleIndex:
    """Users by username and departments by code, with the department tree."""

    def __init__(self, people: Iterable[Person], units: Iterable[Unit]):
        self.users = {p.username: p for p in people}
        self.departments = {u.code: u for u in units}
        self._subtrees: dict[str, frozenset[str]] = {}

    def subtree(self, code: str) -> frozenset[str]:
        """``code`` and every department below it (a cycle ends the walk)."""
        if code not in self._subtrees:
            found, todo = {code}, [code]
            while todo:
                parent = todo.pop()
                for unit in self.departments.values():
                    if unit.parent == parent and unit.code not in found:
                        found.add(unit.code)
                        todo.append(unit.code)
            self._subtrees[code] = frozenset(found)
        return self._subtrees[code]

    def fits(self, person: Person, schema: dict) -> bool:
        """Whether ``person`` satisfies the field's ``x-role`` and ``x-department`` (its subtree)."""
        roles, departments = narrowing(schema)
        if roles and person.role not in roles:
            return False
        return not departments or any(person.department in self.subtree(code) for code in departments)

    def allowed(self, schema: dict) -> list[Person]:
        """The active users a new value may name, by name then username."""
        found = [p for p in self.users.values() if p.active and self.fits(p, schema)]
        return sorted(found, key=lambda p: (p.name, p.username))

    def user_label(self, username: str) -> str:
        """"Name (username)": two people may share a name (王伟), a username is unique."""
        person = self.users.get(username)
        named = person is not None and person.name and person.name != username
        return f"{person.name} ({username})" if named else username

    def department_label(self, code: str) -> str:
        unit = self.departments.get(code)
        return unit.name if unit is not None and unit.name else code


#: The index, or a zero-argument callable building it on first use (see the module's docstring).
Source = PeopleIndex | Callable[[], PeopleIndex] | None


def resolve(source: Source) -> PeopleIndex | None:
    return source() if callable(source) and not isinstance(source, PeopleIndex) else source


def people_of(dictionaries: Mapping) -> PeopleIndex | None:
    """The people index a caller put into its ``dictionaries`` mapping, if any."""
    return resolve(dictionaries.get(PEOPLE)) if dictionaries else None


def target(schema: dict) -> dict:
    """The schema that carries the member settings: the field, or the items of a multiple member field."""
    return schema.get("items", {}) if schema.get("type") == "array" else schema


def _codes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def narrowing(schema: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The roles and the departments (``x-role``, ``x-department``: a code or a list) a choice must fit."""
    source = target(schema)
    return _codes(source.get("x-role")), _codes(source.get("x-department"))


# -- reading: the field types' ``text`` ---------------------------------------------------------

def _joined(value: Any, label: Callable[[str], str]) -> str:
    values = value if isinstance(value, list) else [value]
    return "、".join(label(v) if isinstance(v, str) else str(v) for v in values)


def user_text(schema: dict, value: Any, dictionaries: Mapping) -> str:
    """Each username as "Name (username)"; without the index (or for an unknown one) as stored."""
    index = people_of(dictionaries)
    return _joined(value, index.user_label if index is not None else str)


def department_text(schema: dict, value: Any, dictionaries: Mapping) -> str:
    index = people_of(dictionaries)
    return _joined(value, index.department_label if index is not None else str)


# -- the picker's options -----------------------------------------------------------------------

def _held(held: object) -> list[str]:
    return [v for v in (held if isinstance(held, list) else [held]) if isinstance(v, str) and v]


def choices(kind: str, schema: dict, held: object, dictionaries: Mapping) -> list[SelectChoice]:
    """The options of a member or department picker; what the ticket holds stays offered.

    Names are the labels, usernames (codes) the values; each user option carries its pinyin
    initials for the page script's search (``data-lz-initials``).
    """
    index = people_of(dictionaries)
    if index is None:
        return [SelectChoice(v, v) for v in _held(held)]
    if kind == "department":
        codes = sorted(index.departments, key=lambda c: (index.departments[c].name, c))
        codes += [c for c in _held(held) if c not in index.departments]
        return [SelectChoice(c, index.department_label(c)) for c in codes]
    offered = [p.username for p in index.allowed(schema)]
    offered += [u for u in _held(held) if u not in offered]
    return [SelectChoice(u, index.user_label(u), _initials(index, u)) for u in offered]


def _initials(index: PeopleIndex, username: str) -> dict:
    person = index.users.get(username)
    return {"data-lz-initials": person.initials} if person is not None and person.initials else {}


# -- validation ---------------------------------------------------------------------------------

def _problem(kind: str, schema: dict, value: object, index: PeopleIndex) -> Msg | None:
    """What is wrong with one new value of a member or department field, else None."""
    if kind == "department":
        return None if isinstance(value, str) and value in index.departments else NO_DEPARTMENT
    person = index.users.get(value) if isinstance(value, str) else None
    if person is None or not person.active:
        return NO_USER
    return None if index.fits(person, schema) else NOT_ALLOWED


def check_people(spec, stored: dict, merged: dict, changed: set, modes: dict, people: Source, errors) -> None:
    """Refuse, at the field, a new value naming no allowed active user (or no department).

    Like dictionary options: only fields the submitter sees and changed are checked, and a value the
    ticket already held stays valid. Without an index every new value is refused (never unchecked).
    """
    names = [n for n in spec.people_fields if n in changed and n in merged
             and n not in errors and modes.get(n, "hidden") != "hidden"]
    if not names:
        return
    index = resolve(people) or PeopleIndex((), ())
    for name in names:
        fspec, old = spec.fields[name], _held(stored.get(name))
        values = merged[name] if isinstance(merged[name], list) else [merged[name]]
        found = [m for v in values if v not in old
                 for m in [_problem(fspec.kind, fspec.schema, v, index)] if m is not None]
        errors[name].extend(found[:1])
