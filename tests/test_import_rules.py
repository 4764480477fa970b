"""The layers' import rules, read from the source of every module (``docs/architecture.md``).

``formbuilder`` turns documents into validators and WTForms classes: no Flask,
no database, nothing of ours above it. ``workflows`` holds the rules: it never
imports a view (``web``, ``api``, ``admin``) or the app. Views ask
``workflows`` to write: they call no write method on a model class, and no
``save()`` / ``delete_instance()`` on anything (a model instance), but on the few
receivers ``NOT_MODELS`` names. Function-level imports count like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ("web", "api", "admin")
WRITES = frozenset({"create", "insert", "insert_many", "insert_from", "update", "delete", "save", "delete_instance",
                    "replace", "replace_many", "bulk_create", "bulk_update", "get_or_create"})

INSTANCE_WRITES = frozenset({"save", "delete_instance"})

#: Model writes views still make, each with why; the list may only shrink (a stale entry fails).
ALLOWED_WRITES: dict[tuple[str, str], str] = {}

#: Receivers of ``.save(...)`` in views that are not models, each with what it is; a stale entry fails.
NOT_MODELS = {
    ("web/exports.py", "book"): "an openpyxl Workbook written to the response",
    ("web/reports.py", "book"): "an openpyxl Workbook written to the response",
}


def source_files(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module ``from X import ...`` names, relative forms resolved against ``module``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def imports(tree: ast.AST, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) of every import anywhere in ``tree``; ``from a import b`` yields ``a`` and ``a.b``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_package)
            yield node.lineno, target
            yield from ((node.lineno, f"{target}.{alias.name}" if target else alias.name) for alias in node.names)


def model_writes(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, "Model.method") of each write method called on a class imported from ``workflows.storage.models``."""
    models = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and node.module == "workflows.storage.models" for alias in node.names}
    for node in ast.walk(tree):
        call = node.func if isinstance(node, ast.Call) else None
        if isinstance(call, ast.Attribute) and call.attr in WRITES and isinstance(call.value, ast.Name) \
                and call.value.id in models:
            yield node.lineno, f"{call.value.id}.{call.attr}"


