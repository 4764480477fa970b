"""WTForms classes built from steps: field kinds, modes, choices, and the cache."""

from __future__ import annotations

import pytest
from test_validation import FIELD_TYPES, spec_for
from werkzeug.datastructures import MultiDict
from wtforms import fields

from formbuilder import cache, compiled_step, fieldtypes, validate_step
from formbuilder.forms import PRESENT

EXPECTED_FIELDS = {
    "text": fields.StringField, "email": fields.EmailField, "textarea": fields.TextAreaField,
    "integer": fieldtypes.IntegerField, "number": fieldtypes.FloatField, "date": fieldtypes.DateField,
    "datetime": fieldtypes.DateTimeLocalField, "select": fields.SelectField, "select-dictionary": fields.SelectField,
    "radio": fields.RadioField, "multiselect": fields.SelectMultipleField, "checkboxes": fields.SelectMultipleField,
    "checkbox": fields.BooleanField, "attachment": fields.MultipleFileField, "cascade": fields.SelectField,
}


def form_for(schema, mode, dictionaries, data=None, formdata=None):
    spec = spec_for(schema, mode, dictionaries)
    form_class = cache.compiled_step(("probe", repr(schema), repr(mode)), None, "only").form_class
    return spec, form_class(formdata, data={"ct": "fr"} if data is None else data, dictionaries=dictionaries)


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_each_type_gets_its_field_class(kind, dictionaries):
    _, form = form_for(FIELD_TYPES[kind][0], "editable", dictionaries)
    assert type(form.fx) is EXPECTED_FIELDS[kind]


@pytest.mark.parametrize("kind", ["integer", "number", "date", "datetime"])
def test_a_number_or_date_left_blank_is_no_value_not_a_bad_one(kind, dictionaries):
    formdata = MultiDict([("fx", " "), ("lz_present", "fx")])
    _, form = form_for(FIELD_TYPES[kind][0], "editable", dictionaries, formdata=formdata)
    assert form.input_errors() == {} and form.submitted(formdata) == {"fx": None}
    assert issubclass(EXPECTED_FIELDS[kind], getattr(fields, EXPECTED_FIELDS[kind].__name__))


def test_hidden_fields_are_not_in_the_form(dictionaries):
    _, form = form_for(FIELD_TYPES["text"][0], "hidden", dictionaries, data={"ct": "fr", "fx": "secret"})
    assert "fx" not in form._fields
    assert "secret" not in "".join(str(f()) for f in form)


def test_checkboxes_render_one_box_per_option(dictionaries):
    _, form = form_for(FIELD_TYPES["checkboxes"][0], "editable", dictionaries)
    html = str(form.fx())
    assert html.count('type="checkbox"') == 5 and "电话" in html


def test_labels_help_placeholder_and_html_hints(dictionaries):
    schema = {"type": "string", "title": "订单号", "description": "见发票", "maxLength": 32,
              "pattern": "^[0-9A-Z-]+$", "x-placeholder": "TH-..."}
    _, form = form_for(schema, "required", dictionaries)
    assert form.fx.label.text == "订单号" and form.fx.description == "见发票"
    html = str(form.fx())
    assert 'maxlength="32"' in html and 'placeholder="TH-..."' in html and 'pattern="^[0-9A-Z-]+$"' in html


def test_defaults_fill_editable_fields_only(dictionaries):
    schema = {"type": "string", "x-dictionary": "channel", "default": "phone"}
    _, editable = form_for(schema, "editable", dictionaries, data={})
    _, readonly = form_for(schema, "readonly", dictionaries, data={})
    assert editable.fx.data == "phone" and readonly.fx.data is None


def test_admin_strings_are_escaped(dictionaries):
    schema = {"type": "string", "title": "<script>alert(1)</script>",
              "oneOf": [{"const": "a", "title": "<img src=x onerror=alert(1)>"}]}
    _, form = form_for(schema, "editable", dictionaries)
    html = str(form.fx.label()) + str(form.fx())
    assert "<script>" not in html and "<img" not in html and "&lt;img" in html


