"""The table case of ``bench/forms.py``: a format-2 step with a 20-row detail table and two formulas.

The dynamic side is the product's: the step compiled once (``compiled_step``), its form class, the
``step_form`` macro with the table partial (``templates/forms/fields/table.html``), ``input_errors``,
``submitted`` and ``validate_step``, which computes the two ``x-formula`` fields. The static side is
what a developer would hand-write for the same page: a WTForms form with a ``FieldList(FormField(
PartRow), min_entries=0)``, the same rules as validators, a template with the product's markup and
each column's type written in, and the two totals computed with ``Decimal`` after ``validate()``, as
a hand-written view would. Both sides render the same page: the rows (one empty row when there are
none), the "add row" template row and the read-only totals.

``bench/forms.py`` times it with the register case's three iterations and paired blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from jinja2 import Environment, Template
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.fields import DecimalField, FieldList, FormField, IntegerField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from formbuilder import CompiledStep, DictionaryIndex, check_process, compiled_step, validate_step

ROWS = 20
BLOCK = 10  # iterations per side before switching sides (a request of this case costs about ten register requests)
STEP = "quote"
PARTS_LIST = [("fan", "风扇"), ("pump", "水泵"), ("belt", "皮带"), ("valve", "阀门"), ("board", "主板")]
PART_CHOICES = [("", "—"), *PARTS_LIST]
TOTAL = {"reduce": [{"var": "parts"},
                    {"+": [{"var": "accumulator"}, {"*": [{"var": "current.qty"}, {"var": "current.price"}]}]}, 0]}
DOCUMENT = {
    "format": 2, "code": "bench_quote", "name": "维修报价", "number_prefix": "BQ",
    "schema": {"type": "object", "properties": {
        "summary": {"type": "string", "title": "摘要", "maxLength": 200},
        "labour": {"type": "number", "title": "工时费", "minimum": 0},
        "parts": {"type": "array", "x-widget": "table", "title": "配件", "items": {
            "type": "object", "required": ["part", "qty"], "properties": {
                "part": {"type": "string", "title": "配件", "oneOf": [{"const": v, "title": t} for v, t in PARTS_LIST]},
                "qty": {"type": "integer", "title": "数量", "minimum": 1},
                "price": {"type": "number", "title": "单价", "minimum": 0},
                "note": {"type": "string", "title": "备注", "maxLength": 200},
            }}},
        "parts_total": {"type": "number", "title": "配件合计", "x-formula": TOTAL},
        "grand_total": {"type": "number", "title": "总计",
                        "x-formula": {"+": [{"var": "parts_total"}, {"var": "labour"}]}},
    }},
    "steps": [{"key": STEP, "name": "报价", "assignee": {"type": "creator"},
               "fields": {"summary": "required", "labour": "editable", "parts": "required",
                          "parts_total": "readonly", "grand_total": "readonly"},
               "transitions": [{"to": "$end", "label": "完成"}]}],
}
KEY = ("bench_quote", 1)
FIELDS = tuple(DOCUMENT["schema"]["properties"])


def make_formdata(rows: int = ROWS) -> MultiDict:
    """A valid submission as the page posts it: the scalars, ``rows`` rows (every other note blank), the markers."""
    cells = []
    for i in range(rows):
        cells += [(f"parts-{i}-part", PARTS_LIST[i % len(PARTS_LIST)][0]), (f"parts-{i}-qty", str(i % 4 + 1)),
                  (f"parts-{i}-price", f"{12 + i * 3.25:.2f}"), (f"parts-{i}-note", "原厂件" if i % 2 else "")]
    return MultiDict([("summary", "冰箱压缩机不启动，更换配件"), ("labour", "80.50"), *cells,
                      *(("lz_present", name) for name in ("summary", "labour", "parts"))])


def expected_totals(formdata: MultiDict) -> tuple[Decimal, Decimal]:
    """The two totals worked out from the submission's text, to check both sides against."""
    rows = sum(1 for key in formdata if key.endswith("-qty"))
    parts = sum((Decimal(formdata[f"parts-{i}-qty"]) * Decimal(formdata[f"parts-{i}-price"])
                 for i in range(rows)), Decimal(0))
    return parts, parts + Decimal(formdata["labour"])


# -- the hand-written side ---------------------------------------------------------------------------

class PartRow(Form):
    """One row of the parts table, with the rules the column schemas state."""

    part = SelectField("配件", [DataRequired(), AnyOf([value for value, _ in PARTS_LIST])], choices=PART_CHOICES,
                       validate_choice=False)
    qty = IntegerField("数量", [DataRequired(), NumberRange(min=1)], render_kw={"min": 1})
    price = DecimalField("单价", [Optional(), NumberRange(min=0)], places=None, render_kw={"min": 0})
    note = StringField("备注", [Optional(), Length(max=200)], render_kw={"maxlength": 200})


