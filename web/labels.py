"""Labels of the fixed codes tickets carry (channels, priorities), in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNELS = {"phone": _l("Phone"), "online": _l("Online chat"), "form": _l("Web form"), "email": _l("E-mail"),
            "api": _l("API")}
PRIORITIES = {"urgent": _l("Urgent"), "high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
