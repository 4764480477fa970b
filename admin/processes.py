"""Processes list; the step previews and dry runs come from :mod:`admin.dryrun`.

The JSON editor, publishing, versions, export and import come from :mod:`admin.versions`.
"""

from __future__ import annotations

from flask_admin import BaseView, expose

from workflows.storage.models import Process, ProcessVersion

from .dryrun import DryRunMixin
from .versions import VersionsMixin


class ProcessesView(VersionsMixin, DryRunMixin, BaseView):
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
