"""The workspace profile (/profile): the user's own API tokens, issued and revoked without an admin.

A new token is shown on the response to the POST that created it, never again
(only its hash is stored), so that page is rendered directly rather than
redirected to, and marked ``no-store``. Each change is one transaction with
its audit entry; another user's token id answers 404. The app-wide
CSRFProtect refuses a POST without the session's CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from workflows import audit, org
from workflows.db import database
from workflows.models import ApiToken, User

bp = Blueprint("profile", __name__, url_prefix="/profile")


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What the token is for, e.g. the system that uses it."))


def me() -> User:
    return current_user.user


def page(form: TokenForm | None = None, new_token: str | None = None, status: int = 200):
    tokens = list(ApiToken.select().where(ApiToken.user == me().id).order_by(ApiToken.id))
    response = make_response(render_template(
        "profile/index.html", user=me(), tokens=tokens, new_token=new_token,
        form=form or TokenForm(formdata=None)), status)
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
    with database.atomic():
        row, token = org.new_token(me(), form.name.data.strip())
        audit.record(me(), "token.issue", f"token:{row.id}", None, org.snapshot(row))
    return page(new_token=token)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """CSRF is checked by the app's CSRFProtect before this runs, as for every form POST."""
    try:
        with database.atomic():
            audit.record(me(), "token.revoke", f"token:{token_id}", org.revoke_token(token_id, owner=me()), None)
    except org.OrgError:
        abort(404)
    flash(gettext("Token revoked."))
    return redirect(url_for("profile.index"))
