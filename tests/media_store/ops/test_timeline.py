"""The per-minute ring behind the admin's last-hour chart: samples of shared totals, differenced."""

from __future__ import annotations

import threading

import pytest

from media_store.ops import metrics
from media_store.ops.timeline import SERIES, Minute, Timeline, serving_totals

T0 = 1_764_000_000 - 1_764_000_000 % 60  # a minute boundary


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Totals:
    """Cumulative counters the test moves forward."""

    def __init__(self) -> None:
        self.values = dict.fromkeys(SERIES, 0.0)

    def add(self, **counts: int) -> None:
        for name, count in counts.items():
            self.values[name] += count

    def __call__(self) -> dict[str, float]:
        return dict(self.values)


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def totals():
    return Totals()


@pytest.fixture
def ring(clock, totals):
    return Timeline(read_totals=totals, clock=clock, minutes=5)


def test_without_samples_every_slot_is_empty(ring):
    slots = ring.last_hour()
    assert [slot.start for slot in slots] == [T0 - 240, T0 - 180, T0 - 120, T0 - 60, T0]
    assert [slot.requests for slot in slots] == [None] * 5


def test_a_minute_counts_what_happened_between_its_sample_and_the_next(ring, clock, totals):
    ring.sample()
    totals.add(hot=7, disk=2, origin=1)
    clock.now = T0 + 60
    ring.sample()
    totals.add(hot=3, other=4)  # the current minute so far
    clock.now = T0 + 90

    *_, previous, current = ring.last_hour()
    assert previous == Minute(start=T0, requests={"hot": 7, "disk": 2, "origin": 1, "other": 0})
    assert previous.total == 10
    assert previous.hit_ratio == pytest.approx(0.9)
    assert current == Minute(start=T0 + 60, requests={"hot": 3, "disk": 0, "origin": 0, "other": 4})
    assert current.hit_ratio == 1.0


def test_only_answers_from_no_tier_have_no_hit_ratio(ring, clock, totals):
    ring.sample()
    totals.add(other=5)
    assert ring.last_hour()[-1].hit_ratio is None
    assert ring.last_hour()[-1].total == 5


def test_the_first_sample_of_a_minute_is_kept(ring, clock, totals):
    ring.sample()
    totals.add(origin=2)
    clock.now = T0 + 30
    ring.sample()  # same minute: ignored
    assert ring.last_hour()[-1].requests["origin"] == 2


def test_a_counter_reset_counts_the_new_value(ring, clock, totals):
    totals.add(hot=100)
    ring.sample()
    totals.values["hot"] = 6.0  # the server restarted: counters began again
    assert ring.last_hour()[-1].requests["hot"] == 6


def test_a_missing_sample_leaves_that_minute_blank(ring, clock, totals):
    ring.sample()
    clock.now = T0 + 120  # minute T0+60 was never sampled
    ring.sample()
    slots = {slot.start: slot.requests for slot in ring.last_hour()}
    assert slots[T0] is None  # its end (the next minute's sample) is missing
    assert slots[T0 + 60] is None
    assert slots[T0 + 120] == dict.fromkeys(SERIES, 0)


def test_the_ring_keeps_one_hour(ring, clock, totals):
    for minute in range(12):
        clock.now = T0 + 60 * minute
        totals.add(disk=1)
        ring.sample()
    assert len(ring._samples) == 6  # minutes + 1: the oldest slot needs its end sample too
    assert [slot.requests["disk"] for slot in ring.last_hour()] == [1, 1, 1, 1, 0]


def test_serving_totals_group_the_tier_labels_of_the_prometheus_counter():
    before = serving_totals()
    for tier, count in (("redis", 2), ("process", 1), ("memory", 1), ("disk", 3), ("s3", 4), ("filesystem", 1)):
        metrics.MEDIA_REQUESTS.labels(tier, "200").inc(count)
    metrics.MEDIA_REQUESTS.labels("none", "404").inc(2)
    after = serving_totals()
    assert {name: after[name] - before[name] for name in SERIES} == {"hot": 4, "disk": 3, "origin": 5, "other": 2}


def test_the_sampler_thread_samples_at_once_and_stops(totals):
    sampled = threading.Event()

    def read():
        sampled.set()
        return totals()

    ring = Timeline(read_totals=read)
    ring.start_sampler()
    ring.start_sampler()  # idempotent: still one thread
    try:
        assert sampled.wait(5)
        assert [t.name for t in threading.enumerate()].count("media-timeline") == 1
    finally:
        ring.stop_sampler()
    assert not ring._sampler.is_alive()
    assert len(ring._samples) == 1
