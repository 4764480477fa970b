"""Browser login and logout with Flask-Login; ``workflows.org.authenticate`` checks the password.

The session is a signed cookie: it is cleared before login so nothing planted in
it earlier (session fixation) survives into the logged-in session.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from formbuilder.messages import N_
from workflows.models import User
from workflows.org import authenticate

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = N_("Please log in to open this page.")
login_manager.localize_callback = gettext  # translated when flashed: the session cannot hold a lazy string


class LoginUser(UserMixin):
    """The logged-in ``User`` row as Flask-Login's ``current_user``; the row is ``.user``."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return str(self.user.id)

    @property
    def is_active(self) -> bool:
        return self.user.active


@login_manager.user_loader
def load_user(user_id: str) -> LoginUser | None:
    """The session's user, if it still exists and is active (deactivation logs out)."""
    if not (user_id.isascii() and user_id.isdigit()):
        return None
    user = User.get_or_none((User.id == int(user_id)) & (User.active == True))  # noqa: E712
    return LoginUser(user) if user else None


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in target):
        return None  # browsers drop tabs and newlines and read "\" as "/": "/\t/evil" is "//evil"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=("GET", "POST"))
def login():
    form = LoginForm()
    target = safe_next(request.args.get("next"))
    error = None
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()
            login_user(LoginUser(user))
            return redirect(target or url_for("home.index"))
    if request.method == "POST":
        # The same message whether the user exists or not.
        error = gettext("Wrong username or password.")
    return render_template("auth/login.html", form=form, error=error, next=target)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("home.index"))


def init_app(app) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
