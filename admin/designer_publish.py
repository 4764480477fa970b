"""Publishing from the designer: what would change, in words, then the new version.

The dialog lists the draft's problems (the static checks and the publish guards refuse
publishing on every path; here they are shown before the admin tries), the changes
since the last version as sentences (``formbuilder.changes``), and what happens to open
tickets: they stay on the version they were created with unless the admin moves them
(``/migrate``). Publishing re-checks the page's revision, so what was reviewed is what
is published.
"""

from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user

from formbuilder.changes import changes
from workflows.processes import documents as docs
from workflows.processes import migrate as migration
from workflows.storage.models import Department, Process, User

from .editor import draft_of, revision
from .org import ROLE_LABELS
from .places import linked


def open_before(process: Process, below: int) -> list[tuple[int, int]]:
    """``[(version number, open tickets)]`` of the versions numbered below ``below``, oldest first."""
    return [(entry["number"], entry["count"]) for entry in reversed(migration.open_counts(process.code, below))]


def name_of(kind: str, code: str) -> str:
    """A handler's name for the sentences (a role's code is its name in the UI's words)."""
    if kind == "user":
        user = User.get_or_none(User.username == code)
        return user.name if user else code
    if kind == "department":
        found = Department.get_or_none(Department.code == code)
        return found.name if found else code
    return str(ROLE_LABELS.get(code, code))


class PublishMixin:
    """The designer's publish dialog and action; mixed into the processes view with the designer."""

    @expose("/<code>/design/publish-check", methods=("POST",))
    def design_publish_check(self, code: str):
        process, doc = draft_of(code)
        latest = docs.latest_version(code)
        blocking = linked(docs.publish_problems(doc), code)
        words = [m.render(gettext) for m in changes(latest.document if latest else None, doc, name_of=name_of)]
        same = latest is not None and revision(latest.document) == revision(doc)
        return self.render("admin/designer/_publish.html", code=code, process=process, blocking=blocking,
                           words=words, same=same, rev=revision(doc),
                           open_tickets=open_before(process, process.latest_version + 1))

    @expose("/<code>/design/publish", methods=("POST",))
    def design_publish(self, code: str):
        process, doc = draft_of(code)
        if request.form.get("rev") != revision(doc):
            return self._stale(process, doc), 409
        try:
            version, _ = docs.publish_audited(code, current_user.user)
        except docs.DocumentError as error:
            return self._refused_op(process, doc, error), 422
        process = Process.get_by_id(process.id)
        said = [gettext("Published version %(number)d.", number=version.number)]
        return self.render("admin/designer/_body.html", said=said, migrate=open_before(process, version.number),
                           **self._body(process, doc, request.form))
