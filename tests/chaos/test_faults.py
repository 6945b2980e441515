"""The fault runner's timing: on plan, a fault's end never before its begin, and never two at once."""

from __future__ import annotations

import time

from chaos import faults as faults_module
from chaos.faults import Faults
from chaos.schedule import Window


class Recorded(Faults):
    """The runner with acts that only record (and the first begin slow, like a node that drains)."""

    def __init__(self, slow: float = 0.0) -> None:
        super().__init__(topology=None, corrupt_keys=set())
        self.slow = slow

    def begin(self, name: str) -> str:
        if name == "first":
            time.sleep(self.slow)
        return ""

    def end(self, name: str) -> str:
        return ""


def times(runner: Faults, t0: float) -> dict[tuple[str, str], tuple[float, float]]:
    return {(e["fault"], e["act"]): (round(e["at"] - t0, 1), round(e["done"] - t0, 1)) for e in runner.events}


def test_faults_begin_and_end_at_their_planned_seconds():
    runner, t0 = Recorded(), time.time()
    runner.run([Window("first", 0.1, 0.4, True, ""), Window("second", 0.6, 0.6, False, "")], t0)
    assert times(runner, t0) == {
        ("first", "begin"): (0.1, 0.1),
        ("first", "end"): (0.4, 0.4),
        ("second", "begin"): (0.6, 0.6),
    }


def test_a_fault_that_runs_over_delays_the_next_by_the_minimum_gap_and_keeps_its_length(monkeypatch):
    monkeypatch.setattr(faults_module, "MIN_GAP_SECONDS", 0.3)
    runner, t0 = Recorded(slow=0.8), time.time()
    runner.run([Window("first", 0.0, 0.2, True, ""), Window("second", 0.4, 0.6, True, "")], t0)
    recorded = times(runner, t0)
    first_end = recorded[("first", "end")][1]
    assert recorded[("first", "begin")][1] == 0.8
    assert recorded[("second", "begin")][0] >= first_end + 0.3
    second_length = recorded[("second", "end")][0] - recorded[("second", "begin")][0]
    assert round(second_length, 1) == 0.2


def test_once_stopping_no_fault_ends_or_begins_any_more():
    runner, t0 = Recorded(), time.time()
    runner.stopping.set()
    runner.run([Window("first", 0.0, 5.0, True, "")], t0)
    assert runner.events == []
