"""Tags on tickets (退款, BUG, 投诉): admin-managed ones with colours, free ones when the admin allows.

Adding or removing a tag is a ticket change like any other: the actor's right is
checked here (not in a view), and each change leaves a ``tag`` event in the
ticket's history, naming the automation rule that made it, if any. Every write
joins the caller's transaction, so a rule's tag rolls back with the action that
triggered it.
"""

from __future__ import annotations

import re

from peewee import IntegrityError, fn

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.storage import audit, settings
from workflows.storage.db import database
from workflows.storage.models import Tag, Ticket, TicketEvent, TicketTag, User
from workflows.storage.prepared import Prepared
from workflows.tickets.access import can_act, oversees
from workflows.tickets.errors import Conflict, Forbidden, Invalid

NAME_LENGTH = 32
DEFAULT_COLOR = "#6c757d"
COLOR = re.compile(r"#[0-9a-f]{6}")


def valid_color(text: str | None) -> str | None:
    """``#rrggbb`` in lower case, or None: only this shape ever reaches a style attribute."""
    color = (text or "").strip().lower()
    return color if COLOR.fullmatch(color) else None


def text_color(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (WCAG relative luminance)."""
    color = valid_color(background) or DEFAULT_COLOR
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def badge(tag: Tag) -> dict:
    """What a page needs to draw a tag; the colour is checked again, whatever the row holds."""
    color = valid_color(tag.color) or DEFAULT_COLOR
    return {"name": tag.name, "color": color, "text": text_color(color), "managed": tag.managed}


def clean_name(name: str | None) -> str:
    """The name with its whitespace tidied; Invalid (field ``tag``) when empty or too long."""
    text = " ".join((name or "").split())
    if not text:
        raise _invalid(N_("Enter a tag."))
    if len(text) > NAME_LENGTH:
        raise _invalid(N_("A tag has at most 32 characters."))
    return text


def _invalid(msgid: str) -> Invalid:
    return Invalid(Msg(N_("Nothing was saved: see the fields.")), {"tag": [Msg(msgid)]})


def may_tag(actor: User | None, ticket: Ticket) -> bool:
    """Whoever may act on the ticket or oversees it (its handler, or its creator once no one handles it)."""
    if actor is None:
        return False
    if can_act(actor, ticket) or oversees(actor, ticket.assignee_id):
        return True
    return ticket.assignee_id is None and oversees(actor, ticket.creator_id)


def _check(actor: User | None, ticket: Ticket, rule: str | None) -> None:
    """A rule's change carries the authority of the admin who wrote the rule, not of the triggering user."""
    if rule is None and not may_tag(actor, ticket):
        raise Forbidden(Msg(N_("You may not change the tags of this ticket.")))


def free_allowed() -> bool:
    return bool(settings.get(settings.FREE_TAGS, False))


def find(name: str) -> Tag | None:
    """The tag of that name, whatever its letter case: "bug" is the admin's "BUG"."""
    return Tag.get_or_none(fn.LOWER(Tag.name) == name.lower())


def _tag_for(name: str) -> Tag:
    """The tag named ``name``; a new free tag when the admin allows them, else Invalid."""
    tag = find(name)
    if tag is not None:
        return tag
    if not free_allowed():
        raise _invalid(N_("No such tag: choose one of the list."))
    try:
        with database.atomic():
            return Tag.create(name=name, color=DEFAULT_COLOR, managed=False)
    except IntegrityError:  # made by someone else meanwhile
        return Tag.get(Tag.name == name)


def _event(ticket: Ticket, actor: User | None, sign: str, name: str, rule: str | None) -> None:
    change = {"added": name} if sign == "+" else {"removed": name}
    TicketEvent.create(ticket=ticket, action="tag", actor=actor, comment=f"{sign}{name}",
                       diff={"tag": {**change, "rule": rule}})


def add(ticket: Ticket, name: str, actor: User | None, *, rule: str | None = None) -> bool:
    """Tag the ticket; False when it already holds the tag. ``rule``: the automation rule's name, if one did it."""
    _check(actor, ticket, rule)
    name = clean_name(name)
    with database.atomic():
        tag = _tag_for(name)
        if TicketTag.select().where(TicketTag.ticket == ticket, TicketTag.tag == tag).exists():
            return False
        try:
            with database.atomic():
                TicketTag.create(ticket=ticket, tag=tag)
        except IntegrityError:  # tagged by someone else meanwhile
            return False
        _event(ticket, actor, "+", tag.name, rule)
    return True


def remove(ticket: Ticket, name: str, actor: User | None, *, rule: str | None = None) -> bool:
    """Untag the ticket; False when it did not hold the tag. A free tag stays for the admin to tidy."""
    _check(actor, ticket, rule)
    name = " ".join((name or "").split())
    with database.atomic():
        tag = find(name)
        if tag is None:
            return False
        if not TicketTag.delete().where(TicketTag.ticket == ticket, TicketTag.tag == tag).execute():
            return False
        _event(ticket, actor, "-", tag.name, rule)
    return True


_HELD = Prepared(lambda ticket_id: Tag.select().join(TicketTag).where(TicketTag.ticket == ticket_id)
                 .order_by(Tag.name), int)  # the ticket page and the engine's conditions: text built once
_MANAGED = Prepared(lambda: Tag.select().where(Tag.managed == True).order_by(Tag.name))  # noqa: E712


def held(ticket: Ticket) -> list[Tag]:
    return _HELD.rows(ticket.id)


def names(ticket: Ticket) -> list[str]:
    """The ticket's tags by name, sorted: what automation conditions and the API read."""
    return [tag.name for tag in held(ticket)]


def managed() -> list[Tag]:
    """The admin's tags, for the ticket page's suggestions and the filter menus."""
    return _MANAGED.rows()


def tag_condition(wanted: list[str] | str):
    """Tickets holding any of the tags named ``wanted``: a subquery the (tag, ticket) index serves."""
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    holders = TicketTag.select(TicketTag.ticket).join(Tag).where(Tag.name.in_(wanted))
    return Ticket.id.in_(holders)


def tag_filter(query, wanted: list[str] | str | None):
    """``query`` (over ``ticket``) narrowed to tickets holding any of the tags; unchanged for none."""
    if not wanted:
        return query
    return query.where(tag_condition(wanted))


# The admin's side: managed tags and the free-tags switch, each change audited in its transaction.

def snapshot(tag: Tag) -> dict:
    return {"name": tag.name, "color": tag.color, "managed": tag.managed}


def _unique(name: str, tag_id: int | None = None) -> None:
    query = Tag.select().where(fn.LOWER(Tag.name) == name.lower())
    if tag_id is not None:
        query = query.where(Tag.id != tag_id)
    if query.exists():
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")), {"name": [Msg(N_("This tag exists already."))]})


def _color(text: str | None) -> str:
    color = valid_color(text)
    if color is None:
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")),
                      {"color": [Msg(N_("Enter a colour as #rrggbb, e.g. #d9534f."))]})
    return color


