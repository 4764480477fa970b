"""``flask --app app search reindex``: rebuild the search index from the tickets (docs/search.md).

The subscriber keeps the index in step with every action; this is for after a bulk import
done beside the engine, a restore of an old backup, or a change of the tokeniser. Each
batch is its own transaction, so a long run never holds the database, and only parts
whose terms changed are rewritten: a second run writes nothing.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from workflows.search import index
from workflows.storage import db
from workflows.storage.models import Ticket

search_cli = AppGroup("search", help="Full-text search index.")


@search_cli.command("reindex")
@click.option("--batch", default=2000, show_default=True, help="Tickets per transaction.")
def reindex(batch):
    """Bring every ticket's index rows up to date; prints how many parts were written."""
    written, last, tickets = 0, 0, 0
    with db.database.connection_context():
        while True:
            ids = [i for (i,) in Ticket.select(Ticket.id).where(Ticket.id > last).order_by(Ticket.id)
                   .limit(batch).tuples()]
            if not ids:
                break
            with db.database.atomic():
                written += index.reindex(ids)
            tickets, last = tickets + len(ids), ids[-1]
    click.echo(f"{tickets} tickets, {written} index parts written")
