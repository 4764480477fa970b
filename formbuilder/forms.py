"""WTForms classes for process steps.

A class is built once per (version, step) from its :class:`StepSpec`; each
request only instantiates it. Dictionary choices are filled per instance,
because dictionaries change without a new process version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wtforms import Form

from . import people
from .dictionaries import DictionaryIndex
from .fieldtypes import html_attributes, options_schema
from .messages import Msg
from .steps import FieldSpec, StepSpec
from .tablefield import PRESENT  # the presence marker, defined beside the table field, which reads it too
from .validation import Outcome


class _Inputs:
    """Form data as each field reads it: files only for attachment fields, text only for the others.

    A browser (or a forger) may send either under any name; a value of the wrong
    kind counts as not sent, instead of reaching a field that cannot hold it.
    """

    def __init__(self, formdata, spec: StepSpec):
        self._formdata, self._spec = formdata, spec

    def __contains__(self, name) -> bool:
        return name in self._formdata

    def __iter__(self):
        """The names sent (a detail table finds its rows, ``parts-0-qty``, by them)."""
        return iter(self._formdata)

    def getlist(self, name: str) -> list:
        if self._spec.file_tables and self._spec.file_schema(name.replace("-", "/")) is not None:
            return self._formdata.getlist(name)  # a table's file cell: the keys it holds, and new files
        files = name in self._spec.attachments
        return [v for v in self._formdata.getlist(name) if isinstance(v, str) != files]


class StepForm(Form):
    """Base of generated step forms: knows its spec and each field's live mode."""

    spec: StepSpec
    #: Worked out with the class. Underscored, like ``_current``, so no field key (``^[a-z]...``) shadows them.
    #: (field name, its option source) for each field with choices.
    _option_sources: tuple[tuple[str, OptionSource], ...] = ()
    #: (field name, its value converter to JSON), in field order.
    _converters: tuple[tuple[str, Callable[[Any], Any]], ...] = ()
    #: The field types whose page script ``liveform.js`` loads (``static/js/fields/<name>.js``), space-separated.
    _scripts: str = ""
    #: The dictionaries whose tree the page script needs (cascades), each once.
    _trees: tuple[str, ...] = ()

    class Meta:
        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            return None if formdata is None else _Inputs(formdata, form.spec)

    def __init__(self, formdata=None, data: Mapping | None = None,
                 dictionaries: Mapping[str, DictionaryIndex] | None = None,
                 unreadable: frozenset[str] = frozenset()):
        stored = dict(data or {})
        self.stored, self.unreadable = stored, unreadable
        modes = self.spec.modes(stored, unreadable)
        values = {n: self.spec.fields[n].type.to_form(v) for n, v in stored.items()
                  if modes.get(n, "hidden") != "hidden"}  # hidden values never reach the page
        super().__init__(formdata=formdata, data=values)
        self.form_errors: list[Msg] = []
        fields = self.spec.fields
        for name, field in self._fields.items():
            field.lz = fields[name]
            field.lz_mode = modes[name]
        for name, source in self._option_sources:
            self._fields[name].choices = source.choices(self._current, stored.get(name), dictionaries or {})
        for name in self.spec.tables & self._fields.keys() if self.spec.tables else ():
            self._fields[name].fill(dictionaries or {})

    def _current(self, name: str):
        """A field's value now: what the form holds, else what the ticket holds if the reader may see it.

        A cascade's options must not be narrowed by a parent hidden at this step (static check 9
        refuses that at publish; versions published before it still exist).
        """
        field = self._fields.get(name)
        if field is not None and field.data not in (None, "", []):
            return field.data
        return self.stored.get(name) if field is not None and field.lz_mode != "hidden" else None

    def submitted(self, formdata) -> dict:
        """Values of the fields the browser sent, plus raw values forged for fields this form lacks."""
        if not formdata:  # None, or an empty MultiDict: nothing was sent
            return {}
        present = set(formdata.getlist(PRESENT))
        present.update(formdata.keys())
        fields = self._fields
        values = {name: to_json(fields[name].data) for name, to_json in self._converters if name in present}
        properties = self.spec.template["properties"]
        for key in formdata:
            if key in properties and key not in values:
                values[key] = formdata.get(key)
        return values

    def input_errors(self) -> dict[str, list[Msg]]:
        """Values the browser sent that could not even be converted (e.g. 'abc' as a number)."""
        found = {f.name: [Msg(f.lz.type.bad_input)] for f in self._fields.values() if f.process_errors}
        for name in self.spec.tables & self._fields.keys() if self.spec.tables else ():
            found.update({key: [Msg(column.type.bad_input)] for key, column in self._fields[name].input_errors()})
        return found

    def show_outcome(self, outcome: Outcome, gettext) -> None:
        """Re-render after a submit: modes follow the submitted data, errors sit at their fields."""
        modes = self.spec.modes(outcome.data, self.unreadable)
        for field in self:
            field.lz_mode = modes[field.name]
        for name, messages in outcome.errors.items():
            field, texts = self._fields.get(name), [m.render(gettext) for m in messages]
            table, _, cell = name.partition("/")
            if cell and table in self.spec.tables and table in self._fields:
                placed = all(self._fields[table].place(cell.split("/"), text) for text in texts)
                self.form_errors.extend([] if placed else texts)
            elif field is None:
                self.form_errors.extend(texts)
            else:
                field.errors = [*field.errors, *texts]


