"""The edge for the chaos run: Debian's nginx, configured from the one template, in front of two nodes.

The config is rendered by ``mediacache_project.edge.config`` (the code ``make edge`` uses), with
two changes that only a one-machine, two-node set-up needs, made on the rendered text:

- the upstream lists both nodes (nginx retries an idempotent request on the other node when
  one refuses connections or fails, ``proxy_next_upstream``'s default);
- ``/_disk/`` (X-Accel-Redirect hand-overs) is served from the disk tier *of the node that
  answered*: ``root`` follows ``$upstream_addr``, each node root holding ``_disk`` → its
  ``MEDIA_CACHE_DIR``. In production every node has its own nginx and its own disk, so the
  template's single ``alias`` is right there.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.servers import ServerProcess, wait_for_port


class Edge(ServerProcess):
    def __init__(self, root: Path, nodes: dict[int, Path]) -> None:
        """``nodes``: app port → that node's ``MEDIA_CACHE_DIR``."""
        super().__init__()
        self.root = root
        self.nodes = nodes
        self.workarounds: list[str] = []

    def render(self) -> Path:
        from mediacache_project.edge.config import EdgePaths, write

        os.environ["EDGE_PORT"] = str(self.port)
        from django.conf import settings

        settings.EDGE_PORT = self.port
        ports = list(self.nodes)
        paths = EdgePaths(self.root)
        conf = write(f"127.0.0.1:{ports[0]}", paths)
        text = conf.read_text()
        servers = "".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n" for port in ports)
        text, replaced = re.subn(r"        server 127\.0\.0\.1:\d+ max_fails=0;\n", servers, text, count=1)
        if replaced != 1:
            raise RuntimeError("the edge template's upstream block changed: update chaos/edge.py")
        disk_roots = []
        for port, cache_dir in self.nodes.items():
            node_root = self.root / f"disk-{port}"
            node_root.mkdir(parents=True, exist_ok=True)
            link = node_root / "_disk"
            if not link.exists():
                link.symlink_to(cache_dir)
            disk_roots.append(f'        "127.0.0.1:{port}" {node_root};\n')
        disk_map = "    map $upstream_addr $chaos_disk_root {\n" + "".join(disk_roots) + "    }\n"
        text, replaced = re.subn(
            r"            alias [^;\n]+/;\n", "            root $chaos_disk_root;\n", text, count=1
        )
        if replaced != 1:
            raise RuntimeError("the edge template's /_disk/ location changed: update chaos/edge.py")
        text = text.replace("    # -- the app ---", disk_map + "    # -- the app ---", 1)
        conf.write_text(text)
        os.chmod(self.root, 0o711)
        return conf

    def start(self) -> Edge:
        conf = self.render()
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        test = subprocess.run([nginx, "-t", "-c", str(conf), "-e", "stderr"], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t refused the rendered config:\n{test.stderr}")
        self.spawn([nginx, "-c", str(conf), "-e", "stderr", "-g", "daemon off;"], log_path=self.root / "nginx.log")
        wait_for_port(self.port, process=self.process)
        return self

    def reload(self) -> None:
        """SIGHUP: nginx re-reads its config, starts new workers, lets the old ones finish."""
        os.kill(self.process.pid, signal.SIGHUP)

    def stop(self) -> None:
        if self.running:
            os.kill(self.process.pid, signal.SIGQUIT)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        super().stop()
        time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
