"""Flask-Admin at ``/admin/``: editors of the process and dictionary documents.

Until users and login exist (engine issue), the admin answers only in testing
and in the local ``python app.py`` demo, to requests from 127.0.0.1.
"""

from __future__ import annotations

from flask import current_app, request
from flask_admin import Admin, AdminIndexView
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from .processes import ProcessesView

LOCAL = ("127.0.0.1", "::1")


def admin_allowed() -> bool:
    config = current_app.config
    return bool(config.get("TESTING") or (config.get("LOCAL_DEMO") and request.remote_addr in LOCAL))


class IndexView(AdminIndexView):
    def is_accessible(self) -> bool:
        return admin_allowed()


def init_app(app) -> None:
    ProcessesView.allowed = staticmethod(admin_allowed)
    panel = Admin(name="流转 Liuzhuan", theme=Bootstrap4Theme(swatch="default", fluid=True),
                  index_view=IndexView(url="/admin"))
    panel.add_view(ProcessesView(name=_l("Processes"), endpoint="processes", url="/admin/processes"))
    panel.init_app(app)
