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
from workflows.processes import documents as docs

from . import designer_flowpanels, designer_steps  # noqa: F401 - register the flow's edits and panels


def labelled(doc: dict) -> dict:
    """A copy for display: dictionary fields carry their items as options, so a guard reads 品类 = 微波炉, not mw."""
    indexes = docs.dictionary_indexes()
    props = {}
    for key, schema in doc.get("schema", {}).get("properties", {}).items():
        index = indexes.get(schema.get("x-dictionary") or "") if isinstance(schema, dict) else None
        if index is not None and "oneOf" not in schema:
            schema = {**schema, "oneOf": [{"const": value, "title": item.label} for value, item in index.items.items()]}
        props[key] = schema
    return {**doc, "schema": {**doc.get("schema", {}), "properties": props}}


def flow_markup(doc: dict, sel, step_key: str) -> Markup:
    return Markup(flow_svg(labelled(doc), current=step_key, end_label=gettext("End"), words=translated(gettext),
                           selectable=True, selected=str(sel)))
