"""The chaos report's counts of what the system did come from the servers' real log lines."""

from __future__ import annotations

from chaos.evidence import mechanisms

ACCESS = (
    '127.0.0.1 - - [01/Dec/2026:12:43:56 +0000] "POST /api/attachments/ HTTP/1.1" 201 393 "-" "python-requests/2.34.2"'
    " rt=0.221 cache=- upstream=0.106, 0.116\n"
    '127.0.0.1 - - [01/Dec/2026:12:43:56 +0000] "POST /api/media/download?async=1 HTTP/1.1" 502 150 "-" "-"'
    " rt=0.9 cache=- upstream=0.778, 0.130\n"
    '127.0.0.1 - - [01/Dec/2026:12:43:57 +0000] "POST /api/attachments/ HTTP/1.1" 201 393 "-" "-"'
    " rt=0.02 cache=- upstream=0.020\n"  # one upstream: not resent
    '127.0.0.1 - - [01/Dec/2026:12:43:57 +0000] "GET /media/abc HTTP/1.1" 200 10 "-" "-"'
    " rt=0.2 cache=MISS upstream=0.1, 0.1\n"  # a resent GET: nginx always does that
)
NODE = (
    "2026-12-01 12:44:24,914 WARNING chat.jobs media.job_rescued id=ae46 attempts=0: no worker finished it\n"
    "2026-12-01 12:42:50,344 WARNING chat.jobs media.job_inline id=48f6: the broker refused the task\n"
    "2026-12-01 12:42:51,000 INFO chat.idempotency media.idempotent_replay key=edge-1f status=201\n"
)


def test_resent_ingest_posts_rescued_jobs_and_replays_are_counted(tmp_path):
    (tmp_path / "edge").mkdir()
    (tmp_path / "edge" / "nginx.log").write_text(ACCESS)
    (tmp_path / "node-a.log").write_text(NODE)
    (tmp_path / "node-b.log").write_text(NODE.splitlines(keepends=True)[0])
    (tmp_path / "celery.log").write_text("[..: CRITICAL/MainProcess] Unrecoverable error\nchaos.restarted exit=1\n")

    assert mechanisms(tmp_path) == {
        "ingest_posts_resent_by_the_edge": 2,
        "of_which_answered_201": 1,
        "ingest_replays": 1,
        "jobs_rescued": 2,
        "jobs_run_inline": 1,
        "jobs_abandoned": 0,
        "celery_worker_restarts": 1,
    }


def test_a_run_without_logs_counts_nothing(tmp_path):
    assert set(mechanisms(tmp_path).values()) == {0}
