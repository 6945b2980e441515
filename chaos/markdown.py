"""docs/reliability.md (the latest table, with how to read it) and bench/chaos.json (every figure)."""

from __future__ import annotations

import json
from pathlib import Path

HOW = """\
`make chaos` (`CHAOS_SECONDS`, default 180; never part of `make test`) starts the production
topology on this machine — nginx (the edge, rendered from `deploy/nginx/`) in front of **two**
gunicorn nodes (each its own disk tier; node a's on a 48 MiB tmpfs), PostgreSQL (a throwaway
`initdb` cluster on a free port), Redis Sentinel (primary + replica + 3 sentinels), moto S3
behind a fault proxy, a Celery worker, a local HTTP server for URL ingest and the fake Graph
API — then runs a load generator in its own process for the whole run: hot/warm GETs, cold first
requests (three at once: single-flight), Range, If-None-Match, HEAD, uploads, URL downloads,
WhatsApp media IDs (a quarter with `?async=1`, through Celery), deletes and operator reads
(`/media/stats`, `/metrics`, `/healthz`). Every body is checked against the SHA-256 it must
have. Ten faults happen on a schedule, one at a time, each followed by a recovery gap; after
the run every acknowledged ingest is fetched back and compared, and S3 and PostgreSQL are
compared with each other. Code: `chaos/` (one module per job).

How to read it: a row covers a fault's window *and* the gap after it, up to the next fault.
*Errors* are answers other than the request's success statuses (`0` = no answer at all).
*Recovery* is, for every kind of request that failed around the fault, the time from the fault's
end to its first success after its last failure; the row shows the worst kind. It includes
waiting for the next request of that kind: rare kinds (cold first requests, async media IDs)
come every 1–3 s. The contract's
own 5xx — `503` + `Retry-After` for content not served before while S3 refuses or corrupts it,
`503` for an ingest while S3 refuses writes, a fetch's JSON `502`, `/healthz` `503` while the
database or origin is down — are errors in the table but not budget misses.
"""


def markdown(result: dict) -> str:
    lines = [
        "# Reliability under load and faults (`make chaos`)",
        "",
        f"Latest run: {result['when']}, {result['seconds']:g} s of load, {result['requests']} requests "
        f"({result['requests_per_second']:.1f}/s) through nginx → 2 gunicorn nodes, on {result['machine']}; "
        f"load average {result['load_average']:.1f} at the end (everything on the machine, the run included).",
        "",
        "![requests and errors over time, fault windows shaded](reliability.png)",
        "",
        HOW,
        "| window (fault + recovery gap) | s | requests | errors by status | wrong bytes | p50 ms | p99 ms "
        "| recovery s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["windows"]:
        errors = ", ".join(f"{status}×{count}" for status, count in row["errors"].items()) or "—"
        recovered = (
            "—"
            if row["window"].startswith("baseline")
            else ("not recovered" if row["recovery_s"] is None else f"{row['recovery_s']:.1f}")
        )
        lines.append(
            f"| {row['window']} | {row['start']:.0f}–{row['until']:.0f} | {row['requests']} | {errors} | "
            f"{row['wrong_bytes']} | {row['p50_ms']} | {row['p99_ms']} | {recovered} |"
        )
    audit = result["audit"]
    lines += [
        "",
        f"Whole run: {audit['acknowledged']} acknowledged ingests (uploads, URL downloads, media IDs), "
        f"{audit['checked']} fetched back after the run ({audit['deleted_or_unknown']} deleted), "
        f"**{audit['lost']} lost**; {audit['duplicate_objects']} duplicate objects; "
        f"{audit['orphan_rows']} orphan rows; {audit['orphan_objects']} S3 objects without a row "
        f"({audit['blobs']} blobs, {audit['s3_objects']} objects).",
        "",
        "| budget | limit | value | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {b['budget']} | {b['limit']} | {b['value']} | {'yes' if b['met'] else '**NO**'} |"
        for b in result["budgets"]
    ]
    if result["violations"]:
        lines += [
            "",
            "Answers outside the contract (first 25):",
            "",
            "| t s | fault | kind | status | served before | Retry-After | detail |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {v['t']:.1f} | {v['fault'] or '—'} | {v['kind']} | {v['status']} | {v['cached']} | "
            f"{v.get('retry_after')} | {v.get('detail') or ''} |"
            for v in result["violations"][:25]
        ]
    mechanisms = result["mechanisms"]
    lines += [
        "",
        "What the system did to stay within them (counted in the edge's and the nodes' logs): "
        f"{mechanisms['ingest_posts_resent_by_the_edge']} ingest POSTs resent by the edge to the other node "
        f"after one failed before answering ({mechanisms['of_which_answered_201']} answered 201), "
        f"{mechanisms['ingest_replays']} answered as a replay of an earlier attempt (Idempotency-Key); "
        f"{mechanisms['jobs_rescued']} asynchronous jobs rescued by a web node after their task was lost, "
        f"{mechanisms['jobs_run_inline']} run inline because the broker refused them, "
        f"{mechanisms['jobs_abandoned']} abandoned; the Celery worker exited and was restarted "
        f"{mechanisms['celery_worker_restarts']} times (as systemd's Restart=always would: chaos/supervisor.py).",
    ]
    lines += ["", "Faults as done (seconds after the load started):", ""]
    lines += [
        f"- `{e['fault']}` {e['act']} at {e['at']:.1f} s ({e['took']:.1f} s){': ' + e['detail'] if e['detail'] else ''}"
        for e in result["events"]
    ]
    return "\n".join(lines) + "\n"


def write(result: dict, docs: Path, bench: Path) -> None:
    (docs / "reliability.md").write_text(markdown(result))
    (bench / "chaos.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
