"""Liuzhuan (流转): the application factory, and ``python app.py`` for the demo."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, current_app
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import admin
import api
from api import docs as api_docs
from web import auth, bulk, calls, customers, exports, health, home, inbox, public, tagging, tickets, webform
from web import help as help_pages
from web import kb as kb_pages
from web import live as live_updates
from web import notes as note_box
from web import profile as profile_pages
from web import reports as report_pages
from web import suggest as kb_suggest
from web import views as saved_views
from web.common import headers as security_headers
from web.common import i18n, inputs
from web.common import menu as main_menu
from workflows import cli
from workflows.intake.mailin import mail_cli
from workflows.storage import db, generation
from workflows.subscribers.worker import worker_command
from workflows.tickets.sla import sla_cli

csrf = CSRFProtect()


def _secret_key(app: Flask) -> str | None:
    """SECRET_KEY from the environment, else the one the demo keeps under instance/."""
    path = Path(app.instance_path, "secret_key")
    return os.environ.get("SECRET_KEY") or (path.read_text().strip() if path.exists() else None)


def _require_secret_key():
    """Refuse to serve with no SECRET_KEY rather than sign sessions with nothing."""
    if not current_app.config.get("SECRET_KEY"):
        return "SECRET_KEY is not configured (see README: Configuration).", 500
    return None


def _env_flag(name: str) -> bool | None:
    """``1`` is True, ``0`` False, unset None (the default decides)."""
    value = os.environ.get(name)
    return None if value in (None, "") else value == "1"


def _secure_cookies_by_default(app: Flask) -> None:
    """Cookies only over HTTPS unless set otherwise; debug runs and tests speak plain HTTP."""
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(key) is None:
            app.config[key] = not (app.debug or app.testing)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:///instance/liuzhuan.db"),
        UPLOAD_DIR=os.environ.get("UPLOAD_DIR", os.path.join(app.instance_path, "uploads")),
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # per request: more is a 413 page / JSON error
        UPLOAD_MAX_BYTES=int(os.environ.get("UPLOAD_MAX_BYTES", 25 * 1024 * 1024)),  # per file, any field
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_env_flag("SESSION_COOKIE_SECURE"),
        REMEMBER_COOKIE_SECURE=_env_flag("SESSION_COOKIE_SECURE"),
        TRUSTED_PROXIES=int(os.environ.get("TRUSTED_PROXIES") or 0),  # reverse proxies in front (docs/deploy.md)
        **{key: value for key, value in os.environ.items() if key.startswith("LOGIN_")},  # workflows/people/login.py
    )
    app.config.update(config or {})
    _secure_cookies_by_default(app)
    if proxies := app.config["TRUSTED_PROXIES"]:  # client address (login limits) and https from X-Forwarded-*
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.json.ensure_ascii = False  # the API answers in readable UTF-8 (Chinese labels and messages)
    app.json.sort_keys = False  # documents keep their key order: in a process, key order is field order
    if not app.config.get("SECRET_KEY"):  # Flask's defaults hold SECRET_KEY = None
        app.config["SECRET_KEY"] = _secret_key(app)
    app.before_request(_require_secret_key)
    app.request_class = inputs.StrictRequest  # get_json() reads standard JSON only
    app.before_request(inputs.refuse_nul)

    db.init_app(app)
    generation.init_app(app)  # one configuration stamp read per request (workflows/storage/generation.py)
    i18n.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    security_headers.init_app(app)  # CSP without inline scripts, nosniff, no framing
    for blueprint in (health.bp, home.bp, calls.bp, tickets.bp, customers.bp):
        app.register_blueprint(blueprint)
    for blueprint in (exports.bp, public.bp):  # ticket-list files; the customer's rating and progress pages
        app.register_blueprint(blueprint)
    app.register_blueprint(report_pages.bp)  # /reports, for supervisors and admins
    app.register_blueprint(webform.bp)  # /forms/<code>: the public web form of opted-in processes
    app.register_blueprint(help_pages.bp)  # /help: the public knowledge base, no login (docs/kb.md)
    app.register_blueprint(kb_pages.bp)  # /kb: the workspace knowledge base, articles and their files (docs/kb.md)
    app.register_blueprint(profile_pages.bp)  # /profile: the user's own API tokens
    app.register_blueprint(tagging.bp)  # POST /tickets/<number>/tags: add and remove a ticket's tags
    app.register_blueprint(bulk.bp)  # POST /tickets/bulk: assign, transfer, tag, wait, resume, close
    app.register_blueprint(saved_views.bp)  # /views: the workspace's saved views (docs/workspace.md)
    app.register_blueprint(kb_suggest.bp)  # /suggest, a ticket's solution, /reports/solutions (docs/kb.md)
    app.register_blueprint(note_box.bp)  # a note's pasted files and @mention suggestions; the note_html filter
    admin.init_app(app)
    inbox.init_app(app)
    live_updates.init_app(app)  # GET /live: the stamps open pages poll for (docs/live.md)
    main_menu.init_app(app)  # lz_menu(): the entries of base.html's menu the user may open
    api.init_app(app)
    app.register_blueprint(api_docs.bp)  # /api/docs: the OpenAPI document as a page, no login
    csrf.exempt(api.bp)  # bearer tokens, not cookies: nothing for a forged form to ride on
    cli.init_app(app)
    app.cli.add_command(sla_cli)
    app.cli.add_command(mail_cli)  # mail ingest FILE.eml|MAILDIR
    app.cli.add_command(worker_command)  # flask --app app worker: webhook deliveries
    return app


def _demo_secret(instance: Path) -> None:
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)


def main() -> None:
    """Create the SQLite database, migrate, seed the demo and serve it on 127.0.0.1."""
    from workflows import demo

    _demo_secret(Path(__file__).resolve().with_name("instance"))
    plain_http = {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}  # the demo serves http://127.0.0.1
    app = create_app(None if _env_flag("SESSION_COOKIE_SECURE") is not None else plain_http)
    db.upgrade()
    with app.app_context(), db.database.connection_context():
        for line in demo.seed(tickets=True):  # with the sample tickets (docs/demo.md)
            print(line)
    print("Liuzhuan demo: http://127.0.0.1:5000/  (admin: http://127.0.0.1:5000/admin/, log in as admin)")
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))


if __name__ == "__main__":
    main()
