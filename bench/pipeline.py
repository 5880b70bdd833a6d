"""End-to-end pipeline benchmark on local fakes: ingest, triage, alert latency, memory.

    python bench/pipeline.py [--mentions 5000] [--posts 20] [--every 2]

Ingest = fetch from a local Hacker News (Algolia wire format) + parse + local query re-check +
dedup + commit to SQLite. Triage = the bundled MiniLM model plus urgency rules. Alert latency =
from a post appearing on the fake source to its message arriving at the fake Slack, with the
scheduler running and the source polled every `--every` seconds (so latency is bounded below
by the poll interval: that is the number to tune in settings.toml).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.machine import describe, peak_rss_mb  # noqa: E402
from classifiers.triager import Triager  # noqa: E402
from core.triage import TriageInput  # noqa: E402
from fakes.hackernews import FakeHackerNews, comment, story  # noqa: E402
from fakes.server import FakeServer  # noqa: E402
from fakes.slack import FakeSlack  # noqa: E402
from listeners.http import HttpClient  # noqa: E402
from listenpost import config, logs  # noqa: E402
from listenpost.pipeline import poll_source, process  # noqa: E402
from listenpost.runtime import build  # noqa: E402
from listenpost.scheduler import build_scheduler  # noqa: E402

OPENERS = [
    "Acme Cloud is down again",
    "Just switched our team to Acme",
    "Does anyone know if Acme supports SSO?",
    "Acme billing charged me twice this month",
    "Really impressed with the new Acme dashboard",
    "Acme support never answered my ticket",
    "Comparing Acme with its competitors for our startup",
    "Acme status page says all good but the API returns 500",
    "Acme is hiring senior engineers",  # excluded by the query
    "Thinking about cancelling Acme, the price went up",
]
TAILS = [
    "",
    " and I am so tired of it",
    " - great job team!",
    " Any advice?",
    " since this morning.",
    " Our customers are complaining.",
    " I want a refund.",
    " Would recommend.",
]


def synthetic_text(rng: random.Random, i: int) -> str:
    return f"{rng.choice(OPENERS)}{rng.choice(TAILS)} (#{i})"


def write_settings(tmp: Path, hn_url: str, slack_url: str, every: int) -> Path:
    path = tmp / "settings.toml"
    path.write_text(
        f"""
[storage]
url = "sqlite:///{tmp / "bench.db"}"

[[brands]]
name = "Acme"
query = '(acme OR "acme cloud") -hiring'

[sources.hackernews]
every = "{every}s"
base_url = "{hn_url}"
hits_per_page = 1000

[alerts.slack]
channel = "#brand-alerts"
base_url = "{slack_url}"

# The probes are twenty alike outage posts in a minute: a burst the channel would get as one
# "N more like this" message. Latency is measured per alert, so grouping is off here.
[alerts.fatigue]
group_after = 1000
"""
    )
    return path


def bench_ingest(rt, hn: FakeHackerNews, n: int, rng: random.Random) -> tuple[float, int]:
    # Two days old: stored and triaged like any post, but older than [alerts] max_age, so the
    # backlog queues no alerts and the latency probes below meet a calm, paced channel.
    first = int(time.time()) - 2 * 86_400 - n
    hn.items[:] = [
        (story if i % 3 else comment)(10_000 + i, first + i, synthetic_text(rng, i))
        for i in range(n)
    ]
    # Steady state: a source polled before, so the whole window since its cursor is read (a
    # first poll would stop at Algolia's newest 1,000 hits).
    since = rt.listeners["hackernews"].backfill_cursor(datetime.fromtimestamp(first - 60, UTC))
    rt.store.save_page("Acme", "hackernews", [], since)
    start = time.perf_counter()
    result = poll_source(rt, "Acme", "hackernews")
    took = time.perf_counter() - start
    assert result.error is None, result.error
    return result.new / took, result.new


def bench_triage(triager: Triager, n: int, rng: random.Random) -> float:
    items = [TriageInput(synthetic_text(rng, i), reach=rng.randint(0, 50_000)) for i in range(n)]
    triager.triage(items[:64])  # warm-up
    start = time.perf_counter()
    triager.triage(items)
    return n / (time.perf_counter() - start)


def bench_latency(rt, hn: FakeHackerNews, slack: FakeSlack, posts: int) -> list[float]:
    process(rt)  # triage and alert the ingest backlog first: latency is measured on a calm queue
    scheduler = build_scheduler(rt)
    scheduler.start()
    latencies: list[float] = []
    try:
        time.sleep(1.0)
        for i in range(posts):
            marker = f"[latency probe {i}]"
            text = f"Acme Cloud outage: the API is down and our customers are furious {marker}"
            appeared = time.perf_counter()
            hn.items.append(story(900_000 + i, int(time.time()), text))
            deadline = appeared + 60
            while time.perf_counter() < deadline:
                if any(marker in m.get("text", "") for m in slack.messages[-5:]):
                    latencies.append(time.perf_counter() - appeared)
                    break
                time.sleep(0.005)
            time.sleep(random.uniform(0, 0.5))
    finally:
        scheduler.shutdown(wait=True)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=5000)
    parser.add_argument("--triage", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--every", type=int, default=2, help="poll interval, seconds")
    args = parser.parse_args()
    rng = random.Random(7)
    logs.setup({}, verbose=False)
    logging.getLogger().setLevel(logging.WARNING)  # the table, not per-poll chatter
    console = Console()
    with tempfile.TemporaryDirectory() as tmpdir, FakeServer() as srv, FakeSlack() as slack:
        hn = FakeHackerNews(srv)
        settings = config.load(
            write_settings(Path(tmpdir), hn.base_url, slack.base_url, args.every)
        )
        rt = build(settings, {"SLACK_BOT_TOKEN": slack.token}, http=HttpClient(timeout=30))
        ingest_rate, stored = bench_ingest(rt, hn, args.mentions, rng)
        load_start = time.perf_counter()
        triager = rt.triager
        load_s = time.perf_counter() - load_start
        triage_rate = bench_triage(triager, args.triage, rng)
        rt.process_lock = threading.Lock()
        latencies = bench_latency(rt, hn, slack, args.posts)
        rt.close()

    table = Table(title=f"listenpost pipeline benchmark — {describe()}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("notes")
    table.add_row(
        "ingest",
        f"{ingest_rate:,.0f} mentions/s",
        f"{stored} stored of {args.mentions} posts (rest excluded by the query); HN fake, SQLite",
    )
    table.add_row("model load", f"{load_s:.2f} s", triager.model_version)
    table.add_row("triage", f"{triage_rate:,.0f} mentions/s", f"{args.triage} mentions, CPU")
    if latencies:
        table.add_row(
            "alert latency p50",
            f"{pct(latencies, 0.5):.2f} s",
            f"poll every {args.every}s, {len(latencies)}/{args.posts} posts alerted",
        )
        table.add_row(
            "alert latency p95", f"{pct(latencies, 0.95):.2f} s", "post appears -> Slack message"
        )
    else:
        table.add_row("alert latency", "n/a", "no alert arrived")
    table.add_row("peak RSS", f"{peak_rss_mb():,.0f} MB", "whole benchmark process")
    console.print(table)


if __name__ == "__main__":
    main()
