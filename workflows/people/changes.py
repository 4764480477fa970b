"""Changes people make to the organisation in the browser, each with its audit entry in one transaction.

The admin's user, department and token screens and the user's own profile page
call these; :mod:`workflows.people.org` holds the rules (password policy, no
self-lock-out, no department cycle) and the command line calls it directly.
Snapshots never hold a password or token hash (:func:`org.snapshot`).
"""

from __future__ import annotations

from collections.abc import Callable

from workflows.people import org
from workflows.storage import audit
from workflows.storage.db import database
from workflows.storage.models import Department, User


def _recorded(actor: User, action: str, target: str, before: dict | None, change: Callable):
    """Run ``change`` and record ``before`` -> its row's snapshot when they differ; its result."""
    with database.atomic():
        row = change()
        after = org.snapshot(row)
        if after != before:
            audit.record(actor, action, target, before, after)
        return row


def create_user(actor: User, username: str, password: str, role: str, **details) -> User:
    return _recorded(actor, "user.create", f"user:{username}", None,
                     lambda: org.create_user(username, password, role, **details))


def update_user(actor: User, username: str, **changes) -> User:
    """Name, role, department, active; refusing to lock ``actor`` out (``org.update_user``)."""
    before = org.snapshot(org.user_named(username))
    return _recorded(actor, "user.update", f"user:{username}", before,
                     lambda: org.update_user(username, actor=actor, **changes))


def set_password(actor: User, username: str, password: str, how: str = "reset") -> User:
    """A new password (``how``: "reset" by an admin, "changed" by its user); the user's sessions end."""
    with database.atomic():
        user = org.set_password(username, password)
        audit.record(actor, "user.password", f"user:{username}", None, {"password": how})
        return user


def issue_token(actor: User, user: User, name: str) -> str:
    """A new API token for ``user``; the token itself, shown once (only its hash is kept)."""
    with database.atomic():
        row, token = org.new_token(user, name.strip())
        audit.record(actor, "token.issue", f"token:{row.id}", None, org.snapshot(row))
        return token


def revoke_token(actor: User, token_id: int, owner: User | None = None) -> None:
    """Delete a token (``owner``'s only, when given: another user's is as unknown, ``org.OrgError``)."""
    with database.atomic():
        audit.record(actor, "token.revoke", f"token:{token_id}", org.revoke_token(token_id, owner=owner), None)


def create_department(actor: User, code: str, name: str, parent: str | None, manager: str | None) -> Department:
    return _recorded(actor, "department.create", f"department:{code}", None,
                     lambda: org.create_department(code, name, parent, manager))


def update_department(actor: User, code: str, **changes) -> Department:
    """Name, parent (no cycle) and manager of a department."""
    before = org.snapshot(Department.get(Department.code == code))
    return _recorded(actor, "department.update", f"department:{code}", before,
                     lambda: org.update_department(code, **changes))
