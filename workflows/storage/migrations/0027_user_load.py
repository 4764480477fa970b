"""Open tickets per handler, kept by the database (issue 24): the least-loaded pick reads a row per candidate.

The pick used to count every open ticket of the candidates (on PostgreSQL a sequential scan, a quarter
of an advance's time). Triggers on ``ticket`` keep ``user_load.open`` (tickets not closed, pending
included: still the handler's work) in the transaction of every insert, delete and change of a
ticket's handler or status, whatever path makes it. The counts start from the tickets as they are.
"""

TABLE = ("CREATE TABLE user_load (user_id INTEGER PRIMARY KEY REFERENCES \"user\" (id) ON DELETE CASCADE, "
         "open INTEGER NOT NULL DEFAULT 0)")
BACKFILL = ("INSERT INTO user_load (user_id, open) SELECT assignee_id, count(*) FROM ticket "
            "WHERE assignee_id IS NOT NULL AND status != 'closed' GROUP BY assignee_id")
CHANGED = ("OLD.assignee_id IS DISTINCT FROM NEW.assignee_id "
           "OR (OLD.status = 'closed') IS DISTINCT FROM (NEW.status = 'closed')")


def _add(who: str, amount: int, sqlite: bool) -> str:
    """One handler's count moved by ``amount`` (created at it when missing)."""
    conflict = "ON CONFLICT (user_id) DO UPDATE SET open = user_load.open + excluded.open"
    return f"INSERT INTO user_load (user_id, open) VALUES ({who}, {amount}) {conflict}" + (";" if sqlite else "")


POSTGRES_FUNCTION = f"""CREATE OR REPLACE FUNCTION user_load_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.assignee_id IS NOT NULL AND OLD.status != 'closed' THEN
    {_add("OLD.assignee_id", -1, False)};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.assignee_id IS NOT NULL AND NEW.status != 'closed' THEN
    {_add("NEW.assignee_id", 1, False)};
  END IF;
  RETURN NULL;
END $$"""

POSTGRES_TRIGGERS = (
    "CREATE TRIGGER user_load_insert AFTER INSERT ON ticket FOR EACH ROW EXECUTE FUNCTION user_load_keep()",
    "CREATE TRIGGER user_load_delete AFTER DELETE ON ticket FOR EACH ROW EXECUTE FUNCTION user_load_keep()",
    f"CREATE TRIGGER user_load_update AFTER UPDATE OF assignee_id, status ON ticket FOR EACH ROW "
    f"WHEN ({CHANGED}) EXECUTE FUNCTION user_load_keep()",
)

SQLITE_TRIGGERS = (
    "CREATE TRIGGER user_load_insert AFTER INSERT ON ticket "
    "WHEN NEW.assignee_id IS NOT NULL AND NEW.status != 'closed' BEGIN "
    + _add("NEW.assignee_id", 1, True) + " END",
    "CREATE TRIGGER user_load_delete AFTER DELETE ON ticket "
    "WHEN OLD.assignee_id IS NOT NULL AND OLD.status != 'closed' BEGIN "
    + _add("OLD.assignee_id", -1, True) + " END",
    "CREATE TRIGGER user_load_update_old AFTER UPDATE OF assignee_id, status ON ticket "
    f"WHEN ({CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}) AND OLD.assignee_id IS NOT NULL "
    "AND OLD.status != 'closed' BEGIN " + _add("OLD.assignee_id", -1, True) + " END",
    "CREATE TRIGGER user_load_update_new AFTER UPDATE OF assignee_id, status ON ticket "
    f"WHEN ({CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}) AND NEW.assignee_id IS NOT NULL "
    "AND NEW.status != 'closed' BEGIN " + _add("NEW.assignee_id", 1, True) + " END",
)


def _postgres(db) -> bool:
    return "postgres" in type(db).__name__.lower()


def up(migrator, db):
    db.execute_sql(TABLE)
    db.execute_sql(BACKFILL)
    if _postgres(db):
        db.execute_sql(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            db.execute_sql(statement)
        return
    for statement in SQLITE_TRIGGERS:
        db.execute_sql(statement)


def down(migrator, db):
    for name in ("user_load_insert", "user_load_delete", "user_load_update", "user_load_update_old",
                 "user_load_update_new"):
        db.execute_sql(f"DROP TRIGGER IF EXISTS {name}" + (" ON ticket" if _postgres(db) else ""))
    if _postgres(db):
        db.execute_sql("DROP FUNCTION IF EXISTS user_load_keep()")
    db.execute_sql("DROP TABLE IF EXISTS user_load")
