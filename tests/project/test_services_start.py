"""`make run` and `make test` bring up PostgreSQL and Redis on a fresh machine (issue 15, first run).

scripts/ensure_services.sh (the Makefile's `services` step) installs them from apt when missing,
creates the cluster, role and database the app needs, starts them when stopped, and otherwise
ends with one line saying what to do. These tests run it for real, on throwaway servers of their
own (a cluster and a redis-server on free ports, torn down afterwards): the shared servers on
5432 and 6379 that the rest of the suite uses are never stopped or touched. The apt branch
cannot install anything here (both are installed), so a PATH that hides the binaries and a stub
apt-get (and sudo) that record their arguments show what it would run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "ensure_services.sh"
PY_SCRIPT = REPO / "scripts" / "ensure_services.py"
PG_LIB = Path("/usr/lib/postgresql")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _env(pg_port: int, redis_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PG_CLUSTER", "PYTHON"}}
    return env | {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg_port}/casino_svc",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        **extra,
    }


def _pg_answers(port: int, user: str = "postgres", password: str = "", dbname: str = "casino_svc") -> tuple:
    with psycopg.connect(host="127.0.0.1", port=port, user=user, password=password, dbname=dbname,
                         connect_timeout=5) as conn:  # fmt: skip
        return conn.execute("SELECT current_user, current_database()").fetchone()


def _redis_answers(port: int) -> bool:
    try:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        return False


def _pg_stopped(port: int) -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "1"]).returncode != 0


def _hba_digests() -> dict[str, str]:
    """Every existing cluster's pg_hba.conf, to prove the script edits only the cluster it was given."""
    files = Path("/etc/postgresql").glob("*/*/pg_hba.conf")
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def _newest_pg_version() -> str:
    versions = [path.parent.parent.name for path in PG_LIB.glob("*/bin/postgres")]
    return max(versions, key=lambda v: [int(n) for n in v.split(".") if n.isdigit()])


needs_root_and_tools = pytest.mark.skipif(
    os.geteuid() != 0
    or not all(shutil.which(tool) for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "redis-server"))
    or not list(PG_LIB.glob("*/bin/postgres")),
    reason="needs root and Debian's PostgreSQL and Redis packages (as on this project's machines)",
)


@pytest.fixture
def throwaway() -> Iterator[dict]:
    """A cluster name and two free ports; whatever the test started there is removed afterwards."""
    version = _newest_pg_version()
    name = f"casino_svc_{os.getpid()}"
    used = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout.split()
    pg_port = _free_port()
    while str(pg_port) in used:
        pg_port = _free_port()
    redis_port = _free_port()
    while redis_port == pg_port:
        redis_port = _free_port()
    before = _hba_digests()
    try:
        yield {"version": version, "name": name, "pg_port": pg_port, "redis_port": redis_port, "hba": before}
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True, timeout=60)
        subprocess.run(["redis-cli", "-p", str(redis_port), "shutdown", "nosave"], capture_output=True, timeout=30)
        Path(f"/var/log/redis/redis-{redis_port}.log").unlink(missing_ok=True)


@pytest.mark.slow
@needs_root_and_tools
def test_creates_then_starts_stopped_postgres_and_redis_and_stays_quiet_when_up(throwaway):
    version, name = throwaway["version"], throwaway["name"]
    pg_port, redis_port = throwaway["pg_port"], throwaway["redis_port"]
    env = _env(pg_port, redis_port, PG_CLUSTER=f"{version}/{name}")

    # Nothing there yet: the cluster is created (Debian's default pg_hba asks for a password on
    # 127.0.0.1, so the passwordless role of DATABASE_URL gets trust there), both start.
    first = _run(["bash", str(SCRIPT)], env)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    assert f"Creating the PostgreSQL cluster {version}/{name} on port {pg_port}" in first.stdout
    assert "Created the database casino_svc" in first.stdout
    assert _pg_answers(pg_port) == ("postgres", "casino_svc")
    assert _redis_answers(redis_port)

    # Installed but stopped: the next run starts both.
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop"], check=True, timeout=60)
    subprocess.run(["redis-cli", "-p", str(redis_port), "shutdown", "nosave"], capture_output=True, timeout=30)
    assert _pg_stopped(pg_port)
    assert not _redis_answers(redis_port)
    second = _run(["bash", str(SCRIPT)], env)
    assert second.returncode == 0, second.stderr
    assert f"Starting PostgreSQL (cluster {version}/{name} on port {pg_port})" in second.stdout
    assert f"Starting Redis on 127.0.0.1:{redis_port}" in second.stdout
    assert "Creating" not in second.stdout  # the cluster, role and database are kept
    assert _pg_answers(pg_port) == ("postgres", "casino_svc")
    assert _redis_answers(redis_port)

    # All up: idempotent and quiet.
    third = _run(["bash", str(SCRIPT)], env)
    assert (third.returncode, third.stdout, third.stderr) == (0, "", "")

    # Whatever role DATABASE_URL asks for: created with its password, owning its database.
    url = f"postgres://casino_app:pa%27ss%20word@localhost:{pg_port}/casino_app_db"
    fourth = _run(["bash", str(SCRIPT)], env | {"DATABASE_URL": url})
    assert fourth.returncode == 0, fourth.stderr
    assert "Creating the PostgreSQL role casino_app" in fourth.stdout
    assert _pg_answers(pg_port, "casino_app", "pa'ss word", "casino_app_db") == ("casino_app", "casino_app_db")

    # Only the throwaway cluster's pg_hba.conf changed, and the shared servers still answer.
    after = _hba_digests()
    ours = f"/etc/postgresql/{version}/{name}/pg_hba.conf"
    assert {k: v for k, v in after.items() if k != ours} == throwaway["hba"]
    assert "127.0.0.1/32    trust" in Path(ours).read_text().splitlines()[1]
    shared = settings.DATABASES["default"]
    assert not _pg_stopped(int(shared["PORT"] or 5432))


