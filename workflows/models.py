"""Peewee models. Schema changes go through ``workflows/migrations``.

Process documents follow SpiffWorkflow's split: a :class:`Process` holds the
editable draft, each :class:`ProcessVersion` is an immutable published spec.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField

from .db import database


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class DocumentField(TextField):
    """A JSON document stored as text, verbatim.

    Not JSONB: PostgreSQL's JSONB reorders object keys, and in a process
    document the order of ``properties`` is the order of the form's fields.
    """

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Dictionary(BaseModel):
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    document = DocumentField()
    revision = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)


class Process(BaseModel):
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    draft = DocumentField(null=True)
    draft_updated_at = DateTimeField(null=True)
    latest_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class ProcessVersion(BaseModel):
    process = ForeignKeyField(Process, backref="versions", on_delete="RESTRICT")
    number = IntegerField()
    document = DocumentField()
    published_at = DateTimeField(default=utcnow)
    published_by = CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("process", "number"), True),)


MODELS = [Dictionary, Process, ProcessVersion]
