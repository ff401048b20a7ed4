"""Gunicorn servers, logged-in load-generator clients and CPU accounting for the HTTP scenarios."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client

REPO = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn casino.wsgi`` with the bench settings on a free localhost port.

    gthread workers (keep-alive) and persistent database connections
    (CONN_MAX_AGE), as an operator would run it.
    """

    def __init__(self, *, workers: int, threads: int, env: dict[str, str] | None = None):
        self.workers, self.threads = workers, threads
        self.env = dict(env or {})  # on top of this process's environment (e.g. another database tier)
        self.port = free_port()
        self.log = Path(tempfile.gettempdir()) / f"bench-gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Gunicorn:
        env = os.environ | {"DJANGO_SETTINGS_MODULE": "bench.settings", "CONN_MAX_AGE": "300", "PYTHONUNBUFFERED": "1"}
        env |= self.env
        cmd = [
            sys.executable, "-m", "gunicorn", "casino.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--worker-class", "gthread", "--threads", str(self.threads),
            "--keep-alive", "30", "--log-level", "warning",
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/bench/trivial/", timeout=2) as r:  # noqa: S310 - localhost
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def session_cookie(user) -> str:
    """A logged-in session for ``user`` (what ``Client.force_login`` stores in the
    database session table the web processes read): no password hashing in the bench."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def run_loadgen(plan: dict) -> tuple[dict, int]:
    """Run ``bench.loadgen`` as a separate process; returns its figures and its pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    out, _ = process.communicate(json.dumps(plan), timeout=plan["seconds"] + 600)
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed ({process.returncode})")
    return json.loads(out), process.pid


# --- CPU accounting ------------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, int, str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm_end = raw.rindex(")")
    fields = raw[comm_end + 2 :].split()
    # fields[1] = ppid; fields[11], fields[12] = utime, stime; [13], [14] = children's (waited for)
    return (
        int(fields[1]),
        int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14]),
        raw[raw.index("(") + 1 : comm_end],
    )


def process_tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))):
            parents.setdefault(st[0], []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (a gunicorn master's workers)."""
    return [
        int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and (st := _stat(int(e.name))) and st[0] == pid
    ]


def rss_kb(pid: int) -> int | None:
    """Resident set size of one process, from /proc/<pid>/status (VmRSS, kB)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    return {pid: st[1] / TICKS for pid in pids if (st := _stat(pid))}


def bench_backends() -> list[int]:
    """PostgreSQL backend pids connected to the bench database."""
    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [row[0] for row in cur.fetchall()]


class CpuMeter:
    """CPU seconds used by groups of processes between ``start`` and ``stop``."""

    def __init__(self, groups: dict[str, callable]):
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self.before = {name: cpu_seconds(fn()) for name, fn in self.groups.items()}

    def stop(self) -> dict[str, float]:
        used = {}
        for name, fn in self.groups.items():
            after = cpu_seconds(fn())
            used[name] = round(sum(v - self.before[name].get(pid, 0.0) for pid, v in after.items()), 2)
        return used
