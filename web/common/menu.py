"""The main menu's entries (``templates/base.html``): each asks the rule that guards its page.

The rules live in ``workflows``; the template only shows what this returns,
so a role never appears in a template.
"""

from __future__ import annotations

from flask_login import current_user

from workflows.kb import articles
from workflows.reporting.reports import can_view_reports
from workflows.tickets.access import is_admin, may_create


def entries() -> dict[str, bool]:
    """Which guarded entries the signed-in user may open (none when anonymous)."""
    if not current_user.is_authenticated:
        return {}
    user = current_user.user
    return {"register_call": may_create(user), "reports": can_view_reports(user), "admin": is_admin(user),
            "kb": articles.is_staff(user)}


def init_app(app) -> None:
    """``lz_menu()`` in templates: a function, so only pages that draw the menu ask."""
    app.jinja_env.globals["lz_menu"] = entries