def test_cascade_choices_follow_the_parent_and_skip_disabled_items(dictionaries):
    schema = FIELD_TYPES["cascade"][0]
    _, fridge = form_for(schema, "editable", dictionaries, data={"ct": "fr"})
    assert [v for v, _ in fridge.fx.choices] == ["", "fr-200", "fr-450"]
    _, microwave = form_for(schema, "editable", dictionaries, data={"ct": "mw"})
    assert [v for v, _ in microwave.fx.choices] == ["", "mw-a1", "mw-a2"]
    _, held = form_for(schema, "readonly", dictionaries, data={"ct": "mw", "fx": "mw-old"})
    assert "mw-old" in [v for v, _ in held.fx.choices]
    _, orphan = form_for(schema, "editable", dictionaries, data={})
    assert orphan.fx.choices == [("", "—")]


def test_cascade_choices_follow_a_submitted_parent(dictionaries):
    formdata = MultiDict([("ct", "ac"), (PRESENT, "ct")])
    _, form = form_for(FIELD_TYPES["cascade"][0], "editable", dictionaries, data={}, formdata=formdata)
    assert [v for v, _ in form.fx.choices] == ["", "ac-1p", "ac-3p"]


def test_submitted_values_convert_to_json(process_doc, dictionaries):
    warehouse = compiled_step(("return_goods", 1), process_doc, "warehouse")
    formdata = MultiDict([("received", "y"), ("received_at", "2026-11-22T10:30"), ("as_described", "no"),
                          *[(PRESENT, n) for n in ("received", "received_at", "as_described")]])
    form = warehouse.form_class(formdata, data={"order_no": "TH-1"}, dictionaries=dictionaries)
    assert form.submitted(formdata) == {"received": True, "received_at": "2026-11-22T10:30:00+08:00",
                                        "as_described": "no"}


def test_unticked_present_box_counts_and_disabled_fields_do_not(process_doc, dictionaries):
    warehouse = compiled_step(("return_goods", 1), process_doc, "warehouse")
    formdata = MultiDict([(PRESENT, "received")])
    form = warehouse.form_class(formdata, data={"received": True}, dictionaries=dictionaries)
    assert form.submitted(formdata) == {"received": None}


def test_forged_post_of_a_hidden_field_reaches_the_validator(process_doc, dictionaries):
    approve = compiled_step(("return_goods", 1), process_doc, "approve")
    formdata = MultiDict([("approval", "approve"), ("refund_amount", "999"), ("order_no", "X"),
                          (PRESENT, "approval")])
    form = approve.form_class(formdata, data={"order_no": "TH-1"}, dictionaries=dictionaries)
    outcome = validate_step(approve.spec, {"order_no": "TH-1"}, form.submitted(formdata), dictionaries)
    assert set(outcome.errors) == {"refund_amount", "order_no"}


def test_bad_input_is_reported_at_the_field(process_doc, dictionaries):
    finance = compiled_step(("return_goods", 1), process_doc, "finance")
    formdata = MultiDict([("refund_amount", "abc"), (PRESENT, "refund_amount")])
    form = finance.form_class(formdata, data={}, dictionaries=dictionaries)
    assert list(form.input_errors()) == ["refund_amount"]


def test_each_step_is_compiled_once(process_doc):
    cache.clear()
    first = compiled_step(("return_goods", 7), process_doc, "approve")
    again = compiled_step(("return_goods", 7), process_doc, "approve")
    assert first is again and cache.builds[(("return_goods", 7), "approve")] == 1




@pytest.mark.parametrize(("typed", "stored"), [("1200", 1200), ("1200.00", 1200), ("19.99", 19.99), ("-3", -3)])
def test_a_whole_number_typed_in_a_number_field_is_stored_as_one(typed, stored, dictionaries):
    formdata = MultiDict([("fx", typed), ("lz_present", "fx")])
    _, form = form_for(FIELD_TYPES["number"][0], "editable", dictionaries, formdata=formdata)
    value = form.submitted(formdata)["fx"]
    assert value == stored and type(value) is type(stored)