def create_tag(actor: User, name: str, color: str) -> Tag:
    """A managed tag; Invalid for a taken name or a colour not shaped #rrggbb."""
    name, color = clean_name(name), _color(color)
    with database.atomic():
        _unique(name)
        tag = Tag.create(name=name, color=color, managed=True)
        audit.record(actor, "tag.create", f"tag:{tag.id}", None, snapshot(tag))
    return tag


def update_tag(actor: User, tag: Tag, name: str, color: str) -> Tag:
    """Rename or recolour a tag; saving a free tag makes it a managed one (the admin adopted it)."""
    name, color = clean_name(name), _color(color)
    with database.atomic():
        _unique(name, tag.id)
        before = snapshot(tag)
        tag.name, tag.color, tag.managed = name, color, True
        tag.save()
        audit.record(actor, "tag.update", f"tag:{tag.id}", before, snapshot(tag))
    return tag


def in_use(tag: Tag) -> int:
    return TicketTag.select().where(TicketTag.tag == tag).count()


def delete_tag(actor: User, tag: Tag) -> None:
    """Only an unused tag goes: a ticket's history and filters must keep meaning what they said."""
    with database.atomic():
        used = in_use(tag)
        if used:
            raise Conflict(Msg(N_("%(name)s is on %(count)s tickets: remove it from them first."),
                               {"name": tag.name, "count": used}))
        before = snapshot(tag)
        tag.delete_instance()
        audit.record(actor, "tag.delete", f"tag:{tag.id}", before, None)


def set_free(actor: User, allowed: bool) -> None:
    settings.put(settings.FREE_TAGS, bool(allowed), actor)
