"""The workspace profile (/profile): the user's own API tokens and password, changed without an admin.

A new token is shown on the response to the POST that created it, never again
(only its hash is stored), so that page is rendered directly rather than
redirected to, and marked ``no-store``. Each change is one transaction with
its audit entry; another user's token id answers 404. The app-wide
CSRFProtect refuses a POST without the session's CSRF token. A password change
needs the current password, checked like a login (counted, and refused while
locked out), and ends the user's other sessions but not this one.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from web.auth import keep_session, verify
from workflows.people import changes, org
from workflows.people import login as logins
from workflows.storage.models import ApiToken, User

bp = Blueprint("profile", __name__, url_prefix="/profile")


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What the token is for, e.g. the system that uses it."))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The new passwords differ."))])


def me() -> User:
    return current_user.user


def page(form: TokenForm | None = None, new_token: str | None = None, status: int = 200,
         password_form: PasswordForm | None = None):
    tokens = list(ApiToken.select().where(ApiToken.user == me().id).order_by(ApiToken.id))
    response = make_response(render_template(
        "profile/index.html", user=me(), tokens=tokens, new_token=new_token,
        form=form or TokenForm(formdata=None), password_form=password_form or PasswordForm(formdata=None)), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@login_required
def index():
    return page()


@bp.post("/tokens")
@login_required
def issue():
    form = TokenForm()
    if not form.validate_on_submit():
        return page(form, status=422)
    return page(new_token=changes.issue_token(me(), me(), form.name.data))


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """CSRF is checked by the app's CSRFProtect before this runs, as for every form POST."""
    try:
        changes.revoke_token(me(), token_id, owner=me())
    except org.OrgError:
        abort(404)
    flash(gettext("Token revoked."))
    return redirect(url_for("profile.index"))


@bp.post("/password")
@login_required
def change_password():
    form = PasswordForm()
    if not (form.validate_on_submit() and _change_password(form)):
        return page(password_form=form, status=422)
    flash(gettext("Password changed. Your other sessions have been logged out."))
    return redirect(url_for("profile.index"))


def _change_password(form: PasswordForm) -> bool:
    """The current password is checked as a login would be (counted, refused while locked), then the new one
    is set with its audit entry in one transaction."""
    try:
        verified = verify(me().username, form.current_password.data)
    except logins.LoginLocked as locked:
        return _error(form.current_password, locked.msg.render(gettext))
    if verified is None:
        return _error(form.current_password, gettext("The current password is wrong."))
    try:
        user = changes.set_password(me(), me().username, form.password.data, how="changed")
    except org.OrgError as error:
        return _error(form.password, error.msg.render(gettext))
    keep_session(user)
    return True


def _error(field, message: str) -> bool:
    """Show ``message`` under ``field``; False, for the caller to return."""
    field.errors = [*field.errors, message]
    return False
