"""A process document drawn as a flow diagram: one server-side SVG string.

Pure: no Flask, no database. Every string that comes from the document (step
names, transition labels, conditions) is escaped, so the result can be put in a
page with ``|safe``.

Layout: the steps as boxes in one left-to-right row in document order, then the
end node. A transition to the next box is a straight arrow, labelled above the
row; every other transition (skipping ahead, going back, to itself, or a second
one to the next box) is a curve below the row, one level deeper per curve, so
no two curve labels share a line.

Format 2 (``diagram_marks``): a step's countersign, SLA and pause mark are drawn on its box (taller
then), its timeout and escalation are curves of their own dashed styles among the others, and its
child processes are small boxes in a lane under the curves.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping

from markupsafe import escape

from . import diagram_marks as marks
from .conditions import display, from_schema

END = "$end"
PAD = 16
BOX_W = 124
BOX_H = 44
TALL = 64              # a box with format 2 marks under its name
GAP = 56
PITCH = BOX_W + GAP
LABELS_H = 40          # room above the row for the labels of straight arrows
LEVEL = 40             # extra depth of each curve below the row
WIDE = 6               # more nodes than this: the diagram keeps its size and scrolls


def text_width(text: str, size: float) -> float:
    """A rough rendered width: wide (CJK) characters a full em, others a bit over half."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.58 for c in text)


