"""Process documents as JSON: edit the draft, publish, compare versions, export, import, discard.

Mixed into ProcessesView; access is decided by the admin package's AdminOnly mixin.
"""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import format_datetime, gettext
from flask_login import current_user

from formbuilder import strictjson
from workflows.processes import documents as docs
from workflows.processes import versions as history
from workflows.storage.models import Process, ProcessVersion

from .places import linked

SKELETON = {
    "format": 1,
    "code": "new_process",
    "name": "新流程",
    "schema": {"type": "object", "properties": {"title": {"type": "string", "title": "标题"}}},
    "steps": [{"key": "start", "name": "登记", "fields": {"title": "required"}, "assignee": {"type": "creator"},
               "transitions": [{"to": "$end", "label": "完成"}]}],
}


def pretty(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


def parse(text: str) -> tuple[object, list[str]]:
    """The document in ``text``, or a problem naming the line and column of a syntax error."""
    try:
        return strictjson.loads(text), []
    except json.JSONDecodeError as error:
        return None, ["/: " + gettext("Invalid JSON at line %(line)d, column %(column)d: %(error)s",
                                      line=error.lineno, column=error.colno, error=error.msg)]
    except strictjson.NotStandardJSON as error:  # NaN, Infinity, nesting past 64 levels
        return None, ["/: " + error.msg.render(gettext)]


def rendered(problems) -> list[str]:
    return [problem.render(gettext) for problem in problems]


def stored(document: object) -> Process | None:
    """The process ``document`` would overwrite (read inside the change's transaction), or None."""
    code = document.get("code") if isinstance(document, dict) else None
    return Process.get_or_none(Process.code == code) if isinstance(code, str) else None


class VersionsMixin:
    """The version-management pages of the processes view."""

    @expose("/new/json", methods=("GET", "POST"))
    def new_json(self):
        if request.method == "GET":
            return self._json_page(None, pretty(SKELETON))
        return self._save_json(None)

    @expose("/<code>/json", methods=("GET", "POST"))
    def json_view(self, code: str):
        process = Process.get_or_none(Process.code == code) or abort(404)
        if request.method == "GET":
            latest = docs.latest_version(code)
            return self._json_page(process, pretty(process.draft or (latest and latest.document)))
        return self._save_json(process)

    def _save_json(self, process: Process | None):
        text = request.form.get("document", "")
        document, problems = parse(text)
        if not problems and process is not None and (not isinstance(document, dict)
                                                     or document.get("code") != process.code):
            problems = ["/code: " + gettext("The code must stay %(code)s; use a new process to change it.",
                                            code=process.code)]
        if not problems:
            try:  # checked, stored and audited in one transaction; an unchanged draft records nothing
                saved, _, _ = docs.store_process(document, current_user.user, "process.save")
            except docs.DocumentError as error:
                problems = linked(error.problems, getattr(process or stored(document), "code", ""))
        if problems:
            return self._json_page(process, text, problems), 422
        flash(gettext("Draft saved."), "success")
        return redirect(url_for(".json_view", code=saved.code))

    def _json_page(self, process, text: str, problems: list | None = None):
        """``problems``: plain strings or ``{text, url}`` linking to the place in the visual editor."""
        problems = [p if isinstance(p, dict) else {"text": p, "url": None} for p in problems or []]
        return self.render("admin/process_json.html", process=process, text=text, problems=problems)

    @expose("/<code>/publish", methods=("POST",))
    def publish(self, code: str):
        Process.get_or_none(Process.code == code) or abort(404)
        try:  # publishing an unchanged draft changes nothing and records nothing
            version, _ = docs.publish_audited(code, current_user.user)
        except docs.DocumentError as error:
            return self._versions_page(code, rendered(error.problems)), 422
        flash(gettext("Published version %(number)d.", number=version.number), "success")
        return redirect(url_for(".versions", code=code))

    @expose("/<code>/versions")
    def versions(self, code: str):
        return self._versions_page(code)

    def _versions_page(self, code: str, problems: list[str] | None = None):
        process = Process.get_or_none(Process.code == code) or abort(404)
        rows = list(process.versions.order_by(ProcessVersion.number.desc()))
        latest = rows[0] if rows else None
        unpublished = latest is None or pretty(latest.document) != pretty(process.draft)
        return self.render("admin/versions.html", process=process, versions=rows, problems=problems or [],
                           unpublished=unpublished, format_datetime=format_datetime)

    @expose("/<code>/diff")
    def diff(self, code: str):
        a, b = request.args.get("a", type=int), request.args.get("b", type=int)
        old, new = docs.get_version(code, a), docs.get_version(code, b)
        if a is None or b is None or old is None or new is None:
            abort(404)
        return self.render("admin/diff.html", code=code, old=old, new=new,
                           changes=history.diff(old.document, new.document))

    @expose("/<code>/export")
    def export(self, code: str):
        version = docs.get_version(code, request.args.get("version", type=int)) or abort(404)
        filename = f"{code}-v{version.number}.json"
        return Response(pretty(version.document) + "\n", mimetype="application/json",
                        headers={"Content-Disposition": f"attachment; filename={filename}"})

    @expose("/import", methods=("POST",))
    def import_document(self):
        upload = request.files.get("file")
        text = upload.read().decode("utf-8", errors="replace") if upload else ""
        document, problems = parse(text)
        if not problems:
            try:
                process, version, _ = docs.store_process(document, current_user.user, "process.import",
                                                         publish=bool(request.form.get("publish")))
            except docs.DocumentError as error:
                problems = rendered(error.problems)
        if problems:
            return self._index_page(problems), 422
        flash(gettext("Imported %(code)s as draft.", code=process.code) if version is None else
              gettext("Imported %(code)s; published version %(number)d.", code=process.code, number=version.number),
              "success")
        return redirect(url_for(".versions", code=process.code))

    @expose("/<code>/discard", methods=("POST",))
    def discard(self, code: str):
        Process.get_or_none(Process.code == code) or abort(404)
        kept = history.discard_audited(code, current_user.user)
        if kept is None:
            flash(gettext("Process %(code)s deleted: it was never published.", code=code), "success")
            return redirect(url_for(".index"))
        flash(gettext("Draft discarded: back to the latest published version."), "success")
        return redirect(url_for(".versions", code=code))
