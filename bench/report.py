"""The benchmark's table, its verdict on each target, and docs/benchmarks.md."""

from __future__ import annotations

import datetime
from pathlib import Path

TARGETS = [
    # (description, case, size, metric, minimum or maximum, bound)
    ("hot tier 50KiB: requests/s ≥ 0.85 × floor", "hot (process)", "50KiB", "rps_ratio", "min", 0.85),
    ("hot tier 50KiB: p99 ≤ 1.5 × floor", "hot (process)", "50KiB", "p99_ratio", "max", 1.5),
    ("disk tier 1MiB: requests/s ≥ 0.85 × floor", "disk", "1MiB", "rps_ratio", "min", 0.85),
    ("HEAD: requests/s ≥ 0.9 × floor", "HEAD", "50KiB", "rps_ratio", "min", 0.9),
    ("Range bytes=0-1: requests/s ≥ 0.9 × floor", "Range 0-1", "50KiB", "rps_ratio", "min", 0.9),
]


def verdicts(results: dict) -> list[tuple[str, float, bool]]:
    by_key = {(row["case"], row["size"]): row for row in results["throughput"]}
    checks = []
    for description, case, size, metric, kind, bound in TARGETS:
        value = by_key[(case, size)][metric]
        checks.append((description, value, value >= bound if kind == "min" else value <= bound))
    probes = results["probes"]
    checks.append(
        (
            "single-flight: 50 concurrent misses → 1 origin GET",
            probes["single_flight_origin_gets"],
            probes["single_flight_origin_gets"] == 1,
        )
    )
    for key, label in [
        ("rss_origin_cold_fill", "origin (cold, fills disk)"),
        ("rss_disk", "disk"),
        ("rss_origin_stream", "origin (caching off)"),
    ]:
        growth = probes[key]["max_worker_growth_mib"]
        checks.append((f"worker RSS growth, 4 × 200 MiB from {label} < 32 MiB", growth, growth < 32))
    ratio = probes["redis_memory"]["ratio"]
    checks.append(("Redis used_memory per payload byte (1,000 × 50 KiB) ≤ 1.05", ratio, ratio <= 1.05))
    return checks


def table(results: dict) -> str:
    lines = [
        f"{'case':<15} {'size':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'× floor':>8} {'p99 ×':>7}",
        "-" * 67,
    ]
    for row in results["throughput"]:
        lines.append(
            f"{row['case']:<15} {row['size']:>6} {row['rps']:>9.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['rps_ratio']:>8.2f} {row['p99_ratio']:>7.2f}"
        )
    probes = results["probes"]
    lines += ["", "probes"]
    lines.append(f"  origin GETs for 50 concurrent first requests: {probes['single_flight_origin_gets']}")
    for key, label in [
        ("rss_origin_cold_fill", "origin, cold (fills the disk tier)"),
        ("rss_disk", "disk tier (sendfile)"),
        ("rss_origin_stream", "origin, caching off (stream)"),
    ]:
        probe = probes[key]
        lines.append(
            f"  worker RSS growth, 4 clients × 200 MiB from {label}: "
            f"{probe['max_worker_growth_mib']:.1f} MiB ({probe['seconds']:.1f} s)"
        )
    lines.append(f"  Redis used_memory growth per payload byte, 1,000 × 50 KiB: {probes['redis_memory']['ratio']:.3f}")
    for database, rate in probes["backfill_rows_per_second"].items():
        lines.append(f"  backfill_media_hashes, 100k rows on {database}: {rate:,.0f} rows/s")
    lines += ["", "targets"]
    for description, value, ok in verdicts(results):
        lines.append(f"  [{'met' if ok else 'MISSED'}] {description}: {value:.2f}")
    return "\n".join(lines)


def write_docs(path: Path, results: dict, text: str) -> None:
    facts = results["machine"]
    settings = results["settings"]
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"""# Benchmarks

Latest `make bench` ({datetime.date.today().isoformat()}, {results["seconds"] / 60:.1f} min), on {facts["cpu"]},
{facts["cores"]} cores, {facts["memory_gib"]} GiB. Load: wrk {settings["wrk"]}, from a separate process on the
same cores as the servers. Servers: {settings["gunicorn"]}. Ratios are against the bare Django floor view
(the same bytes from memory, through the same middleware) of the same size, measured right before each case
in every round; the table shows the median over rounds of those paired ratios (req/s and latencies are
medians too).
HEAD and Range are compared with the 50 KiB floor GET. See `bench/stack.py` for the four server variants.

```
{text}
```

How to read it: see the README's "Benchmarks" section; raw numbers (every round) are in `bench/results.json`.
"""
    )
