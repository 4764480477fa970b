"""Dictionaries, processes and their published versions."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Dictionary(Base):
        code = CharField(max_length=64, unique=True)
        name = CharField(max_length=200)
        document = TextField()
        revision = IntegerField(default=1)
        updated_at = DateTimeField()

    class Process(Base):
        code = CharField(max_length=64, unique=True)
        name = CharField(max_length=200)
        draft = TextField(null=True)
        draft_updated_at = DateTimeField(null=True)
        latest_version = IntegerField(default=0)
        created_at = DateTimeField()

    class ProcessVersion(Base):
        process = ForeignKeyField(Process, on_delete="RESTRICT")
        number = IntegerField()
        document = TextField()
        published_at = DateTimeField()
        published_by = CharField(max_length=64, null=True)

        class Meta:
            indexes = ((("process", "number"), True),)

    db.create_tables([Dictionary, Process, ProcessVersion])


def down(migrator, db):
    db.execute_sql("DROP TABLE process_version")
    db.execute_sql("DROP TABLE process")
    db.execute_sql("DROP TABLE dictionary")
