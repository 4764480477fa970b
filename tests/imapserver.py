"""A private Dovecot IMAP server on 127.0.0.1 for the IMAP intake tests (``imap_server`` fixture).

Each test gets its own instance: a config, a passwd-file (plain passwords) and Maildirs in a fresh
temporary directory, listening on a free port without TLS, run in the foreground (``dovecot -F -c``)
and terminated after the test. It never reads ``/etc/dovecot``. Missing Dovecot fails the test rather
than skipping it: CI installs ``dovecot-imapd`` (see docs/imap.md).

Use it from a test module with ``@pytest.fixture def server(): yield from imapserver.running()``
and ``server.append(raw_bytes)`` to put messages into the INBOX with IMAP APPEND.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "service@example.com", "imap-test-password"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accounts() -> tuple[str, str, int, int]:
    """Dovecot's own users when run as root (as in CI), else the current user for everything."""
    if os.geteuid() == 0:
        owner = pwd.getpwnam("dovecot")
        return "dovecot", "dovenull", owner.pw_uid, owner.pw_gid
    me = pwd.getpwuid(os.getuid()).pw_name
    return me, me, os.getuid(), os.getgid()


@dataclass
class ImapServer:
    """A running private Dovecot: where to connect, and helpers to fill and inspect its INBOX."""

    host: str
    port: int
    root: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    username: str = USER
    password: str = PASSWORD

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.username, self.password)
        return client

    def append(self, *raws: bytes, folder: str = "INBOX") -> None:
        """Put messages in ``folder`` (unseen), in order, as a mail server's delivery would."""
        client = self.connect()
        try:
            for raw in raws:
                status, data = client.append(folder, None, None, raw)
                assert status == "OK", data
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[set[str]]:
        """The flags of each message in ``folder``, in order."""
        client = self.connect()
        try:
            client.select(folder, readonly=True)
            status, data = client.fetch("1:*", "(FLAGS)")
            if status != "OK" or data == [None]:
                return []
            return [{flag.decode() for flag in imaplib.ParseFlags(item)} for item in data if item]
        except imaplib.IMAP4.error:
            return []
        finally:
            client.logout()

    def create_folder(self, name: str) -> None:
        client = self.connect()
        try:
            client.create(name)
        finally:
            client.logout()


def _wait_listening(server: ImapServer, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with socket.create_connection((server.host, server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    log = server.root / "dovecot.log"
    raise RuntimeError(f"dovecot did not start: {log.read_text() if log.exists() else 'no log'}")


def start(root: Path) -> ImapServer:
    """Write the config and passwd-file under ``root`` and start Dovecot in the foreground."""
    if not os.path.exists(DOVECOT):
        pytest.fail("Dovecot is not installed: apt-get install -y dovecot-imapd (the IMAP tests need it)")
    internal, login, uid, gid = _accounts()
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True)
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        os.chown(root / "mail", uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    server = ImapServer("127.0.0.1", free_port(), root)
    conf = root / "dovecot.conf"
    conf.write_text(CONFIG.format(root=root, internal=internal, login=login, uid=uid, gid=gid, port=server.port))
    server.process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.STDOUT)
    _wait_listening(server, time.monotonic() + 15)
    return server


def stop(server: ImapServer) -> None:
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def running():
    """A fresh private Dovecot, stopped and removed after use: ``yield from running()`` in a fixture."""
    root = Path(tempfile.mkdtemp(prefix="lz-dovecot-"))
    server = start(root)
    try:
        yield server
    finally:
        stop(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_server():
    """A fresh private Dovecot for one test (for modules that import this fixture by name)."""
    yield from running()
