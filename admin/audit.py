"""The audit log, read-only: every admin change, newest first, keyset-paginated by id.

Access is decided by the admin package's AdminOnly mixin (composed in ``admin.init_app``).
"""

from __future__ import annotations

import json

from flask import abort, request
from flask_admin import BaseView, expose
from flask_babel import format_datetime
from peewee import JOIN

from workflows.storage.models import AuditEntry, User

PAGE = 50


def with_actor():
    """Entries with their actor (None when the user is gone), in one query."""
    return AuditEntry.select(AuditEntry, User).join(User, JOIN.LEFT_OUTER, on=AuditEntry.actor == User.id)


def pretty(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


class AuditView(BaseView):
    @expose("/")
    def index(self):
        before = request.args.get("before", type=int)
        query = with_actor().order_by(AuditEntry.id.desc()).limit(PAGE + 1)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        rows = list(query)
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        return self.render("admin/audit.html", entries=rows, format_datetime=format_datetime,
                           next_before=rows[-1].id if more else None, paged=before is not None)

    @expose("/<int:entry_id>")
    def detail(self, entry_id: int):
        entry = with_actor().where(AuditEntry.id == entry_id).first() or abort(404)
        return self.render("admin/audit_entry.html", entry=entry, format_datetime=format_datetime,
                           before=None if entry.before is None else pretty(entry.before),
                           after=None if entry.after is None else pretty(entry.after))
