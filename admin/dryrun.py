"""Step previews and the dry run of a sample ticket, for a published version or the draft.

Admins check a process before anyone meets it: each step's form as its handler
would see it, validated as the engine would, then a walk through the steps by
the transitions the data offers. Nothing is written to the database, so the
sample ticket travels with the page: the part of its data the shown step may
see goes in ``lz_sample`` (plain JSON); the part hidden at that step goes in
``lz_sealed``, signed and encoded, so no step page renders a value its handler
could not see (opaque, not secret: the admin typed it). ``lz_trail`` lists the
moves made so far; every move is re-checked against its ``when`` on arrival.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from flask import abort, current_app, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext
from itsdangerous import BadData, URLSafeSerializer
from werkzeug.datastructures import CombinedMultiDict

from formbuilder import CompiledStep, strictjson, validate_step
from formbuilder.display import display
from formbuilder.people import PEOPLE
from workflows.people import roster
from workflows.processes import documents as docs
from workflows.storage import uploads
from workflows.storage.models import Process

from . import dryrun_flows as flows

END = "$end"
RETURN = "return"
MAX_TRAIL = 200


@dataclass(frozen=True)
class Walk:
    """What is walked: a published version, or the draft when ``number`` is None."""

    code: str
    document: dict
    number: int | None
    compile: Callable[[str], CompiledStep]

    @property
    def keys(self) -> list[str]:
        return [s["key"] for s in self.document["steps"]]

    def step(self, key: str) -> dict | None:
        return next((s for s in self.document["steps"] if s["key"] == key), None)

    def name(self, key: str) -> str:
        return gettext("End") if key == END else (self.step(key) or {}).get("name", key)

    def url(self, key: str) -> str:
        if self.number is None:
            return url_for(".draft_preview", code=self.code, step=key)
        return url_for(".preview", code=self.code, number=self.number, step=key)


def published(version) -> Walk:
    return Walk(version.process.code, version.document, version.number, lambda key: docs.compiled(version, key))


def draft(process: Process) -> Walk:
    return Walk(process.code, process.draft, None, lambda key: docs.compiled_draft(process, key))


def loaded(text: str | None, kind: type):
    """A hidden input's JSON if it has the expected type; forged or truncated input counts as empty."""
    try:
        value = strictjson.loads(text or "null")
    except (ValueError, RecursionError):
        return kind()
    return value if isinstance(value, kind) else kind()


def _sealer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="lz-dry-run")


def seal(data: dict) -> str:
    return _sealer().dumps(data) if data else ""


def unseal(token: str | None) -> dict:
    """The data of a ``lz_sealed`` token; a forged or stale one (new SECRET_KEY) is empty."""
    try:
        value = _sealer().loads(token) if token else {}
    except BadData:
        return {}
    return value if isinstance(value, dict) else {}


def carried(template: dict) -> tuple[dict, list[dict]]:
    """The sample data and the trail posted with the request; unknown keys are dropped."""
    form = request.form
    sample = {**unseal(form.get("lz_sealed")), **loaded(form.get("lz_sample"), dict)}
    sample = {k: v for k, v in sample.items() if k in template.get("properties", {})}
    return sample, clean_trail(loaded(form.get("lz_trail"), list))


def clean_trail(raw: list) -> list[dict]:
    """Trail entries of the expected shape only: they are display, the moves are re-checked."""
    trail = []
    for entry in raw[-MAX_TRAIL:]:
        if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("step", "name", "transition")):
            trail.append({"step": entry["step"], "name": entry["name"], "transition": entry["transition"],
                          "to": str(entry.get("to", "")), "returned": entry.get("returned") is True})
    return trail


def cleaned(spec, sample: dict) -> dict:
    """Drop step fields whose value does not fit the field (only forged input): the form never sees them."""
    return {k: v for k, v in sample.items() if k not in spec.fields or _fits(spec, k, v)}


def _fits(spec, name: str, value) -> bool:
    """The step's schema accepts the value and the form can show it (e.g. '...t10:00z' passes RFC 3339 only)."""
    try:
        spec.fields[name].type.to_form(value)
    except (TypeError, ValueError):
        return False
    return spec.field_validators[name].is_valid(value)


def split(spec, data: dict) -> dict:
    """The hidden inputs carrying ``data`` from the page of step ``spec``: visible plain, the rest sealed."""
    visible = spec.visible(data)
    return {"lz_sample": json.dumps(visible, ensure_ascii=False),
            "lz_sealed": seal({k: v for k, v in data.items() if k not in visible})}


