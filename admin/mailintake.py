"""The mail intake log (issue 22), read-only: every message the intake read and what became of it, newest first.

Created, appended (with the ticket), dropped as automatic mail (with the reason: a bounce, an
out-of-office reply ...), a duplicate of a message read before, or refused. Nothing can be changed
here. Subjects and senders are whatever a stranger wrote: they reach the page as text, escaped by
autoescape. Access is decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

from flask import request
from flask_admin import BaseView, expose
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from workflows.intake import intakelog

LOG_ROWS = 200
NAMES = {"created": _l("New ticket"), "appended": _l("Note on a ticket"), "dropped": _l("Automatic mail, dropped"),
         "duplicate": _l("Read before"), "refused": _l("Refused")}


class MailIntakeView(BaseView):
    @expose("/")
    def index(self):
        outcome = request.args.get("outcome") if request.args.get("outcome") in intakelog.OUTCOMES else None
        rows = intakelog.latest(LOG_ROWS, outcome)
        return self.render("admin/mail_intake.html", rows=rows, outcome=outcome, outcomes=intakelog.OUTCOMES,
                           names=NAMES, limit=LOG_ROWS, format_datetime=format_datetime)
