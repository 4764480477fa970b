"""Several hosts for real, on one machine: two application hosts in network namespaces behind HAProxy.

Layout (one run; ``RUN`` is a random 6-hex id, ``X`` a free third octet of 10.77.0.0/16)::

    client ──▶ HAProxy 127.0.0.1:PORT ──▶ 10.77.X.11:8000  netns lzh-PID-RUN-1: gunicorn -w 2, flask worker --sla
              (root namespace)       └─▶ 10.77.X.12:8000  netns lzh-PID-RUN-2: gunicorn -w 2, flask worker --sla
                                          both ──▶ PostgreSQL via 10.77.X.1:5432 (bridge lzbRUN in the root namespace)
                                          both ──▶ one shared UPLOAD_DIR

Each host is a network namespace with its own veth and address on a bridge; what runs in it reaches
PostgreSQL over that veth. PostgreSQL on this machine listens on 127.0.0.1 only, and changing
``listen_addresses`` needs a restart that would cut every other test's connections, so HAProxy also
relays TCP from 10.77.X.1:5432 to it; a PostgreSQL that already listens on every address is reached
directly (a ``pg_hba.conf`` line for 10.77.0.0/16 is added and reloaded, idempotently).
HAProxy checks ``GET /healthz`` every 300 ms and retries a refused connection on the other host
(never a request already sent), so a dead host drops out within about a second. A check may take 3 s to
be answered: a busy host's sync workers answer it after the requests queued before it, and with
HAProxy's default (``inter``, 300 ms) load alone marked both hosts down (bench/callday.py saw 503s).

``two_hosts(database_url, uploads_dir)`` sets it all up and tears it down (namespaces deleted even
after a failure; namespaces of runs whose process died are swept first). ``Host.kill()`` SIGKILLs a
host's processes, as a power cut would. Full run: ``python -m bench.hosts --seconds 60`` (root).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.seeding import ROOT

IP = shutil.which("ip") or "/usr/sbin/ip"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
LOCK = Path(tempfile.gettempdir()) / "lz_hosts.lock"
APP_PORT = 8000
SUBNET = "10.77.0.0/16"


@dataclass
class Host:
    """One application host: its namespace, address and processes (gunicorn master, background worker)."""

    name: str
    netns: str
    address: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def kill(self) -> None:
        """SIGKILL every process of this host at once (each is its own process group), as a power cut would."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            process.wait()

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)


