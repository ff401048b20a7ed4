"""Real Celery workers for the bench: ``celery -A casino worker`` subprocesses on the
bench's database and Redis (adapted from tests/helpers/celery.py, without pytest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class Worker:
    def __init__(
        self,
        *,
        queues: str = "payouts,default",
        concurrency: int = 1,
        pool: str = "solo",
        env: dict[str, str] | None = None,
    ):
        self.env = dict(env or {})  # on top of this process's environment (e.g. another database tier)
        self.name = f"bench-{uuid.uuid4().hex[:6]}"
        self.log_path = Path(tempfile.gettempdir()) / f"{self.name}.log"
        self.cmd = [
            sys.executable, "-m", "celery", "-A", "casino", "worker",
            "--loglevel", "INFO", "--queues", queues, "--pool", pool, "--concurrency", str(concurrency),
            "--hostname", f"{self.name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Worker:
        env = os.environ.copy()
        env.update({"CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1"})
        env.update(self.env)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while b" ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"celery worker did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        return self

    @property
    def pids(self) -> list[int]:
        return [self.process.pid] if self.process else []

    def stop(self, timeout: float = 20.0) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
