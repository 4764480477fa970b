"""The organisation screens: users, the department tree and API tokens.

Every change runs in one transaction together with its audit entry (who, when,
before and after), so a refused or failed change leaves neither behind. Access is
decided by the admin package's AdminOnly mixin (composed in ``admin.init_app``).
"""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN, fn
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from web.auth import keep_session
from workflows.people import changes, org
from workflows.storage.db import database
from workflows.storage.models import ApiToken, Department, User

ROLE_LABELS = {"admin": _l("Administrator"), "supervisor": _l("Supervisor"), "agent": _l("Agent"),
               "handler": _l("Handler")}
ROLE_CHOICES = [SelectChoice(role, label) for role, label in ROLE_LABELS.items()]
NONE = SelectChoice("", "—")
# Usernames and department codes are path segments of these pages: no "/" nor spaces.
SLUG = Regexp(r"^[\w.@-]+$", message=_l("Use letters, digits and . @ _ - only."))


class NewUserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64), SLUG])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    department = SelectField(_l("Department"))
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class UserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    department = SelectField(_l("Department"))
    active = BooleanField(_l("Active (may log in and use API tokens)"))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[Optional(), Length(max=100)])


class DepartmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    parent = SelectField(_l("Parent department"))
    manager = SelectField(_l("Manager"))


class NewDepartmentForm(DepartmentForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64), SLUG])


def department_choices() -> list[SelectChoice]:
    rows = Department.select(Department.code, Department.name).order_by(Department.code)
    return [NONE] + [SelectChoice(d.code, f"{d.name} ({d.code})") for d in rows]


def manager_choices(current: User | None = None) -> list[SelectChoice]:
    """Active users, plus the current manager even if disabled (saving unchanged must not clear them)."""
    rows = list(User.select().where(User.active == True).order_by(User.username))  # noqa: E712
    if current is not None and not current.active:
        rows.append(current)
    return [NONE] + [SelectChoice(u.username, f"{u.name} ({u.username})") for u in rows]


def apply(form, change) -> tuple[bool, object]:
    """Validate ``form``, then run ``change`` in ONE transaction; a refusal lands next to its field."""
    if not form.validate_on_submit():
        return False, None
    try:
        with database.atomic():
            return True, change()
    except org.OrgError as error:
        field = form[error.field] if error.field and error.field in form else None
        message = error.msg.render(gettext)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
        return False, None


def revoke_and_record(token_id: int, owner: User | None = None) -> None:
    """Delete a token (of ``owner`` when given) with its audit entry; 404 for an unknown one."""
    try:
        changes.revoke_token(current_user.user, token_id, owner)
    except org.OrgError:
        abort(404)
    flash(gettext("Token revoked."), "success")