@dataclass
class Site:
    """What ``two_hosts`` yields: the balancer's URL, the hosts, and HAProxy's view of them."""

    front: str
    hosts: list[Host]
    workdir: Path

    def states(self) -> dict[str, str]:
        """HAProxy's status of each server (``UP``, ``DOWN``, ...), from its stats socket."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.workdir / "haproxy.sock"))
            sock.sendall(b"show stat\n")
            text = b"".join(iter(lambda: sock.recv(65536), b"")).decode()
        rows = [line.split(",") for line in text.splitlines() if line.startswith("app,")]
        return {row[1]: row[17] for row in rows if row[1] not in ("FRONTEND", "BACKEND")}


def run(*args: str) -> None:
    """An ``ip`` command that must work (root, iproute2); its error text in the exception if not."""
    done = subprocess.run([IP, *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()} (bench/hosts.py needs root and iproute2)")


def ip_quiet(*args: str) -> None:
    """An ``ip`` command whose failure (already gone) does not matter: teardown goes on."""
    subprocess.run([IP, *args], capture_output=True, text=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def sweep_stale() -> None:
    """Clear what runs whose process died without its teardown left: the processes in their namespaces,
    the namespaces, their HAProxy (its pid file in the run's directory), then bridges left with no port."""
    names = subprocess.run([IP, "netns", "list"], capture_output=True, text=True).stdout.split()
    for name in names:
        found = re.fullmatch(r"lzh-(\d+)-[0-9a-f]+-\d", name)
        if found and not _pid_alive(int(found.group(1))):
            pids = subprocess.run([IP, "netns", "pids", name], capture_output=True, text=True).stdout.split()
            _kill_pids([int(pid) for pid in pids])
            ip_quiet("netns", "del", name)
    for pidfile in Path(tempfile.gettempdir()).glob("lz_hosts_*_*/haproxy.pid"):
        owner = re.match(r"lz_hosts_(\d+)_", pidfile.parent.name)
        if owner and not _pid_alive(int(owner.group(1))):
            _kill_pids([int(pid) for pid in pidfile.read_text().split()])
            shutil.rmtree(pidfile.parent, ignore_errors=True)
    bridges = subprocess.run([IP, "-o", "link", "show", "type", "bridge"], capture_output=True, text=True).stdout
    for bridge in re.findall(r"^\d+: (lzb[0-9a-f]{6})[:@]", bridges, re.M):
        ports = subprocess.run([IP, "-o", "link", "show", "master", bridge], capture_output=True, text=True)
        if not ports.stdout.strip():
            ip_quiet("link", "del", bridge)


def free_octet() -> int:
    """A third octet X such that no interface holds an address in 10.77.X.0/24."""
    used = subprocess.run([IP, "-o", "-4", "addr"], capture_output=True, text=True).stdout
    taken = {int(x) for x in re.findall(r"inet 10\.77\.(\d+)\.", used)}
    return next(x for x in range(1, 255) if x not in taken)


def make_network(run_id: str, count: int, hosts: list[Host]) -> str:
    """Bridge ``lzbRUN`` (10.77.X.1/24) and ``count`` namespaces, each on a veth with 10.77.X.(10+i), put
    into ``hosts`` as soon as each exists (so a failure half-way still tears down what was made)."""
    with open(LOCK, "w") as lock:  # parallel runs: pick the subnet and claim it under one lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        sweep_stale()
        octet, bridge = free_octet(), f"lzb{run_id}"
        run("link", "add", bridge, "type", "bridge")
        run("addr", "add", f"10.77.{octet}.1/24", "dev", bridge)
        run("link", "set", bridge, "up")
        for index in range(1, count + 1):
            _make_host(run_id, bridge, octet, index, hosts)
    return f"10.77.{octet}.1"


def _make_host(run_id: str, bridge: str, octet: int, index: int, hosts: list[Host]) -> None:
    netns, outer, inner = f"lzh-{os.getpid()}-{run_id}-{index}", f"lzv{run_id}a{index}", f"lzv{run_id}b{index}"
    address = f"10.77.{octet}.{10 + index}"
    run("netns", "add", netns)
    hosts.append(Host(f"host{index}", netns, address))
    run("link", "add", outer, "type", "veth", "peer", "name", inner)
    run("link", "set", inner, "netns", netns)
    run("link", "set", outer, "master", bridge, "up")
    for args in (("addr", "add", f"{address}/24", "dev", inner), ("link", "set", inner, "up"),
                 ("link", "set", "lo", "up")):
        run("netns", "exec", netns, IP, *args)


def drop_network(run_id: str, hosts: list[Host]) -> None:
    """Delete the namespaces (their veths go with them) and the bridge; nothing here may raise."""
    for index, host in enumerate(hosts, 1):
        ip_quiet("netns", "del", host.netns)
        ip_quiet("link", "del", f"lzv{run_id}a{index}")  # only there if its peer never reached the namespace
    ip_quiet("link", "del", f"lzb{run_id}")


def _sql(url: str, statement: str) -> str:
    import psycopg
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(statement).fetchone()
    return "" if row is None or row[0] is None else str(row[0])


def allow_subnet(url: str) -> None:
    """Let 10.77.0.0/16 in (trust, like this machine's 127.0.0.1 line): one ``pg_hba.conf`` line, reloaded."""
    hba = Path(_sql(url, "SHOW hba_file"))
    line = f"host all all {SUBNET} trust"
    if line not in hba.read_text():
        with hba.open("a") as out:
            out.write(f"\n# Liuzhuan bench/hosts.py: application hosts in network namespaces\n{line}\n")
        _sql(url, "SELECT pg_reload_conf()")


def database_route(url: str, gateway: str) -> tuple[str, str | None]:
    """The URL the hosts use (PostgreSQL at ``gateway``) and the ``host:port`` HAProxy relays to, if any."""
    parts = urlsplit(url)
    port = parts.port or 5432
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    hosts_url = urlunsplit(parts._replace(netloc=f"{userinfo}{gateway}:{port}"))
    listening = {part.strip() for part in _sql(url, "SHOW listen_addresses").split(",")}
    if listening & {"*", "0.0.0.0", gateway}:
        allow_subnet(url)
        return hosts_url, None
    return hosts_url, f"{parts.hostname}:{port}"


def haproxy_config(workdir: Path, port: int, hosts: list[Host], relay: tuple[str, str] | None) -> Path:
    """The balancer (HTTP, health checks on /healthz, retry a refused connect elsewhere) and the DB relay."""
    servers = "".join(f"    server {h.name} {h.address}:{APP_PORT} check\n" for h in hosts)
    text = f"""global
    maxconn 1024
    stats socket {workdir}/haproxy.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 3s
    retries 3
    option redispatch 1
frontend front
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend app
backend app
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 300ms fastinter 300ms downinter 1s fall 2 rise 2
{servers}"""
    if relay:
        text += f"""listen postgres
    mode tcp
    bind {relay[0]}
    timeout client 1h
    timeout server 1h
    server db {relay[1]}
"""
    (workdir / "haproxy.cfg").write_text(text)
    return workdir / "haproxy.cfg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A process in its own process group (so a kill reaches its children), its output in ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def start_host(host: Host, env: dict[str, str], workdir: Path, workers: int) -> None:
    """gunicorn (``workers`` sync workers) and the background worker, both inside the host's namespace."""
    inside = [IP, "netns", "exec", host.netns, sys.executable, "-m"]
    commands = {"gunicorn": ["gunicorn", "-w", str(workers), "-b", f"{host.address}:{APP_PORT}", "--timeout", "30",
                             "--log-level", "warning", "app:create_app()"],
                "worker": ["flask", "--app", "app", "worker", "--sla"]}
    for kind, command in commands.items():
        log = workdir / f"{host.name}-{kind}.log"
        host.logs.append(log)
        host.processes.append(spawn(inside + command, log, env))


def start_balancer(workdir: Path, port: int, hosts: list[Host], relay: tuple[str, str] | None) -> subprocess.Popen:
    """HAProxy in the foreground (``-db``), not the system service: its config, pid file and log in ``workdir``."""
    config = haproxy_config(workdir, port, hosts, relay)
    return spawn([HAPROXY, "-db", "-p", str(workdir / "haproxy.pid"), "-f", str(config)], workdir / "haproxy.log")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
            return


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_ready(site: Site, seconds: float = 90) -> None:
    """Until every host answers /healthz itself and HAProxy has marked every server UP."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for host in site.hosts:
            if not host.alive():
                raise RuntimeError(f"{host.name} exited during start: see {host.logs}")
        healthy = all(answers(f"http://{h.address}:{APP_PORT}/healthz") for h in site.hosts)
        if healthy and set(site.states().values()) == {"UP"}:
            return
        time.sleep(0.3)
    raise RuntimeError(f"the hosts were not ready within {seconds:.0f} s: see {site.workdir}")


@contextlib.contextmanager
def two_hosts(database_url: str, uploads_dir: str | os.PathLike, workers: int = 2,
              count: int = 2, secret: str | None = None) -> Iterator[Site]:
    """Two (``count``) hosts in namespaces behind HAProxy on one database and one uploads directory;
    ``secret`` is their SECRET_KEY (random if None; bench/callday.py signs session cookies with it)."""
    run_id, hosts = secrets.token_hex(3), []
    workdir = Path(tempfile.mkdtemp(prefix=f"lz_hosts_{os.getpid()}_{run_id}_"))
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: drop_network(run_id, hosts))
        gateway = make_network(run_id, count, hosts)
        hosts_url, relay_to = database_route(database_url, gateway)
        relay = (f"{gateway}:{urlsplit(hosts_url).port}", relay_to) if relay_to else None
        port = free_port()
        stack.callback(stop, start_balancer(workdir, port, hosts, relay))
        env = {**os.environ, "DATABASE_URL": hosts_url, "UPLOAD_DIR": str(uploads_dir),
               "SECRET_KEY": secret or secrets.token_hex(32), "TRUSTED_PROXIES": "1", "DB_POOL_SIZE": "4"}
        for host in hosts:
            stack.callback(host.kill)
            start_host(host, env, workdir, workers)
        site = Site(f"http://127.0.0.1:{port}", hosts, workdir)
        wait_ready(site)
        yield site
    shutil.rmtree(workdir, ignore_errors=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.hosts", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="load duration; host1 is killed at a third")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """A fresh migrated PostgreSQL database with the demo, two hosts, load through the balancer, a kill."""
    from bench import hostload
    options = parse(argv)
    result = hostload.full_run(options.seconds, options.threads)
    print(result.report())
    return 0 if result.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
