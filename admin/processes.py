"""Processes list and the per-step preview of published versions (dry run, nothing saved).

The JSON editor, publishing, versions, export and import come from :mod:`admin.versions`.
"""

from __future__ import annotations

import json

from flask import abort, request
from flask_admin import BaseView, expose
from flask_babel import gettext
from werkzeug.datastructures import CombinedMultiDict

from formbuilder import validate_step
from workflows import documents as docs
from workflows.models import Process, ProcessVersion

from .versions import VersionsMixin


class ProcessesView(VersionsMixin, BaseView):
    """Access is decided by the admin package's AdminOnly mixin."""

    @expose("/")
    def index(self):
        return self._index_page()

    def _index_page(self, problems: list[str] | None = None):
        processes = Process.select().order_by(Process.code)
        versions = {}
        for version in ProcessVersion.select().order_by(ProcessVersion.number.desc()):
            versions.setdefault(version.process_id, []).append(version)
        return self.render("admin/processes.html", processes=processes, versions=versions,
                           problems=problems or [])

    @expose("/<code>/<int:number>/<step>", methods=("GET", "POST"))
    def preview(self, code: str, number: int, step: str):
        version = docs.get_version(code, number)
        if version is None or step not in {s["key"] for s in version.document["steps"]}:
            abort(404)
        compiled = docs.compiled(version, step)
        dictionaries = docs.dictionary_indexes()
        sample = json.loads(request.form.get("lz_sample") or "{}") if request.method == "POST" else {}
        formdata = CombinedMultiDict([request.files, request.form]) if request.method == "POST" else None
        form = compiled.form_class(formdata, data=sample, dictionaries=dictionaries)
        outcome = None
        if request.method == "POST":
            outcome = self._dry_run(form, formdata, compiled.spec, sample, dictionaries)
        return self.render("admin/preview.html", version=version, step=compiled.spec.step, form=form,
                           spec=compiled.spec, outcome=outcome, dictionaries=dictionaries,
                           effective=json.dumps(compiled.spec.schema, ensure_ascii=False, indent=2))

    @staticmethod
    def _dry_run(form, formdata, spec, sample, dictionaries):
        """Validate as the engine would, uploads standing in as placeholder ids."""
        submitted = form.submitted(formdata)
        for name, value in submitted.items():
            if spec.fields.get(name) and spec.fields[name].type.name == "attachment" and value:
                submitted[name] = [f"preview-{i}" for i, _ in enumerate(value)]
        outcome = validate_step(spec, sample, submitted, dictionaries)
        outcome.errors = {**outcome.errors, **form.upload_errors(), **form.input_errors()}
        form.show_outcome(outcome, gettext)
        return outcome