def instance_writes(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, receiver) of each ``X.save(...)`` / ``X.delete_instance(...)``, X not an imported module or class.

    A view holds model instances it read; writing one is the write of a model. Calls on imported names
    (``dictedit.save(...)``, a workflows module) are asks, not writes.
    """
    imported = {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    for node in ast.walk(tree):
        call = node.func if isinstance(node, ast.Call) else None
        if isinstance(call, ast.Attribute) and call.attr in INSTANCE_WRITES \
                and not (isinstance(call.value, ast.Name) and call.value.id in imported):
            yield node.lineno, ast.unparse(call.value)


def parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def formbuilder_may_not(name: str) -> bool:
    top = name.split(".")[0]
    return top in ("flask", "peewee", "playhouse", "workflows", "app", *VIEWS) or top.startswith("flask_")


def workflows_may_not(name: str) -> bool:
    return name.split(".")[0] in ("app", *VIEWS)


def breaches(package: str, forbidden) -> list[str]:
    found = []
    for path in source_files(package):
        module = module_name(path)
        for line, name in imports(parsed(path), module, path.name == "__init__.py"):
            if forbidden(name):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return sorted(set(found))


def test_formbuilder_imports_no_flask_no_database_and_nothing_of_ours_above_it():
    assert breaches("formbuilder", formbuilder_may_not) == []


def test_workflows_imports_no_view_and_not_the_app():
    assert breaches("workflows", workflows_may_not) == []


def in_views(finder) -> dict[tuple[str, str], list[int]]:
    """{(view module, what ``finder`` names): lines} over every view module."""
    found: dict[tuple[str, str], list[int]] = {}
    for path in source_files(*VIEWS):
        for line, what in finder(parsed(path)):
            found.setdefault((str(path.relative_to(ROOT)), what), []).append(line)
    return found


def view_writes() -> dict[tuple[str, str], list[int]]:
    return in_views(model_writes)


def test_views_write_models_only_through_workflows():
    unexpected = {key: lines for key, lines in view_writes().items() if key not in ALLOWED_WRITES}
    assert unexpected == {}


def test_the_allowed_view_writes_still_exist_so_the_list_only_shrinks():
    assert sorted(set(ALLOWED_WRITES) - set(view_writes())) == []


def view_instance_writes() -> dict[tuple[str, str], list[int]]:
    return in_views(instance_writes)


def test_views_save_and_delete_no_model_instance():
    unexpected = {key: lines for key, lines in view_instance_writes().items() if key not in NOT_MODELS}
    assert unexpected == {}, "ask a workflows function to write (one transaction with its audit entry)"


def test_the_receivers_known_not_to_be_models_still_exist():
    assert sorted(set(NOT_MODELS) - set(view_instance_writes())) == []


@pytest.mark.parametrize(("source", "module", "found"), [
    ("import flask", "formbuilder.forms", True),
    ("from flask_babel import gettext", "formbuilder.forms", True),
    ("def f():\n    from peewee import fn", "formbuilder.forms", True),
    ("from ..workflows import models", "formbuilder.forms", True),
    ("from wtforms import Form", "formbuilder.forms", False),
    ("from . import messages", "formbuilder.forms", False),
    ("from .messages import N_", "formbuilder", False),
])
def test_the_formbuilder_rule_sees_every_form_of_import(source, module, found):
    names = [name for _, name in imports(ast.parse(source), module, module == "formbuilder")]
    assert any(map(formbuilder_may_not, names)) is found, names


@pytest.mark.parametrize(("source", "found"), [
    ("def cli():\n    from web.common.i18n import cli_gettext", True),
    ("import api.collab", True),
    ("from admin import audit", True),
    ("from .. import web", True),
    ("from .models import Ticket", False),
    ("from webhooks import x", False),
])
def test_the_workflows_rule_sees_function_level_and_relative_imports(source, found):
    names = [name for _, name in imports(ast.parse(source), "workflows.cli")]
    assert any(map(workflows_may_not, names)) is found, names


@pytest.mark.parametrize(("source", "writes"), [
    ("from workflows.storage.models import Ticket\nTicket.create(number='1')", ["Ticket.create"]),
    ("from workflows.storage.models import Tag as T\ndef f():\n    T.delete().where(T.id == 1).execute()",
     ["T.delete"]),
    ("from workflows.storage.models import Ticket\nTicket.select().where(Ticket.id == 1)", []),
    ("from workflows import engine\nengine.create(user, 'p', {})", []),
    ("text = 'a'.replace('a', 'b')", []),
])
def test_the_view_rule_finds_writes_on_model_classes(source, writes):
    assert [write for _, write in model_writes(ast.parse(source))] == writes


@pytest.mark.parametrize(("source", "receivers"), [
    ("def f(rule):\n    rule.save()", ["rule"]),
    ("def f(self):\n    self.endpoint.delete_instance()", ["self.endpoint"]),
    ("from workflows.storage.models import Tag\nTag.get(Tag.id == 1).save()", ["Tag.get(Tag.id == 1)"]),
    ("from workflows.processes import dictedit\ndictedit.save('c', {}, None, 'x')", []),
    ("form.populate_obj(row)", []),
])
def test_the_view_rule_finds_saves_on_instances(source, receivers):
    assert [receiver for _, receiver in instance_writes(ast.parse(source))] == receivers


def test_views_write_no_audit_entry_themselves():
    """The audit entry of a change is written by the workflows function that makes it, in its transaction."""
    found = [f"{path.relative_to(ROOT)}:{line}" for path in source_files(*VIEWS)
             for line, name in imports(parsed(path), module_name(path), path.name == "__init__.py")
             if name == "workflows.storage.audit"]
    assert found == []
