"""Bench cases for the edge: nginx (deploy/nginx/, rendered as `make edge` renders it) in front.

Servers that join the stack (access logs off, everything else as in production):

- ``edge``           — the ``prod`` app behind nginx: hot hits come from the edge cache
- ``edge-disk``      — the ``disk`` app (nothing small enough for memory) behind nginx: every
                       answer is a verified disk file handed over with X-Accel-Redirect
- ``edge-disk-sync`` — the same under gunicorn's sync workers (2 × 1), for DESIGN principle 7

The limit they are compared with is **nginx serving the same bytes as a plain static file**
(``/static/bench/<size>.bin`` through the same nginx), measured right before each case in every
round, like the direct rows and their Django floor. The slow-client probe measures fast 4 KiB
requests through the edge with and without 64 slow downloaders (~160 KB/s each) attached.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time

from bench.load import wrk
from bench.stack import VARIANTS, Stack
from tests.support.clients import slow_download
from tests.support.nginx import BEHIND_THE_EDGE, NginxServer
from tests.support.servers import GunicornServer

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MiB = 1024 * 1024
BIG = 100 * MiB
TAIL = {"Range": f"bytes={BIG - 65536}-"}  # the last 64 KiB of the 100 MiB object
APPS = {
    "edge": {},
    "edge-disk": VARIANTS["disk"],
    "edge-disk-sync": {**VARIANTS["disk"], "GUNICORN_WORKER_CLASS": "sync"},
}
TARGETS = [
    ("edge hot 50KiB: requests/s ≥ 0.9 × nginx static", "edge hot", "50KiB", 0.9),
    ("edge hot 1MiB: requests/s ≥ 0.8 × nginx static", "edge hot", "1MiB", 0.8),
]


def start(stack: Stack) -> None:
    for name, overrides in APPS.items():
        env = {**stack.base_env(), "MEDIA_CACHE_DIR": str(stack.work / f"cache-{name}"), **overrides, **BEHIND_THE_EDGE}
        app = GunicornServer(env, log_path=stack.work / f"gunicorn-{name}.log").start()
        stack.servers[f"{name}-app"] = app
        # the production per-IP limit (128) stays on: wrk's 16 and the probe's 64 connections fit under it
        nginx = NginxServer(app, stack.work / f"nginx-{name}", EDGE_ACCESS_LOG="off", EDGE_CONNECTIONS_PER_IP="128")
        stack.servers[name] = nginx.start()


def cases(rows: dict[str, dict], big: dict) -> list[dict]:
    table = []
    for label in ("4KiB", "50KiB", "1MiB"):
        token = rows[label]["media_hash"]
        table.append({"case": "edge hot", "size": label, "server": "edge", "path": f"/media/{token}"})
    token = rows["1MiB"]["media_hash"]
    table += [
        {"case": "edge X-Accel", "size": "1MiB", "server": "edge-disk", "path": f"/media/{token}"},
        {"case": "edge X-Accel sync", "size": "1MiB", "server": "edge-disk-sync", "path": f"/media/{token}"},
        {
            "case": "edge X-Accel tail",
            "size": "100MiB",
            "server": "edge-disk",
            "path": f"/media/{big['media_hash']}",
            "headers": TAIL,
        },
        # through the edge but never cached: what the worker class changes (gthread vs sync)
        {"case": "edge→app floor", "size": "50KiB", "server": "edge-disk", "path": "/bench/floor/50KiB"},
        {"case": "edge→app floor sync", "size": "50KiB", "server": "edge-disk-sync", "path": "/bench/floor/50KiB"},
    ]
    for case in table:
        headers = case.get("headers")
        case["floor"] = {"server": "edge", "path": f"/static/bench/{case['size']}.bin", "headers": headers}
    return table


def throughput(stack: Stack, table: list[dict], measure, seconds: float) -> list[dict]:
    for case in table:  # warm the edge cache and the disk tiers, and check nothing errors
        warm = measure(stack, case, 1)
        if warm.errors:
            raise RuntimeError(f"{case['case']} {case['size']}: {warm.errors} errors while warming")
    for case in table:
        case["rounds"], case["floor_rounds"] = [], []
    for round_number in range(1, ROUNDS + 1):
        print(f"bench: edge round {round_number}/{ROUNDS}", file=sys.stderr)
        for case in table:
            case["floor_rounds"].append(measure(stack, case["floor"], seconds))
            case["rounds"].append(measure(stack, case, seconds))
    for case in table:
        loads, floors = case.pop("rounds"), case.pop("floor_rounds")
        case.update(
            rps=statistics.median(load.rps for load in loads),
            p50_ms=statistics.median(load.p50_ms for load in loads),
            p99_ms=statistics.median(load.p99_ms for load in loads),
            errors=sum(load.errors for load in loads),
            static_rps=statistics.median(load.rps for load in floors),
            static_p99_ms=statistics.median(load.p99_ms for load in floors),
            rps_ratio=statistics.median(load.rps / floor.rps for load, floor in zip(loads, floors, strict=True)),
            p99_ratio=statistics.median(load.p99_ms / floor.p99_ms for load, floor in zip(loads, floors, strict=True)),
        )
        case["floor"] = case["floor"]["path"]
    return table


def slow_clients(stack: Stack, rows: dict[str, dict], big: dict, seconds: float, clients: int = 64) -> dict:
    """Fast 4 KiB p99 through the edge, alone and with ``clients`` slow downloaders attached."""
    edge = stack.servers["edge"]
    url = f"{edge.url}/media/{rows['4KiB']['media_hash']}"
    unloaded = [wrk(url, seconds=seconds, connections=16, threads=2) for _ in range(ROUNDS)]
    stop = threading.Event()
    received: list[int] = []
    slow = [
        threading.Thread(
            target=lambda: received.append(slow_download(edge.port, f"/media/{big['media_hash']}", stop)), daemon=True
        )
        for _ in range(clients)
    ]
    for thread in slow:
        thread.start()
    time.sleep(1.0)
    try:
        loaded = [wrk(url, seconds=seconds, connections=16, threads=2) for _ in range(ROUNDS)]
    finally:
        stop.set()
        for thread in slow:
            thread.join(timeout=30)
    found = {
        "clients": clients,
        "unloaded_rps": statistics.median(load.rps for load in unloaded),
        "unloaded_p99_ms": statistics.median(load.p99_ms for load in unloaded),
        "loaded_rps": statistics.median(load.rps for load in loaded),
        "loaded_p99_ms": statistics.median(load.p99_ms for load in loaded),
        "errors": sum(load.errors for load in loaded),
        "slow_clients_served": sum(1 for n in received if n > 0),
    }
    found["p99_ratio"] = found["loaded_p99_ms"] / found["unloaded_p99_ms"]
    return found


def run(stack: Stack, rows: dict[str, dict], payloads: dict[str, bytes], measure, seconds: float) -> dict:
    start(stack)
    big_payload = os.urandom(BIG)
    big = stack.ingest({"edge-100MiB": big_payload})["edge-100MiB"]
    static = stack.work / "static" / "bench"
    static.mkdir(parents=True, exist_ok=True)
    for label, payload in {**payloads, "100MiB": big_payload}.items():
        (static / f"{label}.bin").write_bytes(payload)
    table = throughput(stack, cases(rows, big), measure, seconds)
    print("bench: edge slow-client probe", file=sys.stderr)
    return {"throughput": table, "slow_clients": slow_clients(stack, rows, big, seconds)}


def verdicts(found: dict) -> list[tuple[str, float, bool]]:
    by_key = {(row["case"], row["size"]): row for row in found["throughput"]}
    checks = []
    for description, case, size, bound in TARGETS:
        value = by_key[(case, size)]["rps_ratio"]
        checks.append((description, value, value >= bound))
    ratio = found["slow_clients"]["p99_ratio"]
    checks.append(("edge: fast p99 with 64 slow downloaders ≤ 2 × without", ratio, ratio <= 2))
    return checks


def lines(found: dict) -> list[str]:
    out = [
        "",
        "the edge (nginx in front; ratios to nginx serving the same bytes as a static file)",
        f"{'case':<20} {'size':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'static':>9} {'× static':>8} {'p99 ×':>6}",
        "-" * 80,
    ]
    for row in found["throughput"]:
        out.append(
            f"{row['case']:<20} {row['size']:>6} {row['rps']:>9.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['static_rps']:>9.0f} {row['rps_ratio']:>8.2f} {row['p99_ratio']:>6.2f}"
        )
    slow = found["slow_clients"]
    out.append(
        f"  fast 4 KiB through the edge: p99 {slow['unloaded_p99_ms']:.2f} ms alone, "
        f"{slow['loaded_p99_ms']:.2f} ms with "
        f"{slow['clients']} slow downloaders attached ({slow['loaded_rps']:,.0f} vs {slow['unloaded_rps']:,.0f} req/s, "
        f"{slow['errors']} errors, {slow['slow_clients_served']} slow clients served)"
    )
    for description, value, ok in verdicts(found):
        out.append(f"  [{'met' if ok else 'MISSED'}] {description}: {value:.2f}")
    return out


def main() -> None:
    """Just the edge cases (``python -m bench.edge``): the stack, the payloads, then this module."""
    import json
    import tempfile
    from pathlib import Path

    from bench.run import SECONDS, measure, store_payloads

    with tempfile.TemporaryDirectory(prefix="mediacache-bench-edge-") as folder:
        stack = Stack(Path(folder))
        try:
            stack.start()
            payloads, rows = store_payloads(stack)
            found = run(stack, rows, payloads, measure, SECONDS)
        finally:
            stack.stop()
    print("\n".join(lines(found)))
    Path(__file__).with_name("results-edge.json").write_text(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
