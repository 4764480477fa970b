"""The designer's flow diagram: steps and arrows that select; the edits and panels of steps and transitions.

The diagram is ``formbuilder.diagram.flow_svg`` with ``selectable``: every step and arrow is a
focusable button carrying ``data-lz-sel`` (``static/js/admin/designer.js`` turns a click, Enter
or Space on it into a selection), the selected one marked. Importing this module registers the
step and transition edits (:mod:`admin.designer_steps`) and panels (:mod:`admin.designer_flowpanels`).
"""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup

from formbuilder.diagram import flow_svg
from formbuilder.diagram_marks import translated

from . import designer_flowpanels, designer_steps  # noqa: F401 - register the flow's edits and panels


def flow_markup(doc: dict, sel, step_key: str) -> Markup:
    return Markup(flow_svg(doc, current=step_key, end_label=gettext("End"), words=translated(gettext),
                           selectable=True, selected=str(sel)))
