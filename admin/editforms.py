"""WTForms of the visual process editor: basics, one field, one step with its transitions.

Each form only collects settings; turning them into the document is
``formbuilder.fieldkinds`` / ``formbuilder.editing``, so the rules live once.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from formbuilder.conditions import OPERATORS


def options(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects, not tuples."""
    return [SelectChoice(value, label) for value, label in pairs]

KEY_RULE = Regexp(r"^[a-z][a-z0-9_]{1,63}$", message=_l("Use a-z, 0-9 and _, starting with a letter (2-64)."))
PRIORITY_CHOICES = options([("urgent", _l("Urgent")), ("high", _l("High")), ("normal", _l("Normal")),
                            ("low", _l("Low"))])
ASSIGNEE_TYPES = options([("creator", _l("The ticket's creator")), ("previous", _l("Whoever sent it here")),
                  ("user", _l("A user")), ("role", _l("A role")), ("department", _l("A department")),
                  ("choose", _l("The sender chooses anyone")),
                  ("field", _l("The member or department a field holds"))])
PICKS = options([("", _l("—")), ("manual", _l("The sender picks")), ("round_robin", _l("Round robin")),
         ("least_loaded", _l("Fewest open tickets"))])


def _regex(form, field) -> None:
    try:
        re.compile(field.data or "")
    except re.error as error:
        raise ValidationError(_l("Not a valid regular expression: %(error)s", error=str(error))) from None


class NewProcessForm(Form):
    code = StringField(_l("Code (optional: made from the name)"), [Optional(), KEY_RULE])
    name = StringField(_l("Name"), [InputRequired(), Length(max=200)])
    first_step = StringField(_l("Name of the first step"), [InputRequired(), Length(max=200)], default="来电登记")


class BasicsForm(Form):
    name = StringField(_l("Name"), [InputRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), render_kw={"rows": 2})
    hint = TextAreaField(_l("Hint on the creation form"), render_kw={"rows": 2})
    number_prefix = StringField(_l("Ticket number prefix"), [Optional(), Regexp(
        r"^[A-Z][A-Z0-9]{0,7}$", message=_l("1-8 capital letters or digits, starting with a letter."))])
    priority_enabled = BooleanField(_l("Tickets have a priority"))
    priority_default = SelectField(_l("Default priority"), choices=PRIORITY_CHOICES, default="normal")
    web_form_enabled = BooleanField(_l("Customers may submit this ticket type on a public web form"))
    notify_created = BooleanField(_l("E-mail the customer when the ticket is created"))
    notify_steps = SelectMultipleField(_l("E-mail the customer when the ticket enters these steps"), choices=[],
                                       validate_choice=False, widget=ListWidget(prefix_label=False),
                                       option_widget=CheckboxInput())
    notify_closed = BooleanField(_l("E-mail the customer when the ticket is closed"))

    def __init__(self, formdata=None, data: dict | None = None, **kwargs):
        """The editor fills this form from the document, where the flag lives under ``web_form``."""
        if data is not None and "web_form_enabled" not in data:
            data = {**data, "web_form_enabled": bool((data.get("web_form") or {}).get("enabled"))}
        if data is not None and "notify_created" not in data:
            notify = data.get("notify_customer") or {}
            data = {**data, "notify_created": bool(notify.get("created")), "notify_closed": bool(notify.get("closed")),
                    "notify_steps": list(notify.get("steps") or [])}
        super().__init__(formdata, data=data, **kwargs)
        self.notify_steps.choices = [SelectChoice(s["key"], s["name"]) for s in (data or {}).get("steps", [])]


