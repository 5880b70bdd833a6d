"""Spike detection on replayed histories: how fast storms are caught, how often it cries wolf.

    python bench/spikes.py [--seeds 20] [--sensitivity low medium high]

Each scenario is four weeks of ordinary seasonal traffic (a daily curve with a 9:00 bump,
quieter weekends, hour-to-hour noise well beyond Poisson, 20 % negative) followed by a test week
with one event in it, generated from a fixed seed per run. The detector (radar/detect.py,
the same code the scheduler runs) is replayed window by window over the test week:

- delay: minutes from the event's start to the end of the window that confirmed the spike
  (add the check's `lag` for the time a Slack message appears);
- false alarms / week: confirmed spikes outside any event (+ cooldown), per test week;
- missed: runs where the event was never confirmed while it lasted;
- alerts / event: spikes opened during one event (1 = the crisis was one alert).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.machine import cpu_model, usable_cores  # noqa: E402
from radar.detect import (  # noqa: E402
    SENSITIVITIES,
    Counts,
    Judge,
    Params,
    advance,
)
from storage.spikes import Track  # noqa: E402

WINDOW = timedelta(minutes=15)
PER_HOUR = 4
T0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
HISTORY_WEEKS = 4
DAYS = 7 * (HISTORY_WEEKS + 1)
TEST_START = T0 + timedelta(weeks=HISTORY_WEEKS)
BASE_PER_DAY = 480.0  # a mid-size brand: 5 mentions per 15 min on average
NEGATIVE_SHARE = 0.2
HOUR_NOISE_CV = 0.25  # news cycles: an hour's rate varies this much around the seasonal curve


@dataclass(frozen=True)
class Event:
    """Extra mentions on top of normal traffic: `shape(t)` in hours since start -> multiple of
    the usual rate at that time; the event lasts while that multiple is >= 0.5."""

    name: str
    start: datetime
    shape: Callable[[float], float]
    negative: float  # negative share of the extra mentions
    length: timedelta  # how long it counts as going on (for missed / false alarms)


@dataclass(frozen=True)
class Scenario:
    name: str
    weekend: float  # weekend traffic as a share of weekdays
    event: Event | None
    per_day: float = BASE_PER_DAY  # weekday mentions
    noise: float = HOUR_NOISE_CV  # hour-to-hour variation around the seasonal curve (CV)


def _ramp(up: float, hold: float, down: float, height: float) -> Callable[[float], float]:
    def shape(h: float) -> float:
        if h < 0:
            return 0.0
        if h < up:
            return height * h / up
        if h < up + hold:
            return height
        return height * max(0.0, 1 - (h - up - hold) / down) if down else 0.0

    return shape


def _launch(h: float) -> float:
    """A planned launch: up within the hour, a full evening, then fading over a day and a half."""
    if h < 0:
        return 0.0
    if h < 1:
        return 4.0 * h
    if h < 7:
        return 4.0
    return 4.0 * 0.5 ** ((h - 7) / 8)


SCENARIOS = [
    Scenario("normal weeks (no event)", 0.75, None),
    Scenario("normal weeks, small brand (60/day)", 0.75, None, per_day=60),
    Scenario("normal weeks, big noisy brand (5000/day, CV 0.4)", 0.75, None, 5000, 0.4),
    Scenario(
        "quiet week, one storm (Wed 14:07, +2x)",
        0.75,
        Event(
            "storm",
            TEST_START + timedelta(days=2, hours=14, minutes=7),
            _ramp(0.25, 2.0, 1.0, 2.0),
            0.8,
            timedelta(hours=3),
        ),
    ),
    Scenario(
        "product launch (Tue 16:00, +4x, fades over 1.5 days)",
        0.75,
        Event(
            "launch", TEST_START + timedelta(days=1, hours=16), _launch, 0.1, timedelta(hours=31)
        ),
    ),
    Scenario(
        "weekend dip (35 %), storm Sun 10:20 +2.5x",
        0.35,
        Event(
            "storm",
            TEST_START + timedelta(days=6, hours=10, minutes=20),
            _ramp(0.25, 2.0, 1.0, 2.5),
            0.8,
            timedelta(hours=3),
        ),
    ),
    Scenario(
        "slow burn (Thu 06:00, +0 to +2x over 12 h)",
        0.75,
        Event(
            "slow burn",
            TEST_START + timedelta(days=3, hours=6),
            _ramp(12.0, 12.0, 6.0, 2.0),
            0.7,
            timedelta(hours=29),
        ),
    ),
]


def daily_curve(hour: float) -> float:
    """Night trough, working-day plateau, a bump when people open their laptops at 9:00."""
    night = 0.25
    day = night + 1.25 * np.exp(-(((hour - 15.0) / 5.0) ** 2))
    bump = 0.9 * np.exp(-(((hour - 9.5) / 0.6) ** 2))
    return float(day + bump)


_CURVE = np.array([daily_curve((i + 0.5) / PER_HOUR) for i in range(24 * PER_HOUR)])
_CURVE /= _CURVE.mean()


class ArraySeries:
    """A replayed history: per-window counts with prefix sums, answered like the database."""

    def __init__(self, totals: np.ndarray, negatives: np.ndarray) -> None:
        self.first_seen = T0
        self._total = np.concatenate([[0], np.cumsum(totals)])
        self._negative = np.concatenate([[0], np.cumsum(negatives)])

    def _index(self, t: datetime) -> int:
        return min(max(int((t - T0) / WINDOW), 0), len(self._total) - 1)

    def counts(self, start: datetime, end: datetime) -> Counts:
        a, b = self._index(start), self._index(end)
        return Counts(
            int(self._total[b] - self._total[a]), int(self._negative[b] - self._negative[a])
        )


def generate(scenario: Scenario, seed: int) -> ArraySeries:
    rng = np.random.default_rng(seed)
    n = DAYS * 24 * PER_HOUR
    slot = np.arange(n) % (24 * PER_HOUR)
    day = np.arange(n) // (24 * PER_HOUR)
    weekday = day % 7
    usual = scenario.per_day / (24 * PER_HOUR) * _CURVE[slot]
    usual = usual * np.where(weekday >= 5, scenario.weekend, 1.0)
    hour_noise = rng.gamma(1 / scenario.noise**2, scenario.noise**2, size=n // PER_HOUR)
    rate = usual * np.repeat(hour_noise, PER_HOUR)
    extra = np.zeros(n)
    negative_extra = 0.0
    if scenario.event is not None:
        ev = scenario.event
        hours = (np.arange(n) * WINDOW.total_seconds() - (ev.start - T0).total_seconds()) / 3600
        # The event's mentions fall inside windows partly: integrate its shape over each window.
        extra = np.array([ev.shape(h + 1 / (2 * PER_HOUR)) for h in hours]) * usual
        negative_extra = ev.negative
    totals = rng.poisson(rate)
    negatives = rng.binomial(totals, NEGATIVE_SHARE)
    storm = rng.poisson(extra)
    negatives += rng.binomial(storm, negative_extra)
    return ArraySeries(totals + storm, negatives)


@dataclass
class RunResult:
    delay_min: float | None = None
    false_alarms: int = 0
    alerts_in_event: int = 0


def replay(series: ArraySeries, event: Event | None, params: Params) -> RunResult:
    judge = Judge(series, params)
    track = Track()
    result = RunResult()
    windows = 7 * 24 * PER_HOUR
    for i in range(windows):
        start = TEST_START + i * WINDOW
        track, events = advance(track, judge.window(start), params)
        if "confirmed" not in events:
            continue
        confirmed_at = start + WINDOW
        if event and event.start <= confirmed_at <= event.start + event.length + params.cooldown:
            result.alerts_in_event += 1
            if result.delay_min is None and confirmed_at <= event.start + event.length:
                result.delay_min = (confirmed_at - event.start).total_seconds() / 60
        else:
            result.false_alarms += 1
    return result


def run(scenario: Scenario, sensitivities: list[str], seeds: int) -> dict[str, dict[str, str]]:
    """One row per sensitivity; every sensitivity replays the same seeded histories."""
    results: dict[str, list[RunResult]] = {s: [] for s in sensitivities}
    for seed in range(seeds):
        series = generate(scenario, seed)
        for sensitivity in sensitivities:
            results[sensitivity].append(replay(series, scenario.event, Params.preset(sensitivity)))
    return {s: summarise(scenario, r, seeds) for s, r in results.items()}


def summarise(scenario: Scenario, results: list[RunResult], seeds: int) -> dict[str, str]:
    fa = statistics.fmean(r.false_alarms for r in results)
    row = {"false alarms / week": f"{fa:.2f}"}
    if scenario.event is None:
        return row | {"delay min: p50 (p90)": "—", "missed": "—", "alerts / event": "—"}
    delays = sorted(r.delay_min for r in results if r.delay_min is not None)
    missed = sum(r.delay_min is None for r in results)
    caught = [r.alerts_in_event for r in results if r.delay_min is not None]
    if delays:
        p90 = delays[min(len(delays) - 1, bisect_left(delays, np.percentile(delays, 90)))]
        row["delay min: p50 (p90)"] = f"{statistics.median(delays):.0f} ({p90:.0f})"
    else:
        row["delay min: p50 (p90)"] = "—"
    row["missed"] = f"{missed}/{seeds}"
    row["alerts / event"] = f"{statistics.fmean(caught):.2f}" if caught else "—"
    return row


def check_cost(per_day: float = BASE_PER_DAY) -> tuple[int, float]:
    """Wall time of one scheduled radar check (brand + 5 categories) on SQLite holding four
    weeks of a brand's mentions: what the job costs every window."""
    import tempfile

    from alerts.console import ConsoleSender
    from core.mention import Mention, Metrics
    from core.triage import Triage
    from radar.settings import RadarSettings
    from radar.watch import check
    from storage import Store

    series = generate(Scenario("cost", 0.75, None, per_day=per_day), seed=0)
    totals = np.diff(series._total)[: HISTORY_WEEKS * 7 * 24 * PER_HOUR]
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/radar.db")
        posts = [
            Mention(
                network="x",
                native_id=str(n),
                url=f"https://example.com/{n}",
                author=f"user{n % 997}",
                text=f"acme post {n} about invoices {rng.integers(1_000_000)}",
                created_at=T0 + i * WINDOW + timedelta(seconds=int(rng.integers(900))),
                metrics=Metrics(followers=int(rng.integers(10_000))),
            )
            for n, i in enumerate(np.repeat(np.arange(len(totals)), totals))
        ]
        for start in range(0, len(posts), 2000):
            ids = store.save_page("Acme", "x", posts[start : start + 2000], None)
            negative = Triage(
                sentiment="negative",
                sentiment_scores={"negative": 0.9},
                urgency="low",
                categories=["complaint"],
                model_version="bench",
            )
            store.save_triage([(i, negative) for i in ids])
        sender = ConsoleSender(Console(file=open("/dev/null", "w")))  # noqa: SIM115
        now = TEST_START + timedelta(hours=14, minutes=6)
        began = time.perf_counter()
        check(store, sender, RadarSettings(), {"Acme": "acme"}, "#alerts", now=now)
        elapsed = time.perf_counter() - began
        store.close()
    return len(posts), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="replayed histories per scenario")
    parser.add_argument(
        "--sensitivity", nargs="+", default=list(SENSITIVITIES), choices=list(SENSITIVITIES)
    )
    args = parser.parse_args()
    console = Console(width=150)
    began = time.perf_counter()
    table = Table(title="Spike detection on replayed histories (15-min windows)")
    columns = ["delay min: p50 (p90)", "false alarms / week", "missed", "alerts / event"]
    for name in ["scenario", "sensitivity", *columns]:
        table.add_column(name, justify="left" if name == "scenario" else "right", no_wrap=True)
    for scenario in SCENARIOS:
        for sensitivity, row in run(scenario, args.sensitivity, args.seeds).items():
            table.add_row(scenario.name, sensitivity, *(row[c] for c in columns))
        table.add_section()
    console.print(table)
    console.print(
        f"{args.seeds} seeded histories per row; {BASE_PER_DAY:.0f} mentions/day on weekdays and "
        f"hourly noise CV {HOUR_NOISE_CV} unless the scenario says; defaults otherwise "
        "(confirm 2, min_count 6, end after 4 calm windows, cooldown 6 h, 4 weeks of history)."
    )
    replayed = time.perf_counter() - began
    stored, cost = check_cost()
    console.print(
        f"one scheduled check (brand + 5 categories) on SQLite holding {stored:,} mentions "
        f"(four weeks): {cost * 1000:.0f} ms"
    )
    console.print(
        f"machine: {cpu_model()}, {usable_cores()} usable core(s), Python "
        f"{platform.python_version()}; replay took {replayed:.1f} s"
    )


if __name__ == "__main__":
    main()
