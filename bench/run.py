"""``make bench``: throughput of /media/<hash> per tier against Django's own floor, plus probes.

Every throughput case is measured ``BENCH_ROUNDS`` times (default 5), each time right after the
floor view of the same payload size (the same bytes from memory, through the same middleware);
the median of those paired ratios is reported. wrk runs from a separate process on the same 2
cores as the servers, so absolute numbers understate a real deployment; the ratios are what
the targets are about. Knobs: BENCH_SECONDS (2), BENCH_ROUNDS (5), BENCH_CONNECTIONS (16).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import edge, probes, redis_ha, report, transcode
from bench.load import Load, ab, wrk
from bench.stack import Stack, machine

SIZES = {"4KiB": 4 * 1024, "50KiB": 50 * 1024, "1MiB": 1024 * 1024}
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
THREADS = 2
RESULTS = Path(__file__).resolve().parent / "results.json"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def cases(stack: Stack, rows: dict[str, dict]) -> list[dict]:
    """Every throughput case: (name, size, server, path, method, headers)."""
    table = []
    for label in SIZES:
        token = rows[label]["media_hash"]
        table += [
            {"case": "floor", "size": label, "server": "prod", "path": f"/bench/floor/{label}"},
            {"case": "hot (process)", "size": label, "server": "prod", "path": f"/media/{token}"},
            {"case": "hot (redis)", "size": label, "server": "redis", "path": f"/media/{token}"},
            {"case": "disk", "size": label, "server": "disk", "path": f"/media/{token}"},
            {"case": "origin", "size": label, "server": "origin", "path": f"/media/{token}"},
        ]
    token = rows["50KiB"]["media_hash"]
    range_header = {"Range": "bytes=0-1"}
    table += [
        {"case": "Range 0-1", "size": "50KiB", "server": "prod", "path": f"/media/{token}", "headers": range_header},
        # HEAD needs ApacheBench (see load.py), so it gets an ab-measured floor of its own
        {"case": "floor (ab)", "size": "50KiB", "server": "prod", "path": "/bench/floor/50KiB", "tool": "ab"},
        {"case": "HEAD", "size": "50KiB", "server": "prod", "path": f"/media/{token}", "tool": "ab", "head": True},
    ]
    return table


def measure(stack: Stack, case: dict, seconds: float) -> Load:
    url = stack.servers[case["server"]].url + case["path"]
    if case.get("tool") == "ab":
        return ab(url, seconds=seconds, connections=CONNECTIONS, head=case.get("head", False))
    return wrk(url, seconds=seconds, connections=CONNECTIONS, threads=THREADS, headers=case.get("headers"))


def throughput(stack: Stack, rows: dict[str, dict]) -> list[dict]:
    """Each case is measured right after its floor, in every round: the ratio of the pair is
    what counts (a noisy neighbour slows both), and the median over rounds is reported."""
    table = cases(stack, rows)
    floor_of = {(case["size"], case.get("tool", "wrk")): case for case in table if case["case"].startswith("floor")}
    for case in table:  # warm every tier on every worker (and check nothing errors)
        warm = measure(stack, case, 1)
        if warm.errors:
            raise RuntimeError(f"{case['case']} {case['size']}: {warm.errors} errors while warming")
    runs: dict[int, list[Load]] = {id(case): [] for case in table}
    ratios: dict[int, list[tuple[float, float]]] = {id(case): [] for case in table}
    for round_number in range(1, ROUNDS + 1):
        print(f"bench: throughput round {round_number}/{ROUNDS}", file=sys.stderr)
        for case in table:
            if case["case"].startswith("floor"):
                continue
            floor = floor_of[(case["size"], case.get("tool", "wrk"))]
            floor_load, load = measure(stack, floor, SECONDS), measure(stack, case, SECONDS)
            runs[id(floor)].append(floor_load)
            runs[id(case)].append(load)
            ratios[id(case)].append((load.rps / floor_load.rps, load.p99_ms / floor_load.p99_ms))
    for case in table:
        loads = runs[id(case)]
        pairs = ratios[id(case)] or [(1.0, 1.0)]  # a floor against itself
        case.update(
            rps=statistics.median(load.rps for load in loads),
            p50_ms=statistics.median(load.p50_ms for load in loads),
            p99_ms=statistics.median(load.p99_ms for load in loads),
            errors=sum(load.errors for load in loads),
            rounds=[{"rps": load.rps, "p99_ms": load.p99_ms} for load in loads],
            rps_ratio=statistics.median(rps for rps, _ in pairs),
            p99_ratio=statistics.median(p99 for _, p99 in pairs),
        )
    return table


def store_payloads(stack: Stack) -> tuple[dict[str, bytes], dict[str, dict]]:
    """Random bytes of each of SIZES, written where the floor view reads them and ingested:
    ``(payloads, rows)``, both by size label."""
    payloads = {label: os.urandom(size) for label, size in SIZES.items()}
    for label, payload in payloads.items():
        (stack.work / "floor" / f"{label}.bin").write_bytes(payload)
    return payloads, stack.ingest(payloads)


def main() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mediacache-bench-") as folder:
        stack = Stack(Path(folder))
        try:
            stack.start()
            payloads, rows = store_payloads(stack)
            print("bench: servers up, payloads stored", file=sys.stderr)
            results = {"machine": machine(), "settings": _settings(), "throughput": throughput(stack, rows)}
            print("bench: probes", file=sys.stderr)
            results["probes"] = run_probes(stack)
            print("bench: the edge (nginx in front)", file=sys.stderr)
            results["edge"] = edge.run(stack, rows, payloads, measure, SECONDS)
            print("bench: variants (transcode, hot hit)", file=sys.stderr)
            results["transcode"] = transcode.measure(stack)
            print("bench: Redis Sentinel / Cluster", file=sys.stderr)
            results["redis_ha"] = redis_ha.run(stack, rows, payloads, measure, SECONDS)
        finally:
            stack.stop()
    results["seconds"] = time.monotonic() - started
    RESULTS.write_text(json.dumps(results, indent=2))
    text = "\n".join(
        [
            report.table(results),
            *edge.lines(results["edge"]),
            *redis_ha.lines(results["redis_ha"]),
            *transcode.lines(results["transcode"]),
        ]
    )
    print(text)
    report.write_docs(DOCS, results, text)


def run_probes(stack: Stack) -> dict:
    found = {"single_flight_origin_gets": probes.origin_gets_for_concurrent_misses(stack)}
    big = probes.big_object(stack)
    path = f"/media/{big['media_hash']}"
    found["rss_origin_cold_fill"] = probes.rss_growth_while_downloading(stack, "disk", stack.servers["disk"].url + path)
    found["rss_disk"] = probes.rss_growth_while_downloading(stack, "disk", stack.servers["disk"].url + path)
    found["rss_origin_stream"] = probes.rss_growth_while_downloading(
        stack, "origin", stack.servers["origin"].url + path
    )
    found["redis_memory"] = probes.redis_memory_per_payload_byte(stack)
    found["backfill_rows_per_second"] = {
        "sqlite": probes.backfill_rows_per_second(stack, f"sqlite:///{stack.work / 'backfill.sqlite3'}")
    }
    postgres = probes.postgres_database_url()
    if postgres:
        try:
            found["backfill_rows_per_second"]["postgresql"] = probes.backfill_rows_per_second(stack, postgres)
        finally:
            probes.drop_postgres_database(postgres)
    return found


def _settings() -> dict:
    return {
        "wrk": f"-t{THREADS} -c{CONNECTIONS} -d{SECONDS:g}s, {ROUNDS} rounds (median)",
        "gunicorn": "gunicorn.conf.py: gthread, one worker per usable CPU, 8 threads, sendfile on",
    }


if __name__ == "__main__":
    main()
