"""``python -m chaos`` (``make chaos``): start everything, load + faults for CHAOS_SECONDS, audit, report.

Bounded: the load stops by itself after CHAOS_SECONDS (default 180), and every process started
here is stopped in a ``finally`` — also on Ctrl-C or SIGTERM, which are turned into a normal
unwinding. Exit status 0 only when every budget is met.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from chaos import schedule
from chaos.evidence import mechanisms
from chaos.topology import API_TOKEN, S3_PREFIX, Topology

ROOT = Path(__file__).resolve().parents[1]
POOLS = {
    "hot": (12, 4_000, 48_000),
    "warm": (50, 8_000, 160_000),
    "cold": (160, 4_000, 120_000),
    "corrupt": (30, 4_000, 64_000),
}
MEDIA_IDS = 300
THREADS = 6
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"chaos [{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def seconds_setting() -> float:
    raw = os.environ.get("CHAOS_SECONDS", "180").strip() or "180"
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not schedule.MINIMUM_SECONDS <= value <= 3600:
        sys.exit(
            f"chaos: invalid CHAOS_SECONDS={raw!r}: expected seconds of load from {schedule.MINIMUM_SECONDS} to 3600"
        )
    return value


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def make_content(topology: Topology) -> tuple[list[dict], list[dict]]:
    """The objects the load asks for (ingested through manage.py, nodes cold) and the media IDs."""
    from tests.support.media import random_bytes

    sources = topology.root / "sources"
    sources.mkdir()
    files, pools = [], []
    rng = random.Random(14)
    for pool, (count, low, high) in POOLS.items():
        for n in range(count):
            path = sources / f"{pool}-{n}.bin"
            path.write_bytes(random_bytes(rng.randrange(low, high)))
            files.append(path)
            pools.append(pool)
    rows = topology.ingest(files)
    objects = [
        {"token": row["media_hash"], "sha256": row["sha256"], "size": row["file_size"], "path": str(path), "pool": pool}
        for row, path, pool in zip(rows, files, pools, strict=True)
    ]
    media_ids = []
    for n in range(MEDIA_IDS):
        data = random_bytes(rng.randrange(1_000, 24_000))
        media_id = f"{9_000_000_000_000 + n}"
        media = topology.graph.add_media(media_id, data, "application/octet-stream")
        media_ids.append({"id": media_id, "sha256": hashlib.sha256(media.data).hexdigest()})
    return objects, media_ids


def actual_windows(planned: list[schedule.Window], events: list[dict], t0: float) -> list[dict]:
    """The windows as they happened: from the begin act to the end of the end act (instant: the act)."""
    windows = []
    for window in planned:
        acts = {e["act"]: e for e in events if e["fault"] == window.name}
        begin, end = acts.get("begin"), acts.get("end")
        start = begin["at"] - t0 if begin else window.start
        finish = (end["done"] - t0) if end else (begin["done"] - t0 if begin else window.end)
        if not window.lasting:
            finish = max(finish, start + 0.5)
        details = "; ".join(e["detail"] for e in (begin, end) if e and e["detail"])
        windows.append(
            {
                "name": window.name,
                "start": round(start, 2),
                "end": round(finish, 2),
                "lasting": window.lasting,
                "description": window.description,
                "detail": details,
            }
        )
    return windows


def keep_logs(topology: Topology) -> None:
    """The raw request log and every server log, for reading after the run (var/ is not committed)."""
    target = ROOT / "var" / "chaos"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for pattern in ("load.jsonl", "*.log", "edge/nginx.log", "postgres/log.txt"):
        for path in topology.root.glob(pattern):
            shutil.copy(path, target / path.name)
    for node in topology.sentinel.nodes:
        if node.log_path and node.log_path.exists():
            shutil.copy(node.log_path, target / f"redis-{node.folder.name}.log")


def run(seconds: float) -> int:
    from chaos.audit import audit
    from chaos.faults import Faults
    from chaos.markdown import write
    from chaos.plot import plot
    from chaos.report import budgets, violations, window_rows

    topology = Topology()
    load: subprocess.Popen | None = None
    faults: Faults | None = None
    try:
        topology.start(log)
        log("ingesting the objects the load will ask for")
        objects, media_ids = make_content(topology)
        corrupt_keys = {f"{S3_PREFIX}{o['sha256'][:2]}/{o['sha256']}" for o in objects if o["pool"] == "corrupt"}
        faults = Faults(topology, corrupt_keys)
        planned = schedule.plan(seconds)
        t0 = time.time() + 3
        config = {
            "edge": topology.edge.url,
            "token": API_TOKEN,
            "t0": t0,
            "seconds": seconds,
            "threads": THREADS,
            "windows": [w.to_dict() for w in planned],
            "objects": objects,
            "media_ids": media_ids,
            "url_folder": str(topology.urls.folder),
            "url_base": topology.urls.url,
        }
        (topology.root / "load.json").write_text(json.dumps(config))
        out = topology.root / "load.jsonl"
        load = subprocess.Popen(
            [sys.executable, "-m", "chaos.load", str(topology.root / "load.json"), str(out)],
            cwd=ROOT,
            start_new_session=True,
        )
        log(f"load for {seconds:g} s from its own process (pid {load.pid}); {len(planned)} faults scheduled")
        faults.run(planned, t0)
        log("last fault over; waiting for the load to finish")
        load.wait(timeout=max(0.0, t0 + seconds - time.time()) + 90)
        faults.undo_all()
        records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        acks = json.loads(Path(str(out) + ".acks").read_text())
        log(f"{len(records)} requests; auditing {len(acks)} acknowledged ingests")
        result_audit = audit(topology, acks)
        windows = actual_windows(planned, faults.events, t0)
        rows = window_rows(records, windows, seconds)
        bad = violations(records, windows)
        result = {
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": seconds,
            "requests": len(records),
            "requests_per_second": len(records) / seconds,
            "machine": f"{os.cpu_count()} cores, {platform.machine()}",
            "load_average": os.getloadavg()[0],
            "windows": rows,
            "audit": result_audit,
            "violations": bad,
            "budgets": budgets(rows, result_audit, bad),
            "events": [
                {**e, "at": round(e["at"] - t0, 2), "took": round(e["done"] - e["at"], 2)}
                for e in sorted(faults.events, key=lambda e: e["at"])
            ],
            "fault_windows": windows,
            "mechanisms": mechanisms(topology.root),
        }
        write(result, ROOT / "docs", ROOT / "bench")
        plot(records, windows, seconds, ROOT / "docs" / "reliability.png")
        print((ROOT / "docs" / "reliability.md").read_text())
        missed = [b["budget"] for b in result["budgets"] if not b["met"]]
        log("every budget met" if not missed else f"BUDGETS MISSED: {', '.join(missed)}")
        return 0 if not missed else 1
    finally:
        if load is not None and load.poll() is None:
            try:
                os.killpg(load.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            load.wait(timeout=10)
        if faults is not None:
            faults.undo_all()
        keep_logs(topology)
        log("stopping every process")
        topology.stop()


def main() -> int:
    seconds = seconds_setting()
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        status = run(seconds)
    except KeyboardInterrupt:
        log("interrupted: everything stopped")
        return 130
    log(f"done in {time.monotonic() - STARTED:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