def clip(text: str, width: float, size: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels at font ``size``."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


_SYMBOLS = {"eq": "=", "ne": "≠", "in": "∈", "contains": "∋", "gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


def _picked_text(schema: object, fields: dict) -> str | None:
    """``审核结论 = 驳回``: a picker-built condition in the field's and options' own labels."""
    found = from_schema(schema)
    if found is None or found.field not in fields:
        return None
    field = fields[found.field]
    title = field.get("title") or found.field
    if found.op in ("filled", "empty"):
        return f"{title} {'≠' if found.op == 'filled' else '='} ∅"
    shown = "/".join(display(field, v) for v in found.value) if found.op == "in" else display(field, found.value)
    return f"{title} {_SYMBOLS[found.op]} {shown}"


def condition_text(schema: object, limit: int = 30, fields: dict | None = None) -> str:
    """A short reading of a ``when`` schema: ``approval = reject``, ``a ∈ x/y``, else compact JSON.

    With the template's ``fields``, conditions read in their labels (``审核结论 = 驳回``).
    """
    picked = _picked_text(schema, fields) if fields else None
    if picked:
        return picked if len(picked) <= limit else picked[:limit - 1] + "…"
    parts = []
    if isinstance(schema, dict) and set(schema) <= {"properties", "required", "type"} and isinstance(
            schema.get("properties"), dict) and schema["properties"]:
        for name, rule in schema["properties"].items():
            if isinstance(rule, dict) and set(rule) == {"const"}:
                parts.append(f"{name} = {_value(rule['const'])}")
            elif isinstance(rule, dict) and set(rule) == {"enum"} and isinstance(rule["enum"], list):
                parts.append(f"{name} ∈ {'/'.join(_value(v) for v in rule['enum'])}")
            else:
                parts = []
                break
    text = ", ".join(parts) if parts else json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _text(x: float, y: float, text: str, cls: str, size: float, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (f'<text class="{cls}" x="{x:.0f}" y="{y:.0f}" font-size="{size}" text-anchor="middle"'
            f' paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"{extra}>'
            f'{escape(text)}</text>')


def _label(x: float, y: float, transition: dict, width: float, fields: dict, named: bool = False) -> list[str]:
    """The transition label (and its condition, one line lower) centred at ``x``; full text as a tooltip.

    ``named``: the edge is a button whose aria-label says all of it (the texts may be clipped), so
    the texts are hidden from assistive technology rather than read twice.
    """
    label, hidden = str(transition.get("label") or ""), {"aria_hidden": "true"} if named else {}
    out = [_text(x, y, clip(label, width, 12), "lz-flow-label", 12, fill="#333", **hidden)] if label else []
    if "when" in transition:
        condition = condition_text(transition["when"], fields=fields)
        out.append(_text(x, y + 13, clip("[" + condition + "]", width, 11), "lz-flow-when", 11, fill="#8a5a00",
                         **hidden))
    return out


def _fields(document: dict) -> dict:
    """The well-formed field schemas (a draft being edited may hold anything else: it is left out)."""
    schema = document.get("schema")
    found = schema.get("properties") if isinstance(schema, dict) else None
    return {name: field for name, field in found.items() if _well_formed(field)} if isinstance(found, dict) else {}


def _well_formed(field: object) -> bool:
    """A field whose options (if any) are objects, as the conditions' labels read them."""
    options = field.get("items", field) if isinstance(field, dict) and field.get("type") == "array" else field
    if not isinstance(field, dict) or not isinstance(options, dict):
        return False
    listed = options.get("oneOf", [])
    return isinstance(listed, list) and all(isinstance(o, dict) for o in listed)


def _curves(steps: list[dict], index: dict, w: Mapping) -> tuple[list, list]:
    """(straight, curves): each (from, to, label dict, kind, tooltip, ref); kind "" is a person's transition,
    ``ref`` its selection (``transition:STEP:INDEX``, the index in the step's list), "" for the worker's edges."""
    straight, curves, seen = [], [], set()
    for step in steps:
        transitions = step.get("transitions")
        for n, transition in enumerate(transitions if isinstance(transitions, list) else []):
            if not isinstance(transition, dict) or str(transition.get("to")) not in index:
                continue
            a, b = index[str(step["key"])], index[str(transition["to"])]
            ref = f"transition:{step['key']}:{n}"
            if b == a + 1 and (a, b) not in seen:
                seen.add((a, b))
                straight.append((a, b, transition, "", "", ref))
            else:
                curves.append((a, b, transition, "", "", ref))
        for target, kind, label, tooltip in marks.extra_edges(step, w):
            if target in index:
                curves.append((index[str(step["key"])], index[target], label, kind, tooltip, ""))
    curves.sort(key=lambda c: (abs(c[1] - c[0]), c[0]))
    return straight, curves


def _curve_style(a: int, b: int, kind: str) -> tuple[str, str, str]:
    """(classes, stroke, dash attribute) of a curve: back and skip as before, timeouts and escalations their own."""
    if kind:
        cls, dash, colour, _ = marks.EDGE_STYLES[kind]
        return f"lz-flow-edge {cls}", colour, f' stroke-dasharray="{dash}"'
    return f'lz-flow-edge lz-flow-{"back" if b <= a else "skip"}', "#6c757d", \
        (' stroke-dasharray="5 3"' if b <= a else "")


class _Picker:
    """The designer's selection marks on nodes and edges; all empty when the diagram is not ``selectable``."""

    def __init__(self, selectable: bool, selected: str, nodes: list[tuple[str, str]], w: Mapping, fields: dict):
        self.on, self.selected, self.names, self.w = selectable, selected, [name for _, name in nodes], w
        self.fields = fields

    def cls(self, ref: str) -> str:
        return " lz-selected" if self.on and ref and ref == self.selected else ""

    def _button(self, ref: str, label: str) -> str:
        pressed = "true" if ref == self.selected else "false"
        return (f' data-lz-sel="{escape(ref)}" tabindex="0" role="button" aria-pressed="{pressed}"'
                f' aria-label="{escape(label)}"')

    def node(self, key: str, name: str) -> tuple[str, str]:
        """(class, attributes) of a step's box; the end node is not a step and selects nothing."""
        if not self.on or key == END:
            return "", ""
        ref = f"step:{key}"
        label = self.w["select_step"] % {"name": name}
        return self.cls(ref), self._button(ref, label) + f' data-lz-step="{escape(key)}"'

    def edge(self, ref: str, a: int, b: int, transition: dict) -> str:
        if not self.on or not ref:
            return ""
        shown = str(transition.get("label") or "")  # what the edge shows, first: its name must contain it
        if "when" in transition:
            shown += " [" + condition_text(transition["when"], fields=self.fields) + "]"
        label = self.w["select_transition"] % {"label": shown, "from": self.names[a], "to": self.names[b]}
        return self._button(ref, label)

    def hit(self, ref: str, d: str) -> str:
        """A wide invisible copy of the edge's line: a 1.5 px arrow is hard to click."""
        if not self.on or not ref:
            return ""
        return (f'<path class="lz-flow-hit" d="{d}" fill="none" stroke="transparent" stroke-width="14"'
                ' pointer-events="stroke"/>')


def flow_svg(document: dict, current: str | None = None, end_label: str = "结束",
             current_label: str = "当前", pending: bool = False, words: Mapping[str, str] | None = None,
             selectable: bool = False, selected: str = "") -> str:
    """The steps and transitions of ``document`` as an SVG; the node ``current`` (a step key or "$end") marked.

    ``pending``: the ticket waits at ``current`` (its pause mark is filled); ``words``: translations of
    ``diagram_marks.WORDS``. ``selectable`` (the designer): each step and person's transition is a focusable
    button carrying ``data-lz-sel`` (``step:KEY``, ``transition:KEY:INDEX``), the one equal to ``selected``
    classed ``lz-selected``; the steps come first in the markup so Tab reaches them before the arrows."""
    steps = document.get("steps")
    steps = [s for s in steps if isinstance(s, dict) and "key" in s] if isinstance(steps, list) else []
    fields = _fields(document)
    w = marks.words(words)
    box_h = TALL if marks.marked(steps) else BOX_H
    nodes = [(str(s["key"]), str(s.get("name") or s["key"])) for s in steps] + [(END, end_label)]
    index = {key: i for i, (key, _) in enumerate(nodes)}
    ident = "lz-flow-" + hashlib.sha1(json.dumps([document, current], ensure_ascii=False, sort_keys=True,
                                                 default=str).encode()).hexdigest()[:8]

    straight, curves = _curves(steps, index, w)

    row_top = PAD + LABELS_H
    row_mid = row_top + box_h / 2
    row_bottom = row_top + box_h
    width = PAD * 2 + len(nodes) * BOX_W + (len(nodes) - 1) * GAP
    lane_top = row_bottom + (len(curves) * LEVEL + 32 if curves else 0)
    height = lane_top + marks.spawn_lane(steps) + PAD

    def left(i: int) -> float:
        return PAD + i * PITCH

    def centre(i: int) -> float:
        return left(i) + BOX_W / 2

    names = " → ".join(name for _, name in nodes)
    current_name = next((name for key, name in nodes if key == current), None)
    summary = names + (f" ({current_label}: {current_name})" if current_name else "")
    classes = "lz-flow-svg" + (" lz-flow-wide" if len(nodes) > WIDE else "")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{classes}" role="{"group" if selectable else "img"}"'
        f' width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" aria-labelledby="{ident}-title" aria-label="{escape(summary)}"'
        ' font-family="system-ui, -apple-system, \'Segoe UI\', \'Noto Sans CJK SC\', \'Microsoft YaHei\', sans-serif">',
        f'<title id="{ident}-title">{escape(summary)}</title>',
        f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
        ' orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6c757d"/></marker></defs>',
    ]
    arrow = f'marker-end="url(#{ident}-arrow)"'
    pick = _Picker(selectable, selected, nodes, w, fields)
    edges: list[str] = []

    for a, b, transition, _, _, ref in straight:
        x1, x2 = left(a) + BOX_W, left(b)
        line = f'M{x1:.0f},{row_mid:.0f} L{x2 - 1:.0f},{row_mid:.0f}'
        edges.append(f'<g class="lz-flow-edge{pick.cls(ref)}"{pick.edge(ref, a, b, transition)}>'
                     f'<line x1="{x1:.0f}" y1="{row_mid:.0f}" x2="{x2 - 1:.0f}"'
                     f' y2="{row_mid:.0f}" stroke="#6c757d" stroke-width="1.5" {arrow}/>{pick.hit(ref, line)}')
        named = bool(pick.edge(ref, a, b, transition))
        edges += _label((x1 + x2) / 2, row_top - 20, transition, PITCH - 8, fields, named)
        edges.append("</g>")

    for level, (a, b, transition, kind, tooltip, ref) in enumerate(curves, start=1):
        depth = 18 + level * LEVEL
        x1 = centre(a) + (10 if b >= a else -10)
        x2 = centre(b) + (-10 if b >= a else 10)
        if a == b:
            x1, x2 = centre(a) + 14, centre(a) - 14
        bottom = row_bottom + depth
        control = row_bottom + depth * 4 / 3  # a cubic's lowest point is 3/4 of its control depth
        cls, stroke, dashed = _curve_style(a, b, kind)
        title = f"<title>{escape(tooltip)}</title>" if tooltip else ""
        curve = (f'M{x1:.0f},{row_bottom:.0f} C{x1:.0f},{control:.0f} {x2:.0f},{control:.0f}'
                 f' {x2:.0f},{row_bottom + 1:.0f}')
        edges.append(f'<g class="{cls}{pick.cls(ref)}"{pick.edge(ref, a, b, transition)}>{title}'
                     f'<path d="{curve}" fill="none" stroke="{stroke}" stroke-width="1.5"{dashed}'
                     f' {arrow}/>{pick.hit(ref, curve)}')
        span = max(abs(x2 - x1), BOX_W)
        edges += _label((x1 + x2) / 2, bottom + 13, transition, span, fields, bool(pick.edge(ref, a, b, transition)))
        edges.append("</g>")

    if not selectable:
        out += edges
    for i, (key, name) in enumerate(nodes):
        step = steps[i] if i < len(steps) else {}
        out += _node(left(i), row_top, box_h, key, name, key == current, step, fields, w, pick.node(key, name))
        if step.get("allow_wait") is True or (key == current and pending):
            out.append(marks.wait_mark(left(i) + BOX_W, row_top, w, pending=key == current and pending))
        out += marks.spawn_boxes(step, left(i), BOX_W, row_bottom, lane_top + 12, w, clip)
    if selectable:
        out += edges
    out.append("</svg>")
    return "".join(out)


def _node(x: float, top: float, box_h: float, key: str, name: str, marked: bool, step: dict, fields: dict,
          w: Mapping, picked: tuple[str, str] = ("", "")) -> list[str]:
    """One step's box: its name first (the page's tests and scripts read the node's first text), then the
    format 2 lines in a sibling group, so a node still holds exactly one text. ``picked``: the designer's
    (extra class, attributes) that make it a button."""
    end = key == END
    cls = "lz-flow-node" + (" lz-flow-end" if end else "") + (" lz-current" if marked else "") + picked[0]
    fill = "#d0e4ff" if marked else ("#f1f3f5" if end else "#fff")
    stroke = "#1f6feb" if marked else "#adb5bd"
    rx = BOX_H / 2 if end else 8
    tooltip = "\n".join([name if end else f"{name} ({key})", *marks.details(step, fields, w)])
    current_attr = ' aria-current="step"' if marked else ""
    bold = ' font-weight="700"' if marked else ""
    lines = marks.lines(step, fields, w)
    name_y = top + (22 if lines else box_h / 2 + 5)
    out = [f'<g class="{cls}"{current_attr}{picked[1]}><title>{escape(tooltip)}</title>'
           f'<rect x="{x:.0f}" y="{top:.0f}" width="{BOX_W}" height="{box_h}" rx="{rx:.0f}"'
           f' fill="{fill}" stroke="{stroke}" stroke-width="{3 if marked else 1.5}"/>'
           f'<text x="{x + BOX_W / 2:.0f}" y="{name_y:.0f}" font-size="14" text-anchor="middle"'
           f' fill="{"#0b3d91" if marked else "#212529"}"{bold}>'
           f'{escape(clip(name, BOX_W - 14, 14))}</text></g>']
    if lines:
        through = ' pointer-events="none"' if picked[1] else ""  # a click on the lines selects the box
        out.append(f'<g class="lz-flow-marks"{through}>' + "".join(
            f'<text class="{line_cls}" x="{x + BOX_W / 2:.0f}" y="{top + 38 + 14 * k:.0f}" font-size="10.5"'
            f' text-anchor="middle" fill="{"#6a2c91" if k == 0 and "sign" in step else "#555"}">'
            f'{escape(clip(text, BOX_W - 12, 10.5))}</text>' for k, (line_cls, text) in enumerate(lines)) + "</g>")
    return out
