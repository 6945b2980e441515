"""``make edge``: gunicorn (exactly as ``make run``, on a private unix socket) behind nginx.

Both run in the foreground as children of this process. SIGINT/SIGTERM stop both (nginx
gracefully, gunicorn with its own graceful timeout, then SIGKILL); if either dies, the other
is stopped and the exit status is non-zero. Children also get SIGTERM from the kernel if this
process is killed outright (``PR_SET_PDEATHSIG``), so nothing is left behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from mediacache_project.edge.config import EdgePaths, write

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STOP_SECONDS = 35  # gunicorn's graceful_timeout (30 s) plus a margin


def nginx_binary() -> str:
    """Debian's nginx (``/usr/sbin`` is not on every user's PATH)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        raise SystemExit("make edge: nginx is not installed (apt-get install -y nginx)")
    return found


def nginx_command(paths: EdgePaths) -> list[str]:
    """nginx in the foreground with its prefix, pid and temp files under ``paths`` (no root needed)."""
    return [nginx_binary(), "-p", str(paths.root), "-c", str(paths.conf), "-e", "stderr", "-g", "daemon off;"]


def check_config(paths: EdgePaths) -> None:
    result = subprocess.run([*nginx_command(paths)[:-2], "-t", "-q"], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"make edge: nginx refused {paths.conf}:\n{result.stderr.strip()}")


def _die_with_parent() -> None:
    """Children get SIGTERM if the launcher is killed outright (Linux/glibc). Elsewhere there is no
    such call; the launcher's own SIGINT/SIGTERM handler still stops them, so it is skipped."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # no glibc: nothing to arm
        return


def _wait_for_socket(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"make edge: gunicorn exited with status {process.returncode} while starting")
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(path))
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"make edge: gunicorn did not listen on {path} within {timeout:g}s")


def run() -> int:
    paths = EdgePaths(Path(settings.EDGE_DIR))
    gunicorn_socket = paths.run_dir / "gunicorn.sock"
    conf = write(f"unix:{gunicorn_socket}", paths)
    check_config(paths)
    gunicorn_socket.unlink(missing_ok=True)
    app_env = {**os.environ, "BIND": f"unix:{gunicorn_socket}", "BEHIND_PROXY": "true"}
    children: list[subprocess.Popen] = []
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        app = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=PROJECT_ROOT,
            env=app_env,
            preexec_fn=_die_with_parent,
        )
        children.append(app)
        _wait_for_socket(gunicorn_socket, app)
        edge = subprocess.Popen(nginx_command(paths), cwd=PROJECT_ROOT, preexec_fn=_die_with_parent)
        children.append(edge)
        scheme_port = f"http://{settings.EDGE_HOST}:{settings.EDGE_PORT}"
        tls = f", https://{settings.EDGE_HOST}:{settings.EDGE_TLS_PORT} (HTTP/2)" if settings.EDGE_TLS_CERT else ""
        print(f"mediacache edge on {scheme_port}{tls} -> gunicorn on {gunicorn_socket} (config {conf})", flush=True)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        _stop_all(children, edge_first=True)
    failed = [child for child in children if child.returncode not in (0, -signal.SIGTERM, -signal.SIGQUIT)]
    return 0 if stopping and not failed else 1


def _stop_all(children: list[subprocess.Popen], *, edge_first: bool) -> None:
    """nginx first (SIGQUIT: finish what is in flight), then gunicorn (SIGTERM: graceful)."""
    ordered = list(reversed(children)) if edge_first else children
    for child in ordered:
        if child.poll() is None:
            child.send_signal(signal.SIGQUIT if child is not children[0] else signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for child in ordered:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