class QuoteForm(Form):
    """The quote step written by hand; the totals are read-only on the page and computed by the view."""

    summary = StringField("摘要", [DataRequired(), Length(max=200)], render_kw={"maxlength": 200})
    labour = DecimalField("工时费", [Optional(), NumberRange(min=0)], places=None, render_kw={"min": 0})
    parts = FieldList(FormField(PartRow), min_entries=0)
    parts_total = DecimalField("配件合计", places=None)
    grand_total = DecimalField("总计", places=None)

    def blank_row(self, index: int | str) -> PartRow:
        """An empty row named as the list names its entries (the one row to type in, the "add row" template)."""
        return PartRow(prefix=f"parts-{index}-")


def static_totals(form: QuoteForm) -> tuple[Decimal, Decimal] | None:
    """What the hand-written view does with a POST: validate, then compute the totals; None when invalid."""
    if not form.validate():
        return None
    parts = sum((row.qty.data * (row.price.data or Decimal(0)) for row in form.parts), Decimal(0))
    return parts, parts + (form.labour.data or Decimal(0))


# Each field's type and mode written in, with the product's wrapper and table markup (templates/forms).
STATIC_SOURCE = """\
{%- macro head(field, mode) -%}
<span class="lz-required text-danger"{% if mode != 'required' %} hidden{% endif %}> *</span>
    <span class="lz-readonly-badge badge badge-light"{% if mode != 'readonly' %} hidden{% endif %}>\
{{ _('read-only') }}</span>
{%- endmacro -%}
{%- macro tail(field) -%}
  <input type="hidden" name="lz_present" value="{{ field.name }}">
  {% for message in field.errors %}<div class="invalid-feedback d-block lz-error">{{ message }}</div>{% endfor %}
{%- endmacro -%}
{%- macro row(field, type, mode, computed=False) -%}
<fieldset class="form-group lz-field lz-type-{{ type }}{% if field.errors %} lz-invalid{% endif %}"
          data-lz-field="{{ field.name }}" data-lz-type="{{ type }}" data-lz-mode="{{ mode }}"\
{% if computed %} data-lz-computed aria-live="polite"{% endif %}{% if mode == 'readonly' %} disabled{% endif %}>
  <label for="{{ field.id }}" class="lz-label">{{ field.label.text }}{{ head(field, mode) }}</label>
  {{ field(class_="form-control" ~ (" is-invalid" if field.errors else "")) }}
  {{ tail(field) }}
</fieldset>
{%- endmacro -%}
{%- macro cell(field, type, label) -%}
    <td data-label="{{ label }}" class="lz-cell lz-type-{{ type }}{% if field.errors %} lz-invalid{% endif %}">
      {{ field(class_="form-control form-control-sm" ~ (" is-invalid" if field.errors else ""),
               **{"aria-label": label}) }}
      {% for message in field.errors %}<div class="invalid-feedback d-block lz-error">{{ message }}</div>{% endfor %}
    </td>
{%- endmacro -%}
{%- macro part_row(r, number) -%}
  <tr data-lz-row>
    <th scope="row" class="lz-rownum">{{ number }}</th>
    {{ cell(r.part, 'select', '配件') }}
    {{ cell(r.qty, 'integer', '数量') }}
    {{ cell(r.price, 'number', '单价') }}
    {{ cell(r.note, 'text', '备注') }}
    <td class="lz-row-actions text-nowrap">
      <button type="button" class="btn btn-sm btn-outline-secondary" data-lz-move="-1" \
aria-label="{{ _('Move row up') }}" title="{{ _('Move row up') }}">↑</button>
      <button type="button" class="btn btn-sm btn-outline-secondary" data-lz-move="1" \
aria-label="{{ _('Move row down') }}" title="{{ _('Move row down') }}">↓</button>
      <button type="button" class="btn btn-sm btn-outline-danger" data-lz-remove \
aria-label="{{ _('Remove row') }}" title="{{ _('Remove row') }}">✕</button>
    </td>
  </tr>
{%- endmacro -%}
<div class="lz-form" data-lz-form data-lz-scripts="number table">
  {% for message in form.form_errors %}<div class="alert alert-danger">{{ message }}</div>{% endfor %}
  {{ row(form.summary, 'text', 'required') }}
  {{ row(form.labour, 'number', 'editable') }}
  {% set parts = form.parts %}
  <fieldset class="form-group lz-field lz-type-table{% if parts.errors %} lz-invalid{% endif %}"
            data-lz-field="parts" data-lz-type="table" data-lz-mode="required">
    <legend class="lz-label col-form-label pt-0">配件{{ head(parts, 'required') }}</legend>
    <div class="lz-table-wrap">
    <table class="table table-sm lz-table" data-lz-table="parts">
      <thead><tr>
        <th scope="col" class="lz-rownum">#</th>
        <th scope="col">配件<span class="text-danger"> *</span></th>\
<th scope="col">数量<span class="text-danger"> *</span></th><th scope="col">单价</th><th scope="col">备注</th>
        <th scope="col"><span class="sr-only">{{ _('Row actions') }}</span></th>
      </tr></thead>
      <tbody>
        {% for entry in parts.entries %}{{ part_row(entry.form, loop.index) }}
        {%- else %}{{ part_row(form.blank_row(0), 1) }}{% endfor %}
      </tbody>
    </table>
    </div>
    <template data-lz-row-template>{{ part_row(form.blank_row('__row__'), '') }}</template>
    <button type="button" class="btn btn-sm btn-outline-primary" data-lz-add-row>+ {{ _('Add row') }}</button>
    {{ tail(parts) }}
  </fieldset>
  {{ row(form.parts_total, 'number', 'readonly', computed=True) }}
  {{ row(form.grand_total, 'number', 'readonly', computed=True) }}
</div>
"""
DYNAMIC_SOURCE = "{% from 'forms/step_form.html' import step_form %}{{ step_form(form) }}"


