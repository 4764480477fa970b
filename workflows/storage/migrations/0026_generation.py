"""The configuration stamp (issue 24, ``workflows.storage.generation``): one row, renewed by triggers.

Every insert, update and delete (PostgreSQL: and truncate) of the configuration tables gives the row a
new random stamp in the same transaction, so in-process caches on every worker and host see a change
at their next request, whichever path made it.
"""

import random

TABLES = ("department", "user", "dictionary", "process", "process_version", "rule", "webhook_endpoint",
          "robot_target", "calendar", "setting")  # as generation.TABLES when this migration was written
POSTGRES_BUMP = """CREATE OR REPLACE FUNCTION generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE generation SET stamp = floor(random() * 9e15)::bigint WHERE id = 1; RETURN NULL; END $$"""


def _postgres(db) -> bool:
    return "postgres" in type(db).__name__.lower()


def up(migrator, db):
    db.execute_sql("CREATE TABLE generation (id INTEGER PRIMARY KEY, stamp BIGINT NOT NULL)")
    db.execute_sql("INSERT INTO generation (id, stamp) VALUES (1, %d)" % random.SystemRandom().getrandbits(52))
    if _postgres(db):
        db.execute_sql(POSTGRES_BUMP)
        for table in TABLES:
            db.execute_sql(f'CREATE TRIGGER generation_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                           f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION generation_bump()')
        return
    for table in TABLES:
        for suffix, event in (("ai", "INSERT"), ("au", "UPDATE"), ("ad", "DELETE")):
            db.execute_sql(f'CREATE TRIGGER generation_{table}_{suffix} AFTER {event} ON "{table}" '
                           "BEGIN UPDATE generation SET stamp = random() WHERE id = 1; END")


def down(migrator, db):
    for table in TABLES:
        names = [f'generation_{table} ON "{table}"'] if _postgres(db) else [f"generation_{table}_{s}" for s in ("ai", "au", "ad")]
        for name in names:
            db.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
    if _postgres(db):
        db.execute_sql("DROP FUNCTION IF EXISTS generation_bump()")
    db.execute_sql("DROP TABLE IF EXISTS generation")