class OptionSource:
    """Where a field's options come from, read from its schema once per form class."""

    def __init__(self, fspec: FieldSpec):
        source = options_schema(fspec.schema)
        self.blank = [("", "—")] if fspec.type.blank else []
        self.fixed = [(o["const"], o.get("title", o["const"])) for o in source["oneOf"]] if "oneOf" in source else None
        self.code = source.get("x-dictionary")
        self.parent = fspec.schema.get("x-cascade")
        self.people, self.schema = (fspec.kind if fspec.kind in people.KINDS else None), fspec.schema

    def choices(self, current: Callable[[str], Any], held, dictionaries: Mapping) -> list[tuple[str, str]]:
        """Options given the values now in the form (``current`` of a field name); ``held`` stays offered."""
        if self.fixed is not None:
            return self.blank + self.fixed
        if self.people:  # members and departments: the people index rides in ``dictionaries``
            return self.blank + people.choices(self.people, self.schema, held, dictionaries)
        index = dictionaries.get(self.code)
        parent = current(self.parent) if self.parent else None
        keep = held if isinstance(held, str) else None
        if index is None or (self.parent and not parent):  # no parent chosen (or none the reader may see)
            return self.blank + ([(keep, index.label(keep))] if index is not None and keep in index.items else [])
        return self.blank + [(i.value, i.label) for i in index.options(parent, keep=keep)]


def _render_kw(fspec: FieldSpec) -> dict:
    attrs = html_attributes(fspec.schema)
    if "x-cascade" in fspec.schema:
        attrs["data-lz-cascade"] = fspec.schema["x-cascade"]
        attrs["data-lz-dict"] = fspec.schema["x-dictionary"]
    return attrs


def _page_needs(spec: StepSpec) -> dict:
    """What the page of this form loads besides its markup, worked out once per form class."""
    types = [fspec.type for fspec in spec.fields.values()]
    return {"_scripts": " ".join(dict.fromkeys(t.name for t in types if t.script)),
            "_trees": tuple(dict.fromkeys(f.schema["x-dictionary"] for f in spec.fields.values() if f.type.tree))}


def build_form_class(spec: StepSpec) -> type[StepForm]:
    """One WTForms class with a field per non-hidden field, in template order."""
    attrs: dict = {"spec": spec, "_option_sources": tuple(
        (name, OptionSource(fspec)) for name, fspec in spec.fields.items() if fspec.type.has_choices),
        "_converters": tuple((name, fspec.type.to_json) for name, fspec in spec.fields.items()),
        **_page_needs(spec)}
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
