"""A listenpost cluster on this machine, for the distributed tests and `bench/scale.py`: real
`listenpost worker`, `scheduler` and `slack-app` processes against real PostgreSQL and a real
broker, each in its own process group so that a test can SIGKILL a worker with its children the
way a machine dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def fresh_redis(db: int, host: str = "127.0.0.1", port: int = 6379) -> str:
    """A broker URL on an emptied Redis database (no task of an earlier run left in it)."""
    import redis

    client = redis.Redis(host=host, port=port, db=db)
    client.flushdb()
    client.close()
    return f"redis://{host}:{port}/{db}"


class Cluster:
    def __init__(self, settings: Path, logs: Path, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **(env or {}),
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self._count = 0

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self._count += 1
        log = open(self.logs / f"{self._count:02d}-{name}.log", "wb")  # noqa: SIM115
        command = [sys.executable, "-m", "listenpost.cli", "-s", str(self.settings), *args]
        proc = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            start_new_session=True,  # its own group: SIGKILL takes the pool's children too
        )
        log.close()
        self.procs.append(proc)
        return proc

    def worker(self, queues: str | None = None, concurrency: int = 1) -> subprocess.Popen[bytes]:
        args = ["worker", "--concurrency", str(concurrency)]
        if queues:
            args += ["--queues", queues]
        return self._spawn("worker", *args)

    def run(self) -> subprocess.Popen[bytes]:
        """`listenpost run`: the single process, for comparison."""
        return self._spawn("run", "run")

    def scheduler(self) -> subprocess.Popen[bytes]:
        return self._spawn("scheduler", "scheduler")

    def slack_app(self) -> subprocess.Popen[bytes]:
        return self._spawn("slack-app", "slack-app")

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        """A machine dying: the process and its pool's children, at once, no clean-up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
        """SIGTERM, as systemd and Docker stop a service; SIGKILL if it does not end in time."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(proc)
        with contextlib.suppress(ProcessLookupError):  # a pool child left by its dead parent
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            self.stop(proc)

    def log_tail(self, chars: int = 4000) -> str:
        parts = [f"== {p.name}\n{p.read_text(errors='replace')[-chars:]}"
                 for p in sorted(self.logs.glob("*.log"))]
        return "\n".join(parts)


def wait_for(check: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
