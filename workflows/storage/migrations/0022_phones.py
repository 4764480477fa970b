"""Stored phones in the canonical form of ``workflows/people/phones.py`` (issue 22, docs/phones.md).

``customer.phone`` and ``customer_phones.phone`` become E.164 (plus ``;ext=``) or, for short
and unparsable numbers, their digits; customers whose phones then meet are merged into the
oldest, one ``customer.merge`` audit entry each (``workflows/people/phonefix.py``, which
``flask --app app customers renormalize [--dry-run]`` runs too). Ticket data keeps the phones
as they were typed: it is the record of a submission, and lookups go through the customer.
"""


def up(migrator, db):
    from workflows.people import phonefix
    from workflows.storage.db import database
    from workflows.storage.models import MODELS

    if database.obj is db:
        phonefix.renormalize(write=True)
    else:  # a Runner on a database the app did not bind (a test's own file): the same, the search index aside
        with db.bind_ctx(MODELS):
            phonefix.renormalize(write=True, reindex=False)


def down(migrator, db):
    """Nothing to undo: the old spellings are gone, and the canonical form finds every one of them."""
