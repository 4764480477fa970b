"""Mail intake and field readers (x-readers): a message fills only fields the intake may set.

Intake acts as the channels' system user, who reads no restricted field; the engine refuses a value for
one. So the subject and the body go to the first step's first text fields *without* readers, and a body
with no such field stays in the ticket's note (``workflows/intake/mailin.py``, ``mapped_fields``).
"""

from __future__ import annotations

import re

import pytest
from test_channels import eml, ingest

from workflows.intake import mailin
from workflows.processes import documents as docs
from workflows.storage.db import database
from workflows.storage.models import Ticket, TicketEvent

FINANCE = {"departments": ["finance"]}


def inquiry(memo: bool = True) -> dict:
    """A format-2 inquiry whose first text and multi-line fields name readers, with free ones after them."""
    properties = {
        "internal_ref": {"type": "string", "title": "内部编号", "x-readers": FINANCE},
        "topic": {"type": "string", "title": "主题", "maxLength": 40},
        "internal_memo": {"type": "string", "title": "内部备注", "x-widget": "textarea", "x-readers": FINANCE},
        "message": {"type": "string", "title": "内容", "x-widget": "textarea"}}
    fields = {"internal_ref": "editable", "topic": "required", "internal_memo": "editable", "message": "editable"}
    if not memo:
        del properties["message"], fields["message"]
    return {"format": 2, "code": "inquiry", "name": "咨询", "number_prefix": "ZX",
            "schema": {"type": "object", "properties": properties},
            "steps": [{"key": "register", "name": "登记", "assignee": {"type": "creator"}, "fields": fields,
                       "transitions": [{"to": "answer", "label": "转坐席"}]},
                      {"key": "answer", "name": "答复", "fields": {"topic": "readonly"},
                       "assignee": {"type": "role", "value": "agent", "pick": "round_robin"},
                       "transitions": [{"to": "$end", "label": "完成"}]}]}


@pytest.fixture
def publish(app, users, seeded):
    def publish(document: dict):
        with app.app_context(), database.connection_context():
            docs.save_process(document, publish=True)
            return docs.get_version("inquiry")
    return publish


def created(runner, path) -> Ticket:
    result = ingest(runner, path, "--process", "inquiry")
    assert result.exit_code == 0, result.output
    number = re.fullmatch(r"created (ZX\d{12,})\n", result.output).group(1)
    return Ticket.get(Ticket.number == number)


def test_intake_maps_past_fields_with_readers(app, publish, tmp_path):
    version = publish(inquiry())
    with app.app_context(), database.connection_context():
        assert mailin.mapped_fields(version) == ("topic", "message")
        ticket = created(app.test_cli_runner(), eml(tmp_path / "a.eml", "冰箱门坏了"))
        assert ticket.data == {"topic": "冰箱门坏了", "message": "您好, 冰箱门关不上。"}


def test_a_body_with_only_a_reader_field_to_go_to_stays_in_the_note(app, publish, tmp_path):
    version = publish(inquiry(memo=False))
    with app.app_context(), database.connection_context():
        assert mailin.mapped_fields(version) == ("topic", None)
        ticket = created(app.test_cli_runner(), eml(tmp_path / "a.eml", "冰箱门坏了"))
        assert ticket.data == {"topic": "冰箱门坏了"}
        note = TicketEvent.get(TicketEvent.ticket == ticket, TicketEvent.action == "note").comment
        assert "您好, 冰箱门关不上。" in note
