"""Doing the faults of the schedule to the running topology, on time, and recording when.

Each fault is a pair of acts, ``begin`` and ``end`` (``end`` is a no-op for instant faults).
The runner calls them at the planned seconds from its own thread; an act that takes time
(starting a node again waits for its /healthz) runs in a thread of its own so the plan does not
drift. What really happened, and when, goes into ``self.events`` for the report.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
import time

from chaos.schedule import Window
from chaos.topology import Topology
from tests.support.processes import children_of

MIN_GAP_SECONDS = 3.0


class Faults:
    def __init__(self, topology: Topology, corrupt_keys: set[str]) -> None:
        self.topology = topology
        self.corrupt_keys = corrupt_keys
        self.events: list[dict] = []
        self._killed_redis = None
        self._frozen_pid: int | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()  # set on the way out: no fault starts or ends any more

    def record(self, name: str, act: str, detail: str = "", started: float | None = None) -> None:
        with self._lock:
            self.events.append(
                {"fault": name, "act": act, "at": started or time.time(), "done": time.time(), "detail": detail}
            )

    # -- the acts -------------------------------------------------------------------------------

    def begin(self, name: str) -> str:
        topology = self.topology
        if name == "s3-slow":
            topology.s3.set("slow")
        elif name == "s3-refusing":
            topology.s3.set("refuse")
        elif name == "s3-corrupt":
            topology.s3.set("corrupt", corrupt_keys=self.corrupt_keys)
            return f"{len(self.corrupt_keys)} objects"
        elif name == "worker-sigkill":
            workers = children_of(topology.nodes["a"].process.pid)
            if not workers:
                return "no worker found"
            os.kill(workers[0], signal.SIGKILL)
            return f"pid {workers[0]}"
        elif name == "redis-primary-killed":
            old = topology.sentinel.primary_port()
            self._killed_redis = topology.sentinel.kill_primary()
            new = topology.sentinel.wait_for_new_primary(old, timeout=20)
            return f"primary :{old} killed, :{new} promoted"
        elif name == "nginx-reload":
            topology.edge.reload()
        elif name == "postgres-restart":
            topology.postgres.restart()
        elif name == "redis-frozen":
            node = topology.sentinel.node_on(topology.sentinel.primary_port())
            self._frozen_pid = node.process.pid
            os.kill(self._frozen_pid, signal.SIGSTOP)
            return f"primary :{node.port} SIGSTOP"
        elif name == "disk-full":
            return self._fill_disk()
        elif name == "node-stopped":
            return self._stop_gracefully(topology.nodes["b"])
        return ""

    @staticmethod
    def _stop_gracefully(node) -> str:
        """What an operator's stop (systemd, a deploy) does: SIGTERM, gunicorn drains in-flight requests."""
        started = time.monotonic()
        os.kill(node.process.pid, signal.SIGTERM)
        try:
            node.process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            node.stop()
            return "did not stop within 35 s: killed"
        node.stop()  # whatever is left of its process group
        return f"SIGTERM, drained and stopped in {time.monotonic() - started:.1f} s"

    def end(self, name: str) -> str:
        topology = self.topology
        if name.startswith("s3-"):
            topology.s3.set("pass")
        elif name == "redis-primary-killed" and self._killed_redis is not None:
            self._killed_redis.start()
            return f":{self._killed_redis.port} back (as a replica)"
        elif name == "redis-frozen" and self._frozen_pid is not None:
            os.kill(self._frozen_pid, signal.SIGCONT)
        elif name == "disk-full":
            (self.topology.cache_dirs["a"] / "chaos-filler").unlink(missing_ok=True)
        elif name == "node-stopped":
            topology.nodes["b"].start()
        return ""

    def _fill_disk(self) -> str:
        if self.topology.tmpfs is None:
            return f"skipped: no tmpfs ({self.topology.tmpfs_error})"
        filler = self.topology.cache_dirs["a"] / "chaos-filler"
        written = 0
        descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 4096, 1):  # big blocks, then the last bytes
                block = b"\0" * size
                while True:
                    try:
                        written += os.write(descriptor, block)
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(descriptor)
        return f"{written // (1 << 20)} MiB written, 0 bytes free"

    # -- the runner -----------------------------------------------------------------------------

    def run(self, windows: list[Window], t0: float) -> None:
        """Do every fault at ``t0`` + its planned second; returns when the last one has ended.

        A fault's end never starts before its begin finished (a node is not started again
        while it is still draining), so each fault runs in one thread, begin then end.
        """
        for window in windows:
            if self.stopping.wait(max(0.0, t0 + window.start - time.time())):
                return
            if self._threads and self._threads[-1].is_alive():
                # the previous fault ran over its window (a node slow to boot): never overlap —
                # wait for it, and give its recovery the minimum gap before this one begins
                self._threads[-1].join()
                if self.stopping.wait(MIN_GAP_SECONDS):
                    return
            thread = threading.Thread(target=self._fault, args=(window, t0), daemon=True)
            thread.start()
            self._threads.append(thread)
        for thread in self._threads:
            thread.join(90)

    def _fault(self, window: Window, t0: float) -> None:
        begun = time.time()
        self._act(window.name, "begin")
        ends = max(t0 + window.end, begun + window.end - window.start)  # a late fault still lasts its length
        if window.lasting and not self.stopping.wait(max(0.0, ends - time.time())):
            self._act(window.name, "end")

    def _act(self, name: str, act: str) -> None:
        started = time.time()
        try:
            detail = self.begin(name) if act == "begin" else self.end(name)
        except Exception as error:  # noqa: BLE001 — a failed act is a result, recorded
            detail = f"FAILED: {type(error).__name__}: {error}"
        self.record(name, act, detail, started)

    def undo_all(self) -> None:
        """On the way out (also after Ctrl-C): nothing stays frozen, refused or full, nothing restarts."""
        self.stopping.set()
        for thread in self._threads:
            thread.join(40)  # an act under way (a node draining) finishes before the topology stops
        if self._frozen_pid is not None:
            try:
                os.kill(self._frozen_pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if self.topology.s3 is not None:
            self.topology.s3.set("pass")
        (self.topology.cache_dirs["a"] / "chaos-filler").unlink(missing_ok=True)
