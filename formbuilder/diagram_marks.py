"""What format 2 adds to the flow diagram (issue 19): signers, waiting, time limits and child processes.

``diagram.flow_svg`` draws the row of steps; this module says what to draw on and around a step:
the countersign's mode and signers' source (a line or two under the step's name), a pause mark for
``allow_wait`` (and a filled one on the current step of a pending ticket), the ``sla`` in short, the
``timeout`` and ``sla.escalate.to`` edges (dashed curves of their own style, labelled with their time),
and each ``spawn`` entry as a small dashed box under its step (with a "waits" mark when the parent is
held). Every string from the document is escaped here; the words the diagram adds are ``WORDS``,
which a caller may replace with translated ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from markupsafe import escape

from .messages import N_

#: The diagram's own words (Chinese first, the contract's terms after): a caller may pass translations.
WORDS = {
    "all": "会签 all", "any": "或签 any", "ratio": "会签 %(percent)s",
    "department": "部门", "role": "角色", "user": "用户", "field": "字段", "creator": "创建人",
    "previous": "上一处理人", "choose": "指定",
    "wait": "可挂起等待 (allow_wait)", "pending": "挂起中", "sla": "SLA", "notify": "超时通知主管",
    "timeout": "超时", "escalate": "超时升级", "spawn": "子流程", "waits": "等待子单关闭", "hold": "等待",
    "calendar": "日历", "select_step": "步骤 %(name)s", "select_transition": "%(label)s（流转 %(from)s → %(to)s）",
}
#: The same words as English msgids (their Chinese translations are ``WORDS``): :func:`translated` with the
#: page's ``gettext`` gives the reader's language.
MSGIDS = {
    "all": N_("countersign: all"), "any": N_("countersign: any"), "ratio": N_("countersign: %(percent)s"),
    "department": N_("Department"), "role": N_("Role"), "user": N_("User"), "field": N_("Field"),
    "creator": N_("The creator"), "previous": N_("Who sent it"), "choose": N_("Picked by the sender"),
    "wait": N_("May wait (allow_wait)"), "pending": N_("Pending"), "sla": N_("SLA"),
    "notify": N_("Past the SLA, the manager is notified"), "timeout": N_("Timeout"),
    "escalate": N_("Escalation"), "spawn": N_("Child process"), "waits": N_("waits until the children are closed"),
    "hold": N_("waits"), "calendar": N_("Calendar"), "select_step": N_("Step %(name)s"),
    "select_transition": N_("%(label)s (transition %(from)s → %(to)s)"),
}
SPAWN_H = 36
SPAWN_GAP = 8


def words(overrides: Mapping[str, str] | None) -> dict:
    return {**WORDS, **(overrides or {})}


def translated(gettext: Callable[[str], str]) -> dict:
    """``WORDS`` in the reader's language, for ``flow_svg(..., words=...)``."""
    return {key: gettext(msgid) for key, msgid in MSGIDS.items()}


def marked(steps: list[dict]) -> bool:
    """Whether any step has something of format 2 to show in its box (the boxes are then taller)."""
    return any(key in step for step in steps for key in ("sign", "sla", "allow_wait"))


def duration(minutes: object) -> str:
    """``240`` -> ``4h``, ``10080`` -> ``7d``, ``3150`` -> ``52.5h``, ``45`` -> ``45m``; per priority: the shortest
    to the longest. Minutes as written: on a calendar they are working minutes, so ``1d`` is 1440 of them."""
    if isinstance(minutes, dict):
        values = sorted(v for v in minutes.values() if isinstance(v, int) and not isinstance(v, bool))
        return "" if not values else duration(values[0]) + ("–" + duration(values[-1]) if len(values) > 1 else "")
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        return ""
    for size, unit in ((1440, "d"), (60, "h")):
        if minutes and minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes / 60:g}h" if minutes > 60 and minutes % 30 == 0 else f"{minutes}m"


def sign_mode(sign: dict, w: Mapping) -> str:
    """``会签 all``, ``或签 any``, ``会签 60%``."""
    mode = sign.get("mode")
    if mode == "ratio" and isinstance(sign.get("ratio"), int | float):
        return w["ratio"] % {"percent": f"{sign['ratio'] * 100:g}%"}
    return w.get(mode, str(mode)) if isinstance(mode, str) else ""


def source(rule: object, fields: Mapping, w: Mapping) -> str:
    """Where the signers come from: ``部门 network/dba/security``, ``字段 负责人``, ``角色 supervisor``."""
    if not isinstance(rule, dict):
        return ""
    kind, value = rule.get("type"), rule.get("value")
    values = value if isinstance(value, list) else [value] if value is not None else []
    if kind == "field":
        values = [(fields.get(v) or {}).get("title") or v if isinstance(v, str) else v for v in values]
    shown = "/".join(str(v) for v in values)
    return f"{w.get(kind, kind)} {shown}".strip() if isinstance(kind, str) else shown


def sla_text(sla: object, w: Mapping) -> str:
    if not isinstance(sla, dict):
        return ""
    notify = " ↑" if isinstance(sla.get("escalate"), dict) and "notify" in sla["escalate"] else ""
    return f"{w['sla']} {duration(sla.get('minutes'))}{notify}".strip()


def lines(step: dict, fields: Mapping, w: Mapping) -> list[tuple[str, str]]:
    """(css class, text) of at most two short lines under the step's name."""
    found = []
    sign = step.get("sign")
    if isinstance(sign, dict):
        found.append(("lz-flow-sign", sign_mode(sign, w)))
        found.append(("lz-flow-signers", source(sign.get("of"), fields, w)))
    if "sla" in step:
        found.append(("lz-flow-sla", sla_text(step["sla"], w)))
    return [(cls, text) for cls, text in found if text][:2]