@dataclass(frozen=True)
class TableCase:
    """Everything both sides share, built once so the loop times only per-request work."""

    formdata: MultiDict
    dictionaries: dict[str, DictionaryIndex]
    compiled: CompiledStep
    dynamic_template: Template
    static_template: Template


def build_case(env: Environment, dictionaries: dict[str, DictionaryIndex]) -> TableCase:
    """Compile the step (checked as publishing would) and both templates once, outside the loop."""
    problems = check_process(DOCUMENT, dictionaries)
    if problems:
        raise SystemExit(f"table case: the process document does not pass the checks: {problems}")
    return TableCase(make_formdata(), dictionaries, compiled_step(KEY, DOCUMENT, STEP),
                     env.from_string(DYNAMIC_SOURCE), env.from_string(STATIC_SOURCE))


# -- the three iterations of each side -----------------------------------------------------------------

def render_dynamic(case: TableCase) -> str:
    """The GET: an empty generated form (one empty row), rendered by the product macro."""
    form = case.compiled.form_class(None, data={}, dictionaries=case.dictionaries)
    return case.dynamic_template.render(form=form)


def render_static(case: TableCase) -> str:
    return case.static_template.render(form=QuoteForm(None))


def submit_dynamic(case: TableCase) -> dict | None:
    """The POST as the call page and the engine handle it; the computed totals come with the data."""
    form = case.compiled.form_class(case.formdata, data={}, dictionaries=case.dictionaries)
    if form.input_errors():
        return None
    outcome = validate_step(case.compiled.spec, {}, form.submitted(case.formdata), case.dictionaries)
    return outcome.data if outcome.ok else None


def submit_static(case: TableCase) -> tuple[Decimal, Decimal] | None:
    return static_totals(QuoteForm(case.formdata))


def run_dynamic(case: TableCase) -> tuple[str, dict | None]:
    """Bind the submission, render, validate (and compute)."""
    form = case.compiled.form_class(case.formdata, data={}, dictionaries=case.dictionaries)
    html = case.dynamic_template.render(form=form)
    outcome = validate_step(case.compiled.spec, {}, form.submitted(case.formdata), case.dictionaries)
    return html, outcome.data if outcome.ok else None


def run_static(case: TableCase) -> tuple[str, tuple[Decimal, Decimal] | None]:
    form = QuoteForm(case.formdata)
    html = case.static_template.render(form=form)
    return html, static_totals(form)


MODES = {"render": (render_dynamic, render_static),
         "submit": (submit_dynamic, submit_static),
         "request": (run_dynamic, run_static)}


def _totals(result: object) -> list[Decimal] | None:
    """The two totals of a submit or request result, as Decimals (the dynamic side's are JSON numbers)."""
    if isinstance(result, dict):
        result = (result.get("parts_total"), result.get("grand_total"))
    if not result or None in result:
        return None
    return [Decimal(repr(x)) if isinstance(x, float) else Decimal(x) for x in result]


def check(case: TableCase) -> None:
    """Refuse to time sides that disagree: both accept the rows, compute the same totals, render every cell."""
    expected = list(expected_totals(case.formdata))
    for index, side in enumerate(("dynamic", "static")):
        html, ran = MODES["request"][index](case)
        for got in (_totals(MODES["submit"][index](case)), _totals(ran)):
            if got != expected:
                raise SystemExit(f"table {side}: expected totals {expected}, got {got}")
        for kind, page, rows in (("request", html, ROWS), ("render", MODES["render"][index](case), 1)):
            cells = [f"parts-{i}-{c}" for i in range(rows) for c in ("part", "qty", "price", "note")]
            missing = [f for f in FIELDS if f'data-lz-field="{f}"' not in page]
            missing += [n for n in (*cells, "parts-__row__-qty") if f'name="{n}"' not in page]
            if missing:
                raise SystemExit(f"table {side} {kind}: rendered form lacks {', '.join(missing)}")
