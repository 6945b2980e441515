"""The edge for the chaos run: Debian's nginx, configured from the one template, in front of two nodes.

The config is rendered by ``mediacache_project.edge.config`` (the code ``make edge`` uses) with
both nodes as upstreams — nginx resends an idempotent request, and an ingest POST (it carries an
``Idempotency-Key``), to the other node when one refuses connections or fails before answering —
and one change that only a one-machine, two-node set-up needs, made on the rendered text:
``/_disk/`` (X-Accel-Redirect hand-overs) is served from the disk tier *of the node that
answered*: ``root`` follows ``$upstream_addr``, each node root holding ``_disk`` → its
``MEDIA_CACHE_DIR``. In production an edge in front of nodes on other machines cannot read their
disks (docs/deploy.md: an edge per node, or ``MEDIA_ACCEL_REDIRECT=false``), so the template's
single ``alias`` is right there.
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

    def render(self) -> Path:
        from mediacache_project.edge.config import EdgePaths, write

        os.environ["EDGE_PORT"] = str(self.port)
        from django.conf import settings

        settings.EDGE_PORT = self.port
        paths = EdgePaths(self.root)
        conf = write([f"127.0.0.1:{port}" for port in self.nodes], paths)
        text = conf.read_text()
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
