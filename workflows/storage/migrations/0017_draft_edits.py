"""The designer's undo and redo (issue 20): each designer edit's drafts before and after, verbatim."""
import datetime

from peewee import DateTimeField, ForeignKeyField, IntegerField, Model

from workflows.storage.models import DocumentField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Process(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "process"

    class User(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "user"

    class DraftEdit(Base):
        process = ForeignKeyField(Process, on_delete="CASCADE")
        actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
        before = DocumentField()
        after = DocumentField()
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            table_name = "draft_edit"
            indexes = ((("process", "created_at"), False),)

    db.create_tables([DraftEdit])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "draft_edit"')
