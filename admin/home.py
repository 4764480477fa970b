"""The admin home (``/admin/``): every process with its version, unpublished changes, open tickets and the
draft's problems, a way into the designer, and the ways out (workspace, call page, logout).

The numbers come from :mod:`workflows.processes.overview`; access is decided by the admin package's
AdminOnly mixin.
"""

from __future__ import annotations

from flask import url_for
from flask_admin import expose
from werkzeug.routing import BuildError

from workflows.processes import overview


def design_url(code: str) -> str:
    """The designer of a process; the table editor while the designer's endpoint is not registered."""
    try:
        return url_for("processes.designer", code=code)
    except BuildError:
        return url_for("processes.editor", code=code)


class HomeMixin:
    """The index page of Flask-Admin's ``AdminIndexView``, which is otherwise an empty template."""

    @expose("/")
    def index(self):
        rows = overview.summaries()
        return self.render("admin/index.html", rows=rows, design={row.code: design_url(row.code) for row in rows})
