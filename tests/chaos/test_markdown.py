"""docs/reliability.md as the run writes it: the table, the budgets, what missed and why."""

from __future__ import annotations

from chaos.markdown import markdown


def result(**overrides) -> dict:
    base = {
        "when": "2026-12-01 10:00 UTC",
        "seconds": 180,
        "requests": 9000,
        "requests_per_second": 50.0,
        "machine": "2 cores, x86_64",
        "windows": [
            {
                "window": "baseline (no fault)",
                "start": 0,
                "until": 10.8,
                "requests": 500,
                "errors": {},
                "wrong_bytes": 0,
                "p50_ms": 3.1,
                "p99_ms": 40.2,
                "recovery_s": 0.0,
            },
            {
                "window": "s3-refusing",
                "start": 10.8,
                "until": 27.0,
                "requests": 800,
                "errors": {"503": 12},
                "wrong_bytes": 0,
                "p50_ms": 3.5,
                "p99_ms": 90.0,
                "recovery_s": None,
            },
        ],
        "audit": {
            "acknowledged": 900,
            "checked": 850,
            "deleted_or_unknown": 50,
            "lost": 0,
            "duplicate_objects": 0,
            "orphan_rows": 0,
            "orphan_objects": 0,
            "blobs": 1100,
            "s3_objects": 1100,
        },
        "budgets": [
            {"budget": "wrong bytes served", "limit": 0, "value": 0, "met": True},
            {"budget": "recovery <= 10 s after every fault", "limit": 10, "value": "s3-refusing None", "met": False},
        ],
        "violations": [
            {
                "t": 12.5,
                "fault": "s3-refusing",
                "kind": "hot",
                "status": 503,
                "cached": True,
                "retry_after": True,
                "detail": "text/plain b'unavailable'",
            }
        ],
        "events": [{"fault": "s3-refusing", "act": "begin", "at": 10.8, "took": 0.0, "detail": ""}],
        "load_average": 3.25,
        "mechanisms": {
            "ingest_posts_resent_by_the_edge": 4,
            "of_which_answered_201": 4,
            "ingest_replays": 1,
            "jobs_rescued": 2,
            "jobs_run_inline": 1,
            "jobs_abandoned": 0,
            "celery_worker_restarts": 1,
        },
    }
    return base | overrides


def test_the_table_has_one_row_per_window_with_its_errors_and_recovery():
    text = markdown(result())
    assert "| baseline (no fault) | 0–11 | 500 | — | 0 | 3.1 | 40.2 | — |" in text
    assert "| s3-refusing | 11–27 | 800 | 503×12 | 0 | 3.5 | 90.0 | not recovered |" in text


def test_a_missed_budget_is_shouted_and_the_request_that_broke_it_listed():
    text = markdown(result())
    assert "| recovery <= 10 s after every fault | 10 | s3-refusing None | **NO** |" in text
    assert "| 12.5 | s3-refusing | hot | 503 | True | True | text/plain b'unavailable' |" in text


def test_the_report_says_how_loaded_the_machine_was_and_which_mechanisms_fired():
    text = markdown(result())
    assert "load average 3.2 at the end" in text
    assert (
        "4 ingest POSTs resent by the edge to the other node after one failed before answering (4 answered 201)" in text
    )
    assert "1 answered as a replay" in text
    assert "2 asynchronous jobs rescued" in text
