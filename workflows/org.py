"""Users, departments, teams and API tokens.

A user's team is every user in their department's subtree; the managers of a
department and of its ancestors form the manager chain that may act for its
members. Department trees are small, so they are walked in Python.
"""

from __future__ import annotations

import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from formbuilder.messages import N_, Msg

from .db import database
from .models import ApiToken, Department, User, utcnow

ROLES = ("admin", "supervisor", "agent", "handler")


class OrgError(ValueError):
    """A refused change to the organisation, with a translatable message."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def create_department(code: str, name: str, parent: str | None = None, manager: str | None = None) -> Department:
    with database.atomic():
        if Department.get_or_none(Department.code == code):
            raise OrgError(Msg(N_("department '%(code)s' already exists"), {"code": code}))
        department = Department.create(code=code, name=name, parent=_department(parent) if parent else None)
        if manager:
            set_manager(code, manager)
        return department


def set_manager(code: str, username: str) -> Department:
    department = _department(code)
    department.manager = user_named(username)
    department.save()
    return department


def create_user(username: str, password: str, role: str, department: str | None = None,
                name: str | None = None) -> User:
    if role not in ROLES:
        raise OrgError(Msg(N_("unknown role '%(role)s' (use admin, supervisor, agent or handler)"), {"role": role}))
    if len(password) < 8:
        raise OrgError(Msg(N_("the password must have at least 8 characters")))
    with database.atomic():
        if User.get_or_none(User.username == username):
            raise OrgError(Msg(N_("user '%(username)s' already exists"), {"username": username}))
        return User.create(username=username, name=name or username, role=role,
                           password_hash=generate_password_hash(password),
                           department=_department(department) if department else None)


_UNKNOWN_USER_HASH = generate_password_hash(secrets.token_hex(16))


def authenticate(username: str, password: str) -> User | None:
    """The active user with this password; an unknown name costs the same hash check."""
    user = User.get_or_none(User.username == username)
    matches = check_password_hash(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    return user if user is not None and user.active and matches else None


def issue_token(user: User, name: str = "") -> str:
    """A new API token; only its hash is stored, so it is shown once."""
    token = secrets.token_urlsafe(32)
    ApiToken.create(user=user, name=name, token_hash=_digest(token))
    return token


def user_for_token(token: str) -> User | None:
    row = (ApiToken.select(ApiToken, User).join(User)
           .where(ApiToken.token_hash == _digest(token), User.active == True).first())  # noqa: E712
    if row is None:
        return None
    ApiToken.update(last_used_at=utcnow()).where(ApiToken.id == row.id).execute()
    return row.user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _department(code: str) -> Department:
    department = Department.get_or_none(Department.code == code)
    if department is None:
        raise OrgError(Msg(N_("no department '%(code)s'"), {"code": code}))
    return department


def user_named(username: str) -> User:
    user = User.get_or_none(User.username == username)
    if user is None:
        raise OrgError(Msg(N_("no user '%(username)s'"), {"username": username}))
    return user


def _tree() -> dict[int, tuple[int | None, int | None]]:
    """department id -> (parent id, manager id), in one query."""
    rows = Department.select(Department.id, Department.parent, Department.manager).tuples()
    return {d: (parent, manager) for d, parent, manager in rows}


def subtree(department_id: int | None) -> set[int]:
    """A department and all its descendants."""
    if department_id is None:
        return set()
    tree, found = _tree(), {department_id}
    grew = True
    while grew:
        below = {d for d, (parent, _) in tree.items() if parent in found} - found
        found |= below
        grew = bool(below)
    return found


def manager_chain(department_id: int | None) -> list[int]:
    """Managers of a department and of each ancestor, nearest first."""
    tree, chain, seen = _tree(), [], set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        parent, manager = tree.get(department_id, (None, None))
        if manager is not None and manager not in chain:
            chain.append(manager)
        department_id = parent
    return chain


def team_ids(user: User) -> set[int]:
    """Ids of the users in ``user``'s department subtree (their team)."""
    departments = subtree(user.department_id)
    if not departments:
        return set()
    return {uid for (uid,) in User.select(User.id).where(User.department.in_(departments)).tuples()}
