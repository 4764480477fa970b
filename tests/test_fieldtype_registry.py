"""The field-type registry and the meta-schema agree on the ``x-widget`` values (issue 17).

Each ``FieldType`` declares the widgets that show it; the meta-schema's hand-written
enum of ``x-widget`` must list exactly those, and each declared widget must really
pick its type.
"""

from __future__ import annotations

import pytest
from test_member_fields import DEPARTMENT, MEMBER, MEMBERS
from test_rating_field import RATING
from test_tables import PARTS
from test_validation import FIELD_TYPES

from formbuilder.documents import PROCESS_META
from formbuilder.fieldtypes import REGISTRY, WIDGETS, classify

ENUM = PROCESS_META.schema["$defs"]["field"]["properties"]["x-widget"]["enum"]
EXAMPLES = [RATING, MEMBER, MEMBERS, DEPARTMENT, PARTS, *(case[0] for case in FIELD_TYPES.values())]


def without_widget(schema: dict) -> dict:
    return {key: value for key, value in schema.items() if key != "x-widget"}


def test_the_meta_schema_lists_exactly_the_widgets_the_registry_declares():
    assert len(ENUM) == len(set(ENUM))
    assert set(ENUM) == set(WIDGETS)


def test_every_type_has_an_example_here():
    assert {classify(schema).name for schema in EXAMPLES} == {t.name for t in REGISTRY}


@pytest.mark.parametrize("schema", EXAMPLES, ids=lambda schema: classify(schema).name)
def test_each_declared_widget_picks_its_type_and_no_other_widget_does(schema):
    kind = classify(schema)
    for widget in (None, *ENUM):
        shown = without_widget(schema) if widget is None else {**schema, "x-widget": widget}
        if not kind.widgets or widget in kind.widgets:
            assert classify(shown) is kind, widget
        else:
            assert classify(shown) is not kind, widget