def previous(trail: list[dict], key: str) -> str | None:
    """The step a return from ``key`` goes to: where the last forward move into ``key`` came from (as the engine)."""
    for entry in reversed(trail):
        if entry["to"] == key and not entry["returned"]:
            return entry["step"]
    return None


def rows(template: dict, data: dict, dictionaries) -> list[tuple[str, str]]:
    """(label, text) of each field in ``data``, in template order."""
    properties = template["properties"]
    return [(schema.get("title", name), display(schema, data[name], dictionaries))
            for name, schema in properties.items() if name in data]


def chosen(spec, go: str, sample: dict) -> dict | None:
    """Transition number ``go`` of the step if the engine would offer it for ``sample``."""
    transitions = spec.step.get("transitions", [])
    if not (go.isascii() and go.isdigit()) or int(go) >= len(transitions):
        return None
    transition = transitions[int(go)]
    return transition if any(t is transition for t in spec.offered(sample)) else None


def move(walk: Walk, source: str, target: str, sample: dict, trail: list[dict]) -> dict | None:
    """The trail entry of moving from ``source`` to ``target``, or None when the engine would refuse it."""
    step, go = walk.step(source), request.form.get("lz_go", "")
    if go in ("timeout", "escalate"):  # a move the simulated clock made due (admin.dryrun_flows)
        label = flows.timed(step, flows.state_of(request.form), go, target)
        return None if label is None else {"step": source, "name": step["name"], "transition": label,
                                           "to": target, "returned": False}
    if go == RETURN:
        allowed = bool(step.get("allow_return")) and previous(trail, source) == target
        label = gettext("Return to the previous step")
    else:
        transition = chosen(walk.compile(source).spec, go, sample)
        allowed = transition is not None and transition["to"] == target
        label = transition["label"] if transition else ""
    if not allowed:
        return None
    return {"step": source, "name": step["name"], "transition": label, "to": target, "returned": go == RETURN}


