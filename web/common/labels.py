"""Labels of the fixed codes tickets carry (channels, priorities, statuses), in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from workflows.intake.channels import CODES
from workflows.tickets.engine import PRIORITIES as PRIORITY_CODES

_CHANNEL_NAMES = {"phone": _l("Phone"), "online": _l("Online chat"), "form": _l("Web form"), "email": _l("E-mail"),
                  "api": _l("API")}
_PRIORITY_NAMES = {"urgent": _l("Urgent"), "high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
#: In the engine's order; a code the engine adds without a name here fails at import, not on a page.
CHANNELS = {code: _CHANNEL_NAMES[code] for code in CODES}
PRIORITIES = {code: _PRIORITY_NAMES[code] for code in PRIORITY_CODES}
#: A ticket's status as lists, exports and the progress page name it (pending: waiting, docs/pending.md).
STATUSES = {"open": _l("Open"), "pending": _l("Pending"), "closed": _l("Closed")}
