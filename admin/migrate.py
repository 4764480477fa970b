"""Move the open tickets of older versions to the latest one: the dry run, then the move (issue 20).

Mixed into the processes view; access is decided by the admin package's AdminOnly mixin. The page
works as plain forms, without script: the dry run is a GET (it writes nothing and can be linked to,
e.g. from the publish dialog), the move a POST with the CSRF token carrying exactly the mapping the
dry run showed. The rules are ``workflows.processes.migrate``'s; this only reads the request and
words the answer. docs/migration.md.
"""

from __future__ import annotations

from flask import abort, request
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.processes import documents as docs
from workflows.processes import migrate as migration
from workflows.storage.models import Process
from workflows.tickets.errors import EngineError, NotFound

NOT_A_NUMBER = N_("Give a version number.")
CHOOSE = N_("Choose at least one version.")


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else None


def _inputs(values) -> tuple[int, list[int], dict[str, str], dict[str, list[Msg]]]:
    """``to``, ``from`` and ``mapping/<old step>`` as typed, and what cannot even be read, by field."""
    errors: dict[str, list[Msg]] = {}
    to = _number(values.get("to"))
    if to is None:
        errors["to"] = [Msg(NOT_A_NUMBER)]
    sources = [_number(text) for text in values.getlist("from")]
    if not sources or None in sources:
        errors["from"] = [Msg(CHOOSE if not sources else NOT_A_NUMBER)]
    mapping = {key.partition("/")[2]: value for key, value in values.items(multi=False)
               if key.startswith("mapping/")}
    return to or 0, [n for n in sources if n is not None], mapping, errors


def _shown(report: migration.TicketPlan) -> dict:
    """A ticket's plan (or result) in the reader's words; steps by their names."""
    return {**vars(report), "from_step": report.from_step_name, "to_step": report.to_step_name,
            "movable": report.movable, "changes": [m.render(gettext) for m in report.changes],
            "reasons": [m.render(gettext) for m in report.reasons]}


def _problems(fields: dict[str, list[Msg]]) -> list[str]:
    return [f"{name}: {msg.render(gettext)}" for name, messages in fields.items() for msg in messages]


class MigrateMixin:
    """``/admin/processes/<code>/migrate``: open tickets per older version, the mapping, dry run and move."""

    @expose("/<code>/migrate", methods=("GET", "POST"))
    def migrate(self, code: str):
        process = Process.get_or_none(Process.code == code) or abort(404)
        latest = docs.latest_version(code) or abort(404)
        if request.method == "GET" and not request.args.get("dry"):
            return self._migrate_page(process, latest, None)
        to, sources, mapping, errors = _inputs(request.values)
        if errors:
            return self._migrate_page(process, latest, None, _problems(errors)), 400
        ask = migration.plan if request.method == "GET" else _moving
        try:
            reports = ask(code, sources, to, mapping)
        except NotFound:
            abort(404)
        except EngineError as error:
            return self._migrate_page(process, latest, None, _problems(error.fields)), error.status
        return self._migrate_page(process, latest, reports, moved=request.method == "POST")

    def _migrate_page(self, process: Process, latest, reports: list | None, problems: list[str] | None = None,
                      moved: bool = False):
        """The page: counts per older version, the mapping form as asked (else the defaults), and the plan."""
        counts = migration.open_counts(process.code, latest.number)
        held = sorted({(key, name) for version in counts for key, name, _ in version["steps"]})
        totals = {key: sum(n for v in counts for k, _, n in v["steps"] if k == key) for key, _ in held}
        chosen = migration.default_mapping([key for key, _ in held], latest)
        chosen.update({key.partition("/")[2]: value or None for key, value in request.values.items(multi=False)
                       if key.startswith("mapping/") and key.partition("/")[2] in chosen})
        asked = [_number(n) for n in request.values.getlist("from")] or [v["number"] for v in counts]
        shown = [_shown(report) for report in reports or []]
        return self.render("admin/migrate.html", process=process, latest=latest, counts=counts, held=held,
                           totals=totals, chosen=chosen, asked=asked, reports=shown, problems=problems or [],
                           moved=moved, movable=sum(1 for r in shown if r["movable"]),
                           planned=reports is not None)


def _moving(code: str, sources: list[int], to: int, mapping: dict) -> list:
    return migration.migrate(current_user.user, code, sources, to, mapping)
