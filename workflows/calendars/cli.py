"""``flask --app app calendar check|import|export`` (interfaces.md): working-time calendars on the command line.

Checked like processes: one ``JSON-PATH: message`` line per problem, exit 1, nothing stored.
An import is :func:`workflows.calendars.store.save_calendar` with no actor, audited like the admin's.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from formbuilder import strictjson
from formbuilder.calendars import check_calendar
from formbuilder.messages import N_, Msg, Problem
from workflows.calendars import store
from workflows.i18n import cli_gettext
from workflows.processes.documents import DocumentError
from workflows.storage import db

calendar_cli = AppGroup("calendar", help="Working-time calendars (工作日历).")
lang_option = click.option("--lang", default=None, help="zh or en (default: from LANG).")


def _fail(problems: list[Problem], lang) -> None:
    gettext = cli_gettext(lang)
    for problem in problems:
        click.echo(problem.render(gettext))
    sys.exit(1)


def _unknown_years(document: dict, lang) -> None:
    """Say on stderr which years near now count weekends only (the admin shows the same)."""
    gettext = cli_gettext(lang)
    for year in store.unknown_years(document):
        click.echo(gettext(store.UNKNOWN_YEAR) % {"year": year}, err=True)


def _read_checked(path: str, lang) -> dict:
    """The document at ``path`` when it has no problem; otherwise print each one and exit 1."""
    try:
        with open(path, encoding="utf-8") as fh:
            document = strictjson.loads(fh.read())
    except (OSError, ValueError) as error:
        _fail([Problem("", Msg(N_("cannot read document: %(detail)s"), {"detail": str(error)}))], lang)
    problems = check_calendar(document)
    if problems:
        _fail(problems, lang)
    _unknown_years(document, lang)
    return document


@calendar_cli.command("check")
@click.argument("path")
@lang_option
def calendar_check(path, lang):
    """Validate a calendar document; print each problem as JSON-PATH: message.

    A valid document with official holidays names on stderr the years near now that count weekends only.
    """
    _read_checked(path, lang)


@calendar_cli.command("import")
@click.argument("path")
@lang_option
def calendar_import(path, lang):
    """Create or update a calendar from a document, with an audit entry; nothing is stored on any problem.

    An identical document changes nothing (no new revision, no audit entry).
    """
    document = _read_checked(path, lang)
    with db.database.connection_context():
        before = store.get(document["code"])
        try:
            row = store.save_calendar(document, None, "calendar.import")
        except DocumentError as error:
            _fail(error.problems, lang)
    unchanged = before is not None and before.revision == row.revision
    click.echo(f"calendar {row.code}: revision {row.revision}" + (" (unchanged)" if unchanged else ""))


@calendar_cli.command("export")
@click.argument("code")
def calendar_export(code):
    """Print the stored calendar document CODE as JSON."""
    with db.database.connection_context():
        document = store.export(code)
    if document is None:
        click.echo(f"no calendar {code!r}", err=True)
        sys.exit(1)
    click.echo(store.dumps(document))
