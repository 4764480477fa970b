"""Durations on the ticket for the reports: seconds to the first response and to closing.

``ticket.timed()`` keeps them from now on; this fills them for the tickets
already there with the same rule (each timestamp cut to the second). The
indexes lead with the creator and order by the duration, so a per-agent p90
is found by walking the top of one index range instead of sorting the month.
"""
from peewee import IntegerField

SECONDS = {  # later - earlier, each cut to the second
    "sqlite": "CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM date_trunc('second', {later}) - date_trunc('second', {earlier})) AS BIGINT)",
}


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("ticket", "first_response_seconds", IntegerField(null=True)),
        migrator.add_column("ticket", "resolution_seconds", IntegerField(null=True)),
    )
    seconds = SECONDS["postgresql" if "postgres" in type(db).__name__.lower() else "sqlite"]
    db.execute_sql(f'UPDATE "ticket" SET '
                   f'"first_response_seconds" = {seconds.format(later="first_response_at", earlier="created_at")}, '
                   f'"resolution_seconds" = {seconds.format(later="closed_at", earlier="created_at")} '
                   f'WHERE "first_response_at" IS NOT NULL OR "closed_at" IS NOT NULL')
    migrator.migrate(
        migrator.add_index("ticket", ("creator_id", "first_response_seconds", "created_at"), False),
        migrator.add_index("ticket", ("creator_id", "resolution_seconds", "created_at"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("ticket", "ticket_creator_id_first_response_seconds_created_at"),
        migrator.drop_index("ticket", "ticket_creator_id_resolution_seconds_created_at"),
        migrator.drop_column("ticket", "first_response_seconds"),
        migrator.drop_column("ticket", "resolution_seconds"),
    )
