"""Streams benchmark on a local firehose: matching speed, alert latency, lag, memory, losses.

    python bench/streams.py [--rate 400] [--seconds 60] [--brands 100]
    python bench/streams.py --seconds 600      # the 10-minute lag run

- engine: posts/s that `listeners.matching.Matcher` checks against every brand's query on one
  core (the matcher alone, on pre-generated posts).
- alert latency: a Jetstream-shaped fake (in its own process, so it costs this one nothing)
  emits `--rate` posts/s, a small share naming a brand; now and then a probe post that routes to
  Slack. Latency runs from the probe's emission to its message at the Slack fake, through the
  whole `listenpost run` (stream -> match -> store -> triage -> route -> deliver).
- lag: the stream's own figure (live edge minus the newest event read), sampled each second.
- lost: posts matching some brand, by brute force over everything emitted, that storage does
  not hold for that brand; the stream is dropped mid-run (a forced reconnect) to prove 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.machine import describe, peak_rss_mb  # noqa: E402
from core.query import Post, Query, parse  # noqa: E402
from core.triage import TriageInput  # noqa: E402
from fakes.slack import FakeSlack  # noqa: E402
from listeners.http import HttpClient  # noqa: E402
from listeners.matching import Matcher  # noqa: E402
from listenpost import config, logs  # noqa: E402
from listenpost.runtime import Runtime, build  # noqa: E402
from listenpost.scheduler import run_forever  # noqa: E402

# fmt: off
WORDS = [
    "the", "a", "to", "and", "of", "in", "is", "it", "you", "that", "for", "on", "this", "my",
    "with", "just", "be", "have", "so", "not", "are", "but", "at", "was", "like", "what", "all",
    "your", "can", "get", "me", "about", "when", "one", "more", "out", "up", "day", "today",
    "new", "time", "people", "love", "good", "know", "great", "really", "think", "now", "going",
    "how", "see", "make", "back", "some", "work", "go", "been", "would", "first", "still",
    "here", "there", "want", "even", "right", "need", "thanks", "coffee", "music", "game",
    "photo", "morning", "night", "weekend", "friends", "family", "city", "book", "movie",
    "weather", "sun", "rain", "art", "code", "data", "team", "project", "launch", "update",
    "release", "design", "build", "open", "source", "api", "cloud", "app", "phone", "laptop",
    "server", "news", "story", "post", "thread", "reply", "question", "answer", "idea", "plan",
    "week", "year", "happy", "fun", "cool", "nice", "wow", "lol",
]
SYLLABLES = [
    "ka", "ro", "mi", "zu", "ten", "vex", "lor", "qua", "bri", "dal", "fen", "gor", "hul",
    "jin", "kez", "mar", "nob", "pel", "rix", "sov", "tam",
]
# fmt: on
PROBE = "{brand} outage: the api is down, our customers are furious ({words}) [probe {i}]"


def brand_names(n: int, rng: random.Random) -> list[str]:
    names: dict[str, None] = {"acme": None}
    while len(names) < n:
        names["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))] = None
    return list(names)


def brand_query(name: str, rng: random.Random) -> str:
    extra = rng.choice(WORDS[40:])
    return rng.choice(
        [
            name,
            f"{name} -hiring",
            f'({name} OR #{name} OR "{name} {extra}") -job',
            f"{name} ({extra} OR {rng.choice(WORDS[40:])}) lang:en",
            f"@{name} OR {name}",
        ]
    )


def post_text(rng: random.Random, brands: list[str], share: float) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 40))]
    if rng.random() < share:
        words.insert(rng.randrange(len(words)), rng.choice(["", "#", "@"]) + rng.choice(brands))
    if rng.random() < 0.2:
        words.append(f"https://example.com/{rng.randrange(10**6)}")
    return " ".join(words)


# ---- the firehose, in its own process ---------------------------------------------------------


def firehose(
    ready: mp.Queue,
    go: mp.Event,
    stop: mp.Event,
    kick: mp.Event,
    out: mp.Queue,
    rate: int,
    brands: list[str],
    share: float,
    probe_every: float,
    seed: int,
) -> None:
    from fakes.jetstream import FakeJetstream

    rng = random.Random(seed)
    posts: list[tuple[str, str]] = []
    probes: list[tuple[int, float]] = []
    with FakeJetstream() as js:
        ready.put(js.url)
        go.wait()
        started = time.perf_counter()
        sent = 0
        next_probe = started + 2.0
        while not stop.is_set():
            due = int((time.perf_counter() - started) * rate)
            while sent < due:
                rkey = f"3k{sent:09d}"
                text = post_text(rng, brands, share)
                if time.perf_counter() >= next_probe:
                    words = " ".join(rng.choice(WORDS) for _ in range(8))  # never a copy
                    text = PROBE.format(brand="Acme", i=len(probes), words=words)
                    probes.append((len(probes), time.time()))
                    next_probe += probe_every * rng.uniform(0.8, 1.2)
                js.post(f"did:plc:user{rng.randrange(10**5)}", rkey, text, langs=["en"])
                posts.append((rkey, text))
                sent += 1
            if kick.is_set():
                js.kick()
                kick.clear()
            time.sleep(0.005)
        last_us = js.events[-1]["time_us"] if js.events else 0
        out.put((posts, probes, len(js.connections), last_us))
        js.events.clear()


# ---- measures ----------------------------------------------------------------------------------


def bench_engine(queries: dict[str, Query], brands: list[str], share: float, n: int) -> float:
    rng = random.Random(3)
    texts = [post_text(rng, brands, share) for _ in range(n)]
    matcher = Matcher.build(queries)
    for text in texts[:500]:
        matcher.match(Post(text), ("en",))
    started = time.process_time()
    for text in texts:
        matcher.match(Post(text), ("en",))
    return n / (time.process_time() - started)


def write_settings(tmp: Path, url: str, slack_url: str, queries: dict[str, str]) -> Path:
    path = tmp / "settings.toml"
    brands = "".join(
        f"[[brands]]\nname = {name!r}\nquery = {query!r}\n\n" for name, query in queries.items()
    )
    path.write_text(
        f"""[storage]
