"""Back up and restore the whole database (``flask --app app backup PATH`` / ``restore PATH --yes``).

SQLite is copied with its online backup API, a consistent snapshot taken while
the app keeps writing (in WAL mode readers never block writers); PostgreSQL
with ``pg_dump --format=custom`` (an MVCC snapshot, equally online) and
``pg_restore`` in one transaction. Attachments are files under UPLOAD_DIR, not
rows: ``--uploads`` also writes them to ``PATH.uploads.tar.gz``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from formbuilder.messages import N_, Msg
from workflows.i18n import cli_gettext
from workflows.storage import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
HISTORY_TABLE = "schema_migration"  # every Liuzhuan database has it (playhouse.migrations.Runner)


class BackupError(Exception):
    """A backup or restore was refused or failed; ``msg`` says why, translatable."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def database_kind(url: str) -> str:
    """'sqlite' or 'postgresql', from a DATABASE_URL."""
    return "sqlite" if url.startswith("sqlite:///") else "postgresql"


def file_kind(path: str) -> str | None:
    """What a backup file holds, from its first bytes: 'sqlite', 'postgresql' or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as error:
        detail = {"path": path, "detail": error.strerror}
        raise BackupError(Msg(N_("cannot read %(path)s: %(detail)s"), detail)) from error
    if head == SQLITE_MAGIC:
        return "sqlite"
    return "postgresql" if head.startswith(PG_MAGIC) else None


def sqlite_path(url: str, root: str | os.PathLike = ".") -> str:
    """The file of a ``sqlite:///`` URL, resolved as ``db.make_database`` does."""
    path = url[len("sqlite:///"):]
    if path == ":memory:":
        raise BackupError(Msg(N_("an in-memory database cannot be backed up or restored")))
    return os.path.join(root, path)


def backup(url: str, root: str | os.PathLike, path: str) -> str:
    """Write a consistent copy of the database to ``path``; returns its kind."""
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise BackupError(Msg(N_("no such directory for %(path)s"), {"path": path}))
    partial = path + ".part"  # a failed run never leaves a truncated file under the real name
    try:
        if database_kind(url) == "sqlite":
            _sqlite_backup(sqlite_path(url, root), partial)
        else:
            _pg_dump(url, partial)
        os.replace(partial, path)
    except sqlite3.Error as error:
        raise BackupError(Msg(N_("SQLite failed: %(detail)s"), {"detail": str(error)})) from error
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return database_kind(url)


def _sqlite_backup(live: str, target: str) -> None:
    """Copy ``live`` page by page while others write, then make the copy one self-contained file."""
    if not os.path.exists(live):
        raise BackupError(Msg(N_("database file not found: %(path)s"), {"path": live}))
    source, copy = sqlite3.connect(live, timeout=30), sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()


def _pg_dump(url: str, target: str) -> None:
    dsn, env = pg_connection(url)
    _run(["pg_dump", "--format=custom", f"--file={target}", f"--dbname={dsn}"], env)


def pg_connection(url: str) -> tuple[str, dict]:
    """A libpq conninfo without the password, and an environment that carries it (not the process list)."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    return make_conninfo(**params), env


def _run(argv: list[str], env: dict) -> str:
    """Run a PostgreSQL client tool (never through a shell); its stderr becomes the error."""
    if shutil.which(argv[0]) is None:
        raise BackupError(Msg(N_("%(tool)s not found: install the PostgreSQL client tools"), {"tool": argv[0]}))
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(Msg(N_("%(tool)s failed: %(detail)s"), {"tool": argv[0], "detail": done.stderr.strip()}))
    return done.stdout


def check_restorable(url: str, path: str) -> None:
    """Refuse a file that is not a Liuzhuan backup of this database's kind, before anything is touched."""
    found, expected = file_kind(path), database_kind(url)
    if found is None:
        raise BackupError(Msg(N_("%(path)s is not a backup (neither a SQLite file nor a pg_dump custom archive)"),
                              {"path": path}))
    if found != expected:
        raise BackupError(Msg(N_("%(path)s is a %(found)s backup, but this database is %(expected)s"),
                              {"path": path, "found": KIND_NAMES[found], "expected": KIND_NAMES[expected]}))
    if HISTORY_TABLE not in _backup_tables(url, path):
        raise BackupError(Msg(N_("%(path)s is not a Liuzhuan database (no %(table)s table)"),
                              {"path": path, "table": HISTORY_TABLE}))


