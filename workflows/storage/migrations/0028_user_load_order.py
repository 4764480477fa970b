"""``user_load`` rows locked in id order (issue 24): two handovers in opposite directions cannot deadlock.

Migration 0027's PostgreSQL trigger moved a reassigned ticket's count off the old handler, then onto
the new one. Ticket 1 going from A to B while ticket 2 goes from B to A locked A then B, and B then A:
under load PostgreSQL found the deadlock and rolled one action back (a 500 in CI's killed-worker run).
Here the lower user id is always updated first. SQLite's writers are serial, so its triggers stay.
"""

import importlib

_ADD = "INSERT INTO user_load (user_id, open) VALUES ({who}, {amount}) " \
       "ON CONFLICT (user_id) DO UPDATE SET open = user_load.open + excluded.open"

POSTGRES_FUNCTION = f"""CREATE OR REPLACE FUNCTION user_load_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gone integer;
  came integer;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.assignee_id IS NOT NULL AND OLD.status != 'closed' THEN
    gone := OLD.assignee_id;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.assignee_id IS NOT NULL AND NEW.status != 'closed' THEN
    came := NEW.assignee_id;
  END IF;
  IF gone IS NOT NULL AND (came IS NULL OR gone < came) THEN
    {_ADD.format(who="gone", amount=-1)};
    gone := NULL;
  END IF;
  IF came IS NOT NULL THEN
    {_ADD.format(who="came", amount=1)};
  END IF;
  IF gone IS NOT NULL THEN
    {_ADD.format(who="gone", amount=-1)};
  END IF;
  RETURN NULL;
END $$"""


def _postgres(db) -> bool:
    return "postgres" in type(db).__name__.lower()


def up(migrator, db):
    if _postgres(db):
        db.execute_sql(POSTGRES_FUNCTION)


def down(migrator, db):
    if _postgres(db):
        previous = importlib.import_module("workflows.storage.migrations.0027_user_load")  # its function, back
        db.execute_sql(previous.POSTGRES_FUNCTION)