class UsersView(BaseView):
    @expose("/")
    def index(self):
        text = request.args.get("q", "").strip()
        query = (User.select(User, Department).join(Department, JOIN.LEFT_OUTER, on=User.department == Department.id,
                                                    attr="department").order_by(User.username))
        if text:
            query = query.where(User.username.contains(text) | User.name.contains(text))
        counts = dict(ApiToken.select(ApiToken.user, fn.COUNT(ApiToken.id)).group_by(ApiToken.user).tuples())
        return self.render("admin/users.html", users=list(query), counts=counts, q=text, roles=ROLE_LABELS)

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        form = NewUserForm()
        form.department.choices = department_choices()
        if request.method == "GET":
            return self.render("admin/user_new.html", form=form)
        done, user = apply(form, lambda: self._create(form))
        if not done:
            return self.render("admin/user_new.html", form=form), 422
        flash(gettext("User %(username)s created.", username=user.username), "success")
        return redirect(url_for(".edit", username=user.username))

    def _create(self, form) -> User:
        return changes.create_user(current_user.user, form.username.data.strip(), form.password.data,
                                   form.role.data, department=form.department.data or None,
                                   name=(form.name.data or "").strip() or None)

    @expose("/<username>/", methods=("GET", "POST"))
    def edit(self, username: str):
        user = User.get_or_none(User.username == username) or abort(404)
        if request.method == "GET":
            return self._page(user)
        form = UserForm()
        form.department.choices = department_choices()
        done, _ = apply(form, lambda: self._update(username, form))
        if not done:
            return self._page(user, edit=form), 422
        flash(gettext("User %(username)s saved.", username=username), "success")
        return redirect(url_for(".edit", username=username))

    def _update(self, username: str, form) -> None:
        changes.update_user(current_user.user, username, name=form.name.data, role=form.role.data,
                            department=form.department.data or None, active=form.active.data)

    @expose("/<username>/password", methods=("POST",))
    def password(self, username: str):
        user = User.get_or_none(User.username == username) or abort(404)
        form = PasswordForm()
        done, _ = apply(form, lambda: self._reset(username, form.password.data))
        if not done:
            return self._page(user, password=form), 422
        flash(gettext("Password of %(username)s reset.", username=username), "success")
        return redirect(url_for(".edit", username=username))

    def _reset(self, username: str, password: str) -> None:
        """The user's sessions end, except this one when admins reset their own password."""
        keep_session(changes.set_password(current_user.user, username, password))

    @expose("/<username>/tokens", methods=("POST",))
    def issue(self, username: str):
        """Render the page itself (no redirect): the token is shown this once and stored only hashed."""
        user = User.get_or_none(User.username == username) or abort(404)
        form = TokenForm(prefix="token")
        done, token = apply(form, lambda: self._issue(user, form.name.data or ""))
        if not done:
            return self._page(user, token_form=form), 422
        response = make_response(self._page(user, new_token=token))
        response.headers["Cache-Control"] = "no-store"
        return response

    def _issue(self, user: User, name: str) -> str:
        return changes.issue_token(current_user.user, user, name)

    @expose("/<username>/tokens/<int:token_id>/revoke", methods=("POST",))
    def revoke(self, username: str, token_id: int):
        revoke_and_record(token_id, User.get_or_none(User.username == username) or abort(404))
        return redirect(url_for(".edit", username=username))

    def _page(self, user: User, edit=None, password=None, token_form=None, new_token: str | None = None):
        """The user's page; forms not being re-shown with errors start from the stored values."""
        if edit is None:
            edit = UserForm(formdata=None, data={"name": user.name, "role": user.role, "active": user.active,
                                                 "department": user.department.code if user.department_id else ""})
            edit.department.choices = department_choices()
        tokens = list(user.tokens.order_by(ApiToken.id))
        return self.render("admin/user.html", user=user, form=edit, tokens=tokens, new_token=new_token,
                           password_form=password or PasswordForm(formdata=None),
                           token_form=token_form or TokenForm(formdata=None, prefix="token"),
                           format_datetime=format_datetime)


def tree() -> list[dict]:
    """Root departments, each ``{"department", "children"}``, managers loaded in the same query."""
    rows = list(Department.select(Department, User).join(User, JOIN.LEFT_OUTER, on=Department.manager == User.id,
                                                         attr="manager").order_by(Department.code))
    nodes = {d.id: {"department": d, "children": []} for d in rows}
    roots = []
    for d in rows:
        (nodes[d.parent_id]["children"] if d.parent_id in nodes else roots).append(nodes[d.id])
    return roots


class DepartmentsView(BaseView):
    @expose("/")
    def index(self):
        return self.render("admin/departments.html", roots=tree())

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        form = NewDepartmentForm()
        form.parent.choices, form.manager.choices = department_choices(), manager_choices()
        if request.method == "GET":
            return self.render("admin/department.html", form=form, department=None)
        done, department = apply(form, lambda: self._create(form))
        if not done:
            return self.render("admin/department.html", form=form, department=None), 422
        flash(gettext("Department %(code)s created.", code=department.code), "success")
        return redirect(url_for(".index"))

    def _create(self, form) -> Department:
        return changes.create_department(current_user.user, form.code.data.strip(), form.name.data,
                                         form.parent.data or None, form.manager.data or None)

    @expose("/<code>/", methods=("GET", "POST"))
    def edit(self, code: str):
        department = Department.get_or_none(Department.code == code) or abort(404)
        data = {"name": department.name, "parent": department.parent.code if department.parent_id else "",
                "manager": department.manager.username if department.manager_id else ""}
        form = DepartmentForm(formdata=None, data=data) if request.method == "GET" else DepartmentForm()
        form.parent.choices = department_choices()
        form.manager.choices = manager_choices(department.manager if department.manager_id else None)
        if request.method == "GET":
            return self.render("admin/department.html", form=form, department=department)
        done, _ = apply(form, lambda: self._update(code, form))
        if not done:
            return self.render("admin/department.html", form=form, department=department), 422
        flash(gettext("Department %(code)s saved.", code=code), "success")
        return redirect(url_for(".index"))

    def _update(self, code: str, form) -> None:
        changes.update_department(current_user.user, code, name=form.name.data, parent=form.parent.data or None,
                                  manager=form.manager.data or None)


class TokensView(BaseView):
    @expose("/")
    def index(self):
        tokens = ApiToken.select(ApiToken, User).join(User).order_by(ApiToken.id.desc())
        return self.render("admin/tokens.html", tokens=list(tokens), format_datetime=format_datetime)

    @expose("/<int:token_id>/revoke", methods=("POST",))
    def revoke(self, token_id: int):
        revoke_and_record(token_id)
        return redirect(url_for(".index"))