def _stub_dir(tools: dict[str, str]) -> Path:
    """A directory, readable by everyone, of shell stubs that log their arguments to ./calls."""
    folder = Path(tempfile.mkdtemp(prefix="ensure-services-"))
    folder.chmod(0o755)
    calls = folder / "calls"
    calls.touch()
    calls.chmod(0o666)
    for tool, body in tools.items():
        stub = folder / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> {calls}\n{body}\n')
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    return folder


def _one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_no_postgres_tools_and_no_apt_is_one_line_saying_what_to_install(tmp_path):
    pg_port, redis_port = _free_port(), _free_port()
    env = _env(pg_port, redis_port, PATH=str(tmp_path))  # nothing on PATH: no pg tools, no apt-get
    done = _run([sys.executable, str(PY_SCRIPT)], env)
    assert done.returncode == 1
    assert done.stdout == ""
    line = _one_line(done.stderr)
    assert "PostgreSQL and Redis are not installed and there is no apt-get here" in line
    assert "install PostgreSQL and Redis with this system's package manager and start them" in line
    assert f"(PostgreSQL on 127.0.0.1:{pg_port}, Redis on 127.0.0.1:{redis_port})" in line


def test_missing_servers_are_installed_from_apt_in_one_run():
    stubs = _stub_dir({"apt-get": "exit 0"})  # "installs" nothing, so the script then says so
    try:
        env = _env(_free_port(), _free_port(), PATH=str(stubs))
        done = _run([sys.executable, str(PY_SCRIPT)], env)
        calls = (stubs / "calls").read_text().splitlines()
    finally:
        shutil.rmtree(stubs)
    assert calls == [
        "apt-get DEBIAN_FRONTEND=noninteractive update -qq",
        "apt-get DEBIAN_FRONTEND=noninteractive install -y -qq postgresql redis-server",
    ]
    assert "Installing postgresql and redis-server from the distribution's packages" in done.stdout
    assert done.returncode == 1
    assert "PostgreSQL's tools (pg_ctlcluster, psql) are still missing" in _one_line(done.stderr)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("runuser") or not os.access("/usr/bin/python3", os.X_OK),
    reason="runs the script as 'nobody' through runuser, which needs root",
)
@pytest.mark.parametrize("has_sudo", [True, False])
def test_not_root_goes_through_sudo_or_says_to_run_as_root(has_sudo):
    stubs = _stub_dir({"apt-get": "exit 0", **({"sudo": "exit 0"} if has_sudo else {})})
    try:
        env = _env(_free_port(), _free_port(), PATH=str(stubs), HOME="/nonexistent")
        # The machine's own python3, which 'nobody' can run (the virtualenv's may live under /root).
        done = _run([shutil.which("runuser"), "-u", "nobody", "--", "/usr/bin/python3", str(PY_SCRIPT)], env)
        calls = (stubs / "calls").read_text().splitlines()
    finally:
        shutil.rmtree(stubs)
    assert done.returncode == 1
    line = _one_line(done.stderr)
    if has_sudo:
        # sudo drops the environment, so DEBIAN_FRONTEND goes through env(1).
        assert [call.split(" ", 2)[2] for call in calls] == [
            "env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
            "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server",
        ]
        assert all(call.startswith("sudo ") for call in calls)
        assert "still missing" in line
    else:
        assert calls == []
        assert "apt-get install postgresql redis-server" in line
        assert "needs root and this user has no sudo: run it as root" in line


class _NotAServer:
    """Something else on a port: answers every connection with an HTTP error."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")


@pytest.mark.parametrize("service", ["postgres", "redis"])
def test_a_port_taken_by_something_else_is_one_line(service):
    other = _NotAServer()
    try:
        shared = settings.DATABASES["default"]  # the suite's own server: only read, it answers
        login = shared["USER"] + (f":{shared['PASSWORD']}" if shared["PASSWORD"] else "")
        shared_url = f"postgres://{login}@{shared['HOST']}:{shared['PORT']}/{shared['NAME']}"
        env = _env(other.port, _free_port()) if service == "postgres" else _env(0, other.port, DATABASE_URL=shared_url)
        done = _run([sys.executable, str(PY_SCRIPT)], env, timeout=60)
    finally:
        other.sock.close()
    assert done.returncode == 1
    assert done.stdout == ""
    name = {"postgres": "PostgreSQL", "redis": "Redis"}[service]
    assert f"Something that is not {name} listens on 127.0.0.1:{other.port}: stop it" in _one_line(done.stderr)
