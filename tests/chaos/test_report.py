"""The figures and budgets of the chaos report, from request records written as the load writes them."""

from __future__ import annotations

from chaos.report import allowed_5xx, budgets, recovery, violations, window_rows

WINDOWS = [
    {"name": "s3-refusing", "start": 10.0, "end": 20.0, "detail": ""},
    {"name": "postgres-restart", "start": 30.0, "end": 30.5, "detail": ""},
]
AUDIT = {"lost": 0, "duplicate_objects": 0, "orphan_rows": 0}


def rec(t, kind="hot", status=200, *, cached=True, latency=0.01, wrong=False, retry_after=False, content_type=""):
    return {
        "t": t,
        "kind": kind,
        "status": status,
        "cached": cached,
        "latency": latency,
        "wrong": wrong,
        "retry_after": retry_after,
        "content_type": content_type,
    }


def test_a_503_with_retry_after_for_content_never_served_while_s3_refuses_is_the_contract():
    assert allowed_5xx(rec(12, "cold", 503, cached=False, retry_after=True), "s3-refusing") is True


def test_a_503_for_content_served_before_is_never_allowed():
    assert allowed_5xx(rec(12, "hot", 503, cached=True, retry_after=True), "s3-refusing") is False


def test_a_503_without_retry_after_is_not_the_contract_503():
    assert allowed_5xx(rec(12, "cold", 503, cached=False), "s3-refusing") is False


def test_nginx_own_502_page_for_a_fetch_is_not_the_apps_upstream_502():
    assert allowed_5xx(rec(5, "url", 502, content_type="text/html"), None) is False
    assert allowed_5xx(rec(5, "url", 502, content_type="application/json"), None) is True


def test_an_upload_refused_while_s3_refuses_writes_is_allowed_but_not_after():
    assert allowed_5xx(rec(15, "upload", 503, cached=False), "s3-refusing") is True
    assert allowed_5xx(rec(25, "upload", 503, cached=False), None) is False


def test_violations_name_the_fault_a_request_was_in_flight_during():
    records = [rec(9.5, "cold", 503, cached=False, latency=1.0), rec(40, "hot", 0, latency=20)]
    found = violations(records, WINDOWS)
    assert [(v["fault"], v["status"]) for v in found] == [("s3-refusing", 503), (None, 0)]


def test_recovery_is_the_first_success_after_the_last_failure_once_the_fault_ended():
    records = [
        rec(19, "cold", 503, cached=False),
        rec(21, "cold", 503, cached=False),
        rec(23.5, "cold", 200),
        rec(24, "hot", 200),
    ]
    assert recovery(records, 20.0, 30.0, "s3-refusing", WINDOWS) == 3.51


def test_a_kind_that_never_works_again_before_the_next_fault_has_not_recovered():
    records = [rec(19, "upload", 503, cached=False), rec(22, "upload", 503, cached=False)]
    assert recovery(records, 20.0, 30.0, "s3-refusing", WINDOWS) is None


def test_window_rows_count_requests_errors_wrong_bytes_and_latency_per_window():
    records = [
        rec(1, latency=0.002),
        rec(11, "cold", 503, cached=False, retry_after=True),
        rec(12, wrong=True, latency=0.004),
        rec(25, "cold", latency=0.006),
    ]
    rows = window_rows(records, WINDOWS, 60)
    assert [(r["window"], r["requests"], r["errors"], r["wrong_bytes"]) for r in rows] == [
        ("baseline (no fault)", 1, {}, 0),
        ("s3-refusing", 3, {"503": 1}, 1),
        ("postgres-restart", 0, {}, 0),
    ]
    assert rows[1]["p50_ms"] == 6.0
    assert rows[1]["recovery_s"] == 5.01


def test_budgets_fail_on_one_wrong_body_and_on_a_slow_recovery():
    rows = [{"window": "s3-refusing", "wrong_bytes": 1, "recovery_s": 12.5}]
    result = {b["budget"]: b["met"] for b in budgets(rows, AUDIT, [])}
    assert result["wrong bytes served"] is False
    assert result["recovery <= 10 s after every fault"] is False
    assert result["acknowledged uploads lost"] is True
