"""Flask-Admin at ``/admin/``: process documents, the organisation and the audit log, for admins only.

Anonymous visitors are sent to the login page; logged-in users without the
``admin`` role get 403.
"""

from __future__ import annotations

from flask import abort, current_app
from flask_admin import Admin, AdminIndexView
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workflows.tickets.access import is_admin

from .audit import AuditView
from .calendars import CalendarsView
from .calltypes import CallTypesMixin
from .columns import ColumnsMixin
from .designer import DesignerMixin
from .designer_publish import PublishMixin
from .dictionaries import DictionariesView
from .editor import EditorMixin
from .formulas import FormulasMixin
from .home import HomeMixin
from .mail import MailView
from .mailboxes import MailboxesView
from .mailintake import MailIntakeView
from .migrate import MigrateMixin
from .org import DepartmentsView, TokensView, UsersView
from .processes import ProcessesView
from .robots import RobotsView
from .rules import RulesView
from .stepeditor import StepsMixin
from .tags import TagsView
from .webhooks import WebhooksView


class AdminOnly:
    """Access rule of every admin view: logged in, with the ``admin`` role."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and is_admin(current_user.user)

    def inaccessible_callback(self, name, **kwargs):
        if current_user.is_authenticated:
            abort(403)
        return current_app.login_manager.unauthorized()


class IndexView(AdminOnly, HomeMixin, CallTypesMixin, AdminIndexView):
    pass


class Processes(AdminOnly, DesignerMixin, PublishMixin, MigrateMixin, EditorMixin, ColumnsMixin, FormulasMixin,
                StepsMixin, ProcessesView):
    pass


class Audit(AdminOnly, AuditView):
    pass


class Dictionaries(AdminOnly, DictionariesView):
    pass


class Calendars(AdminOnly, CalendarsView):
    pass


class Users(AdminOnly, UsersView):
    pass


class Departments(AdminOnly, DepartmentsView):
    pass


class Tokens(AdminOnly, TokensView):
    pass


class Webhooks(AdminOnly, WebhooksView):
    pass


class Mail(AdminOnly, MailView):
    pass


class Robots(AdminOnly, RobotsView):
    pass


class Mailboxes(AdminOnly, MailboxesView):
    pass


class MailIntake(AdminOnly, MailIntakeView):
    pass


class Rules(AdminOnly, RulesView):
    pass


class Tags(AdminOnly, TagsView):
    pass


def init_app(app) -> None:
    panel = Admin(name="流转 Liuzhuan", theme=Bootstrap4Theme(swatch="default", fluid=True,
                                                                   base_template="admin/lz_base.html"),
                  index_view=IndexView(url="/admin"))
    panel.add_view(Processes(name=_l("Processes"), endpoint="processes", url="/admin/processes"))
    panel.add_view(Dictionaries(name=_l("Dictionaries"), endpoint="dictionaries", url="/admin/dictionaries"))
    panel.add_view(Calendars(name=_l("Calendars"), endpoint="calendars", url="/admin/calendars"))
    panel.add_view(Audit(name=_l("Audit log"), endpoint="audit", url="/admin/audit"))
    panel.add_view(Users(name=_l("Users"), endpoint="users", url="/admin/users"))
    panel.add_view(Departments(name=_l("Departments"), endpoint="departments", url="/admin/departments"))
    panel.add_view(Tokens(name=_l("API tokens"), endpoint="tokens", url="/admin/tokens"))
    panel.add_view(Webhooks(name=_l("Webhooks"), endpoint="webhooks", url="/admin/webhooks"))
    panel.add_view(Robots(name=_l("Chat robots"), endpoint="robots", url="/admin/robots"))
    panel.add_view(Mail(name=_l("E-mail"), endpoint="mail", url="/admin/mail"))
    panel.add_view(MailIntake(name=_l("Mail intake log"), endpoint="mailintake", url="/admin/mail-intake"))
    panel.add_view(Mailboxes(name=_l("IMAP mailboxes"), endpoint="mailboxes", url="/admin/mailboxes"))
    panel.add_view(Rules(name=_l("Automation rules"), endpoint="rules", url="/admin/rules"))
    panel.add_view(Tags(name=_l("Tags"), endpoint="tags", url="/admin/tags"))
    panel.init_app(app)
