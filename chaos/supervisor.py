"""A process kept running the way systemd's ``Restart=always`` keeps it: restarted when it exits.

The Celery worker needs this in production, and the chaos run found why: during a Sentinel
failover, kombu 5.7's Redis transport can fail while closing its channel
(``AttributeError: 'NoneType' object has no attribute 'hostname'`` in ``_connparams``, reached
from ``restore_unacked``), and Celery treats that as an unrecoverable error: the worker's main
process exits. Nothing is lost meanwhile — web nodes run the jobs no worker started
(``chat.jobs.rescue_stale``) — but a worker nobody restarts does no more work. Each restart
appends a ``chaos.restarted`` line to the process's log, which the report counts.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tests.support.servers import ServerProcess

RESTART_SECONDS = 1.0  # systemd's RestartSec in docs/deploy.md's unit


class Supervised(ServerProcess):
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        super().__init__()
        self.args, self.env, self._log_path = args, env, log_path
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="chaos-supervisor", daemon=True)

    def start(self) -> Supervised:
        self.spawn(self.args, env=self.env, log_path=self._log_path)
        self._watcher.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.is_set():
            code = self.process.poll()
            if code is not None and not self._stopping.wait(RESTART_SECONDS):
                self.restarts += 1
                with open(self._log_path, "a") as log:
                    log.write(f"chaos.restarted exit={code} restarts={self.restarts}\n")
                self.spawn(self.args, env=self.env, log_path=self._log_path)
            self._stopping.wait(0.2)

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join(timeout=5)
        super().stop()
