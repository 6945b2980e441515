"""The chaos run keeps its Celery worker running the way systemd's Restart=always would."""

from __future__ import annotations

import sys
import time

from chaos.supervisor import Supervised


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_a_process_that_exits_is_started_again_and_the_restart_logged(tmp_path):
    log = tmp_path / "worker.log"
    crashing = Supervised([sys.executable, "-c", "print('up', flush=True); raise SystemExit(3)"], {}, log)

    crashing.start()
    try:
        assert wait_for(lambda: crashing.restarts >= 2)
    finally:
        crashing.stop()

    text = log.read_text()
    assert "chaos.restarted exit=3 restarts=1" in text
    assert text.count("up") >= 2


def test_stop_ends_the_process_and_starts_no_other(tmp_path):
    sleeper = Supervised([sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path / "w.log")
    sleeper.start()
    first = sleeper.process

    sleeper.stop()
    time.sleep(1.5)  # longer than the restart delay

    assert first.poll() is not None
    assert sleeper.process is first
    assert sleeper.restarts == 0
