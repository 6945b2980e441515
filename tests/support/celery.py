"""Run the project's Celery app against a real broker in a test, then put it back.

The app caches its result backend the first time it is used (an eager task in an earlier test
caches the "disabled" one), so pointing it at Redis means dropping that cache too — on the way
in and on the way out, so no test sees another's backend.
"""

from __future__ import annotations

from contextlib import contextmanager

from mediacache_project.celery import app


def _forget_backend() -> None:
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@contextmanager
def celery_over(broker_url: str):
    saved = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=broker_url, result_backend=broker_url, task_always_eager=False)
    _forget_backend()
    try:
        yield app
    finally:
        app.conf.update(saved)
        _forget_backend()
