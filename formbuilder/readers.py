"""Field readers (format 2 ``x-readers``): who may ever receive a field, whatever the step modes.

``"x-readers": {"roles": ["supervisor"], "departments": ["finance"]}`` (both lists optional)
lets only users of one of those roles, members of one of those departments and admins
receive the field. Everyone else gets it as a hidden field on every path, even at a step
where it is editable: :func:`unreadable` gives the set that ``StepSpec.modes``,
``validate_step`` and ``StepForm`` hide, and ``workflows.tickets.access`` removes from what
a reader is shown.

A department reads with its whole subtree: a member of a sub-department of ``finance``
(``finance_north``) is a reader, as supervisors oversee their subtree. The caller passes
the person's department code *and its ancestors' codes*; this module knows no tree, so it
stays pure (no Flask, no database) and the static check can use it too.

Nothing is cached: the answer is a scan of the template's top-level fields (a handful of
dictionary look-ups), and a template without ``x-readers`` is answered before the caller
needs to look up any department.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

#: The roles of ``workflows.people.org.ROLES`` (``tests/test_readers.py`` checks they agree); admins read all.
ROLES = ("admin", "supervisor", "agent", "handler")
ADMIN = "admin"


def readers_of(schema: object) -> Mapping | None:
    """The field's ``x-readers`` (None: everyone may read it). A malformed value reads as "admins only"."""
    if not isinstance(schema, Mapping) or "x-readers" not in schema:
        return None
    readers = schema["x-readers"]
    return readers if isinstance(readers, Mapping) else {}


def _names(readers: Mapping, key: str) -> frozenset[str]:
    values = readers.get(key)
    return frozenset(v for v in values if isinstance(v, str)) if isinstance(values, list) else frozenset()


def may_read(readers: Mapping | None, role: str | None, departments: Collection[str]) -> bool:
    """Whether someone of ``role`` in ``departments`` (their department and its ancestors) reads the field."""
    if readers is None or role == ADMIN:
        return True
    return role in _names(readers, "roles") or not _names(readers, "departments").isdisjoint(departments)


def restricted(template: Mapping) -> dict[str, Mapping]:
    """The top-level fields that name readers, with their ``x-readers``."""
    properties = template.get("properties") if isinstance(template, Mapping) else None
    if not isinstance(properties, Mapping):
        return {}
    found = {name: readers_of(schema) for name, schema in properties.items()}
    return {name: readers for name, readers in found.items() if readers is not None}


def unreadable(template: Mapping, role: str | None, departments: Collection[str] = ()) -> frozenset[str]:
    """The top-level fields someone of ``role`` in ``departments`` may not read (empty for admins).

    ``role=None`` is nobody's role: the public web form and mail intake get every restricted field.
    """
    departments = frozenset(departments)
    return frozenset(name for name, readers in restricted(template).items()
                     if not may_read(readers, role, departments))


def is_public(schema: Mapping) -> bool:
    """Whether a field may go to a customer or a webhook: marked ``x-public`` and naming no readers.

    A field with ``x-readers`` never leaves for outside, even if also ``x-public``: a customer or an
    integration is no reader.
    """
    return schema.get("x-public") is True and readers_of(schema) is None


def no_wider(readers: Mapping | None, than: Mapping | None) -> bool:
    """Whether ``readers`` lets no one read whom ``than`` does not: each role and department it names, ``than``
    names too (admins aside: they read everything). By the document's words only, as in check 12: a listed
    sub-department of a listed department is not taken as narrower, since the tree may change under a
    published version. ``None`` is everyone.
    """
    if than is None:
        return True
    if readers is None:
        return False
    return _names(readers, "roles") - {ADMIN} <= _names(than, "roles") and \
        _names(readers, "departments") <= _names(than, "departments")


def roles_read(readers: Mapping | None, roles: Collection[str]) -> bool:
    """Whether every user of each of ``roles`` reads the field, whatever their department (static check 12)."""
    return readers is None or all(r == ADMIN or r in _names(readers, "roles") for r in roles)


def department_reads(readers: Mapping | None, code: str) -> bool:
    """Whether every member of the department ``code`` reads the field, whatever their role (static check 12).

    Only a department named itself counts: the tree may change without a new process version.
    """
    return readers is None or code in _names(readers, "departments")


#: Who may register a ticket (``workflows.tickets.access.CREATORS``, admins aside): the first step's handlers.
CREATING_ROLES = ("supervisor", "agent")


def _values(value: object) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def handlers_read(field_readers: Mapping | None, step: Mapping, *, first: bool = False, web_form: bool = False) -> bool:
    """Whether every possible handler of ``step`` reads the field, as far as the document can tell (check 12).

    The first step is filled by whoever registers the ticket (a supervisor or an agent), and by the
    public, who reads nothing restricted, when the process has a web form. A later step's ``assignee``
    (or its ``sign.of``): a role reads when x-readers names it; a department when x-readers names that
    very department. Handlers named at run time (``creator``: a registering role; ``previous``, a user
    by name, ``choose`` without value, ``allow_transfer: "anyone"``, or a rule this module does not know)
    are known by role at most: every role that could be them must read.
    """
    if first:
        return not web_form and roles_read(field_readers, CREATING_ROLES)
    rule = step.get("sign", {}).get("of") if isinstance(step.get("sign"), Mapping) else step.get("assignee")
    rule = rule if isinstance(rule, Mapping) else {}
    kind, values = rule.get("type"), _values(rule.get("value"))
    if kind == "creator" and step.get("allow_transfer") != "anyone":
        return roles_read(field_readers, CREATING_ROLES)
    if step.get("allow_transfer") == "anyone" or not values or kind not in ("role", "department", "choose"):
        return roles_read(field_readers, ROLES)
    if kind == "role" or (kind == "choose" and all(v in ROLES for v in values)):
        return roles_read(field_readers, values)
    return all(department_reads(field_readers, v) for v in values)
