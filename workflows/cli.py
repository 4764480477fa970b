"""Command line (``flask --app app ...``) as listed in interfaces.md."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup, with_appcontext

from formbuilder import strictjson
from formbuilder.messages import N_, Msg, Problem
from workflows import demo
from workflows.calendars.cli import calendar_cli
from workflows.i18n import cli_gettext
from workflows.people import org
from workflows.people.phonefix import customers_cli
from workflows.processes import dictedit
from workflows.processes import documents as docs
from workflows.search.cli import search_cli
from workflows.storage import backup, db, uploads

db_cli = AppGroup("db", help="Database schema.")
dictionary_cli = AppGroup("dictionary", help="Dictionaries (字典与面板).")
process_cli = AppGroup("process", help="Process documents (工单流程).")
departments_cli = AppGroup("departments", help="Departments (部门).")
users_cli = AppGroup("users", help="Users (用户) and their API tokens.")
lang_option = click.option("--lang", default=None, help="zh or en (default: from LANG).")


def _read(path: str, lang) -> object:
    """The JSON document in ``path``; a syntax error ends the command like any problem."""
    try:
        with open(path, encoding="utf-8") as fh:
            return strictjson.loads(fh.read())
    except (OSError, ValueError) as error:
        _fail([Problem("", Msg(N_("cannot read document: %(detail)s"), {"detail": str(error)}))], lang)


def _fail(problems: list[Problem], lang) -> None:
    gettext = cli_gettext(lang)
    for problem in problems:
        click.echo(problem.render(gettext))
    sys.exit(1)


def _store(save, path: str, lang):
    """Read the document at ``path`` and ``save`` it; print every problem and exit 1 if refused."""
    document = _read(path, lang)
    with db.database.connection_context():
        try:
            return save(document)
        except docs.DocumentError as error:
            _fail(error.problems, lang)


def org_command(group: AppGroup, name: str):
    """A command of ``group`` that changes the organisation; its ``--lang`` is the language of a refusal."""
    return lambda function: lang_option(group.command(name)(function))  # --lang last, as elsewhere


def password_option(help: str):
    return click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help=help)


def _org(change, lang, done: str | None = None):
    """Run ``change`` in one transaction, then print ``done``; a refusal prints its message to stderr, exits 1."""
    with db.database.connection_context():
        try:
            with db.database.atomic():
                result = change()
        except org.OrgError as error:
            click.echo(error.msg.render(cli_gettext(lang)), err=True)
            sys.exit(1)
    if done:
        click.echo(done)
    return result



@db_cli.command("upgrade")
def upgrade():
    """Create or migrate the schema (idempotent)."""
    applied = db.upgrade()
    click.echo("applied: " + ", ".join(applied) if applied else "up to date")


@click.command("demo")
@with_appcontext  # the sample tickets' files go to the app's UPLOAD_DIR
@click.option("--no-tickets", is_flag=True, help="The organisation and processes only, no sample tickets.")
def demo_command(no_tickets):
    """Seed the demo organisation, processes and sample tickets (idempotent; docs/demo.md)."""
    db.upgrade()
    with db.database.connection_context():
        for line in demo.seed(tickets=not no_tickets):
            click.echo(line)


@dictionary_cli.command("import")
@click.argument("path")
@lang_option
def dictionary_import(path, lang):
    """Create or update a dictionary from a document, with the admin's guards and an audit entry.

    An item that tickets hold cannot be dropped (disable it instead); an
    identical document changes nothing (no new revision, no audit entry).
    """
    row, changed = _store(lambda document: dictedit.import_document(document, None), path, lang)
    click.echo(f"dictionary {row.code}: revision {row.revision}" + ("" if changed else " (unchanged)"))


@process_cli.command("check")
@click.argument("path")
@lang_option
def process_check(path, lang):
    """Validate a process document; print each problem as JSON-PATH: message."""
    document = _read(path, lang)
    with db.database.connection_context():
        problems = docs.check(document)
    if problems:
        _fail(problems, lang)


@process_cli.command("import")
@click.argument("path")
@click.option("--publish", is_flag=True, help="Also publish a new version.")
@lang_option
def process_import(path, publish, lang):
    """Save a process document as draft (and publish it); nothing is saved on any problem.

    The same path as the admin's import: checked, stored and audited (actor
    None, published by ``cli``) in one transaction.
    """
    process, version, _ = _store(lambda doc: docs.store_process(doc, None, "process.import", publish=publish),
                                 path, lang)
    click.echo(f"process {process.code}: draft saved" + (f", version {version.number} published" if version else ""))


@process_cli.command("export")
@click.argument("code")
@click.option("--version", "number", type=int, default=None, help="Version number (default: latest).")
def process_export(code, number):
    """Print a published document (latest, or version N)."""
    with db.database.connection_context():
        version = docs.get_version(code, number)
    if version is None:
        click.echo(f"no published version of {code!r}" + (f" numbered {number}" if number else ""), err=True)
        sys.exit(1)
    click.echo(json.dumps(version.document, ensure_ascii=False, indent=2))


@org_command(departments_cli, "create")
@click.argument("code")
@click.argument("name")
@click.option("--parent", default=None, metavar="CODE", help="The parent department.")
@click.option("--manager", default=None, metavar="USERNAME", help="An existing user (or later: set-manager).")
def departments_create(code, name, parent, manager, lang):
    """Create a department."""
    _org(lambda: org.create_department(code, name, parent=parent, manager=manager), lang, f"department {code} created")


@org_command(departments_cli, "set-manager")
@click.argument("code")
@click.argument("username")
def departments_set_manager(code, username, lang):
    """Make USERNAME the manager of the department CODE."""
    _org(lambda: org.set_manager(code, username), lang, f"department {code}: manager {username}")


@org_command(users_cli, "create")
@click.argument("username")
@password_option("At least 8 characters (asked for when left out, so it stays out of the shell history).")
@click.option("--role", required=True, help="admin, supervisor, agent or handler.")
@click.option("--department", default=None, metavar="CODE")
@click.option("--name", default=None, help="Display name (default: the username).")
def users_create(username, password, role, department, name, lang):
    """Create a user."""
    _org(lambda: org.create_user(username, password, role, department=department, name=name), lang,
         f"user {username} created")


@org_command(users_cli, "password")
@click.argument("username")
@password_option("The new password, under the same policy as users create (asked for when left out).")
def users_password(username, password, lang):
    """Set USERNAME's password; their open browser sessions end."""
    _org(lambda: org.set_password(username, password), lang, f"password of {username} set")


@org_command(users_cli, "token")
@click.argument("username")
def users_token(username, lang):
    """Print a new API token for USERNAME (only the token, one line; it is not shown again)."""
    click.echo(_org(lambda: org.issue_token(org.user_named(username)), lang))


def init_app(app) -> None:
    for command in (db_cli, dictionary_cli, process_cli, departments_cli, users_cli, demo_command,
                    backup.backup_command, backup.restore_command, uploads.uploads_cli, calendar_cli,
                    search_cli, customers_cli):
        app.cli.add_command(command)
