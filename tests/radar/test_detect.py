"""The spike detector on hand-made histories: storms are caught, seasonal peaks and single
odd windows are not, and one crisis stays one spike."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from radar.detect import Counts, Judge, Params, advance, align, needed_ranges, tail
from storage.spikes import ACTIVE, ENDED, PENDING, QUIET, Track

W = timedelta(minutes=15)
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; history starts here
NOW = START + timedelta(weeks=4, days=2)  # a Wednesday, four weeks of history behind it


class FnSeries:
    """Counts from a function of the window start: (total, negative) per 15-min window."""

    def __init__(self, per_window: Callable[[datetime], tuple[int, int]]) -> None:
        self.first_seen: datetime | None = START
        self.per_window = per_window

    def counts(self, start: datetime, end: datetime) -> Counts:
        total = negative = 0
        t = max(start, START)
        while t < end:
            a, b = self.per_window(t)
            total, negative = total + a, negative + b
            t += W
        return Counts(total, negative)


def usual(t: datetime) -> tuple[int, int]:
    """Four mentions a window, one negative; a little busier in the afternoon."""
    return (6, 1) if 13 <= t.hour < 18 else (4, 1)


def with_storm(storm: dict[datetime, tuple[int, int]]) -> FnSeries:
    return FnSeries(lambda t: storm.get(t, usual(t)))


def replay(
    series: FnSeries, params: Params, windows: int, start: datetime = NOW
) -> list[list[str]]:
    judge = Judge(series, params)
    track = Track()
    happened = []
    for i in range(windows):
        track, events = advance(track, judge.window(start + i * W), params)
        happened.append(events)
    return happened


def test_a_storm_is_confirmed_on_its_second_window_not_its_first() -> None:
    params = Params()
    storm = {NOW + W: (40, 30), NOW + 2 * W: (45, 35), NOW + 3 * W: (50, 40)}
    events = replay(with_storm(storm), params, 6)
    assert events[0] == []
    assert events[1] == ["pending"]  # one anomalous window: nobody is told yet
    assert events[2][0] == "confirmed"
    assert sum("confirmed" in e for e in events) == 1


def test_a_single_noisy_window_is_never_confirmed() -> None:
    params = Params()
    events = replay(with_storm({NOW + W: (60, 20)}), params, 8)
    assert events[1] == ["pending"]
    assert events[2] == ["dismissed"]
    assert not any("confirmed" in e for e in events)


def test_the_daily_nine_oclock_peak_is_not_a_spike_but_the_same_burst_at_three_is() -> None:
    def daily(t: datetime) -> tuple[int, int]:
        return (30, 3) if t.hour == 9 else (4, 1)

    params = Params()
    nine = NOW.replace(hour=8, minute=30)
    events = replay(FnSeries(daily), params, 8, start=nine)  # 8:30 to 10:30, peak included
    assert events == [[] for _ in range(8)]

    def burst_at_three(t: datetime) -> tuple[int, int]:
        if t >= NOW.replace(hour=15) and t < NOW.replace(hour=16):
            return (30, 3)
        return daily(t)

    afternoon = replay(FnSeries(burst_at_three), params, 4, start=NOW.replace(hour=15))
    assert "confirmed" in afternoon[1]


def test_a_spike_ends_after_calm_windows_and_a_flare_up_within_the_cooldown_reopens_it() -> None:
    params = Params(end_after=4, cooldown=timedelta(hours=2))
    storm = {NOW + i * W: (40, 30) for i in range(3)}
    flare = {NOW + timedelta(hours=3) + i * W: (40, 30) for i in range(2)}
    judge = Judge(with_storm(storm | flare), params)
    track = Track()
    log: list[tuple[datetime, list[str], Track]] = []
    for i in range(20):
        track, events = advance(track, judge.window(NOW + i * W), params)
        log.append((NOW + i * W, events, track))
    confirmed = [t for t, e, _ in log if "confirmed" in e]
    flare_start = NOW + timedelta(hours=3)
    ended = [(t, tr) for t, e, tr in log if "ended" in e and t < flare_start]
    reopened = [t for t, e, _ in log if "reopened" in e]
    assert confirmed == [NOW + W]
    assert len(ended) == 1
    when, at_end = ended[0]
    # Four calm windows in a row end it; the last hour still counts the storm for a while, so
    # it ends within an hour and a half, and "ended at" is where the calm began.
    assert NOW + 6 * W <= when <= NOW + 10 * W
    assert at_end.ended_at == when + W - 4 * W
    assert reopened == [NOW + timedelta(hours=3) + W]  # the same crisis, not a new alert
    after = next(tr for t, e, tr in log if "reopened" in e)
    assert after.phase == ACTIVE and after.started_at == NOW  # "since" is the first storm


def test_after_the_cooldown_a_new_storm_is_a_new_spike() -> None:
    params = Params(end_after=2, cooldown=timedelta(minutes=30))
    storm = {NOW + i * W: (40, 30) for i in range(2)}
    later = {NOW + timedelta(hours=3) + i * W: (40, 30) for i in range(2)}
    judge = Judge(with_storm(storm | later), params)
    track = Track()
    seen: list[str] = []
    for i in range(15):
        track, events = advance(track, judge.window(NOW + i * W), params)
        seen += events
    assert seen.count("confirmed") == 2 and "reopened" not in seen
    assert track.started_at == NOW + timedelta(hours=3)
    assert track.ended_at is None and track.phase == ACTIVE


def test_ended_at_is_when_it_went_back_to_normal() -> None:
    params = Params(end_after=3)
    storm = {NOW + i * W: (40, 30) for i in range(4)}
    judge = Judge(with_storm(storm), params)
    track = Track()
    for i in range(12):
        track, _ = advance(track, judge.window(NOW + i * W), params)
    assert track.phase == ENDED
    assert NOW + 4 * W <= track.ended_at <= NOW + 7 * W  # type: ignore[operator]
    assert track.peak >= 40 / 4


def test_a_negative_storm_inside_normal_volume_is_caught() -> None:
    # Volume barely moves (4 -> 9) but negatives go from 1 to 9 a window.
    storm = {NOW + i * W: (9, 9) for i in range(3)}
    events = replay(with_storm(storm), Params(), 3)
    assert "confirmed" in events[1]
    reading = Judge(with_storm(storm), Params()).window(NOW)
    assert reading.trigger == "negative"
    assert reading.size == pytest.approx(9.0)


def test_a_slow_burn_under_the_minimum_per_window_is_caught_over_the_hour() -> None:
    params = Params(min_count=10)
    burn = {NOW + i * W: (8, 1) for i in range(-3, 6)}  # every window under min_count

    def quiet(t: datetime) -> tuple[int, int]:
        return (2, 0)

    reading = Judge(FnSeries(lambda t: burn.get(t, quiet(t))), params).window(NOW + W)
    assert reading.trigger == "volume (last hour)"
    single = Judge(FnSeries(lambda t: (8, 1) if t == NOW else quiet(t)), params).window(NOW)
    assert not single.anomalous  # one such window alone is nothing, even within the hour


def test_few_mentions_never_make_a_spike_however_unusual() -> None:
    quiet = FnSeries(lambda t: (0, 0))
    sparse = FnSeries(lambda t: (5, 5) if t == NOW else (0, 0))  # 5 posts after weeks of none
    assert Judge(quiet, Params()).expect(NOW).total == pytest.approx(0.5 / 4)  # the floor
    reading = Judge(sparse, Params(min_count=6)).window(NOW)
    assert not reading.anomalous and reading.ratio == pytest.approx(40.0)


def test_short_history_falls_back_to_the_overall_rate_and_none_is_not_judged() -> None:
    series = with_storm({})
    series.first_seen = NOW - timedelta(hours=30)
    expectation = Judge(series, Params()).expect(NOW)
    assert expectation is not None and expectation.basis == "overall"
    series.first_seen = NOW - timedelta(hours=3)
    reading = Judge(series, Params()).window(NOW)
    assert reading.expected is None and not reading.anomalous
    series.first_seen = NOW - timedelta(days=4)
    assert Judge(series, Params()).expect(NOW).basis == "days"  # type: ignore[union-attr]
    series.first_seen = START
    assert Judge(series, Params()).expect(NOW).basis == "weeks"  # type: ignore[union-attr]


def test_one_stormy_week_in_the_history_does_not_raise_the_bar() -> None:
    # Last Wednesday at this hour had a storm; the median of four weeks ignores it.
    past = {NOW - timedelta(weeks=1) + i * W: (60, 40) for i in range(4)}
    now = {NOW + i * W: (40, 30) for i in range(3)}
    judge = Judge(with_storm(past | now), Params())
    assert judge.expect(NOW).total == pytest.approx(4.0)  # type: ignore[union-attr]
    assert judge.window(NOW).anomalous


def test_tail_probabilities() -> None:
    exact = 1 - sum(math.exp(-3) * 3**k / math.factorial(k) for k in range(10))
    assert tail(10, 3.0, 0.0) == pytest.approx(exact, rel=1e-9)
    assert tail(10, 3.0, 0.5) > tail(10, 3.0, 0.0)  # noisier history: less surprising
    assert tail(2, 3.0, 0.0) == 1.0
    assert 0.0 <= tail(5000, 10.0, 0.05) < 1e-100


@pytest.mark.parametrize("history", [timedelta(weeks=4), timedelta(days=5), timedelta(hours=30)])
def test_the_ranges_loaded_cover_everything_the_judge_reads(history: timedelta) -> None:
    asked: list[tuple[datetime, datetime]] = []

    class Spy(FnSeries):
        def counts(self, start: datetime, end: datetime) -> Counts:
            asked.append((start, end))
            return super().counts(start, end)

    spy = Spy(usual)
    spy.first_seen = NOW - history
    Judge(spy, Params()).window(NOW)
    ranges = needed_ranges([NOW], Params(), spy.first_seen)
    for start, end in asked:
        assert any(a <= start and end <= b for a, b in ranges), (start, end)
    loaded = sum((b - a for a, b in ranges), timedelta())
    assert loaded <= timedelta(days=3)  # a few hours per past day and week, never all history


def test_windows_align_to_the_clock() -> None:
    assert align(NOW + timedelta(minutes=22, seconds=5), W) == NOW + W
    assert align(NOW + W, W) == NOW + W


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="divide an hour"):
        Params(window=timedelta(minutes=7))
    with pytest.raises(ValueError, match="sensitivity"):
        Params.preset("paranoid")
    assert Params.preset("high").alpha > Params.preset("low").alpha


def test_phases_start_quiet_and_pending_is_remembered() -> None:
    track = Track()
    assert track.phase == QUIET
    judge = Judge(with_storm({NOW: (40, 30)}), Params())
    track, _ = advance(track, judge.window(NOW), Params())
    assert track.phase == PENDING and track.started_at == NOW and track.last_window == NOW
