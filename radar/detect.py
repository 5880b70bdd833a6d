"""Is the last window a storm, or just Monday at 9:00? A pure detector working on counts.

A crisis shows up as more mentions (or more negative ones) than this hour of this weekday
usually brings. So each window is compared with a seasonal baseline: the same hour on the same
weekday over the past weeks (the median, so last month's storm does not raise the bar), falling
back to the same hour on the past days, then to the overall rate while history is short, never
below a floor (a term seen twice a month is not "infinitely" above its baseline).

Counts are noisier than Poisson (news cycles, time zones), so the test is a negative-binomial
tail whose extra variance comes from how much that hour varied week to week. A window must pass
three bars to count as anomalous: enough mentions (`min_count`), enough above normal
(`min_ratio`) and unlikely by chance (`alpha`). A slow burn never makes one window unlikely, so
the last hour is tested too, with its single busiest window left out (one noisy window cannot
carry it). A spike is confirmed only when the next window is anomalous as well, ends after
`end_after` calm windows in a row, and flaring up again within `cooldown` reopens the same
spike: one crisis, one alert.

Nothing here reads a clock or a database: `Series` answers counts for time ranges, so the same
code runs on the database (storage/spikes.py) and on replayed histories (bench/spikes.py).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from storage.spikes import ACTIVE, ENDED, PENDING, QUIET, Track

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday, so windows align to hours and weeks
SHORT_HISTORY = 3 * DAY  # less than this: no seasonal baseline yet, the overall rate stands in
NEIGHBOURS = (-1, 0, 1)  # hours around the baseline hour that also inform the noise estimate

# sensitivity -> (alpha, min_ratio): how unlikely and how far above normal a window must be.
SENSITIVITIES: dict[str, tuple[float, float]] = {
    "low": (1e-6, 3.0),
    "medium": (1e-4, 2.0),
    "high": (1e-3, 1.5),
}


@dataclass(frozen=True, slots=True)
class Counts:
    total: int = 0
    negative: int = 0


class Series(Protocol):
    """Mentions of one brand/category/term over time, as far as they are known."""

    @property
    def first_seen(self) -> datetime | None:
        """Start of the known history; earlier hours are unknown, not zero."""
        ...

    def counts(self, start: datetime, end: datetime) -> Counts:
        """Mentions (and negative ones) posted in [start, end)."""
        ...


@dataclass(frozen=True, slots=True)
class Params:
    window: timedelta = timedelta(minutes=15)
    alpha: float = 1e-4
    min_ratio: float = 2.0
    min_count: int = 6
    confirm: int = 2  # consecutive anomalous windows that make a spike
    end_after: int = 4  # consecutive calm windows that end it
    end_ratio: float = 1.5  # at or above this times the baseline a window is not calm
    cooldown: timedelta = timedelta(hours=6)  # a flare-up this soon after the end reopens it
    history_weeks: int = 4
    long_windows: int = 4  # the slow-burn test looks at this many windows (1 h at 15 min)
    floor_per_hour: float = 0.5  # the least any baseline is taken to be
    min_history: timedelta = timedelta(hours=24)  # judge nothing before this much history
    dispersion: tuple[float, float] = (0.08, 1.0)  # bounds of the squared rate CV per hour

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or HOUR % self.window:
            raise ValueError(f"radar window must divide an hour evenly, not {self.window}")
        if self.confirm < 1 or self.end_after < 1 or self.long_windows < 2:
            raise ValueError("radar confirm and end_after must be >= 1, long_windows >= 2")

    @classmethod
    def preset(cls, sensitivity: str = "medium", **overrides: object) -> Params:
        """The alpha/min_ratio pair a sensitivity name stands for, plus any other settings."""
        if sensitivity not in SENSITIVITIES:
            raise ValueError(
                f"radar sensitivity {sensitivity!r} is not one of {', '.join(SENSITIVITIES)}"
            )
        alpha, min_ratio = SENSITIVITIES[sensitivity]
        return cls(alpha=alpha, min_ratio=min_ratio, **overrides)  # type: ignore[arg-type]

    @property
    def long_ratio(self) -> float:
        """A whole hour above normal is stronger evidence than one window, so it needs less."""
        return 1.0 + (self.min_ratio - 1.0) / 2


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one window normally brings, and where that figure came from."""

    total: float
    negative: float
    c2: float  # squared coefficient of variation of the rate: the noise beyond Poisson
    basis: str  # weeks | days | overall

    @property
    def negative_share(self) -> float:
        return self.negative / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One window judged against its baseline."""

    start: datetime
    end: datetime
    observed: Counts
    expected: Expectation | None  # None: not enough history to judge
    p_value: float
    ratio: float  # observed / expected mentions
    negative_ratio: float  # observed / expected negative mentions
    anomalous: bool
    elevated: bool  # not calm: keeps an active spike going
    trigger: str | None = None  # volume | negative | volume (last hour) | negative (last hour)

    @property
    def size(self) -> float:
        """How big, in multiples of the baseline, by whichever series is the storm."""
        if self.trigger and self.trigger.startswith("negative"):
            return max(self.ratio, self.negative_ratio)
        return self.ratio

    @property
    def negative_share(self) -> float | None:
        return self.observed.negative / self.observed.total if self.observed.total else None


def align(t: datetime, window: timedelta) -> datetime:
    """Start of the window containing `t`; windows tile hours and weeks exactly."""
    return t - (t - EPOCH) % window


def hour_of(t: datetime) -> datetime:
    return align(t, HOUR)


def sample_hours(start: datetime, params: Params) -> list[datetime]:
    """The past hours whose counts make the baseline for the window at `start`: this hour and
    its neighbours (for the noise estimate) on the same weekday of past weeks and on past days."""
    hour = hour_of(start)
    back = [k * WEEK for k in range(1, params.history_weeks + 1)]
    back += [d * DAY for d in range(1, 7)]
    return [hour - b + off * HOUR for b in back for off in NEIGHBOURS]


def needed_ranges(
    starts: Sequence[datetime], params: Params, first_seen: datetime | None
) -> list[tuple[datetime, datetime]]:
    """Every range a `Judge` will ask a series about when judging windows at `starts`: what the
    database layer loads, so one query serves a whole check."""
    ranges: list[tuple[datetime, datetime]] = []
    for start in starts:
        first = start - (params.long_windows - 1) * params.window
        ranges.append((first, start + params.window))
        for s in {start - i * params.window for i in range(params.long_windows)}:
            ranges.extend((h, h + HOUR) for h in sample_hours(s, params))
            if first_seen is not None and hour_of(s) - hour_of(first_seen) < SHORT_HISTORY:
                ranges.append((hour_of(first_seen), hour_of(s)))  # the overall rate
    return _merge(ranges)


def _merge(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(r for r in ranges if r[0] < r[1]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


class Judge:
    """Judges windows of one series; remembers hourly baselines across the windows of a check."""

    def __init__(self, series: Series, params: Params) -> None:
        self.series = series
        self.params = params
        self._hourly: dict[datetime, Expectation | None] = {}

    def expect(self, start: datetime) -> Expectation | None:
        """The expected counts for the window at `start` (None: too little history)."""
        hour = hour_of(start)
        if hour not in self._hourly:
            self._hourly[hour] = self._expect_hour(hour)
        per_hour = self._hourly[hour]
        if per_hour is None:
            return None
        scale = self.params.window / HOUR
        return replace(per_hour, total=per_hour.total * scale, negative=per_hour.negative * scale)

    def _expect_hour(self, hour: datetime) -> Expectation | None:
        p = self.params
        first = self.series.first_seen
        if first is None or hour - first < p.min_history:
            return None
        known = hour_of(first)
        weeks = [k * WEEK for k in range(1, p.history_weeks + 1) if hour - k * WEEK >= known]
        days = [d * DAY for d in range(1, 8) if hour - d * DAY >= known]
        if len(weeks) >= 2:
            back, basis = weeks, "weeks"
        elif hour - known >= SHORT_HISTORY:
            back, basis = days, "days"
        else:
            overall = self.series.counts(known, hour)
            hours = (hour - known) / HOUR
            total = overall.total / hours
            # No seasonal shape to go on: assume the widest noise, so a busy afternoon after a
            # quiet night is not a storm.
            return self._floored(total, overall.negative / hours, total, p.dispersion[1], "overall")
        samples = {
            off: [self.series.counts(h := hour - b + off * HOUR, h + HOUR) for b in back]
            for off in NEIGHBOURS
        }
        here = samples[0]
        total = statistics.median(c.total for c in here)
        negative = statistics.median(c.negative for c in here)
        # The key's usual level, for the floor: a mean without the busiest sample (a past storm).
        ordered = sorted(c.total for c in here)
        level = statistics.fmean(ordered[:-1] if len(ordered) >= 3 else ordered)
        # The baseline is itself a median of a few noisy hours (variance about pi/2n of one):
        # a window is judged against that uncertainty as well as its own noise.
        c2 = _dispersion(list(samples.values())) * (1 + math.pi / (2 * len(here)))
        return self._floored(total, negative, level, c2, basis)

    def _floored(
        self, total: float, negative: float, level: float, c2: float, basis: str
    ) -> Expectation:
        """Never below the floor, nor far below the key's usual level: a median of zeros would
        make any single post look like a storm."""
        floor = max(self.params.floor_per_hour, 0.25 * level)
        lo, hi = self.params.dispersion
        return Expectation(
            total=max(total, floor),
            negative=max(negative, self.params.floor_per_hour),
            c2=min(max(c2, lo), hi),
            basis=basis,
        )

    def window(self, start: datetime) -> Reading:
        """Judge the window [start, start + window)."""
        p = self.params
        end = start + p.window
        observed = self.series.counts(start, end)
        expected = self.expect(start)
        if expected is None:
            return Reading(start, end, observed, None, 1.0, 0.0, 0.0, False, False)
        tests: list[tuple[str, int, float, float]] = [
            ("volume", observed.total, expected.total, p.min_ratio),
            ("negative", observed.negative, expected.negative, p.min_ratio),
        ]
        recent = [start - i * p.window for i in range(p.long_windows)]
        hour = [(self.series.counts(s, s + p.window), self.expect(s)) for s in recent]
        if all(e is not None for _, e in hour):
            for name in ("total", "negative"):
                busiest = max(range(len(hour)), key=lambda i: getattr(hour[i][0], name))
                kept = [h for i, h in enumerate(hour) if i != busiest]
                seen = sum(getattr(c, name) for c, _ in kept)
                usual = sum(getattr(e, name) for _, e in kept)  # type: ignore[union-attr]
                label = "volume" if name == "total" else "negative"
                tests.append((f"{label} (last hour)", seen, usual, p.long_ratio))
        trigger: str | None = None
        elevated = False
        best = 1.0
        for name, seen, usual, ratio in tests:
            pv = tail(seen, usual, expected.c2)
            best = min(best, pv)
            if trigger is None and seen >= p.min_count and seen >= ratio * usual and pv < p.alpha:
                trigger = name
            if seen >= p.end_ratio * usual and pv < 0.05:
                elevated = True
        return Reading(
            start=start,
            end=end,
            observed=observed,
            expected=expected,
            p_value=best,
            ratio=observed.total / expected.total,
            negative_ratio=observed.negative / expected.negative,
            anomalous=trigger is not None,
            elevated=elevated or trigger is not None,
            trigger=trigger,
        )


def _dispersion(groups: Sequence[Sequence[Counts]]) -> float:
    """Noise beyond Poisson in an hour's count, as a squared coefficient of variation.

    Each group is one hour of the day across past weeks (or days). Every count is compared with
    the median of the *other* counts in its group (a median fitted to the same three or four
    numbers would hide most of their spread), and the relative deviations, pooled over the
    groups, are measured by their median absolute value: one stormy week barely moves it.
    Poisson's own share (1/mean) is then taken out.
    """
    deviations: list[float] = []
    means: list[float] = []
    for group in groups:
        totals = [c.total for c in group]
        if len(totals) < 3:
            continue
        for i, value in enumerate(totals):
            centre = statistics.median(totals[:i] + totals[i + 1 :])
            if centre > 0:
                deviations.append((value - centre) / centre)
                means.append(centre)
    if len(deviations) < 6:
        return 0.0
    spread = 1.4826 * statistics.median(abs(d) for d in deviations)
    # Each deviation is measured against a median of a few noisy counts, whose own variance is
    # about 0.45 of one count's (median of three): take it out.
    return max(0.0, spread * spread / 1.45 - 1.0 / statistics.fmean(means))


def tail(observed: int, mean: float, c2: float) -> float:
    """P(X >= observed) for a count with this mean and variance mean + c2·mean² (negative
    binomial; Poisson when c2 is 0). Summed upward from `observed` so tiny tails stay exact."""
    if observed <= mean:
        return 1.0  # not above the mean: no evidence of a spike
    if mean <= 0:
        return 0.0
    if c2 <= 1e-9:
        log_p = observed * math.log(mean) - mean - math.lgamma(observed + 1)

        def ratio(k: int) -> float:
            return mean / (k + 1)

    else:
        r = 1.0 / c2
        q = mean / (r + mean)  # failure probability
        log_p = (
            math.lgamma(observed + r)
            - math.lgamma(r)
            - math.lgamma(observed + 1)
            + r * math.log1p(-q)
            + observed * math.log(q)
        )

        def ratio(k: int) -> float:
            return (k + r) / (k + 1) * q

    if log_p < -745:
        return 0.0
    term = math.exp(log_p)
    total = 0.0
    k = observed
    while term > total * 1e-15 and k < observed + 1_000_000:
        total += term
        term *= ratio(k)
        k += 1
    return min(total, 1.0)


def advance(track: Track, reading: Reading, params: Params) -> tuple[Track, list[str]]:
    """Move a key through quiet -> pending -> active -> ended; returns the events that happened:
    confirmed, reopened (a flare-up within the cooldown), peak, ended, dismissed (an
    unconfirmed run that died out)."""
    events: list[str] = []
    t = replace(track, last_window=reading.start)
    if t.phase in (QUIET, ENDED):
        if t.phase == ENDED and t.ended_at and reading.start - t.ended_at >= params.cooldown:
            t = Track(last_window=reading.start)  # cooled down: a new crisis would be new
        if reading.anomalous:
            t = replace(
                t,
                phase=PENDING,
                pending_since=reading.start,
                streak=1,
                started_at=t.started_at or reading.start,  # a flare-up keeps the crisis' start
            )
            return _maybe_confirm(t, reading, params, events)
        return t, events
    if t.phase == PENDING:
        if reading.anomalous:
            return _maybe_confirm(replace(t, streak=t.streak + 1), reading, params, events)
        events.append("dismissed")
        if t.confirmed_at is not None:  # a flare-up of an ended spike that did not hold
            return replace(t, phase=ENDED, pending_since=None, streak=0), events
        return Track(last_window=reading.start), events
    # ACTIVE
    if reading.size > t.peak:
        t = replace(t, peak=reading.size, peak_at=reading.start)
        events.append("peak")
    calm = 0 if reading.elevated else t.calm + 1
    t = replace(t, calm=calm)
    if calm >= params.end_after:
        ended = reading.end - calm * params.window  # when it went back to normal
        t = replace(t, phase=ENDED, ended_at=ended, calm=0, streak=0)
        events.append("ended")
    return t, events


def _maybe_confirm(
    t: Track, reading: Reading, params: Params, events: list[str]
) -> tuple[Track, list[str]]:
    if t.streak < params.confirm:
        events.append("pending")
        return t, events
    reopened = t.confirmed_at is not None
    t = replace(
        t,
        phase=ACTIVE,
        confirmed_at=t.confirmed_at or reading.end,
        ended_at=None,
        calm=0,
        pending_since=None,
    )
    if reading.size > t.peak:
        t = replace(t, peak=reading.size, peak_at=reading.start)
    events.append("reopened" if reopened else "confirmed")
    return t, events
