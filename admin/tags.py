"""Tags in the admin (``/admin/tags/``): the managed tags with their colours, and whether users may make up tags.

The rules live in ``workflows.tickets.tags`` (names unique whatever their case, colours
``#rrggbb``, a tag a ticket holds is never deleted); each change is one
transaction with its audit entry. Access is decided by the admin package's
AdminOnly mixin.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import SQL, fn
from wtforms import BooleanField, ColorField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from workflows.storage.models import Tag, TicketTag
from workflows.tickets import tags
from workflows.tickets.errors import Conflict, Invalid

from .common import number

COLOR_MESSAGE = _l("Enter a colour as #rrggbb, e.g. #d9534f.")


class TagForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=tags.NAME_LENGTH)])
    color = ColorField(_l("Colour"), default=tags.DEFAULT_COLOR,
                       validators=[DataRequired(), Regexp(r"^#[0-9a-fA-F]{6}$", message=COLOR_MESSAGE)])


class FreeTagsForm(FlaskForm):
    free = BooleanField(_l("Users may add tags of their own (free tags) to tickets"))


def stored(tag_id: str) -> Tag:
    return Tag.get_or_none(Tag.id == number(tag_id)) or abort(404)


def usage() -> dict[int, int]:
    """How many tickets hold each tag, in one grouped query."""
    rows = TicketTag.select(TicketTag.tag, fn.COUNT(SQL("*"))).group_by(TicketTag.tag).tuples()
    return dict(rows)


def show_errors(form: TagForm, error: Invalid) -> None:
    """The engine's field messages, shown at the form's fields."""
    for name, messages in error.fields.items():
        field = getattr(form, name if name in ("name", "color") else "name")
        field.errors = [*field.errors, *(m.render(gettext) for m in messages)]


class TagsView(BaseView):
    @expose("/")
    def index(self):
        return self._list(TagForm(formdata=None))

    def _list(self, form: TagForm, status: int = 200):
        rows = list(Tag.select().order_by(Tag.managed.desc(), Tag.name))
        free = FreeTagsForm(formdata=None, data={"free": tags.free_allowed()})
        return self.render("admin/tags.html", rows=rows, counts=usage(), form=form, free_form=free, tag=None,
                           badge=tags.badge), status

    @expose("/new", methods=("POST",))
    def new(self):
        form = TagForm()
        if not form.validate_on_submit():
            return self._list(form, 422)
        try:
            tag = tags.create_tag(current_user.user, form.name.data, form.color.data)
        except Invalid as error:
            show_errors(form, error)
            return self._list(form, 422)
        flash(gettext("Tag %(name)s created.", name=tag.name), "success")
        return redirect(url_for(".index"))

    @expose("/<tag_id>/", methods=("GET", "POST"))
    def edit(self, tag_id: str):
        tag = stored(tag_id)
        form = TagForm(formdata=None, obj=tag) if request.method == "GET" else TagForm()
        if request.method == "GET":
            return self._page(tag, form)
        if not form.validate_on_submit():
            return self._page(tag, form, 422)
        try:
            tags.update_tag(current_user.user, tag, form.name.data, form.color.data)
        except Invalid as error:
            show_errors(form, error)
            return self._page(tag, form, 422)
        flash(gettext("Tag %(name)s saved.", name=tag.name), "success")
        return redirect(url_for(".index"))

    def _page(self, tag: Tag, form: TagForm, status: int = 200):
        return self.render("admin/tags.html", tag=tag, form=form, used=tags.in_use(tag), badge=tags.badge), status

    @expose("/<tag_id>/delete", methods=("POST",))
    def delete(self, tag_id: str):
        tag = stored(tag_id)  # the CSRF token is checked by CSRFProtect, as on every POST
        try:
            tags.delete_tag(current_user.user, tag)
        except Conflict as error:
            flash(error.msg.render(gettext), "danger")
            return redirect(url_for(".edit", tag_id=tag.id))
        flash(gettext("Tag %(name)s deleted.", name=tag.name), "success")
        return redirect(url_for(".index"))

    @expose("/free", methods=("POST",))
    def free(self):
        form = FreeTagsForm()
        tags.set_free(current_user.user, bool(form.free.data))
        flash(gettext("Free tags are allowed.") if form.free.data else gettext("Free tags are not allowed."),
              "success")
        return redirect(url_for(".index"))
