"""Run the project's Celery app against a real broker in a test, then put it back.

The app caches its result backend and its broker connections the first time it uses them (an
eager task in an earlier test caches the "disabled" backend and a producer pool for no broker), so
pointing it at Redis means dropping those caches too — on the way in and on the way out, so no test
sees another's backend or broker.
"""

from __future__ import annotations

from contextlib import contextmanager

from mediacache_project.celery import app


def _forget_backend() -> None:
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)
    if app._pool is not None:  # broker connections made for the previous broker URL
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


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
