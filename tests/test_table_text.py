"""How a detail table (明细表) reads, as pure functions: ``formbuilder.tabletext``.

One line for read-only text (``table_text``), one export cell a row a line (``table_export``), one
timeline entry per changed row (``row_changes``). Each cell reads as its column would as a field;
whatever is stored reads as text and never raises. The pages that use them are
``test_table_reading_pages.py`` (they need the registry's table entry).
"""

from __future__ import annotations

from babel.support import Translations
from conftest import ROOT

from formbuilder.tabletext import marks, row_changes, table_export, table_text

PARTS = {
    "type": "array", "x-widget": "table", "title": "配件",
    "items": {"type": "object", "required": ["part", "qty"], "properties": {
        "part": {"type": "string", "title": "配件", "x-dictionary": "product"},
        "qty": {"type": "integer", "title": "数量"},
        "price": {"type": "number", "title": "单价"},
        "replaced": {"type": "boolean", "title": "已更换"},
        "photos": {"type": "array", "title": "照片", "items": {"type": "string", "format": "attachment"}},
    }},
}
TASKS = {
    "type": "array", "x-widget": "table", "title": "Tasks",
    "items": {"type": "object", "properties": {
        "what": {"type": "string", "title": "Task",
                 "oneOf": [{"const": "clean", "title": "Cleaning"}, {"const": "fix", "title": "Repair"}]},
        "done": {"type": "boolean", "title": "Done"},
        "at": {"type": "string", "format": "date-time", "title": "When"},
        "stars": {"type": "integer", "minimum": 1, "maximum": 5, "x-widget": "rating", "title": "Rating"},
    }},
}
ROWS = [{"part": "fr-200", "qty": 2, "price": 350.5, "replaced": True}, {"part": "ac", "qty": 1}]
FILES = {"k-1": "压缩机.jpg", "k-2": "铭牌.png"}


def zh_gettext():
    return Translations.load(str(ROOT / "translations"), ["zh_Hans_CN"]).gettext


# -- one line ---------------------------------------------------------------------------------------

def test_rows_are_numbered_and_codes_read_as_dictionary_labels(dictionaries):
    assert table_text(PARTS, ROWS, dictionaries) == \
        "1. 配件：200 升，数量：2，单价：350.5，已更换：✓；2. 配件：空调，数量：1"


def test_english_titles_read_with_ascii_marks_option_titles_stars_and_local_time(dictionaries):
    value = [{"what": "clean", "done": False, "at": "2026-03-01T02:30:00Z", "stars": 4}, {"what": "fix"}]
    assert table_text(TASKS, value, dictionaries) == \
        "1. Task: Cleaning, Done: ✗, When: 2026-03-01 10:30, Rating: ★★★★☆ (4); 2. Task: Repair"


def test_the_marks_follow_the_titles_language():
    assert marks(PARTS).cell == "，" and marks(TASKS).cell == ", "
    assert marks({**TASKS, "title": "任务"}).row == "；"  # a Chinese table title is enough


def test_cells_follow_the_column_order_whatever_the_row_order(dictionaries):
    assert table_text(PARTS, [{"qty": 3, "part": "mw"}], dictionaries) == "1. 配件：微波炉，数量：3"


def test_attachment_cells_read_as_file_names_when_known_and_are_left_out_otherwise(dictionaries):
    value = [{"part": "fr", "qty": 1, "photos": ["k-1", "k-2"]}]
    assert table_text(PARTS, value, dictionaries, FILES) == "1. 配件：冰箱，数量：1，照片：压缩机.jpg、铭牌.png"
    assert table_text(PARTS, value, dictionaries) == "1. 配件：冰箱，数量：1"  # no keys shown to a reader
    assert table_text(PARTS, [{"photos": ["k-9"]}], dictionaries, FILES) == "1. 照片：k-9"  # unknown: its key


def test_empty_values_and_cells(dictionaries):
    assert table_text(PARTS, [], dictionaries) == "" and table_text(PARTS, None, dictionaries) == ""
    assert table_text(PARTS, [{"part": "", "qty": None}, {}], dictionaries) == "1. —；2. —"


# -- total: malformed values read as text -----------------------------------------------------------

def test_a_value_that_is_no_list_reads_as_text(dictionaries):
    assert table_text(PARTS, "压缩机 x2", dictionaries) == "压缩机 x2"
    assert table_text(PARTS, 7, dictionaries) == "7"
    assert table_text(PARTS, {"part": "ac", "qty": 1}, dictionaries) == "配件：空调，数量：1"  # one row


def test_rows_that_are_no_objects_and_unknown_columns_read_as_text_never_a_repr(dictionaries):
    value = [["a", 1], "loose", None, {"part": "ac", "colour": "白", "extra": {"x": [1, 2]}}]
    text = table_text(PARTS, value, dictionaries)
    assert text == '1. ["a", 1]；2. loose；3. —；4. 配件：空调，colour：白，extra：{"x": [1, 2]}'
    assert "{'" not in text and "['" not in text


def test_a_nested_value_in_a_known_column_reads_as_json(dictionaries):
    assert table_text(PARTS, [{"qty": {"n": 2}, "part": ["fr", "ac"]}], dictionaries) == \
        '1. 配件：冰箱、空调，数量：{"n": 2}'


