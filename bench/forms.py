"""Benchmark: the generated return-goods ``register`` form against a hand-written one.

formbuilder trades hand-written WTForms classes and templates for forms built
from process documents. This measures what that costs per request, so a
regression in the generic path shows up as a number. Both sides render through
the application's own Jinja environment (Flask-Babel's ``_``, inside a request
context), the dynamic one with the product's ``templates/forms/step_form.html``.
Three kinds of iteration are timed:

- ``render``: the GET of the call page's form: instantiate without data + render;
- ``submit``: the POST: bind the submission, check conversions, validate (the
  dynamic side as ``web/calls.py`` and the engine do: ``input_errors``,
  ``submitted``, ``validate_step``);
- ``request``: instantiate with the submission + render + validate (both above at once).

Blocks of the two sides alternate; each ratio is the median of the paired block
ratios (dynamic / static, target <= 1.10). The last line is ``ratio: X.XX`` (``request``).

A second case, ``table render`` / ``table submit`` / ``table request`` (``bench/tableform.py``), times a
format-2 step with a 20-row detail table and two computed fields against a hand-written
``FieldList(FormField(...))`` form whose view computes the totals with ``Decimal``; its ``request``
ratio is printed as ``table ratio: X.XX`` before the last line.

Run ``python -m bench.forms [N]`` from the project root (not as ``python bench/forms.py``: the
script's folder would come first on the path, and ``bench/http.py`` would shadow the stdlib's ``http``).
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.fields import DateField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp

from bench import tableform
from bench.results import Figure
from formbuilder import DictionaryIndex, compiled_step, validate_step

ROOT = Path(__file__).resolve().parent.parent

DEMO = ROOT / "workflows" / "demo"
KEY = ("return_goods", 1)
STEP = "register"
ROUNDS = 5
BLOCK = 50  # iterations per side before switching sides within a round
DEFAULT_N = 2000
VALUES = {
    "order_no": "TH-2026-001", "source": "phone", "category": "fr", "model": "fr-200",
    "purchase_date": "2026-11-01", "defect": "门把手断裂",
}
FIELDS = (*VALUES, "photos")
BLANK = [("", "—")]

DYNAMIC_SOURCE = "{% from 'forms/step_form.html' import step_form %}{{ step_form(form) }}"

# What a developer would hand-write for the register step: the product's wrapper
# markup, with each field's type and mode written in instead of looked up.
STATIC_SOURCE = """\
{%- macro row(field, type, mode='required') -%}
<fieldset class="form-group lz-field lz-type-{{ type }}{% if field.errors %} lz-invalid{% endif %}"
          data-lz-field="{{ field.name }}" data-lz-type="{{ type }}" data-lz-mode="{{ mode }}">
  <label for="{{ field.id }}" class="lz-label">{{ field.label.text }}<span class="lz-required text-danger"\
{% if mode != 'required' %} hidden{% endif %}> *</span>
    <span class="lz-readonly-badge badge badge-light" hidden>{{ _('read-only') }}</span></label>
  {{ field(class_="form-control" ~ (" is-invalid" if field.errors else "")) }}
  <input type="hidden" name="lz_present" value="{{ field.name }}">
  {% for message in field.errors %}<div class="invalid-feedback d-block lz-error">{{ message }}</div>{% endfor %}
</fieldset>
{%- endmacro -%}
<div class="lz-form" data-lz-form>
  {% for message in form.form_errors %}<div class="alert alert-danger">{{ message }}</div>{% endfor %}
  {{ row(form.order_no, 'text') }}
  {{ row(form.source, 'select') }}
  {{ row(form.category, 'select') }}
  {{ row(form.model, 'cascade') }}
  {{ row(form.purchase_date, 'date') }}
  {{ row(form.defect, 'textarea') }}
  {{ row(form.photos, 'attachment', 'editable') }}
