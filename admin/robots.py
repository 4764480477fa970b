"""Chat robots in the admin: WeCom, DingTalk and Feishu group robots, their scope and events, a test
message, and the deliveries log with "retry now" (docs/robots.md).

A robot's URL holds its key and its secret signs each message, so neither is ever shown back: the list
and the edit page show the URL masked, the secret field is always empty, and leaving either blank keeps
the stored one. Every change is one transaction with its audit entry, made by
:mod:`workflows.subscribers.robotadmin`. Access is decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from workflows.storage.models import Department, Process, RobotDelivery, RobotTarget
from workflows.subscribers import robotadmin, robots
from workflows.subscribers.robotformat import SIGNED
from workflows.subscribers.webhooks import STATUSES

from .common import number, retry_row
from .webhooks import at_least_one, http_url

LOG_ROWS = 200
FIELDS = {"process": "process_code", "step": "step_key"}  # robotadmin.scope_error's field -> the form's
PLATFORMS = (("wecom", _l("WeCom (企业微信) group robot")), ("dingtalk", _l("DingTalk (钉钉) custom robot")),
             ("feishu", _l("Feishu (飞书) custom bot")))
KIND_LABELS = {"assignment": _l("Assignment"), "overdue": _l("Overdue"), "escalation": _l("Escalation"),
               "mention": _l("@mention")}


class RobotForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    platform = SelectField(_l("Platform"), choices=[SelectChoice(k, v) for k, v in PLATFORMS])
    url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=2000), http_url])
    secret = PasswordField(_l("Signing secret (DingTalk 加签, Feishu 签名校验)"),
                           validators=[Optional(), Length(max=200)], render_kw={"autocomplete": "off"})
    clear_secret = BooleanField(_l("Remove the stored signing secret"))
    department = SelectField(_l("Department (with its sub-departments)"))
    process_code = SelectField(_l("Process"))  # not "process": that is the Form's own method
    step_key = StringField(_l("Step key (empty: every step of the process)"), validators=[Optional(), Length(max=64)])
    events = SelectMultipleField(_l("Events"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()],
                                 validators=[at_least_one],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    active = BooleanField(_l("Active (notices are sent)"))


def _choices(form: RobotForm) -> RobotForm:
    anything = SelectChoice("", gettext("Any"))
    form.department.choices = [anything] + [SelectChoice(str(d.id), f"{d.name} ({d.code})")
                                            for d in Department.select().order_by(Department.code)]
    form.process_code.choices = [anything] + [SelectChoice(p.code, f"{p.name} ({p.code})")
                                         for p in Process.select().order_by(Process.code)]
    return form


def _form_for(target: RobotTarget | None) -> RobotForm:
    """The form as shown: never the URL nor the secret (the page shows the URL masked beside the field)."""
    if target is None:
        return _choices(RobotForm(formdata=None, data={"active": True, "events": list(robots.KINDS)}))
    data = {"name": target.name, "platform": target.platform, "department": str(target.department_id or ""),
            "process_code": target.process or "", "step_key": target.step or "", "events": target.events,
            "active": target.active}
    return _choices(RobotForm(formdata=None, data=data))


def _add_error(field, message: str) -> bool:
    field.errors = [*field.errors, message]
    return False


def checked(form: RobotForm, target: RobotTarget | None) -> bool:
    """The form's own checks, then what needs the stored target and the published processes."""
    if not form.validate_on_submit():
        return False
    if target is None and not (form.url.data or "").strip():
        return _add_error(form.url, gettext("This field is required."))
    if form.secret.data and form.platform.data not in SIGNED:
        return _add_error(form.secret, gettext("WeCom robots are not signed: leave the secret empty."))
    problem = robotadmin.scope_error(form.process_code.data or None, (form.step_key.data or "").strip() or None)
    if problem is not None:
        return _add_error(form[FIELDS[problem[0]]], problem[1].render(gettext))
    return True


def stored(target_id: str) -> RobotTarget:
    return RobotTarget.get_or_none(RobotTarget.id == number(target_id)) or abort(404)


