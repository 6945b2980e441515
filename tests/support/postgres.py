"""A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a free port, so a fault can stop it.

Used by ``make chaos`` and by the tests that take the database away from a running server.

Debian's server binaries live in /usr/lib/postgresql/<major>/bin. ``initdb`` refuses to run as
root, so when we are root the cluster belongs to the ``postgres`` user (``runuser``) and lives
in a folder it owns; the socket goes into that folder too, never /var/run/postgresql.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.servers import free_port, wait_for_port


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return Path(found[-1]).parent


class Postgres:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.bin = binaries()
        self.user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/chaos"

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        result = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=timeout, start_new_session=True, cwd=self.root
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} exited {result.returncode}: {result.stderr.strip()[-500:]}")
        return result

    def start(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            os.chmod(self.root.parent, 0o711)  # mkdtemp's 0700 would keep the postgres user out
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self._ctl("start")
        wait_for_port(self.port, timeout=30)
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chaos")
        return self

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log.txt"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            action,
            *extra,
        )

    def halt(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected), keeping its data."""
        self._ctl("stop", "-m", "fast")

    def resume(self) -> None:
        self._ctl("start")
        wait_for_port(self.port, timeout=30)

    def restart(self) -> None:
        """What an operator's restart does: fast shutdown (clients are disconnected), start again."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if not self.data.exists():
            return
        result = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False, timeout=30
        )
        pid_file = self.data / "postmaster.pid"
        if result.returncode != 0 and pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
                time.sleep(0.5)
            except (ProcessLookupError, ValueError):
                pass
        shutil.rmtree(self.root, ignore_errors=True)