</div>
"""


def _choices(index: DictionaryIndex, parent: str | None) -> list[tuple[str, str]]:
    """Dropdown choices as the product shows them: a blank entry, then the enabled items."""
    return BLANK + [(item.value, item.label) for item in index.options(parent)]


def _set_choices(field: SelectField, choices: list[tuple[str, str]]) -> None:
    """Choices and their AnyOf check are per instance, because dictionaries change at run time."""
    field.choices = choices
    field.validators = [*field.validators, AnyOf([value for value, _ in choices[1:]])]


class RegisterForm(Form):
    """The register step written by hand, with the same rules the process document states."""

    order_no = StringField("订单号", [DataRequired(), Length(max=32), Regexp(r"^[0-9A-Z-]+$")],
                           render_kw={"maxlength": 32, "pattern": "^[0-9A-Z-]+$"})
    source = SelectField("来源", [DataRequired()], default="phone", validate_choice=False)
    category = SelectField("商品类别", [DataRequired()], validate_choice=False)
    model = SelectField("商品型号", [DataRequired()], validate_choice=False,
                        render_kw={"data-lz-cascade": "category", "data-lz-dict": "product"})
    purchase_date = DateField("购买时间", [DataRequired()])
    defect = TextAreaField("瑕疵描述", [DataRequired(), Length(max=2000)], render_kw={"maxlength": 2000})
    photos = MultipleFileField("商品照片", [Optional()], render_kw={"accept": "image/*", "data-lz-max-items": 5})

    def __init__(self, formdata: MultiDict, dictionaries: dict[str, DictionaryIndex]):
        super().__init__(formdata)
        product = dictionaries["product"]
        _set_choices(self.source, _choices(dictionaries["channel"], None))
        _set_choices(self.category, _choices(product, None))
        _set_choices(self.model, _choices(product, self.category.data) if self.category.data else BLANK)


#: Everything both sides share, built once so the loop times only per-request work (the same for both cases).
Case = tableform.TableCase


def _load(name: str) -> dict:
    """A demo document read as the application stores it: plain JSON, no model layer."""
    return json.loads((DEMO / name).read_text("utf-8"))


def load_dictionaries() -> dict[str, DictionaryIndex]:
    """The demo dictionaries, indexed by code as the application holds them."""
    indexes = (DictionaryIndex.from_document(_load(f"{code}.dictionary.json")) for code in ("channel", "product"))
    return {index.code: index for index in indexes}


def make_formdata() -> MultiDict:
    """A valid register submission as the browser posts it: values plus one presence marker per field."""
    return MultiDict([*VALUES.items(), *(("lz_present", name) for name in FIELDS)])


def make_environment() -> Environment:
    """The application's Jinja environment inside a (kept) request context, so ``_`` is Flask-Babel's."""
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": "sqlite:///:memory:"})
    app.test_request_context("/call", headers={"Accept-Language": "zh"}).push()
    return app.jinja_env


def build_case(env: Environment | None = None) -> Case:
    """Compile the step and both templates once, outside the loop, as the product caches them."""
    env = env or make_environment()
    compiled = compiled_step(KEY, _load("return_goods.process.json"), STEP)
    return Case(make_formdata(), load_dictionaries(), compiled,
                env.from_string(DYNAMIC_SOURCE), env.from_string(STATIC_SOURCE))


def run_dynamic(case: Case) -> tuple[str, bool]:
    """One request through formbuilder: generated form, product macro, step validation."""
    form = case.compiled.form_class(case.formdata, data={}, dictionaries=case.dictionaries)
    html = case.dynamic_template.render(form=form)
    outcome = validate_step(case.compiled.spec, {}, form.submitted(case.formdata), case.dictionaries)
    return html, outcome.ok


def run_static(case: Case) -> tuple[str, bool]:
    """One request through the hand-written form and template."""
    form = RegisterForm(case.formdata, case.dictionaries)
    html = case.static_template.render(form=form)
    return html, form.validate()


def render_dynamic(case: Case) -> str:
    """The GET: an empty generated form, rendered by the product macro."""
    form = case.compiled.form_class(None, data={}, dictionaries=case.dictionaries)
    return case.dynamic_template.render(form=form)


def render_static(case: Case) -> str:
    form = RegisterForm(None, case.dictionaries)
    return case.static_template.render(form=form)


def submit_dynamic(case: Case) -> bool:
    """The POST as the call page and the engine handle it: bind, conversion errors, step validation."""
    form = case.compiled.form_class(case.formdata, data={}, dictionaries=case.dictionaries)
    if form.input_errors():
        return False
    return validate_step(case.compiled.spec, {}, form.submitted(case.formdata), case.dictionaries).ok


def submit_static(case: Case) -> bool:
    return RegisterForm(case.formdata, case.dictionaries).validate()


#: Per mode, the (dynamic, static) iteration of a case (this module's :class:`Case` or ``tableform.TableCase``).
Modes = dict[str, tuple[Callable[[Any], object], Callable[[Any], object]]]
MODES: Modes = {
    "render": (render_dynamic, render_static),
    "submit": (submit_dynamic, submit_static),
    "request": (run_dynamic, run_static),
}


def check(case: Case) -> None:
    """Refuse to time a side that rejects valid data or drops a field: its speed would mean nothing."""
    for side, run, render, submit in (("dynamic", run_dynamic, render_dynamic, submit_dynamic),
                                      ("static", run_static, render_static, submit_static)):
        html, ok = run(case)
        if not (ok and submit(case)):
            raise SystemExit(f"{side}: the valid register submission did not validate")
        for page in (html, render(case)):
            missing = [name for name in FIELDS if f'data-lz-field="{name}"' not in page]
            if missing:
                raise SystemExit(f"{side}: rendered form lacks {', '.join(missing)}")


def timed(run: Callable[[Any], object], case: object, n: int) -> float:
    """Seconds for ``n`` runs, collected first so the other side's garbage is not billed here."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        run(case)
    return time.perf_counter() - start