def details(step: dict, fields: Mapping, w: Mapping) -> list[str]:
    """Every mark of the step in full, for the box's tooltip (the box itself shows them clipped)."""
    found = [text for _, text in lines(step, fields, w)] + ([w["wait"]] if step.get("allow_wait") is True else [])
    sla = step.get("sla")
    if isinstance(sla, dict):
        found += [f"{w['sla']} {_per_priority(sla.get('minutes'))}"]
        found += [f"{w['calendar']} {sla['calendar']}"] if isinstance(sla.get("calendar"), str) else []
        found += [w["notify"]] if isinstance(sla.get("escalate"), dict) and "notify" in sla["escalate"] else []
    return list(dict.fromkeys(found))


def _per_priority(minutes: object) -> str:
    if isinstance(minutes, dict):
        return ", ".join(f"{level} {duration(value)}" for level, value in minutes.items())
    return duration(minutes)


def wait_mark(x: float, y: float, w: Mapping, pending: bool = False) -> str:
    """The pause mark (two bars) at the box's top-right corner; filled on the current step of a pending ticket."""
    fill = "#b35c00" if pending else "#fff"
    title = w["pending"] if pending else w["wait"]
    cls = "lz-flow-wait" + (" lz-flow-pending" if pending else "")
    return (f'<g class="{cls}"><title>{escape(title)}</title>'
            f'<rect x="{x - 14:.0f}" y="{y + 4:.0f}" width="4" height="11" rx="1" fill="{fill}" stroke="#b35c00"/>'
            f'<rect x="{x - 8:.0f}" y="{y + 4:.0f}" width="4" height="11" rx="1" fill="{fill}" stroke="#b35c00"/></g>')


#: How each extra edge is drawn: (css class, dash pattern, colour, mark before its label).
EDGE_STYLES = {"timeout": ("lz-flow-timeout", "2 3", "#b35c00", ""),
               "escalate": ("lz-flow-escalate", "8 3 2 3", "#c0392b", "⚠")}


def extra_edges(step: dict, w: Mapping) -> list[tuple[str, str, dict, str]]:
    """(target, kind, label, tooltip) of the step's timeout and escalation: the worker's moves, not a person's."""
    found = []
    timeout = step.get("timeout")
    if isinstance(timeout, dict) and isinstance(timeout.get("to"), str):
        label = " · ".join(t for t in (f"{w['timeout']} {duration(timeout.get('minutes'))}".strip(),
                                       str(timeout.get("label") or "")) if t)
        calendar = f" ({w['calendar']} {timeout['calendar']})" if isinstance(timeout.get("calendar"), str) else ""
        found.append((timeout["to"], "timeout", {"label": label}, f"{label}{calendar}"))
    sla = step.get("sla")
    escalate = sla.get("escalate") if isinstance(sla, dict) else None
    if isinstance(escalate, dict) and isinstance(escalate.get("to"), str):
        label = f"{EDGE_STYLES['escalate'][3]} {w['escalate']} {duration(sla.get('minutes'))}".strip()
        found.append((escalate["to"], "escalate", {"label": label}, label))
    return found


def spawns(step: dict) -> list[dict]:
    spawn = step.get("spawn")
    return [s for s in spawn if isinstance(s, dict)] if isinstance(spawn, list) else []


def spawn_lane(steps: list[dict]) -> float:
    """The height of the lane under the row that holds the child-process boxes (0 without any)."""
    most = max((len(spawns(step)) for step in steps), default=0)
    return most * (SPAWN_H + SPAWN_GAP) + 12 if most else 0


def spawn_boxes(step: dict, x: float, width: float, from_y: float, top: float, w: Mapping, clip) -> list[str]:
    """The step's child processes as dashed boxes in the lane, each tied to the step by a dotted line."""
    out = []
    for k, entry in enumerate(spawns(step)):
        y = top + k * (SPAWN_H + SPAWN_GAP)
        code, label = str(entry.get("process") or ""), str(entry.get("label") or "")
        waits = entry.get("wait") is True
        tooltip = f"{w['spawn']} {code}: {label}" + (f" ({w['waits']})" if waits else "")
        out.append(f'<g class="lz-flow-spawn"><title>{escape(tooltip)}</title>'
                   f'<line x1="{x + 14:.0f}" y1="{from_y:.0f}" x2="{x + 14:.0f}" y2="{y:.0f}" stroke="#7952b3"'
                   ' stroke-width="1" stroke-dasharray="1 3"/>'
                   f'<rect x="{x:.0f}" y="{y:.0f}" width="{width:.0f}" height="{SPAWN_H}" rx="4" fill="#f6f0ff"'
                   ' stroke="#7952b3" stroke-width="1" stroke-dasharray="4 2"/>'
                   f'<text x="{x + width / 2:.0f}" y="{y + 15:.0f}" font-size="11" text-anchor="middle"'
                   f' fill="#3d2a66">{escape(clip(label, width - 10, 11))}</text>'
                   f'<text class="lz-flow-child" x="{x + width / 2:.0f}" y="{y + 29:.0f}" font-size="10"'
                   f' text-anchor="middle" fill="#5a4a78">{escape(clip("⎇ " + code, width - 36, 10))}</text>')
        if waits:  # the parent is held at its step until this child is closed
            out.append(f'<text class="lz-flow-waits" x="{x + width - 5:.0f}" y="{y + 29:.0f}" font-size="10"'
                       f' text-anchor="end" fill="#b35c00">{escape(w["hold"])}</text>')
        out.append("</g>")
    return out
