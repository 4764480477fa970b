"""Browser login and logout with Flask-Login; ``workflows.people.login`` checks the password and the lockouts.

The session is a signed cookie: it is cleared before login so nothing planted in
it earlier (session fixation) survives into the logged-in session. It also holds
the user's ``session_version`` from login time; a password change bumps the
stored one, so every older session (and any remember cookie, which carries no
version) is logged out on its next request. Logout clears this browser's cookie
only: a copy of the cookie taken before logout stays valid until the password
changes, because a client-side session cannot be revoked on the server otherwise.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from formbuilder.messages import N_
from workflows.people import login as logins
from workflows.storage import generation
from workflows.storage.models import User

bp = Blueprint("auth", __name__)
SESSION_VERSION = "_session_version"
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


_SESSION_USER = generation.prepared(  # every HTML request: its text is built once
    lambda stamp, user_id, version: User.select(User, stamp).where(
        (User.id == user_id) & (User.active == True) & (User.session_version == version)).limit(1),  # noqa: E712
    int, int)


@login_manager.user_loader
def load_user(user_id: str) -> LoginUser | None:
    """The session's user, if still active (deactivation logs out) and its password unchanged since login."""
    version = session.get(SESSION_VERSION)
    if not (user_id.isascii() and user_id.isdigit()) or type(version) is not int:
        return None
    user = _SESSION_USER().first(int(user_id), version)
    if user is None:
        return None
    generation.seen(user)  # the request's configuration stamp came with its user
    return LoginUser(user)


def keep_session(user: User) -> None:
    """After ``user`` changed their own password, keep this session: only the others are logged out."""
    if current_user.is_authenticated and current_user.user.id == user.id:
        session[SESSION_VERSION] = user.session_version


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
    if not form.validate_on_submit():
        error = gettext("Wrong username or password.") if request.method == "POST" else None
        return render_template("auth/login.html", form=form, error=error, next=target)
    try:
        user = verify(form.username.data, form.password.data)
    except logins.LoginLocked as locked:
        page = render_template("auth/login.html", form=form, error=locked.msg.render(gettext), next=target)
        return page, 429, {"Retry-After": str(locked.retry_after)}
    if user is None:  # the same message whether the user exists or not
        return render_template("auth/login.html", form=form, error=gettext("Wrong username or password."),
                               next=target)
    session.clear()
    login_user(LoginUser(user))
    session[SESSION_VERSION] = user.session_version
    return redirect(target or url_for("home.index"))


def login_limits() -> logins.Limits:
    """The lockout limits of this app (``LOGIN_*`` settings), read per request so tests and operators may lower them."""
    return logins.Limits.from_config(current_app.config)


def verify(username: str, password: str) -> User | None:
    """One counted attempt from this request's address; the failure that reaches the limit already says so."""
    limits = login_limits()
    user = logins.attempt(username, password, request.remote_addr, limits)
    if user is None:
        logins.check(username, request.remote_addr, limits)
    return user


@bp.post("/logout")
def logout():
    """Forget everything in this browser's session; other sessions of the user stay (see the module doc)."""
    session.clear()
    logout_user()
    return redirect(url_for("home.index"))


def init_app(app) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