url = "sqlite:///{tmp / "bench.db"}"

{brands}
[sources.bluesky_stream]
url = ["{url}"]
read_timeout = 10
max_backoff = 1

[alerts.slack]
channel = "#brand-alerts"
base_url = "{slack_url}"

[alerts.fatigue]
group_after = 1000

# Only the probes' brand alerts: the model finds a few of the random posts naming the other
# 99 brands negative, and their alerts would queue ahead of the probes at the channel's pace.
[[alerts.routes]]
name = "probes"
brands = ["acme"]
"""
    )
    return path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=400, help="posts per second on the firehose")
    parser.add_argument("--seconds", type=int, default=60, help="length of the live run")
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--share", type=float, default=0.02, help="posts naming some brand")
    parser.add_argument("--probe-every", type=float, default=2.5, help="seconds between probes")
    parser.add_argument("--engine-posts", type=int, default=50_000)
    args = parser.parse_args()
    logs.setup({}, verbose=False)
    logging.getLogger().setLevel(logging.ERROR)
    rng = random.Random(7)
    brands = brand_names(args.brands, rng)
    texts = {name: brand_query(name, rng) for name in brands}
    texts["acme"] = "acme -hiring"
    queries = {name: parse(q) for name, q in texts.items()}

    engine_rate = bench_engine(queries, brands, args.share, args.engine_posts)

    ctx = mp.get_context("fork")
    ready, out = ctx.Queue(), ctx.Queue()
    go, stop, kick = ctx.Event(), ctx.Event(), ctx.Event()
    child = ctx.Process(
        target=firehose,
        args=(ready, go, stop, kick, out, args.rate, brands, args.share, args.probe_every, 11),
        daemon=True,
    )
    child.start()
    url = ready.get(timeout=30)
    lags: list[float] = []
    arrived: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmpdir, FakeSlack() as slack:
        settings = config.load(write_settings(Path(tmpdir), url, slack.base_url, texts))
        rt = build(settings, {"SLACK_BOT_TOKEN": slack.token}, http=HttpClient(timeout=10))
        load_started = time.perf_counter()
        rt.triager.triage([TriageInput("warming up the model")])  # before the clock starts
        load_s = time.perf_counter() - load_started
        halt = threading.Event()
        runner = threading.Thread(target=run_forever, args=(rt, halt), daemon=True)
        runner.start()
        while not rt.store.stream_states():
            time.sleep(0.1)
        go.set()
        started = time.monotonic()
        kicked = False
        seen = 0
        while time.monotonic() - started < args.seconds:
            time.sleep(0.25)
            for message in slack.messages[seen:]:
                text = message.get("text", "")
                if "[probe " in text:
                    probe = int(text.split("[probe ", 1)[1].split("]", 1)[0])
                    arrived.setdefault(probe, time.time())
            seen = len(slack.messages)
            states = rt.store.stream_states()
            if states and states[0].lag_s is not None:
                lags.append(states[0].lag_s)
            if not kicked and time.monotonic() - started > args.seconds / 2:
                kick.set()
                kicked = True
        stop.set()
        posts, probes, connections, last_us = out.get(timeout=60)
        child.join(10)
        # Let the stream commit everything emitted, and the last alerts go out, then stop.
        deadline = time.monotonic() + 30
        while _cursor_us(rt) < last_us and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)
        for message in slack.messages:
            text = message.get("text", "")
            if "[probe " in text:
                probe = int(text.split("[probe ", 1)[1].split("]", 1)[0])
                arrived.setdefault(probe, time.time())
        halt.set()
        runner.join(30)
        expected = {
            (rkey, brand)
            for rkey, text in posts
            for brand, query in queries.items()
            if query.matches(text, "en")
        }
        held = {
            (m.native_id.rsplit("/", 1)[1], brand)
            for m in rt.store.mentions(limit=10**7)
            for brand in m.brands
        }
        lost = len(expected - held)
        rt.close()

    latencies = [arrived[i] - t for i, t in probes if i in arrived]
    console = Console(width=110)
    table = Table(
        title=f"listenpost streams benchmark — {describe()}", title_justify="left", width=100
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("notes")
    table.add_row(
        "engine",
        f"{engine_rate:,.0f} posts/s",
        f"one core, {len(queries)} brand queries, {args.share:.0%} of posts name a brand",
    )
    table.add_row(
        "firehose",
        f"{len(posts) / args.seconds:,.0f} posts/s",
        f"{len(posts):,} posts in {args.seconds}s from a local Jetstream fake",
    )
    table.add_row("model load", f"{load_s:.2f} s", "before the clock starts")
    if latencies:
        table.add_row(
            "alert latency p50",
            f"{pct(latencies, 0.5):.2f} s",
            f"{len(latencies)}/{len(probes)} probes alerted",
        )
        table.add_row(
            "alert latency p95", f"{pct(latencies, 0.95):.2f} s", "emitted -> Slack-fake message"
        )
    else:
        table.add_row("alert latency", "n/a", "no probe reached Slack")
    table.add_row(
        "lag p50 / max",
        f"{pct(lags, 0.5):.2f} / {max(lags, default=0):.2f} s",
        "live edge minus newest event read, sampled each 0.25 s",
    )
    table.add_row(
        "lost",
        str(lost),
        f"of {len(expected):,} (post, brand) matches; "
        f"{connections} connection(s), one dropped mid-run",
    )
    table.add_row("peak RSS", f"{peak_rss_mb():,.0f} MB", "the listening process (fake apart)")
    console.print(table)


def _cursor_us(rt: Runtime) -> int:
    cursor = rt.store.stream_cursor("bluesky_stream", "all")
    return json.loads(cursor)["time_us"] if cursor else 0


if __name__ == "__main__":
    main()