def test_a_schema_of_another_shape_still_reads(dictionaries):
    for schema in [{}, {"items": "x"}, {"items": {"properties": []}}, {"type": "array"}]:
        assert table_text(schema, [{"a": 1}], dictionaries) == "1. a: 1"


# -- the export cell --------------------------------------------------------------------------------

def test_the_export_cell_is_one_numbered_row_a_line_with_yes_no_words_and_file_names(dictionaries):
    value = [*ROWS, {"part": "mw", "qty": 1, "replaced": False, "photos": ["k-1"]}]
    assert table_export(PARTS, value, dictionaries, FILES, ("是", "否")) == (
        "1. 配件：200 升，数量：2，单价：350.5，已更换：是\n2. 配件：空调，数量：1\n"
        "3. 配件：微波炉，数量：1，已更换：否，照片：压缩机.jpg")


def test_the_export_cell_without_words_or_rows(dictionaries):
    assert table_export(TASKS, [{"done": True}], dictionaries, {}) == "1. Done: ✓"
    assert table_export(PARTS, None, dictionaries, {}) == "" and table_export(PARTS, "x", dictionaries, {}) == "x"


# -- the timeline -----------------------------------------------------------------------------------

def test_added_rows_read_whole_with_their_number(dictionaries):
    assert row_changes(PARTS, ROWS[:1], ROWS, dictionaries) == [("配件, row 2", "", "配件：空调，数量：1")]
    assert row_changes(PARTS, None, ROWS[:1], dictionaries) == [
        ("配件, row 1", "", "配件：200 升，数量：2，单价：350.5，已更换：✓")]


def test_removed_rows_read_whole_with_nothing_after(dictionaries):
    assert row_changes(PARTS, ROWS, ROWS[:1], dictionaries) == [("配件, row 2", "配件：空调，数量：1", "")]
    assert row_changes(PARTS, ROWS, [], dictionaries) == [
        ("配件, row 1", "配件：200 升，数量：2，单价：350.5，已更换：✓", ""),
        ("配件, row 2", "配件：空调，数量：1", "")]


def test_a_changed_row_lists_only_its_changed_cells(dictionaries):
    new = [{**ROWS[0], "qty": 3, "replaced": False}, ROWS[1]]
    assert row_changes(PARTS, ROWS, new, dictionaries) == [("配件, row 1", "数量：2，已更换：✓", "数量：3，已更换：✗")]
    filled = [ROWS[0], {**ROWS[1], "price": 80}]
    assert row_changes(PARTS, ROWS, filled, dictionaries) == [("配件, row 2", "", "单价：80")]


def test_rows_are_matched_by_position(dictionaries):
    assert row_changes(PARTS, ROWS, ROWS[::-1], dictionaries) == [
        ("配件, row 1", "配件：200 升，数量：2，单价：350.5，已更换：✓", "配件：空调，数量：1"),
        ("配件, row 2", "配件：空调，数量：1", "配件：200 升，数量：2，单价：350.5，已更换：✓")]


def test_nothing_readable_changed_gives_no_entry(dictionaries):
    assert row_changes(PARTS, ROWS, [dict(r) for r in ROWS], dictionaries) == []
    assert row_changes(PARTS, [{"part": "ac", "price": ""}], [{"part": "ac"}], dictionaries) == []
    assert row_changes(PARTS, [], None, dictionaries) == []


def test_labels_are_translated_by_the_given_gettext(dictionaries):
    assert row_changes(PARTS, ROWS, ROWS[:1], dictionaries, gettext=zh_gettext())[0][0] == "配件 第 2 行"
    untitled = {k: v for k, v in TASKS.items() if k != "title"}
    assert row_changes(untitled, [], [{"what": "fix"}], dictionaries, key="tasks") == [
        ("tasks, row 1", "", "Task: Repair")]


def test_attachment_cells_change_as_file_names(dictionaries):
    old, new = [{"part": "ac", "photos": ["k-1"]}], [{"part": "ac", "photos": ["k-1", "k-2"]}]
    assert row_changes(PARTS, old, new, dictionaries, files=FILES) == [
        ("配件, row 1", "照片：压缩机.jpg", "照片：压缩机.jpg、铭牌.png")]


def test_malformed_values_change_as_one_entry_for_the_table(dictionaries):
    assert row_changes(PARTS, "旧的文字", ROWS[1:], dictionaries) == [("配件", "旧的文字", "1. 配件：空调，数量：1")]
    assert row_changes(PARTS, [5, {"zz": {"a": 1}}], [6, {"zz": {"a": 2}}], dictionaries) == [
        ("配件, row 1", "5", "6"), ("配件, row 2", 'zz：{"a": 1}', 'zz：{"a": 2}')]


def test_no_value_of_any_shape_raises(dictionaries):
    values = [None, 0, 1.5, True, "", "x", [], {}, [None], [[]], [{"part": None}], [{"photos": "k-1"}],
              [{"qty": float("nan")}], {"a": {"b": [1, {"c": 2}]}}, [{1: 2}], [{"part": 5, "replaced": "yes"}]]
    for value in values:
        for schema in (PARTS, TASKS, {}, {"items": None}):
            table_text(schema, value, dictionaries, FILES)
            table_export(schema, value, dictionaries, FILES, ("是", "否"))
            row_changes(schema, value, ROWS, dictionaries)
            row_changes(schema, ROWS, value, dictionaries, files=FILES)
