"""The load generator: its own process, real HTTP through the edge, every body checked.

``python -m chaos.load CONFIG OUT`` runs ``threads`` clients for ``seconds`` and writes one JSON
line per request to OUT: when (``t``, seconds after the run's ``t0``), what (``kind``), the
status (0: no answer — refused, reset or timed out), latency, whether the body was wrong, and
whether the content had been served correctly before (``cached``). A body is wrong when it is
not exactly the bytes the request must get: the SHA-256 of the object (or of the asked range),
the announced digest of an upload. Acknowledged ingests (``201``/``200`` with a token) are
lines with ``ack``: the audit fetches each of them after the run.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from chaos.load_ingest import TIMEOUT, IngestKinds, sha
from chaos.schedule import Window, window_at

WEIGHTS = {
    "hot": 28,
    "warm": 14,
    "cold": 2,
    "range": 10,
    "conditional": 6,
    "head": 6,
    "upload": 6,
    "url": 3,
    "media_id": 3,
    "delete": 1,
    "operator": 4,
}
PACE_SECONDS = 0.12  # per client between requests: ~50 req/s from 6 clients, the machine is shared


@dataclass
class Obj:
    token: str
    sha256: str
    size: int
    path: str
    pool: str
    served: bool = False  # a correct 200 seen: cached somewhere from now on

    def payload(self) -> bytes:
        return Path(self.path).read_bytes()


@dataclass
class State:
    config: dict
    objects: dict[str, list[Obj]]
    out: object
    lock: threading.Lock = field(default_factory=threading.Lock)
    uploads: list[dict] = field(default_factory=list)
    media_ids: list[dict] = field(default_factory=list)
    counter: int = 0

    def write(self, record: dict) -> None:
        with self.lock:
            self.out.write(json.dumps(record) + "\n")

    def take(self, pool: str) -> Obj | None:
        with self.lock:
            objects = self.objects.get(pool) or []
            return objects.pop() if objects else None

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter


class Client(IngestKinds):
    def __init__(self, state: State, seed: int) -> None:
        self.state = state
        self.config = state.config
        self.base = self.config["edge"]
        self.auth = {"Authorization": f"Bearer {self.config['token']}"}
        self.session = requests.Session()
        self.random = random.Random(seed)
        self.windows = [Window(**w) for w in self.config["windows"]]

    # -- plumbing -------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() - self.config["t0"]

    def in_window(self, name: str) -> bool:
        now = self.now()
        return any(w.name == name and w.start <= now < w.end for w in self.windows)

    def call(self, kind: str, method: str, path: str, *, cached: bool = False, check=None, **kwargs) -> dict:
        started = self.now()
        record = {"t": round(started, 3), "kind": kind, "cached": cached, "wrong": False}
        try:
            response = self.session.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
            record["status"] = response.status_code
            record["retry_after"] = "Retry-After" in response.headers
            record["content_type"] = response.headers.get("Content-Type", "")
            if response.status_code not in (200, 201, 204, 206, 304):
                record["detail"] = f"{response.headers.get('Content-Type', '')} {response.content[:100]!r}"
            if check is not None:
                problem = check(response)
                if problem:
                    record["wrong"] = True
                    record["detail"] = problem
        except requests.RequestException as error:
            record["status"] = 0
            record["detail"] = type(error).__name__
            response = None
        record["latency"] = round(self.now() - started, 4)
        record["window"] = window_at(self.windows, started)
        record["_response"] = response
        return record

    def emit(self, record: dict) -> None:
        record.pop("_response", None)
        self.state.write(record)

    # -- the kinds ------------------------------------------------------------------------------

    def get_object(self, kind: str, obj: Obj, headers: dict | None = None) -> None:
        def check(response):
            if response.status_code == 200 and sha(response.content) != obj.sha256:
                return (
                    f"200 body sha256 {sha(response.content)[:16]} != {obj.sha256[:16]} ({len(response.content)} bytes)"
                )
            return None

        record = self.call(kind, "GET", f"/media/{obj.token}", cached=obj.served, check=check, headers=headers)
        if record["status"] == 200 and not record["wrong"]:
            obj.served = True
        record["token"] = obj.token
        self.emit(record)

    def hot(self) -> None:
        self.get_object("hot", self.random.choice(self.state.objects["hot"]))

    def warm(self) -> None:
        self.get_object("warm", self.random.choice(self.state.objects["warm"]))

    def cold(self) -> None:
        """A first request for an object nobody asked for yet — three at once (single-flight)."""
        obj = self.state.take("corrupt" if self.in_window("s3-corrupt") else "cold") or self.state.take("cold")
        if obj is None:
            self.warm()
            return
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda _: self.get_object("cold", obj), range(3)))
        with self.state.lock:
            self.state.objects["warm"].append(obj)

    def range(self) -> None:
        obj = self.random.choice(self.state.objects["hot"] + self.state.objects["warm"])
        start = self.random.randrange(obj.size)
        end = min(obj.size - 1, start + self.random.randrange(1, 65536))
        expected = sha(obj.payload()[start : end + 1])

        def check(response):
            if response.status_code == 206 and sha(response.content) != expected:
                return f"206 bytes={start}-{end}: wrong bytes ({len(response.content)} received)"
            if response.status_code == 200 and sha(response.content) != obj.sha256:
                return "200 to a Range request with a wrong body"
            return None

        record = self.call(
            "range",
            "GET",
            f"/media/{obj.token}",
            cached=obj.served,
            check=check,
            headers={"Range": f"bytes={start}-{end}"},
        )
        self.emit(record)

    def conditional(self) -> None:
        obj = self.random.choice(self.state.objects["hot"])

        def check(response):
            if response.status_code == 304 and response.content:
                return "304 with a body"
            if response.status_code == 200 and sha(response.content) != obj.sha256:
                return "200 to If-None-Match with a wrong body"
            return None

        self.emit(
            self.call(
                "conditional",
                "GET",
                f"/media/{obj.token}",
                cached=obj.served,
                check=check,
                headers={"If-None-Match": f'"{obj.sha256}"'},
            )
        )

    def head(self) -> None:
        obj = self.random.choice(self.state.objects["hot"] + self.state.objects["warm"])

        def check(response):
            if response.status_code == 200 and (
                response.headers.get("Content-Length") != str(obj.size)
                or response.headers.get("ETag") != f'"{obj.sha256}"'
            ):
                return f"HEAD headers {response.headers.get('Content-Length')} {response.headers.get('ETag')}"
            return None

        self.emit(self.call("head", "HEAD", f"/media/{obj.token}", cached=obj.served, check=check))

    # -- the loop -------------------------------------------------------------------------------

    def loop(self, until: float) -> None:
        kinds, weights = zip(*WEIGHTS.items(), strict=True)
        while time.time() < until:
            kind = self.random.choices(kinds, weights)[0]
            if kind == "warm" and self.in_window("s3-corrupt"):
                kind = "cold"  # aim first requests at the objects S3 now corrupts
            try:
                getattr(self, kind)()
            except Exception as error:  # noqa: BLE001 — a client bug must not end the run silently
                self.state.write(
                    {
                        "t": round(self.now(), 3),
                        "kind": kind,
                        "status": -1,
                        "wrong": False,
                        "cached": False,
                        "latency": 0,
                        "detail": f"load bug: {error!r}",
                    }
                )
            time.sleep(PACE_SECONDS * self.random.uniform(0.5, 1.5))


def main(config_path: str, out_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    objects: dict[str, list[Obj]] = {}
    for row in config["objects"]:
        objects.setdefault(row["pool"], []).append(Obj(**row))
    objects.setdefault("warm", [])
    with open(out_path, "w", buffering=1) as out:
        state = State(config, objects, out, media_ids=list(config["media_ids"]))
        while time.time() < config["t0"]:
            time.sleep(0.01)
        until = config["t0"] + config["seconds"]
        clients = [Client(state, seed) for seed in range(config["threads"])]
        threads = [threading.Thread(target=client.loop, args=(until,), daemon=True) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(until - time.time() + TIMEOUT * 2)
        Path(out_path + ".acks").write_text(json.dumps(state.uploads))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