class FieldForm(Form):
    """Every setting of every kind; the page shows those of the field's kind (``fieldkinds``)."""

    key = StringField(_l("Key"), [Optional(), KEY_RULE])
    title = StringField(_l("Label"), [InputRequired(), Length(max=200)])
    description = TextAreaField(_l("Help text"), render_kw={"rows": 2})
    placeholder = StringField(_l("Placeholder"))
    default = StringField(_l("Default value"))
    min_length = IntegerField(_l("Minimum length"), [Optional(), NumberRange(min=0)])
    max_length = IntegerField(_l("Maximum length"), [Optional(), NumberRange(min=1)])
    pattern = StringField(_l("Pattern (regular expression)"), [Optional(), _regex])
    minimum = FloatField(_l("Minimum"), [Optional()])
    maximum = FloatField(_l("Maximum"), [Optional()])
    multipleOf = FloatField(_l("Step (e.g. 0.01)"), [Optional(), NumberRange(min=1e-9)])
    source = RadioField(_l("Options from"), default="options",
                        choices=options([("options", _l("a list")), ("dictionary", _l("a dictionary"))]))
    options = TextAreaField(_l("Options, one a line: value=label"), render_kw={"rows": 4})
    dictionary = SelectField(_l("Dictionary"), choices=[], validate_choice=False, render_kw={"data-lz-filter": "1"})
    cascade = SelectField(_l("Depends on the field"), choices=[], validate_choice=False)
    max_items = IntegerField(_l("Maximum number of files"), [Optional(), NumberRange(min=1)])
    accept = StringField(_l("Accepted types, e.g. image/*, .pdf"))
    max_mb = FloatField(_l("Maximum size per file (MB)"), [Optional(), NumberRange(min=0.001)])
    public = BooleanField(_l("Shown to the customer on the progress page"))
    roles = SelectMultipleField(_l("Only users of these roles (none: any role)"), choices=[], validate_choice=False,
                                widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    departments = SelectMultipleField(_l("Only users of these departments, with their sub-departments (none: any)"),
                                      choices=[], validate_choice=False)
    min_rows = IntegerField(_l("Minimum number of rows"), [Optional(), NumberRange(min=0)])
    max_rows = IntegerField(_l("Maximum number of rows"), [Optional(), NumberRange(min=1)])
    formula = TextAreaField(_l("Computed (formula, JSON Logic)"), render_kw={"rows": 4, "spellcheck": "false"})
    reader_roles = SelectMultipleField(_l("Only these may see it: roles"), choices=[], validate_choice=False,
                                       widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    reader_departments = SelectMultipleField(_l("Only these may see it: departments, with their sub-departments"),
                                             choices=[], validate_choice=False, widget=ListWidget(prefix_label=False),
                                             option_widget=CheckboxInput())
    column_required = BooleanField(_l("Required in every row"))

    def settings(self) -> dict:
        """The settings as ``fieldkinds.build`` takes them (whole floats become integers)."""
        out = {field.short_name: field.data for field in self if field.short_name != "key"}
        for name in ("minimum", "maximum", "multipleOf"):
            if isinstance(out[name], float) and out[name].is_integer():
                out[name] = int(out[name])
        return out


class TransitionForm(Form):
    to = SelectField(_l("Next step"), choices=[], validate_choice=False)
    caption = StringField(_l("Button label"), [Length(max=200)])  # "label" would clash with FormField.label
    field = SelectField(_l("Only when the field"), choices=[], validate_choice=False)
    op = SelectField(_l("Operator"), choices=options((k, _l(v)) for k, v in OPERATORS.items()))
    value = StringField(_l("Value"))
    when_json = TextAreaField(_l("Or a condition as JSON Schema"), render_kw={"rows": 2})
    remove = BooleanField(_l("Remove"))


class StepForm(Form):
    name = StringField(_l("Step name"), [InputRequired(), Length(max=200)])
    assignee_type = SelectField(_l("Handled by"), choices=ASSIGNEE_TYPES)
    assignee_value = StringField(_l("User, role or department"))
    assignee_field = SelectField(_l("The member or department field"), choices=[], validate_choice=False)
    pick = SelectField(_l("How the handler is picked"), choices=PICKS)
    allow_return = BooleanField(_l("Can be returned to the previous step (退回)"))
    allow_transfer = BooleanField(_l("Can be transferred to someone else (转交)"))
    sla_minutes = IntegerField(_l("Time limit (minutes)"), [Optional(), NumberRange(min=1)])
    transitions = FieldList(FormField(TransitionForm), min_entries=1)


class RuleForm(Form):
    """One cross-field rule (``x-rules``): its field, its check, and its message in both languages."""

    field = SelectField(_l("Field"), [InputRequired()], choices=[], validate_choice=False)
    check = TextAreaField(_l("Check (JSON Logic, true when the value is valid)"), [InputRequired()],
                          render_kw={"rows": 4, "spellcheck": "false"})
    message_zh = StringField(_l("Message in Chinese"), [InputRequired(), Length(max=500)])
    message_en = StringField(_l("Message in English"), [InputRequired(), Length(max=500)])