def one_round(case: object, n: int, static_first: bool, mode: str = "request",
              modes: Modes = MODES, block: int = BLOCK) -> tuple[list[float], list[float]]:
    """Per-block seconds per iteration of each side; blocks alternate so a load spike on a shared machine hits both."""
    sides = dict(zip(("dynamic", "static"), modes[mode], strict=True))
    blocks: dict[str, list[float]] = {"dynamic": [], "static": []}
    order = ("static", "dynamic") if static_first else ("dynamic", "static")
    for done in range(0, n, block):
        size = min(block, n - done)
        for side in order:
            blocks[side].append(timed(sides[side], case, size) / size)
    return blocks["dynamic"], blocks["static"]


def measure(case: object, n: int, rounds: int = ROUNDS, mode: str = "request",
            modes: Modes = MODES, block: int = BLOCK) -> tuple[list[float], list[float]]:
    """Per-block seconds per iteration of each side over all rounds, paired block by block.

    Who goes first alternates between rounds to cancel drift.
    """
    one_round(case, max(n // 10, 1), False, mode, modes, block)  # warm-up: caches, lazy imports, specialised bytecode
    dynamic: list[float] = []
    static: list[float] = []
    for i in range(rounds):
        dyn, sta = one_round(case, n, i % 2 == 1, mode, modes, block)
        dynamic += dyn
        static += sta
    return dynamic, static


def paired_ratio(dynamic: list[float], static: list[float]) -> float:
    """Median of the dynamic/static ratios of neighbouring blocks.

    Neighbours ran under the same machine load, so their ratio cancels it; on a
    busy two-core box this varies a few percent, the ratio of medians ±10 %.
    """
    return statistics.median(d / s for d, s in zip(dynamic, static, strict=True))


def _figures(case: object, modes: Modes, prefix: str, n: int, rounds: int, block: int = BLOCK) -> list[Figure]:
    """One figure per mode: medians of both sides and their paired ratio (target <= 1.10)."""
    figures = []
    for mode in modes:
        dynamic, static = measure(case, n, rounds, mode, modes, block)
        value = (f"{statistics.median(dynamic) * 1e6:.0f} us vs {statistics.median(static) * 1e6:.0f} us "
                 f"({n} x {rounds} per side)")
        figures.append(Figure("forms", "-", prefix + mode, value, paired_ratio(dynamic, static), 1.10))
    return figures


def table_iterations(n: int) -> int:
    """The table case's iterations per round for the register case's ``n``: a fifth, in whole blocks.

    A table request costs about ten register requests, so its blocks are smaller (``tableform.BLOCK``)
    to pair as many blocks as the register case does in less time.
    """
    return max(2 * tableform.BLOCK, n // 5 // tableform.BLOCK * tableform.BLOCK)


def bench(n: int, rounds: int = ROUNDS) -> list[Figure]:
    """The register case's figures (``render``, ``submit``, ``request``), then the table case's (``table ...``)."""
    env = make_environment()
    case = build_case(env)
    check(case)
    table = tableform.build_case(env, case.dictionaries)
    tableform.check(table)
    return [*_figures(case, MODES, "", n, rounds),
            *_figures(table, tableform.MODES, "table ", table_iterations(n), rounds, tableform.BLOCK)]


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else DEFAULT_N
    print(f"N: {n} iterations x {ROUNDS} rounds per side, interleaved in blocks of {BLOCK}; ratio is the median"
          " of paired block ratios (dynamic / static)")
    print(f"table case: {tableform.ROWS} rows, {table_iterations(n)} iterations x {ROUNDS} rounds per side in blocks"
          f" of {tableform.BLOCK}")
    figures = bench(n)
    for figure in figures:
        print(figure.line())
    ratios = {figure.name: figure.ratio for figure in figures}
    print(f"table ratio: {ratios['table request']:.2f}")
    print(f"ratio: {ratios['request']:.2f}")


if __name__ == "__main__":
    main(sys.argv)