def save(target: RobotTarget | None, form: RobotForm) -> RobotTarget:
    return robotadmin.save_target(
        current_user.user, target, name=form.name.data.strip(), platform=form.platform.data,
        url=(form.url.data or "").strip() or None, secret=form.secret.data or None,
        clear_secret=form.clear_secret.data, department=int(form.department.data) if form.department.data else None,
        process=form.process_code.data or None, step=(form.step_key.data or "").strip() or None,
        events=form.events.data, active=form.active.data)


class RobotsView(BaseView):
    @expose("/")
    def index(self):
        targets = list(RobotTarget.select().order_by(RobotTarget.name, RobotTarget.id))
        rows = (RobotDelivery.select(RobotDelivery.target, RobotDelivery.status, fn.COUNT(RobotDelivery.id))
                .group_by(RobotDelivery.target, RobotDelivery.status).tuples())
        counts: dict[int, dict[str, int]] = {}
        for target_id, status, count in rows:
            counts.setdefault(target_id, {})[status] = count
        return self.render("admin/robots.html", targets=targets, counts=counts, statuses=STATUSES,
                           masked=robotadmin.masked, platforms=dict(PLATFORMS), kinds=KIND_LABELS)

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if request.method == "GET":
            return self._page(None, _form_for(None))
        form = _choices(RobotForm())
        if not checked(form, None):
            return self._page(None, form), 422
        target = save(None, form)
        flash(gettext("Robot %(name)s created.", name=target.name), "success")
        return redirect(url_for(".index"))

    @expose("/<target_id>/", methods=("GET", "POST"))
    def edit(self, target_id: str):
        target = stored(target_id)
        if request.method == "GET":
            return self._page(target, _form_for(target))
        form = _choices(RobotForm())
        if not checked(form, target):
            return self._page(target, form), 422
        save(target, form)
        flash(gettext("Robot %(name)s saved.", name=target.name), "success")
        return redirect(url_for(".index"))

    @expose("/<target_id>/delete", methods=("POST",))
    def delete(self, target_id: str):
        target = stored(target_id)
        robotadmin.delete_target(current_user.user, target)
        flash(gettext("Robot %(name)s deleted.", name=target.name), "success")
        return redirect(url_for(".index"))

    @expose("/<target_id>/test", methods=("POST",))
    def test(self, target_id: str):
        target = stored(target_id)
        robotadmin.test_audited(current_user.user, target)
        flash(gettext("Test message queued: the worker sends it on its next round."), "success")
        return redirect(url_for(".deliveries", robot=target.id))

    def _page(self, target: RobotTarget | None, form: RobotForm):
        url_note = robotadmin.masked(target.url) if target else None
        return self.render("admin/robot.html", target=target, form=form, url_note=url_note)

    @expose("/deliveries")
    def deliveries(self):
        status = request.args.get("status") if request.args.get("status") in STATUSES else None
        target_id = request.args.get("robot", type=int)
        query = (RobotDelivery.select(RobotDelivery, RobotTarget).join(RobotTarget)
                 .order_by(RobotDelivery.id.desc()).limit(LOG_ROWS))
        if status:
            query = query.where(RobotDelivery.status == status)
        if target_id:
            query = query.where(RobotDelivery.target == target_id)
        targets = list(RobotTarget.select().order_by(RobotTarget.name))
        return self.render("admin/robot_deliveries.html", rows=list(query), status=status, target_id=target_id,
                           targets=targets, statuses=STATUSES, limit=LOG_ROWS, format_datetime=format_datetime)

    @expose("/deliveries/<robot_delivery_id>/retry", methods=("POST",))
    def retry(self, robot_delivery_id: str):
        said = (gettext("Delivery queued: the worker sends it on its next round."),
                gettext("This delivery is being sent or was delivered already."))
        return retry_row(RobotDelivery, robot_delivery_id, robotadmin.retry_audited, said, ".deliveries",
                         robot=request.args.get("robot", type=int), status=request.args.get("status"))
