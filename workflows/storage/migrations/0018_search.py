"""Full-text search (issue 21): one row per ticket part, the engines' own index beside it, and the backfill.

SQLite: an FTS5 table over ``search_part.terms`` (external content: the terms are stored
once), kept by triggers, so every write of a part (the indexer's, a cascade, a restore)
reaches the index. PostgreSQL: a generated ``tsvector`` of the pre-tokenised terms, each one
lexeme at its position (no parser, no stemming, no stop words), with a GIN index. docs/search.md.
"""

from peewee import CharField, ForeignKeyField, IntegerField, Model, PostgresqlDatabase, TextField

SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(terms, content='search_part', content_rowid='id', "
    "tokenize='unicode61')",
    "CREATE TRIGGER search_part_ai AFTER INSERT ON search_part BEGIN "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER search_part_ad AFTER DELETE ON search_part BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER search_part_au AFTER UPDATE ON search_part BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
]
POSTGRES = [
    # The terms are already the lexemes, in order: each becomes one lexeme at its position, unparsed. (to_tsvector's
    # parser would split some: 962e5a is a number 962e5 and a word a to it.)
    "CREATE FUNCTION search_vector(terms text) RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
    "SELECT coalesce(string_agg(quote_literal(term) || ':' || least(place, 16383), ' ')::tsvector, ''::tsvector) "
    "FROM unnest(string_to_array(terms, ' ')) WITH ORDINALITY AS t(term, place) WHERE term <> '' $$",
    "ALTER TABLE search_part ADD COLUMN vector tsvector GENERATED ALWAYS AS (search_vector(terms)) STORED",
    "CREATE INDEX search_part_vector ON search_part USING gin (vector)",
]


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "ticket"

    class SearchPart(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        part = CharField(max_length=80)
        terms = TextField(default="")

        class Meta:
            table_name = "search_part"
            indexes = ((("ticket", "part"), True),)

    db.create_tables([SearchPart])
    for statement in POSTGRES if isinstance(db, PostgresqlDatabase) else SQLITE:
        db.execute_sql(statement)
    from workflows.search.index import reindex_all  # the backfill: every existing ticket, a batch at a time
    from workflows.storage.db import database
    if database.obj is db:
        reindex_all()


def down(migrator, db):
    for statement in ("DROP TABLE IF EXISTS search_fts", 'DROP TABLE IF EXISTS "search_part"'):
        db.execute_sql(statement)
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("DROP FUNCTION IF EXISTS search_vector(text)")
