"""nginx in front of a GunicornServer, configured from deploy/nginx/ exactly as `make edge` does.

The config is rendered by ``python -m mediacache_project.edge render`` with the app server's own
environment (so the edge secret, MEDIA_CACHE_DIR, UPLOAD_MAX_BYTES, MEDIA_EDGE_TTL … agree);
only the upstream differs: the app's private TCP port instead of `make edge`'s unix socket
(``upstreams`` puts other app nodes in front of it, for the failover tests).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from mediacache_project.edge.config import EdgePaths
from mediacache_project.edge.launcher import nginx_command
from tests.support.servers import PROJECT_ROOT, GunicornServer, ServerProcess, free_port, wait_for_port

# What the app must be told when it sits behind the edge (the launcher sets the same).
BEHIND_THE_EDGE = {"BEHIND_PROXY": "true", "FORWARDED_ALLOW_IPS": "127.0.0.1"}


class NginxServer(ServerProcess):
    def __init__(self, app: GunicornServer, root: Path, *, upstreams: list[str] = (), **env: str) -> None:
        super().__init__()
        self.app = app
        self.upstreams = [*upstreams, f"127.0.0.1:{app.port}"]
        self.paths = EdgePaths(root)
        self.tls_port = free_port()
        self.env = {
            **app.env,
            "EDGE_PORT": str(self.port),
            "EDGE_TLS_PORT": str(self.tls_port),
            "EDGE_DIR": str(root),
            "EDGE_ACCESS_LOG": str(root / "access.log"),
            "EDGE_CONNECTIONS_PER_IP": "0",  # every test client is 127.0.0.1; the limit has its own test
            **env,
        }

    def render(self) -> Path:
        result = subprocess.run(
            [sys.executable, "-m", "mediacache_project.edge", "render", "--root", str(self.paths.root)]
            + [argument for address in self.upstreams for argument in ("--upstream", address)],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"rendering the edge config failed:\n{result.stderr}")
        return self.paths.conf

    def start(self) -> NginxServer:
        self.render()
        self.spawn(nginx_command(self.paths), env=self.env, log_path=self.paths.root / "nginx.log")
        try:
            wait_for_port(self.port, timeout=15, process=self.process)
        except (RuntimeError, TimeoutError):
            self.stop()
            raise RuntimeError(f"nginx did not start:\n{self.log()}") from None
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    def access_log(self) -> str:
        path = self.paths.root / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logged(self, containing: str, count: int = 1, timeout: float = 5.0) -> list[str]:
        """The access-log lines containing ``containing``, once there are ``count`` (or after
        ``timeout``): nginx writes a request's line when it finishes the request, which can be
        after the client has the response — long after, when it still reads (and discards) the
        rest of a refused upload's body."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.access_log().splitlines() if containing in line]
            if len(lines) >= count or time.monotonic() >= deadline:
                return lines
            time.sleep(0.05)
