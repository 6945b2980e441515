"""What the system did to stay within its budgets, counted from the servers' own logs after the run.

A met budget says nothing failed; these counts say why: how many ingest POSTs the edge resent
to the other node after one failed before answering (made safe by their ``Idempotency-Key``),
how many ingests the app answered as a replay of an earlier attempt, how many asynchronous jobs a web node rescued
after their task message was lost, how many it ran inline because the broker refused them, and
how often the Celery worker had to be restarted (``chaos.supervisor``).
A mechanism that never fired during a run shows here as 0, so a run that did not exercise it
cannot be mistaken for one that proved it.
"""

from __future__ import annotations

import re
from pathlib import Path

# nginx's access log (log_format edge): several upstream times mean several upstreams were tried.
RESENT_INGEST = re.compile(r'"POST /api/(?:attachments/|media/download)\S* HTTP/[\d.]+" (\d{3}) .*upstream=\S+, ')

COUNTED_LOG_LINES = {
    "ingest_replays": "media.idempotent_replay",
    "jobs_rescued": "media.job_rescued",
    "jobs_run_inline": "media.job_inline",
    "jobs_abandoned": "media.job_abandoned",
}
WORKER_RESTARTED = "chaos.restarted"  # chaos.supervisor's line in celery.log


def mechanisms(root: Path) -> dict[str, int]:
    """Counts from the logs under the run's ``root``: the edge's (``edge/nginx.log``) and the nodes'."""
    edge = _read(root / "edge" / "nginx.log")
    resent = [match.group(1) for match in RESENT_INGEST.finditer(edge)]
    nodes = "".join(_read(path) for path in sorted(root.glob("node-*.log")))
    counts = {
        "ingest_posts_resent_by_the_edge": len(resent),
        "of_which_answered_201": resent.count("201"),
    }
    counts.update({name: nodes.count(marker) for name, marker in COUNTED_LOG_LINES.items()})
    counts["celery_worker_restarts"] = _read(root / "celery.log").count(WORKER_RESTARTED)
    return counts


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