class DryRunMixin:
    """The preview pages of ProcessesView; access is decided by the admin package's AdminOnly mixin."""

    @expose("/<code>/<int:number>/<step>", methods=("GET", "POST"))
    def preview(self, code: str, number: int, step: str):
        version = docs.get_version(code, number) or abort(404)
        return self._walk(published(version), step)

    @expose("/<code>/draft")
    def draft_start(self, code: str):
        process, problems = self._draft(code)
        if problems:
            return self._problems_page(process, problems)
        return redirect(url_for(".draft_preview", code=code, step=process.draft["steps"][0]["key"]))

    @expose("/<code>/draft/<step>", methods=("GET", "POST"))
    def draft_preview(self, code: str, step: str):
        process, problems = self._draft(code)
        if problems:
            return self._problems_page(process, problems)
        return self._walk(draft(process), step)

    @staticmethod
    def _draft(code: str) -> tuple[Process, list[str]]:
        """The process and its draft's problems: a draft with any cannot be compiled safely."""
        process = Process.get_or_none(Process.code == code)
        if process is None or process.draft is None:
            abort(404)
        return process, [problem.render(gettext) for problem in docs.check(process.draft)]

    def _problems_page(self, process: Process, problems: list[str]):
        return self.render("admin/preview.html", title=process.name, code=process.code, number=None,
                           problems=problems)

    def _walk(self, walk: Walk, step: str):
        if request.method == "POST" and "lz_go" in request.form:
            return self._arrive(walk, step)
        if request.method == "POST" and request.form.get("lz_flow") and step in walk.keys:
            return self._flow_action(walk, step)
        if step not in walk.keys:
            abort(404)
        sample, trail = carried(walk.document["schema"]) if request.method == "POST" else ({}, [])
        return self._step_page(walk, step, sample, trail, posted=request.method == "POST")

    def _arrive(self, walk: Walk, target: str):
        """Follow a transition (or a return) chosen on ``lz_from``'s page; refused, stay there."""
        source = request.form.get("lz_from", "")
        if walk.step(source) is None or (target != END and target not in walk.keys):
            abort(400)
        sample, trail = carried(walk.document["schema"])
        entry = move(walk, source, target, sample, trail)
        if entry is None:
            return self._step_page(walk, source, sample, trail, refused=True), 422
        if target == END:
            final = rows(walk.document["schema"], sample, roster.with_people(docs.dictionary_indexes()))
            return self._page(walk, closed=True, trail=[*trail, entry], final=final)
        return self._step_page(walk, target, sample, [*trail, entry], state=flows.arrived(flows.state_of(request.form)))

    def _flow_action(self, walk: Walk, key: str):
        """A countersign, wait, resume or clock action of the flow panels: a new flow state, nothing saved."""
        sample, trail = carried(walk.document["schema"])
        state, problem = flows.act(walk.document, walk.step(key), sample, flows.state_of(request.form), request.form)
        page = self._step_page(walk, key, sample, trail, state=state, flow_problem=problem)
        return (page, 422) if problem else page

    def _step_page(self, walk: Walk, key: str, sample: dict, trail: list[dict], *,
                   posted: bool = False, refused: bool = False, state: dict | None = None,
                   flow_problem: str | None = None):
        compiled = walk.compile(key)
        spec, dictionaries = compiled.spec, roster.with_people(docs.dictionary_indexes())
        sample = cleaned(spec, sample)
        formdata = CombinedMultiDict([request.files, request.form]) if posted else None
        # The admin reads every field (x-readers included): nothing is unreadable in the dry run.
        form = compiled.form_class(formdata, data=sample, dictionaries=dictionaries, unreadable=frozenset())
        outcome = self._dry_run(form, formdata, spec, sample, dictionaries) if posted else None
        current = outcome.data if outcome is not None and outcome.ok else sample
        return self._page(walk, step=spec.step, form=form, spec=spec, outcome=outcome, dictionaries=dictionaries,
                          effective=json.dumps(spec.schema, ensure_ascii=False, indent=2), refused=refused,
                          trail=trail, carry=split(spec, sample), trail_json=json.dumps(trail, ensure_ascii=False),
                          seen=rows(spec.template, spec.visible(sample), dictionaries),
                          moves=[] if spec.step.get("sign") else self._moves(walk, spec, outcome),
                          back=self._back(walk, spec, sample, trail),
                          **self._flow_panels(walk, spec, current, state or flows.state_of(request.form), flow_problem))

    def _flow_panels(self, walk: Walk, spec, sample: dict, state: dict, problem: str | None) -> dict:
        """The format-2 panels (``admin/dryrun_flows.html``): countersign, clock, wait, child tickets."""
        sign = flows.sign_panel(walk.document, spec.step, sample, state)
        decided = flows.decided(spec.step, sample, sign)
        clock = flows.clock(spec.step, state)
        timed = [{"label": m.get("label") or (gettext("Timeout") if m["kind"] == "timeout" else gettext("Escalate")),
                  "to": m["to"], "name": walk.name(m["to"]), "url": walk.url(m["to"]),
                  "go": "timeout" if m["kind"] == "timeout" else "escalate", **split(spec, sample)}
                 for m in (clock or {}).get("marks", []) if m["reached"] and m.get("to")]
        signed = [] if not sign or sign["tally"]["result"] is None else self._moves(
            walk, spec, SimpleNamespace(ok=True, data=decided))
        return {"sign": sign, "clock": clock, "timed": timed, "sign_moves": signed, "flow_problem": problem,
                "children": flows.children(walk.document, spec.step, sample), "flows_json": flows.dumped(state),
                "flow_carry": split(spec, sample)}

    def _page(self, walk: Walk, **context):
        return self.render("admin/preview.html", walk=walk, title=walk.document["name"], code=walk.code,
                           number=walk.number, **context)

    @staticmethod
    def _moves(walk: Walk, spec, outcome) -> list[dict]:
        """A button per transition the validated data offers, carrying the data into the next step."""
        if outcome is None or not outcome.ok:
            return []
        carry, transitions = split(spec, outcome.data), spec.step.get("transitions", [])
        return [{"label": t["label"], "to": t["to"], "name": walk.name(t["to"]), "url": walk.url(t["to"]),
                 "go": str(next(i for i, s in enumerate(transitions) if s is t)), **carry}
                for t in spec.offered(outcome.data)]

    @staticmethod
    def _back(walk: Walk, spec, sample: dict, trail: list[dict]) -> dict | None:
        """The return button (退回上一步), when the step allows it and the walk came from somewhere."""
        target = previous(trail, spec.key) if spec.step.get("allow_return") else None
        if target is None or walk.step(target) is None:
            return None
        return {"name": walk.name(target), "url": walk.url(target), "go": RETURN, **split(spec, sample)}

    @staticmethod
    def _dry_run(form, formdata, spec, sample, dictionaries):
        """Validate as the engine would: files checked by the one upload rule, then standing in as placeholders."""
        submitted = form.submitted(formdata)
        files = spec.take_files(submitted)
        submitted = spec.stand_ins(submitted, files, "preview")
        outcome = validate_step(spec, sample, submitted, dictionaries, unreadable=frozenset(),  # the admin reads all
                                people=dictionaries.get(PEOPLE))
        outcome.errors = {**outcome.errors, **uploads.problems(spec, files), **form.input_errors()}
        form.show_outcome(outcome, gettext)
        return outcome
