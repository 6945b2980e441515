"""Figures per fault window, the budgets, and the report files (docs/reliability.md, bench/chaos.json).

A window row covers the fault and the recovery gap after it (up to the next fault). Errors
are answers other than the kind's success statuses, 0 meaning no answer at all. Recovery is,
for every kind that failed in the window, the time from the fault's end to its first success
after its last failure — "working again, and staying so" — and the row's figure is the worst.

Budgets (CONTRACT and issue #14): wrong bytes 0; lost acknowledged uploads 0; 5xx (or no
answer) only where the contract allows one — 503 + Retry-After for content not yet served
while S3 refuses or corrupts it, 503 for an ingest while S3 refuses writes, a fetch's 502,
/healthz 503 while the database or origin is down — and none for content served before;
recovery ≤ 10 s after each fault ends.
"""

from __future__ import annotations

import statistics
from collections import Counter

GET_KINDS = {"hot", "warm", "cold", "range", "conditional", "head"}
INGEST_KINDS = {"upload", "url", "media_id", "media_id_async"}
SUCCESS = {
    **{kind: {200, 206, 304} for kind in GET_KINDS},
    "upload": {201},
    "url": {201},
    "media_id": {200},
    "media_id_async": {200},
    "delete": {204},
    "operator": {200},
}
RECOVERY_BUDGET = 10.0
GRACE = 2.0  # an answer to a request sent just before a fault ended still belongs to it


def active_fault(windows: list[dict], record: dict) -> str | None:
    """The fault under way while the request was in flight (sent before it ended, answered after it began)."""
    sent, answered = record["t"], record["t"] + record["latency"]
    for window in windows:
        if sent < window["end"] + GRACE and answered >= window["start"]:
            return window["name"]
    return None


def allowed_5xx(record: dict, fault: str | None) -> bool:
    status, kind = record["status"], record["kind"]
    if status == 502 and kind in INGEST_KINDS - {"upload"}:
        return "json" in record.get("content_type", "")  # the app's 502 for a failed fetch, not nginx's page
    if status == 503 and fault in ("s3-refusing", "s3-corrupt") and kind in GET_KINDS:
        return record.get("retry_after", False) and not record["cached"]
    if status == 503 and fault == "s3-refusing" and kind in INGEST_KINDS:
        return True  # the origin cannot be written: nothing stored, say so
    return status == 503 and kind == "operator" and fault in ("s3-refusing", "postgres-restart")


def is_error(record: dict) -> bool:
    return record["status"] not in SUCCESS.get(record["kind"], {200})


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def recovery(records: list[dict], end: float, until: float, name: str, windows: list[dict]) -> float | None:
    """Seconds after ``end`` until every kind that failed around the fault works and stays working.

    Failures of requests that were in flight when the *next* fault began belong to that one."""
    records = [r for r in records if not is_error(r) or active_fault(windows, r) in (name, None)]
    affected = {r["kind"] for r in records if is_error(r)}
    worst = 0.0
    for kind in affected:
        after = [r for r in records if r["kind"] == kind and end <= r["t"] < until]
        failures = [r["t"] for r in after if is_error(r)]
        last_failure = max(failures) if failures else end
        successes = [r["t"] + r["latency"] for r in after if not is_error(r) and r["t"] >= last_failure]
        if not successes:
            return None
        worst = max(worst, min(successes) - end)
    return round(worst, 2)


def window_rows(records: list[dict], windows: list[dict], total: float) -> list[dict]:
    spans = [("baseline (no fault)", None, 0.0, windows[0]["start"] if windows else total)]
    for index, window in enumerate(windows):
        until = windows[index + 1]["start"] if index + 1 < len(windows) else total
        spans.append((window["name"], window, window["start"], until))
    rows = []
    for name, window, start, until in spans:
        inside = [r for r in records if start <= r["t"] < until]
        latencies = [r["latency"] * 1000 for r in inside if r["status"] > 0]
        errors = Counter(str(r["status"]) for r in inside if is_error(r))
        row = {
            "window": name,
            "start": round(start, 1),
            "end": round(window["end"] if window else until, 1),
            "until": round(until, 1),
            "requests": len(inside),
            "errors": dict(sorted(errors.items())),
            "wrong_bytes": sum(1 for r in inside if r["wrong"]),
            "p50_ms": _round(percentile(latencies, 50)),
            "p99_ms": _round(percentile(latencies, 99)),
            "recovery_s": recovery(inside, window["end"], until, name, windows) if window else 0.0,
            "detail": window.get("detail", "") if window else "",
        }
        rows.append(row)
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def violations(records: list[dict], windows: list[dict]) -> list[dict]:
    """Every 5xx or unanswered request the contract does not allow, with what it was."""
    found = []
    for record in records:
        if record["status"] == 0 or record["status"] >= 500 or record["status"] < 0:
            fault = active_fault(windows, record)
            if record["status"] > 0 and allowed_5xx(record, fault):
                continue
            found.append(
                {key: record.get(key) for key in ("t", "kind", "status", "cached", "retry_after", "token", "detail")}
                | {"fault": fault}
            )
    return found


def budgets(rows: list[dict], audit: dict, bad: list[dict]) -> list[dict]:
    fault_rows = [row for row in rows if row["window"] != "baseline (no fault)"]
    slow = [
        f"{r['window']} {r['recovery_s']}"
        for r in fault_rows
        if r["recovery_s"] is None or r["recovery_s"] > RECOVERY_BUDGET
    ]
    cached = [v for v in bad if v.get("cached")]
    return [
        _budget("wrong bytes served", 0, sum(r["wrong_bytes"] for r in rows)),
        _budget("acknowledged uploads lost", 0, audit["lost"]),
        _budget("duplicate objects", 0, audit["duplicate_objects"]),
        _budget("orphan rows", 0, audit["orphan_rows"]),
        _budget("5xx / no answer outside the contract", 0, len(bad)),
        _budget("of which for content served before", 0, len(cached)),
        {
            "budget": f"recovery <= {RECOVERY_BUDGET:g} s after every fault",
            "limit": RECOVERY_BUDGET,
            "value": max((r["recovery_s"] or 0 for r in fault_rows), default=0) if not slow else "; ".join(slow),
            "met": not slow,
        },
    ]


def _budget(name: str, limit: int, value: int) -> dict:
    return {"budget": name, "limit": limit, "value": value, "met": value <= limit}
