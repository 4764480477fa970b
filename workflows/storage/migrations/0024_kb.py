"""The knowledge base (issue 23): articles, their versions, search rows and files, ticket solutions, feedback.

``article_search`` is indexed as migration 0018 indexes ``search_part``: SQLite an FTS5 table
``article_fts`` over its terms (external content) kept by triggers; PostgreSQL a generated
``tsvector`` through 0018's ``search_vector`` function, with a GIN index. docs/kb.md.
"""
import datetime

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    PostgresqlDatabase,
    TextField,
)

SQLITE = [
    "CREATE VIRTUAL TABLE article_fts USING fts5(terms, content='article_search', content_rowid='id', "
    "tokenize='unicode61')",
    "CREATE TRIGGER article_search_ai AFTER INSERT ON article_search BEGIN "
    "INSERT INTO article_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER article_search_ad AFTER DELETE ON article_search BEGIN "
    "INSERT INTO article_fts(article_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER article_search_au AFTER UPDATE ON article_search BEGIN "
    "INSERT INTO article_fts(article_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO article_fts(rowid, terms) VALUES (new.id, new.terms); END",
]
POSTGRES = [
    "ALTER TABLE article_search ADD COLUMN vector tsvector GENERATED ALWAYS AS (search_vector(terms)) STORED",
    "CREATE INDEX article_search_vector ON article_search USING gin (vector)",
]


def _models(db):
    now = datetime.datetime.utcnow

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "user"

    class Ticket(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "ticket"

    class Article(Base):
        number = CharField(max_length=20, unique=True)
        title = CharField(max_length=200)
        body = TextField(default="")
        category = CharField(max_length=64, null=True)
        tags = JSONField(default=list)
        visibility = CharField(max_length=16, default="internal")
        status = CharField(max_length=16, default="draft")
        version = IntegerField(default=1)
        author = ForeignKeyField(User)
        created_at = DateTimeField(default=now)
        updated_at = DateTimeField(default=now)
        published_at = DateTimeField(null=True)
        published_by = ForeignKeyField(User, null=True)
        helpful_yes = IntegerField(default=0)
        helpful_no = IntegerField(default=0)
        source_ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")

        class Meta:
            table_name = "article"
            indexes = ((("status", "visibility"), False),)

    class ArticleVersion(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        version = IntegerField()
        title = CharField(max_length=200)
        body = TextField(default="")
        category = CharField(max_length=64, null=True)
        tags = JSONField(default=list)
        visibility = CharField(max_length=16)
        status = CharField(max_length=16)
        editor = ForeignKeyField(User)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "article_version"
            indexes = ((("article", "version"), True),)

    class ArticleSearch(Base):
        article = ForeignKeyField(Article, unique=True, on_delete="CASCADE")
        terms = TextField(default="")

        class Meta:
            table_name = "article_search"

    class TicketSolution(Base):
        ticket = ForeignKeyField(Ticket, unique=True, on_delete="CASCADE")
        article = ForeignKeyField(Article, on_delete="CASCADE")
        chosen_by = ForeignKeyField(User)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "ticket_solution"

    class ArticleFeedback(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        helpful = BooleanField()
        client = CharField(max_length=64)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "article_feedback"
            indexes = ((("article", "client"), True),)

    class Attachment(Base):
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "attachment"

    class ArticleAttachment(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        attachment = ForeignKeyField(Attachment, unique=True, on_delete="CASCADE")

        class Meta:
            table_name = "article_attachment"

    return [Article, ArticleVersion, ArticleSearch, TicketSolution, ArticleFeedback, ArticleAttachment]


def up(migrator, db):
    db.create_tables(_models(db))
    for statement in POSTGRES if isinstance(db, PostgresqlDatabase) else SQLITE:
        db.execute_sql(statement)


def down(migrator, db):
    if not isinstance(db, PostgresqlDatabase):
        db.execute_sql("DROP TABLE IF EXISTS article_fts")
    for table in ("article_attachment", "article_feedback", "ticket_solution", "article_search", "article_version",
                  "article"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
