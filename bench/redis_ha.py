"""Bench cases for Redis Sentinel and Redis Cluster, and the failover window.

Two more gunicorn servers join the stack, configured exactly like its ``redis`` server (process
cache off: every hot hit is a Redis round trip) but reaching Redis over Sentinel (1 primary,
1 replica, 3 sentinels) and over a 3-primary/3-replica Cluster. The hot-tier case is measured
on all three in alternating rounds and reported as ratios to the single-Redis server of the
same run (target ≥ 0.9×). Then the Sentinel primary is killed under a steady load of hot, disk
and cold requests: the failover window is the seconds from the kill until Redis serves again,
reported with the count of 5xx answers and wrong bodies in that run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.stack import VARIANTS, Stack
from tests.support.redis_ha import ClusterSet, SentinelSet
from tests.support.servers import GunicornServer
from tests.support.steady_load import SteadyLoad, failover_window

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


@dataclass
class _Item:
    path: str
    payload: bytes


def start(stack: Stack) -> tuple[SentinelSet, ClusterSet]:
    """Start the Sentinel set, the Cluster and one gunicorn server on each (``sentinel``, ``cluster``)."""
    sentinels, cluster = SentinelSet(master="mc-bench").start(), ClusterSet().start()
    topologies = {
        "sentinel": {
            "REDIS_SENTINELS": sentinels.env,
            "REDIS_SENTINEL_MASTER": sentinels.master,
            "MEDIA_REDIS_RETRY_SECONDS": "1",
        },
        "cluster": {"REDIS_CLUSTER_NODES": cluster.env},
    }
    for name, topology in topologies.items():
        env = {
            **stack.base_env(),
            "REDIS_URL": "",
            "MEDIA_CACHE_DIR": str(stack.work / f"cache-{name}"),
            **VARIANTS["redis"],
            **topology,
        }
        stack.servers[name] = GunicornServer(env, log_path=stack.work / f"gunicorn-{name}.log").start()
    return sentinels, cluster


def worker_cpu_seconds(stack: Stack, name: str) -> float:
    """User + system CPU the server's gunicorn workers have used so far."""
    total = 0
    for pid in stack.worker_pids(name):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def hot_tier_ratios(stack: Stack, rows: dict[str, dict], measure, seconds: float) -> list[dict]:
    """The 50 KiB hot-tier case on ``redis``, ``sentinel`` and ``cluster``, as ratios to ``redis``.

    Also the workers' CPU per request: on two shared cores the requests/s ratio moves with
    whatever else runs (six Cluster nodes, three sentinels), the client's own cost does not.
    """
    token = rows["50KiB"]["media_hash"]
    names = ("redis", "sentinel", "cluster")
    cases = {
        name: {"case": f"hot ({name})", "size": "50KiB", "server": name, "path": f"/media/{token}"} for name in names
    }
    for case in cases.values():
        measure(stack, case, 1)  # warm: the first request fills the tier
    ratios: dict[str, list[float]] = {"sentinel": [], "cluster": []}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    last = {}
    for _ in range(ROUNDS):
        for name in names:
            before = worker_cpu_seconds(stack, name)
            last[name] = measure(stack, cases[name], seconds)
            requests = last[name].rps * seconds
            cpu[name].append((worker_cpu_seconds(stack, name) - before) / requests * 1e6 if requests else 0.0)
        for name in ratios:
            ratios[name].append(last[name].rps / last["redis"].rps if last["redis"].rps else 0.0)
    return [
        {
            "case": cases[name]["case"],
            "size": "50KiB",
            "rps": last[name].rps,
            "p50_ms": last[name].p50_ms,
            "p99_ms": last[name].p99_ms,
            "worker_cpu_us_per_request": statistics.median(cpu[name]),
            "single_redis_cpu_us_per_request": statistics.median(cpu["redis"]),
            "ratio_to_single_redis": statistics.median(values),
            "target": 0.9,
        }
        for name, values in ratios.items()
    ]


def failover(stack: Stack, sentinels: SentinelSet, rows: dict[str, dict], payloads: dict[str, bytes]) -> dict:
    """Kill the Sentinel primary under steady load; the window until Redis serves every hot request again."""
    import requests

    server = stack.servers["sentinel"]

    hot = [_Item(f"/media/{rows[label]['media_hash']}", payloads[label]) for label in payloads]
    for item in hot:
        requests.get(server.url + item.path, timeout=10)
    load = SteadyLoad(server.url, hot, [], [], threads=4).start()
    time.sleep(2)
    old = sentinels.kill_primary().port
    killed_at = time.monotonic()
    sentinels.wait_for_new_primary(old)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and failover_window(load.results, killed_at) is None:
        time.sleep(0.2)
    time.sleep(1.0)  # a little steady state on the new primary
    results = load.stop()
    statuses = Counter(answer.status for answer in results)
    window = failover_window(results, killed_at)
    print(f"bench: failover window {window}s over {len(results)} requests", file=sys.stderr)
    return {
        "window_seconds": window,
        "requests": len(results),
        "5xx": sum(count for status, count in statuses.items() if status >= 500),
        "no_answer": statuses.get(0, 0),
        "wrong_bytes": sum(1 for answer in results if answer.status == 200 and not answer.correct),
    }


def run(stack: Stack, rows: dict[str, dict], payloads: dict[str, bytes], measure, seconds: float) -> dict:
    """Everything above; the servers and Redis sets are stopped afterwards."""
    sentinels, cluster = start(stack)
    try:
        return {
            "throughput": hot_tier_ratios(stack, rows, measure, seconds),
            "failover": failover(stack, sentinels, rows, payloads),
        }
    finally:
        for name in ("sentinel", "cluster"):
            stack.servers.pop(name).stop()
        sentinels.stop()
        cluster.stop()


def lines(found: dict) -> list[str]:
    """The report's rows for ``bench.report``."""
    out = ["", "Redis topologies (hot tier, 50 KiB, ratio to single Redis in this run; target >= 0.9)"]
    for row in found["throughput"]:
        out.append(
            f"  {row['case']:<16} {row['rps']:>9.0f} req/s  p99 {row['p99_ms']:.1f} ms  "
            f"ratio {row['ratio_to_single_redis']:.2f}  worker CPU {row['worker_cpu_us_per_request']:.0f} us/request "
            f"(single Redis {row['single_redis_cpu_us_per_request']:.0f})"
        )
    f = found["failover"]
    window = "n/a" if f["window_seconds"] is None else f"{f['window_seconds']:.2f} s"
    out.append(
        f"  failover window (kill primary -> Redis serves every hot request again): {window}; "
        f"{f['requests']} requests, "
        f"{f['5xx']} 5xx, {f['no_answer']} unanswered, {f['wrong_bytes']} wrong bodies"
    )
    return out
