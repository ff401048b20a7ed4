"""The address `make run` prints is the one that answers (issue 15, first run).

honcho gives every Procfile process a PORT counting up from its base port (5000 unless
told otherwise); `make run` hands it the printed port as the base, so the web process,
first in the Procfile, listens on exactly that address. This test starts the Procfile's
web command through honcho with the same arguments `make run` uses and fetches the
address `make -s address` prints.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_command() -> list[str]:
    """The honcho command line of the Makefile's `run` target, as make would run it."""
    out = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    (line,) = [line for line in out.splitlines() if "honcho start" in line]
    return line.replace("${PORT:-8000}", os.environ["PORT"]).split()


def test_the_printed_address_answers(monkeypatch):
    port = str(_free_port())
    monkeypatch.setenv("PORT", port)
    settings = connection.settings_dict
    database_url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = os.environ | {"PORT": port, "DATABASE_URL": database_url, "WEB_CONCURRENCY": "1"}
    address = subprocess.run(["make", "-s", "address"], cwd=REPO, env=env, capture_output=True, text=True).stdout
    address = address.strip()
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/", address)
    command = [*_run_command(), "web"]  # only the web process of the Procfile
    assert command[command.index("-p") + 1] == port  # honcho's base port: the web process gets it
    web = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline, last = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(address + "login/", timeout=2) as response:  # noqa: S310 - loopback
                    assert response.status == 200
                    return
            except (urllib.error.URLError, ConnectionError) as exc:
                last = exc
                time.sleep(0.3)
        pytest.fail(f"nothing answered at {address} within 30 s ({last})")
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(10)