def _backup_tables(url: str, path: str) -> set[str]:
    """The table names a backup file holds."""
    if database_kind(url) == "postgresql":
        listing = _run(["pg_restore", "--list", path], dict(os.environ))
        return {name for name in map(_toc_table, listing.splitlines()) if name}
    copy = _read_only(path)
    try:
        return {row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise BackupError(Msg(N_("%(path)s is damaged: %(detail)s"), {"path": path, "detail": str(error)})) from error
    finally:
        copy.close()


def _read_only(path: str) -> sqlite3.Connection:
    """A connection that cannot change the backup file (a URI, so the path is percent-encoded)."""
    return sqlite3.connect(Path(path).absolute().as_uri() + "?mode=ro", uri=True)


def _toc_table(line: str) -> str | None:
    """The table a ``pg_restore --list`` entry creates ("ID; OID OID TABLE SCHEMA NAME OWNER"), if any."""
    tokens = line.split()
    if line.startswith(";") or "TABLE" not in tokens:
        return None
    rest = tokens[tokens.index("TABLE") + 1:]
    return rest[1] if len(rest) >= 2 and rest[0] != "DATA" else None


def restore(url: str, root: str | os.PathLike, path: str) -> str:
    """Replace every row of the database with the backup's, in one transaction; returns its kind."""
    check_restorable(url, path)
    if database_kind(url) == "sqlite":
        try:
            _sqlite_restore(path, sqlite_path(url, root))
        except sqlite3.Error as error:
            raise BackupError(Msg(N_("SQLite failed: %(detail)s"), {"detail": str(error)})) from error
    else:
        dsn, env = pg_connection(url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
              f"--dbname={dsn}", path], env)
    return database_kind(url)


def _sqlite_restore(path: str, live: str) -> None:
    """Copy the backup over the live file through the backup API, so open connections see it at once."""
    source, target = _read_only(path), sqlite3.connect(live, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def uploads_archive(path: str) -> str:
    return path + ".uploads.tar.gz"


def backup_uploads(upload_dir: str, path: str) -> str:
    """Write UPLOAD_DIR's files to ``PATH.uploads.tar.gz``; returns the archive's name."""
    archive = uploads_archive(path)
    with tarfile.open(archive, "w:gz") as tar:
        if os.path.isdir(upload_dir):
            for name in sorted(os.listdir(upload_dir)):
                tar.add(os.path.join(upload_dir, name), arcname=name)
    return archive


def restore_uploads(upload_dir: str, path: str) -> str:
    """Unpack ``PATH.uploads.tar.gz`` into UPLOAD_DIR (only plain files inside it, by tarfile's data filter)."""
    archive = uploads_archive(path)
    if not os.path.exists(archive):
        raise BackupError(Msg(N_("no uploads archive %(path)s"), {"path": archive}))
    os.makedirs(upload_dir, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(upload_dir, filter="data")
    return archive


def _echo(msg: Msg, lang, err: bool = False) -> None:
    click.echo(msg.render(cli_gettext(lang)), err=err)


def _release() -> None:
    """Close this process's pooled connections, so none holds a lock or a plan on a replaced table."""
    obj = db.database.obj
    if obj is not None:
        obj.close_all() if hasattr(obj, "close_all") else obj.close()


def _fail(error: BackupError, lang) -> None:
    _echo(error.msg, lang, err=True)
    sys.exit(1)


@click.command("backup")
@click.argument("path")
@click.option("--uploads", is_flag=True, help="Also write UPLOAD_DIR's files to PATH.uploads.tar.gz.")
@click.option("--lang", default=None, help="zh or en (default: from LANG).")
@with_appcontext
def backup_command(path, uploads, lang):
    """Write a consistent copy of the database to PATH, while the app keeps running."""
    config = current_app.config
    try:
        kind = backup(config["DATABASE_URL"], current_app.root_path, path)
        _echo(Msg(N_("%(kind)s backup written to %(path)s"), {"kind": KIND_NAMES[kind], "path": path}), lang)
        if uploads:
            archive = backup_uploads(config["UPLOAD_DIR"], path)
            _echo(Msg(N_("uploads written to %(path)s"), {"path": archive}), lang)
    except BackupError as error:
        _fail(error, lang)


@click.command("restore")
@click.argument("path")
@click.option("--yes", is_flag=True, help="Confirm: every row of the database is replaced by the backup's.")
@click.option("--uploads", is_flag=True, help="Also unpack PATH.uploads.tar.gz into UPLOAD_DIR.")
@click.option("--lang", default=None, help="zh or en (default: from LANG).")
@with_appcontext
def restore_command(path, yes, uploads, lang):
    """Replace the database's contents with the backup at PATH, then migrate it to this version."""
    config = current_app.config
    try:
        check_restorable(config["DATABASE_URL"], path)
        if not yes:
            raise BackupError(Msg(N_("restore replaces every row of the database with the backup's: "
                                     "run it again with --yes to go ahead")))
        _release()
        kind = restore(config["DATABASE_URL"], current_app.root_path, path)
        _echo(Msg(N_("%(kind)s database restored from %(path)s"), {"kind": KIND_NAMES[kind], "path": path}), lang)
        applied = db.upgrade()
        if applied:
            _echo(Msg(N_("migrated: %(names)s"), {"names": ", ".join(applied)}), lang)
        if uploads:
            _echo(Msg(N_("uploads restored from %(path)s"), {"path": restore_uploads(config["UPLOAD_DIR"], path)}),
                  lang)
    except BackupError as error:
        _fail(error, lang)
