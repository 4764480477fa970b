"""Users, departments, teams and API tokens.

A user's team is every user in their department's subtree; the managers of a
department and of its ancestors form the manager chain that may act for its
members. Department trees are small, so they are walked in Python.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import NamedTuple

from werkzeug.security import check_password_hash, generate_password_hash

from formbuilder.messages import N_, Msg
from workflows.storage import generation
from workflows.storage.db import database
from workflows.storage.models import ApiToken, Department, User, utcnow

ROLES = ("admin", "supervisor", "agent", "handler")


class OrgError(ValueError):
    """A refused change to the organisation, with a translatable message.

    ``field`` names the input at fault (``password``, ``role``, ``parent``...) so a
    form can show the message next to it; None when no single field is to blame.
    """

    def __init__(self, msg: Msg, field: str | None = None):
        super().__init__(f"{field}: {msg}" if field else str(msg))
        self.msg = msg
        self.field = field


def create_department(code: str, name: str, parent: str | None = None, manager: str | None = None) -> Department:
    with database.atomic():
        if Department.get_or_none(Department.code == code):
            raise OrgError(Msg(N_("department '%(code)s' already exists"), {"code": code}), "code")
        department = Department.create(code=code, name=_checked_name(name),
                                       parent=_department(parent, "parent") if parent else None)
        return set_manager(code, manager) if manager else department


def set_manager(code: str, username: str) -> Department:
    department = _department(code)
    department.manager = user_named(username, "manager")
    department.save()
    return department


def create_user(username: str, password: str, role: str, department: str | None = None,
                name: str | None = None) -> User:
    check_role(role)
    check_password(password, username)
    with database.atomic():
        if User.get_or_none(User.username == username):
            raise OrgError(Msg(N_("user '%(username)s' already exists"), {"username": username}), "username")
        return User.create(username=username, name=name or username, role=role,
                           password_hash=generate_password_hash(password),
                           department=_department(department, "department") if department else None)


def check_role(role: str) -> None:
    if role not in ROLES:
        raise OrgError(Msg(N_("unknown role '%(role)s' (use admin, supervisor, agent or handler)"), {"role": role}),
                       "role")


# Passwords that head every leaked-password list; guessed first, so refused outright.
COMMON_PASSWORDS = frozenset((
    "password", "passw0rd", "password123", "p@ssw0rd", "qwertyui", "qwerty123", "qwertyuiop", "1qaz2wsx",
    "iloveyou", "admin123", "administrator", "welcome1", "letmein1", "abc12345", "abcd1234", "asdfghjk",
    "a1b2c3d4", "zaq12wsx", "aa123456", "football", "baseball", "sunshine", "princess", "trustno1",
    "changeme", "liuzhuan", "woaini1314", "qwer1234", "1q2w3e4r"))


def check_password(password: str, username: str | None = None) -> None:
    """The password policy, one place for creating a user and setting a password (admin, profile, CLI)."""
    if len(password) < 8:
        raise OrgError(Msg(N_("the password must have at least 8 characters")), "password")
    if password.isdigit():
        raise OrgError(Msg(N_("the password must not be only digits")), "password")
    if _shows_username(password, username):
        raise OrgError(Msg(N_("the password must not contain the username")), "password")
    if password.lower() in COMMON_PASSWORDS:
        raise OrgError(Msg(N_("this password is too common: choose another")), "password")


def _shows_username(password: str, username: str | None) -> bool:
    """The password is the username, or holds it (names of one or two letters are in too many words)."""
    name = (username or "").strip().lower()
    return bool(name) and (name == password.lower() or (len(name) >= 3 and name in password.lower()))


_UNKNOWN_USER_HASH = generate_password_hash(secrets.token_hex(16))


def authenticate(username: str, password: str) -> User | None:
    """The active user with this password; an unknown name costs the same hash check."""
    user = User.get_or_none(User.username == username)
    matches = check_password_hash(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    return user if user is not None and user.active and matches else None


def issue_token(user: User, name: str = "") -> str:
    """A new API token; only its hash is stored, so it is shown once."""
    return new_token(user, name)[1]


def new_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """The stored row (for the audit log's ``token:<id>``) and the token itself, which is not stored."""
    token = secrets.token_urlsafe(32)
    return ApiToken.create(user=user, name=name, token_hash=_digest(token)), token


TOKEN_USE_GRANULARITY = timedelta(minutes=1)


_BY_TOKEN = generation.prepared(  # every API request: its text is built once
    lambda stamp, digest: ApiToken.select(ApiToken, User, stamp).join(User)
    .where(ApiToken.token_hash == digest, User.active == True).limit(1), str)  # noqa: E712


def user_for_token(token: str) -> User | None:
    """The active owner of ``token``; a revoked (deleted) token finds no row, so it fails at once."""
    row = _BY_TOKEN().first(_digest(token))
    if row is None:
        return None
    generation.seen(row)  # the request's configuration stamp came with the token
    _touch(row)
    return row.user


def _touch(row: ApiToken) -> None:
    """Record the last use at most once a minute per token: every API call writing a row would
    turn reads into writes (and, on SQLite, serialise them)."""
    now = utcnow()
    stale = now - TOKEN_USE_GRANULARITY
    if row.last_used_at is not None and row.last_used_at > stale:
        return
    (ApiToken.update(last_used_at=now)
     .where(ApiToken.id == row.id, ApiToken.last_used_at.is_null() | (ApiToken.last_used_at <= stale)).execute())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _department(code: str, field: str | None = None) -> Department:
    department = Department.get_or_none(Department.code == code)
    if department is None:
        raise OrgError(Msg(N_("no department '%(code)s'"), {"code": code}), field)
    return department


def user_named(username: str, field: str | None = None) -> User:
    user = User.get_or_none(User.username == username)
    if user is None:
        raise OrgError(Msg(N_("no user '%(username)s'"), {"username": username}), field)
    return user


def department_tree() -> dict[int, tuple[int | None, int | None]]:
    """department id -> (parent id, manager id): kept per configuration stamp (``storage.generation``;
    shared, never changed by its readers)."""
    return generation.cached("org.tree", _load_tree)


def _load_tree() -> dict[int, tuple[int | None, int | None]]:
    rows = Department.select(Department.id, Department.parent, Department.manager).tuples()
    return {d: (parent, manager) for d, parent, manager in rows}


class Member(NamedTuple):
    """What access checks and pages read of a user, kept per configuration stamp."""

    username: str
    department_id: int | None
    name: str


def members() -> dict[int, Member]:
    """user id -> :class:`Member`, every user: kept per configuration stamp (``storage.generation``)."""
    return generation.cached("org.members", _load_members)


def _load_members() -> dict[int, Member]:
    rows = User.select(User.id, User.username, User.department, User.name).tuples()
    return {uid: Member(*rest) for uid, *rest in rows}


def active_users() -> list[User]:
    """Every active user by username (pickers, mentions, "anyone" transfers): kept per configuration stamp;
    a new list each call, of shared users (never changed by their readers)."""
    return list(generation.cached("users.active", lambda: list(
        User.select().where(User.active == True).order_by(User.username))))  # noqa: E712


def managed_by(user_id: int) -> list[int]:
    """The departments ``user_id`` manages."""
    return [d for d, (_, manager) in department_tree().items() if manager == user_id]


def department_of(user_id: int | None) -> int | None:
    member = members().get(user_id) if user_id is not None else None
    return member.department_id if member else None


def subtree(department_id: int | None) -> set[int]:
    """A department and all its descendants."""
    if department_id is None:
        return set()
    tree, found = department_tree(), {department_id}
    grew = True
    while grew:
        below = {d for d, (parent, _) in tree.items() if parent in found} - found
        found |= below
        grew = bool(below)
    return found


def manager_chain(department_id: int | None) -> list[int]:
    """Managers of a department and of each ancestor, nearest first."""
    tree, chain, seen = department_tree(), [], set()
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
    return {uid for uid, member in members().items() if member.department_id in departments} if departments else set()


# --- Changes made from the admin screens (each run in the caller's transaction, next to its audit entry).

_KEEP = object()


def update_user(username: str, *, name=_KEEP, role=_KEEP, department=_KEEP, active=_KEEP,
                actor: User | None = None) -> User:
    """Change what is given; ``actor`` (the admin doing it) may not lock themself out."""
    user = user_named(username, "username")
    if name is not _KEEP:
        user.name = _checked_name(name)
    if role is not _KEEP:
        check_role(role)
        user.role = role
    if department is not _KEEP:
        user.department = _department(department, "department") if department else None
    if active is not _KEEP:
        user.active = bool(active)
    _refuse_lock_out(user, actor)
    user.save()
    return user


def _refuse_lock_out(user: User, actor: User | None) -> None:
    """An admin who disabled or demoted themself could no longer reach the screen to undo it."""
    if actor is None or actor.id != user.id:
        return
    if not user.active:
        raise OrgError(Msg(N_("you cannot disable your own account")), "active")
    if actor.role == "admin" and user.role != "admin":
        raise OrgError(Msg(N_("you cannot remove your own admin role")), "role")


def _checked_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise OrgError(Msg(N_("the name must have 1 to 100 characters")), "name")
    return name


def set_password(username: str, password: str) -> User:
    """Reset a password under the same policy as :func:`create_user`; the user's sessions end (logout everywhere)."""
    user = user_named(username, "username")
    check_password(password, user.username)
    (User.update(password_hash=generate_password_hash(password), session_version=User.session_version + 1)
     .where(User.id == user.id).execute())
    return User.get_by_id(user.id)


def revoke_token(token_id: int, owner: User | None = None) -> dict:
    """Delete a token (refused by the API from now on); returns its snapshot for the audit log.

    With ``owner`` (a user revoking their own, e.g. on the profile page) another user's token is as unknown.
    """
    token = ApiToken.get_or_none(ApiToken.id == token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise OrgError(Msg(N_("no API token %(id)s"), {"id": token_id}), "token")
    before = snapshot(token)
    token.delete_instance()
    return before


def rename_department(code: str, name: str) -> Department:
    department = _department(code, "code")
    department.name = _checked_name(name)
    department.save()
    return department


def move_department(code: str, parent: str | None) -> Department:
    """Put a department under ``parent`` (None: a root); refuses a cycle in the tree."""
    _lock_departments()
    department = _department(code, "code")
    new_parent = _department(parent, "parent") if parent else None
    if new_parent is not None and new_parent.id in subtree(department.id):
        raise OrgError(Msg(N_("department '%(code)s' cannot be placed under itself or one of its sub-departments"),
                           {"code": code}), "parent")
    department.parent = new_parent
    department.save()
    return department


def _lock_departments() -> None:
    """On PostgreSQL, lock the tree so two concurrent moves cannot each close half a cycle.

    SQLite needs nothing: its write transactions are IMMEDIATE, so they already run one at a time.
    """
    if getattr(database.obj, "for_update", False):
        list(Department.select(Department.id).order_by(Department.id).for_update().tuples())


def update_department(code: str, *, name: str, parent: str | None, manager: str | None) -> Department:
    """Rename, move and set or clear the manager; a new manager must be an active user."""
    rename_department(code, name)
    department = move_department(code, parent)
    chosen = user_named(manager, "manager") if manager else None
    if chosen is not None and not chosen.active and chosen.id != department.manager_id:
        raise OrgError(Msg(N_("user '%(username)s' is disabled"), {"username": manager}), "manager")
    department.manager = chosen
    department.save()
    return department


def snapshot(row: User | Department | ApiToken) -> dict:
    """What the audit log keeps of a row: never a password hash nor a token hash."""
    if isinstance(row, User):
        return {"username": row.username, "name": row.name, "role": row.role,
                "department": row.department.code if row.department_id else None, "active": row.active}
    if isinstance(row, Department):
        return {"code": row.code, "name": row.name, "parent": row.parent.code if row.parent_id else None,
                "manager": row.manager.username if row.manager_id else None}
    return {"id": row.id, "user": row.user.username, "name": row.name,
            "created_at": row.created_at.isoformat(timespec="seconds")}
