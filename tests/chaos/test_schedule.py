"""The fault plan: every fault once, in order, never overlapping, each followed by a recovery gap."""

from __future__ import annotations

import pytest

from chaos.schedule import FAULTS, FREEZE_SECONDS, plan, window_at


@pytest.mark.parametrize("total", [60, 90, 180, 600])
def test_the_windows_never_overlap_and_end_before_the_load_does(total):
    windows = plan(total)
    assert [w.name for w in windows] == [name for name, _, _ in FAULTS]
    for earlier, later in zip(windows, windows[1:], strict=False):
        assert earlier.start < earlier.end < later.start
    assert windows[-1].end <= total - 12


def test_at_the_default_length_the_redis_freeze_lasts_ten_seconds_and_every_gap_nine():
    windows = plan(180)
    freeze = next(w for w in windows if w.name == "redis-frozen")
    assert freeze.end - freeze.start == pytest.approx(FREEZE_SECONDS, abs=0.01)
    gaps = [later.start - earlier.end for earlier, later in zip(windows, windows[1:], strict=False)]
    assert gaps == pytest.approx([9.0] * 9, abs=0.02)


def test_a_run_too_short_for_ten_faults_is_refused_with_the_setting_named():
    with pytest.raises(ValueError, match="CHAOS_SECONDS=59: at least 60 seconds"):
        plan(59)


def test_a_moment_belongs_to_the_last_fault_that_began_before_it():
    windows = plan(180)
    assert window_at(windows, 1.0) is None
    assert window_at(windows, windows[1].start + 0.1) == windows[1].name
    assert window_at(windows, windows[2].start - 0.1) == windows[1].name
