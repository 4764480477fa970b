"""Flask-Admin at ``/admin/``: editors of the process and dictionary documents, for admins only.

Anonymous visitors are sent to the login page; logged-in users without the
``admin`` role get 403.
"""

from __future__ import annotations

from flask import abort, current_app
from flask_admin import Admin, AdminIndexView
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .audit import AuditView
from .processes import ProcessesView


class AdminOnly:
    """Access rule of every admin view: logged in, with the ``admin`` role."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.user.role == "admin"

    def inaccessible_callback(self, name, **kwargs):
        if current_user.is_authenticated:
            abort(403)
        return current_app.login_manager.unauthorized()


class IndexView(AdminOnly, AdminIndexView):
    pass


class Processes(AdminOnly, ProcessesView):
    pass


class Audit(AdminOnly, AuditView):
    pass


def init_app(app) -> None:
    panel = Admin(name="流转 Liuzhuan", theme=Bootstrap4Theme(swatch="default", fluid=True),
                  index_view=IndexView(url="/admin"))
    panel.add_view(Processes(name=_l("Processes"), endpoint="processes", url="/admin/processes"))
    panel.add_view(Audit(name=_l("Audit log"), endpoint="audit", url="/admin/audit"))
    panel.init_app(app)
