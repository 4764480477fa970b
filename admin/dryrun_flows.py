"""The dry run's format-2 panels: countersign, waiting, the simulated clock (SLA and timeout), child tickets.

Like the rest of the dry run (:mod:`admin.dryrun`) nothing is written: the walk's flow
state travels in the hidden input ``lz_flows`` (plain JSON the admin made; read back
defensively, a forged value counts as a fresh state). The rules are the engine's own:
``signing.tally`` decides a countersign, ``assignment.candidates`` names the signers,
``timing`` and the calendars' working time give the due, warning and timeout times, so
the dry run shows what the worker would do at each simulated minute.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask_babel import gettext

from formbuilder.display import display
from formbuilder.editing_flows import PRIORITIES, typed_pass
from formbuilder.fieldtypes import options_schema
from workflows.calendars.store import worktime
from workflows.processes import documents as docs
from workflows.storage.models import Process, utcnow
from workflows.tickets import assignment, signing, timing

MAX_ADVANCE = 60 * 24 * 366  # a year of minutes at most per step of the clock
SAMPLE_SIGNERS = 3  # stand-ins when nobody active would sign


def _moment(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None, microsecond=0) if isinstance(text, str) else None
    except ValueError:
        return None


def fresh(now: datetime | None = None) -> dict:
    """The state of a step just entered: the clock at ``now`` (this minute), no wait, nobody signed."""
    start = (now or utcnow()).replace(second=0, microsecond=0)
    return {"start": start.isoformat(), "now": start.isoformat(), "priority": "normal", "paused": 0,
            "pending": None, "signs": {}}


def state_of(form) -> dict:
    """The posted ``lz_flows`` state, every part checked; anything unreadable starts afresh."""
    try:
        raw = json.loads(form.get("lz_flows") or "null")
    except (ValueError, RecursionError):
        raw = None
    if not isinstance(raw, dict) or not (_moment(raw.get("start")) and _moment(raw.get("now"))):
        return fresh()
    pending = raw.get("pending") if isinstance(raw.get("pending"), dict) else None
    if pending is not None:
        pending = {"since": (_moment(pending.get("since")) or _moment(raw["now"])).isoformat(),
                   "until": _moment(pending.get("until")) and _moment(pending.get("until")).isoformat(),
                   "reason": str(pending.get("reason") or "")[:500]}
    signs = raw.get("signs") if isinstance(raw.get("signs"), dict) else {}
    return {"start": _moment(raw["start"]).isoformat(), "now": _moment(raw["now"]).isoformat(),
            "priority": raw.get("priority") if raw.get("priority") in PRIORITIES else "normal",
            "paused": raw["paused"] if isinstance(raw.get("paused"), int) and raw["paused"] >= 0 else 0,
            "pending": pending, "signs": {str(k): str(v) for k, v in signs.items() if isinstance(v, str)}}


def arrived(state: dict) -> dict:
    """Entering the next step: its clock starts at the simulated now; signatures and the wait stay behind."""
    return {**fresh(_moment(state["now"])), "priority": state["priority"]}


def dumped(state: dict) -> str:
    return json.dumps(state, ensure_ascii=False)


# -- the actions posted from the panels ------------------------------------------------------------

def act(document: dict, step: dict, sample: dict, state: dict, form) -> tuple[dict, str | None]:
    """Apply the posted panel action to ``state``; returns the new state and a problem, if refused."""
    action = form.get("lz_flow")
    if action == "advance":
        return _advance(step, state, form.get("lz_minutes", ""))
    if action == "start":
        start = _moment(form.get("lz_start"))
        if start is None:
            return state, gettext("Give the start as a date and time.")
        return {**fresh(start), "priority": _priority(form, state), "signs": state["signs"]}, None
    if action == "wait" and step.get("allow_wait") and state["pending"] is None:
        return _wait(state, form)
    if action == "resume" and state["pending"] is not None:
        return resumed(step, state, _moment(state["now"])), None
    if action == "sign" and step.get("sign"):
        names = [name for name, _ in signers_of(document, step, sample)]
        return {**state, "signs": {n: form.get(f"lz_sign-{i}", "") for i, n in enumerate(names)
                                   if form.get(f"lz_sign-{i}")}}, None
    return state, gettext("This action is not available at this step.")


def _priority(form, state: dict) -> str:
    return form.get("lz_priority") if form.get("lz_priority") in PRIORITIES else state["priority"]


def _advance(step: dict, state: dict, text: str) -> tuple[dict, str | None]:
    """Move the simulated clock on; a wait whose ``until`` passes resumes then, as the worker would."""
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ADVANCE):
        return state, gettext("Advance the clock by 1 to %(max)d minutes.", max=MAX_ADVANCE)
    now = _moment(state["now"]) + timedelta(minutes=int(text))
    until = _moment((state["pending"] or {}).get("until"))
    if until is not None and until <= now:
        state = resumed(step, {**state, "now": until.isoformat()}, until)
    return {**state, "now": now.isoformat()}, None


def _wait(state: dict, form) -> tuple[dict, str | None]:
    reason = (form.get("lz_reason") or "").strip()
    if not reason:
        return state, gettext("Say why the ticket waits.")
    after = form.get("lz_until", "").strip()
    if after and not (after.isascii() and after.isdigit() and 0 < int(after) <= MAX_ADVANCE):
        return state, gettext("Resume after 1 to %(max)d minutes, or leave it empty.", max=MAX_ADVANCE)
    now = _moment(state["now"])
    until = (now + timedelta(minutes=int(after))).isoformat() if after else None
    return {**state, "pending": {"since": now.isoformat(), "until": until, "reason": reason[:500]}}, None


def resumed(step: dict, state: dict, at: datetime) -> dict:
    """The wait ends at ``at``: its working time (of the SLA's calendar) is added to the paused seconds."""
    since = _moment(state["pending"]["since"])
    paused = timing.sla_clock(step).seconds_between(since, at) if since else 0
    return {**state, "pending": None, "paused": state["paused"] + paused}


# -- what the panels show --------------------------------------------------------------------------

def clock(step: dict, state: dict) -> dict | None:
    """Due, warning and timeout times at the simulated now, and what the worker would have done by then."""
    sla, timeout = step.get("sla") or {}, step.get("timeout")
    if not (sla or timeout or step.get("allow_wait")):
        return None
    start, now = _moment(state["start"]), _moment(state["now"])
    out = {"start": start, "now": now, "pending": state["pending"], "paused_minutes": state["paused"] // 60,
           "per_priority": isinstance(sla.get("minutes"), dict), "priority": state["priority"], "marks": []}
    minutes = timing.sla_minutes(step, state["priority"]) if sla else None
    if minutes:
        out["marks"] += _sla_marks(step, sla, minutes, start, now, state)
    if timeout:
        at = worktime(timeout.get("calendar")).add(start, timeout["minutes"])
        out["marks"].append({"kind": "timeout", "at": at, "reached": now >= at, "to": timeout["to"],
                             "minutes": timeout["minutes"],
                             "label": timeout.get("label"), "calendar": timeout.get("calendar")})
    out["elapsed"] = int((now - start).total_seconds() // 60)
    return out


def _sla_marks(step: dict, sla: dict, minutes: int, start: datetime, now: datetime, state: dict) -> list[dict]:
    """Warning and due times, moved on by the paused working time; a running wait stops them (not reached)."""
    wt = timing.sla_clock(step)
    since = _moment((state["pending"] or {}).get("since"))
    paused = state["paused"] + (wt.seconds_between(since, now) if since else 0)
    stopped = state["pending"] is not None
    due = wt.add(start, minutes + paused / 60)
    marks = []
    if sla.get("warn"):
        warn = wt.add(start, minutes * sla["warn"] + paused / 60)
        marks.append({"kind": "warn", "at": warn, "reached": not stopped and now >= warn, "share": sla["warn"]})
    escalate = sla.get("escalate") or {}
    marks.append({"kind": "due", "at": due, "reached": not stopped and now >= due, "minutes": minutes,
                  "calendar": sla.get("calendar"), "to": escalate.get("to"), "notify": escalate.get("notify")})
    return marks


def timed(step: dict, state: dict, go: str, target: str) -> str | None:
    """The label of a move the clock made due (``timeout`` or an ``escalate`` to a step) to ``target``, else None."""
    marks = {m["kind"]: m for m in (clock(step, state) or {}).get("marks", [])}
    mark = marks.get("timeout" if go == "timeout" else "due")
    if mark is None or not mark["reached"] or mark.get("to") != target:
        return None
    if go == "timeout":
        return mark.get("label") or gettext("Timeout")
    return gettext("Escalated: the time limit was exceeded")


def signers_of(document: dict, step: dict, sample: dict) -> list[tuple[str, str]]:
    """(username, name) of each signer ``sign.of`` names now; stand-ins when nobody active would sign.

    The engine's candidates, asked with a stand-in ticket: the walk's document and sample data
    (a ``field`` signer reads it); nothing is stored.
    """
    rule = step.get("sign") or {}
    ticket = SimpleNamespace(process_version=SimpleNamespace(document=document), data=sample)
    try:
        people = assignment.candidates(rule["of"], assignment.Context("", step, None, None, None, ticket))
    except (KeyError, TypeError, ValueError):
        people = []
    found = [(p.username, p.name or p.username) for p in people]
    return found or [(f"signer{n}", gettext("Sample signer %(n)d", n=n)) for n in range(1, SAMPLE_SIGNERS + 1)]


def choices(document: dict, step: dict) -> list[tuple[str, str]]:
    """(value, label) a signer may decide: the decision field's options, else pass and "something else"."""
    rule = step["sign"]
    schema = document["schema"]["properties"].get(rule["decision"], {})
    listed = [(signing.text(o["const"]), o.get("title") or signing.text(o["const"]))
              for o in options_schema(schema).get("oneOf", []) if isinstance(o, dict) and "const" in o]
    return listed or [(signing.text(rule["pass"]), signing.text(rule["pass"])), ("-", gettext("Something else"))]


def sign_panel(document: dict, step: dict, sample: dict, state: dict) -> dict | None:
    """Each signer's choice so far, the rule's progress (``signing.tally``) and, once decided, the result."""
    rule = step.get("sign")
    if not rule:
        return None
    people = signers_of(document, step, sample)
    schema = document["schema"]["properties"].get(rule["decision"])
    parts = [SimpleNamespace(state="signed" if state["signs"].get(u) else "waiting",
                             decision=signing.text(typed_pass(schema, state["signs"][u])) if state["signs"].get(u)
                             else None) for u, _ in people]
    tally = signing.tally(step, parts)
    value = None
    if tally["result"] == "pass":
        value = rule["pass"]
    elif tally["result"] == "fail":
        value = next(typed_pass(schema, state["signs"][u]) for u, _ in people
                     if state["signs"].get(u) and signing.text(typed_pass(schema, state["signs"][u])) !=
                     signing.text(rule["pass"]))
    return {"signers": [(i, u, n, state["signs"].get(u, "")) for i, (u, n) in enumerate(people)],
            "choices": choices(document, step), "tally": tally, "value": value, "decision": rule["decision"],
            "shown": display(schema, value, docs.dictionary_indexes()) if value is not None and schema else value}


def decided(step: dict, sample: dict, panel: dict | None) -> dict:
    """The sample with the countersign's result in its decision field, once the rule decided."""
    if panel is None or panel["tally"]["result"] is None:
        return sample
    return {**sample, step["sign"]["decision"]: panel["value"]}


def children(document: dict, step: dict, sample: dict) -> list[dict]:
    """Each child ticket the step may create: its process, label, the values ``map`` would copy, and ``wait``."""
    out = []
    fields = document["schema"]["properties"]
    for entry in step.get("spawn") or []:
        process = Process.get_or_none(Process.code == entry["process"])
        child = (process.draft or {}) if process else {}
        child_fields = (child.get("schema") or {}).get("properties", {})
        rows = [((child_fields.get(c) or {}).get("title") or c, c, (fields.get(p) or {}).get("title") or p, p,
                 display(fields[p], sample[p], docs.dictionary_indexes()) if p in sample and p in fields else None)
                for c, p in (entry.get("map") or {}).items()]
        out.append({"process": entry["process"], "name": process.name if process else entry["process"],
                    "label": entry["label"], "wait": bool(entry.get("wait")), "rows": rows})
    return out
