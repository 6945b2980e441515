"""Real servers for tests and the benchmark: redis-server, a moto S3 server, gunicorn.

Each is a subprocess on a free port of 127.0.0.1, started and stopped by the code that needs
it; fault tests stop them for real (``kill``) instead of patching our own code.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEST_BUCKET = "mediacache-test"


_handed_out: set[int] = set()
_ports_lock = threading.Lock()
_random = random.SystemRandom()  # not the ``random`` module: pytest-randomly reseeds that per test


def _listening_ports_range() -> range:
    """Ports below the kernel's ephemeral range (where outgoing connections get theirs)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(max(1024, low - 12000), low)


def free_port() -> int:
    """A port nothing listens on that this process has not handed out before.

    ``bind(0)`` was not enough: a server binds its port some time after this check, and in that
    gap the kernel could give the same port to the next ``bind(0)`` (two nodes of one cluster)
    or to an outgoing connection as its local port — the server then exits with "address
    already in use". So ports come from below the ephemeral range, once each.
    """
    candidates = _listening_ports_range()
    with _ports_lock:
        for _ in range(1000):
            port = _random.choice(candidates)
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port in {candidates.start}-{candidates.stop - 1}")


def wait_for_port(port: int, timeout: float = 15.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server process exited early with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class ServerProcess:
    """A subprocess listening on ``self.port``; ``stop()`` kills it and waits."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def spawn(self, args: list[str], *, env: dict[str, str] | None = None, log_path: Path | None = None) -> None:
        self.log_path = log_path
        output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        if log_path:
            output.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.running:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


class RedisServer(ServerProcess):
    def start(self, *extra_args: str) -> RedisServer:
        """``extra_args`` go to redis-server as they are (e.g. ``"--maxmemory", "2mb"``)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.spawn(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra_args]
        )
        wait_for_port(self.port, process=self.process)
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class MotoS3Server(ServerProcess):
    """moto in server mode: the real S3 protocol over HTTP, the same boto3 code path as AWS."""

    def start(self) -> MotoS3Server:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        self.spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)], env=env)
        wait_for_port(self.port, timeout=30, process=self.process)
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_bucket(self, name: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=name)

    # moto's request recorder: counts what really reached the S3 endpoint.
    def start_recording(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/recorder/reset-recording", timeout=5).raise_for_status()
        requests.post(f"{self.endpoint}/moto-api/recorder/start-recording", timeout=5).raise_for_status()

    def stop_recording(self) -> list[dict]:
        requests.post(f"{self.endpoint}/moto-api/recorder/stop-recording", timeout=5).raise_for_status()
        text = requests.get(f"{self.endpoint}/moto-api/recorder/download-recording", timeout=5).text
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def s3_settings(server: MotoS3Server, bucket: str) -> dict[str, str]:
    """The environment variables that point mediacache at a moto server."""
    return {
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": server.endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


class GunicornServer(ServerProcess):
    """The app exactly as ``make run`` serves it (gunicorn.conf.py), with the given environment."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__()
        inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # pytest's test settings
        # fault tests stop a dependency and probe /healthz at once: no cached answer in between
        self.env = {"MEDIA_HEALTH_CACHE_SECONDS": "0", **inherited, **env, "PORT": str(self.port)}
        self._log_path = log_path

    def manage(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def start(self) -> GunicornServer:
        self.spawn([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], env=self.env, log_path=self._log_path)
        wait_for_port(self.port, timeout=30, process=self.process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503):
                    return self
            except (requests.ConnectionError, requests.Timeout):  # a fresh worker on a busy machine
                pass
            time.sleep(0.1)
        self.stop()  # nobody else will: the caller never got a server to stop
        raise TimeoutError(f"gunicorn did not answer /healthz:\n{self.log()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def django_redis_cache(url: str):
    """A django-redis cache on ``url`` with exactly the options production uses (``caches_for``)."""
    from django.utils.module_loading import import_string

    from mediacache_project.services import caches_for

    params = caches_for(url)["default"]
    return import_string(params["BACKEND"])(params["LOCATION"], params)
