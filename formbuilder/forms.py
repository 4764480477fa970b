"""WTForms classes for process steps.

A class is built once per (version, step) from its :class:`StepSpec`; each
request only instantiates it. Dictionary choices are filled per instance,
because dictionaries change without a new process version.
"""

from __future__ import annotations

from collections.abc import Mapping

from wtforms import Form

from .dictionaries import DictionaryIndex
from .fieldtypes import html_attributes, options_schema
from .messages import Msg
from .steps import FieldSpec, StepSpec
from .validation import Outcome, check_upload

#: Each enabled input is paired with this hidden marker, so an unticked box or an
#: emptied multi-select still counts as submitted while a disabled field does not.
PRESENT = "lz_present"


class StepForm(Form):
    """Base of generated step forms: knows its spec and each field's live mode."""

    spec: StepSpec

    def __init__(self, formdata=None, data: Mapping | None = None,
                 dictionaries: Mapping[str, DictionaryIndex] | None = None):
        stored = dict(data or {})
        self.stored = stored
        modes = self.spec.modes(stored)
        values = {n: self.spec.fields[n].type.to_form(v) for n, v in stored.items()
                  if modes.get(n, "hidden") != "hidden"}  # hidden values never reach the page
        super().__init__(formdata=formdata, data=values)
        self.form_errors: list[Msg] = []
        current = {**stored, **{f.name: f.data for f in self if f.data not in (None, "", [])}}
        for field in self:
            fspec = self.spec.fields[field.name]
            field.lz = fspec
            field.lz_mode = modes[field.name]
            if fspec.type.has_choices:
                field.choices = _choices(fspec, current, stored.get(field.name), dictionaries or {})

    def submitted(self, formdata) -> dict:
        """Values of the fields the browser sent, plus raw values forged for fields this form lacks."""
        formdata = formdata or {}
        present = set(formdata.getlist(PRESENT)) | set(formdata.keys())
        values = {f.name: f.lz.type.to_json(f.data) for f in self if f.name in present}
        for key in formdata:
            if key in self.spec.template["properties"] and key not in values:
                values[key] = formdata.get(key)
        return values

    def upload_errors(self) -> dict[str, list[Msg]]:
        """Uploaded files that break their field's limits (count, size, type)."""
        errors: dict[str, list[Msg]] = {}
        for field in self:
            files = field.lz.type.to_json(field.data) if field.lz.type.name == "attachment" else None
            for upload in files or []:
                problem = check_upload(field.lz.schema, upload.filename, upload.mimetype, _size(upload))
                if problem and problem not in errors.setdefault(field.name, []):
                    errors[field.name].append(problem)
        return {k: v for k, v in errors.items() if v}

    def input_errors(self) -> dict[str, list[Msg]]:
        """Values the browser sent that could not even be converted (e.g. 'abc' as a number)."""
        return {f.name: [Msg(f.lz.type.bad_input)] for f in self if f.process_errors}

    def show_outcome(self, outcome: Outcome, gettext) -> None:
        """Re-render after a submit: modes follow the submitted data, errors sit at their fields."""
        modes = self.spec.modes(outcome.data)
        for field in self:
            field.lz_mode = modes[field.name]
        for name, messages in outcome.errors.items():
            field = self._fields.get(name)
            if field is None:
                self.form_errors.extend(m.render(gettext) for m in messages)
            else:
                field.errors = [*field.errors, *(m.render(gettext) for m in messages)]


def _size(upload) -> int:
    """Bytes in an uploaded file, read from its stream without loading it."""
    stream = upload.stream
    position = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(position)
    return size


def _choices(fspec: FieldSpec, current: dict, held, dictionaries) -> list[tuple[str, str]]:
    """Options for this field given the values now in the form; ``held`` stays offered."""
    source = options_schema(fspec.schema)
    blank = [("", "—")] if fspec.type.name in ("select", "cascade") else []
    if "oneOf" in source:
        return blank + [(o["const"], o.get("title", o["const"])) for o in source["oneOf"]]
    index = dictionaries.get(source["x-dictionary"])
    parent = fspec.schema.get("x-cascade")
    if index is None or (parent and not current.get(parent)):
        return blank
    keep = held if isinstance(held, str) else None
    items = index.options(current.get(parent) if parent else None, keep=keep)
    return blank + [(i.value, i.label) for i in items]


def _render_kw(fspec: FieldSpec) -> dict:
    attrs = html_attributes(fspec.schema)
    if "x-cascade" in fspec.schema:
        attrs["data-lz-cascade"] = fspec.schema["x-cascade"]
        attrs["data-lz-dict"] = fspec.schema["x-dictionary"]
    return attrs


def build_form_class(spec: StepSpec) -> type[StepForm]:
    """One WTForms class with a field per non-hidden field, in template order."""
    attrs = {"spec": spec}
    for name, fspec in spec.fields.items():
        attrs[name] = fspec.type.unbound(
            fspec.schema,
            label=fspec.label,
            description=fspec.schema.get("description", ""),
            default=fspec.schema.get("default") if fspec.can_edit else None,
            render_kw=_render_kw(fspec),
        )
    name = f"StepForm_{spec.process['code']}_{spec.key}"
    return type(name, (StepForm,), attrs)
