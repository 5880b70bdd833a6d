"""Scaling benchmark on local fakes: the single process against 1, 2 and 4 Celery workers, and
the same with workers SIGKILLed at random moments.

    python bench/scale.py [--brands 20] [--networks hackernews,reddit] [--backlog 100]
                          [--stream 20] [--seconds 25]

Each mode gets fresh fakes (fakes/harness.py) holding a backlog of `--backlog` posts per
brand x network, then a steady stream of `--stream` posts a second spread over them; one post in
25 is an angry outage report that alerts. Every brand x network is polled every 2 s. After
`--seconds` the mode is measured from the database: mentions stored and triaged per second,
alert latency (post written -> Slack accepted, stream posts only) p50/p95, and the deepest the
broker's queues got. `run` is `listenpost run` on SQLite, the default; the workers run on
PostgreSQL (127.0.0.1:5432) with Redis (127.0.0.1:6379). The chaos mode runs 2 workers and
SIGKILLs one (with its pool) every few seconds, starts a new one, then lets the rest drain and
counts mentions lost / stored twice and alerts lost / posted twice: all must be 0.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.cluster import Cluster, fresh_redis, wait_for  # noqa: E402
from bench.machine import cpu_model, usable_cores  # noqa: E402
from fakes.harness import HARNESSES, Harness, RecordingServer  # noqa: E402
from fakes.postgres import machine_server  # noqa: E402
from fakes.slack import FakeSlack  # noqa: E402
from listenpost import config  # noqa: E402
from listenpost.queues import look  # noqa: E402
from storage import Store  # noqa: E402
from storage.monitoring import alert_timings  # noqa: E402

ANGRY_EVERY = 25
EVERY = "2s"
DRAIN = 90.0  # seconds the chaos mode waits for the queues to empty


@dataclass
class Load:
    """The fakes of one mode and every post they hold, by (network, native id) -> brand."""

    harnesses: dict[str, Harness]
    posts: dict[tuple[str, str], str] = field(default_factory=dict)
    angry: set[str] = field(default_factory=set)  # the marks alerts carry ("incident N")
    angry_key: dict[str, tuple[str, str]] = field(default_factory=dict)
    serial: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, brand: int, network: str, created: int) -> None:
        with self.lock:
            self.serial += 1
            n = self.serial
        angry = n % ANGRY_EVERY == 0
        word = _brand_word(brand)
        text = (f"{word} cloud is down again, outage for hours, terrible, incident {n}"
                if angry else f"Trying the {word} dashboard with the team, note {n}")
        native = self.harnesses[network].add(n, created, text)
        self.posts[(network, native)] = f"b{brand}"
        if angry:
            self.angry.add(str(n))
            self.angry_key[str(n)] = (network, native)


def _brand_word(brand: int) -> str:
    """acme007: one length for all, so no brand's word is a prefix of another's (the fakes
    match prefixes, as the real search engines' typo tolerance does)."""
    return f"acme{brand:03d}"


@dataclass
class Result:
    mode: str
    stored: int = 0
    triaged: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    max_depth: int | None = None
    chaos: tuple[int, ...] | None = None  # lost, twice, alerts lost, alerts twice
    kills: int = 0
    held: int = 0  # posts of sources the network's rate limit paused: fetched after the pause

    @property
    def ingest_rate(self) -> float:
        return self.stored / self.seconds

    @property
    def triage_rate(self) -> float:
        return self.triaged / self.seconds

    def latency(self, q: float) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else None
        return statistics.quantiles(self.latencies, n=100)[int(q * 100) - 1]


def settings_text(db: str, broker: str | None, load: Load, brands: int, slack: FakeSlack) -> str:
    lines = [f"[storage]\nurl = {json.dumps(db)}"]
    if broker:
        lines.append(f"[queue]\nbroker = {json.dumps(broker)}\ntriage_batch = 128")
    for b in range(brands):
        lines.append(f'[[brands]]\nname = "b{b}"\nquery = "{_brand_word(b)}"')
    for name, h in load.harnesses.items():
        table = {**h.settings().model_dump(mode="json", exclude_none=True), "every": EVERY}
        lines.append(f"[sources.{name}]\n" + "\n".join(
            f"{k} = {json.dumps(v)}" for k, v in table.items()))
    lines.append(f'[alerts.slack]\nchannel = "#brand-alerts"\nbase_url = "{slack.base_url}"')
    lines.append("[alerts.fatigue]\ngroup_after = 1000\nper_second = 10\nburst = 50")
    lines.append("[radar]\nenabled = false")
    return "\n\n".join(lines) + "\n"


def run_mode(mode: str, workers: int, args: argparse.Namespace, pg: object, tmp: Path) -> Result:
    chaos = mode == "chaos"
    result = Result(mode)
    with ExitStack() as stack:
        servers = {n: stack.enter_context(RecordingServer()) for n in args.networks}
        load = Load({n: HARNESSES[n](servers[n], small_pages=False) for n in args.networks})
        for h in load.harnesses.values():  # measure listenpost, not the fake's request budget:
            if hasattr(h.fake, "remaining"):  # docs/deploy.md sets real limits against it
                h.fake.remaining = float("inf")
        slack = stack.enter_context(FakeSlack())
        now = int(time.time())
        for b in range(args.brands):
            for n in args.networks:
                for k in range(args.backlog):
                    load.add(b, n, now - 600 + k)
        if mode == "run":
            db, broker = f"sqlite:///{tmp / f'{mode}.db'}", None
        else:
            db, broker = pg.new_database(), fresh_redis(12)  # type: ignore[attr-defined]
        folder = tmp / mode
        folder.mkdir()
        path = folder / "settings.toml"
        path.write_text(settings_text(db, broker, load, args.brands, slack))
        env = {"SLACK_BOT_TOKEN": slack.token}
        for h in load.harnesses.values():
            env.update(h.env)
        cluster = Cluster(path, folder / "logs", env)
        store = Store(db)
        procs = []
        try:
            if mode == "run":
                cluster.run()
            else:
                procs = [cluster.worker(concurrency=1) for _ in range(workers)]
                cluster.scheduler()
            settings = config.load(path)
            rng = random.Random(18)
            start = time.monotonic()
            next_kill = start + rng.uniform(2, 5)
            depth = 0
            while (elapsed := time.monotonic() - start) < args.seconds:
                tick = time.monotonic()
                for _ in range(args.stream):
                    load.add(rng.randrange(args.brands), rng.choice(args.networks),
                             int(time.time()))
                if broker:
                    depths = look(settings, ping=False).depths
                    depth = max(depth, sum(v or 0 for v in depths.values()))
                if chaos and time.monotonic() >= next_kill:
                    victim = rng.randrange(len(procs))
                    cluster.kill(procs[victim])
                    result.kills += 1
                    procs[victim] = cluster.worker(concurrency=1)
                    next_kill = time.monotonic() + rng.uniform(2, 5)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            result.seconds = elapsed
            result.stored = store.count_mentions()
            result.triaged = result.stored - len(store.untriaged(limit=1_000_000))
            result.max_depth = depth if broker else None
            started = datetime.fromtimestamp(time.time() - elapsed, UTC)
            if chaos:
                result.chaos = _settle(store, load, slack, result)
            for t in alert_timings(store, started, datetime.now(UTC)):
                if t.created_at >= started:
                    result.latencies.append((t.delivered_at - t.created_at).total_seconds())
        finally:
            cluster.stop_all()
            store.close()
    return result


def _settle(store: Store, load: Load, slack: FakeSlack, result: Result) -> tuple[int, ...]:
    """Let the survivors drain, then count what was lost or doubled.

    Posts of a source that the network paused (Reddit's fake spends its 100-request budget like
    Reddit does) are held, not lost: the cursor waits for the pause to end. They are counted
    apart, in `result.held`.
    """
    def held_pairs() -> set[tuple[str, str]]:
        now = datetime.now(UTC)
        return {(s.brand, s.source) for s in store.source_states()
                if s.disabled_until is not None and s.disabled_until > now}

    def expected() -> tuple[set[tuple[str, str]], set[str]]:
        held = held_pairs()
        posts = {k for k, brand in load.posts.items() if (brand, k[0]) not in held}
        return posts, {n for n in load.angry if load.angry_key[n] in posts}

    def stored() -> set[tuple[str, str]]:
        return {(m.network, m.native_id) for m in store.mentions(limit=1_000_000)}

    def posted() -> Counter[str]:
        return Counter(
            m["text"].rsplit("incident ", 1)[1].split()[0].strip('"')
            for m in slack.messages if "incident " in m["text"]
        )

    try:
        wait_for(lambda: stored() >= expected()[0] and set(posted()) >= expected()[1], DRAIN,
                 "the queues to drain", every=2.0)
    except AssertionError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
    time.sleep(5)  # a duplicate would land now
    rows = store.mentions(limit=1_000_000)
    keys = [(m.network, m.native_id) for m in rows]
    posts, angry = expected()
    result.held = len(set(load.posts) - posts - set(keys))
    alerts = posted()
    return (len(posts - set(keys)), len(keys) - len(set(keys)), len(angry - set(alerts)),
            sum(c - 1 for c in alerts.values() if c > 1))


def table(results: list[Result], args: argparse.Namespace) -> tuple[Table, list[str]]:
    notes: list[str] = []
    base = next((r for r in results if r.mode == "1 worker"), None)
    out = Table(title=f"bench/scale.py: {args.brands} brands x {len(args.networks)} networks "
                f"({', '.join(args.networks)}), backlog {args.backlog}/pair, stream "
                f"{args.stream}/s, {args.seconds:.0f} s per mode")
    for name in ("mode", "ingested/s", "triaged/s", "vs 1", "alert p50", "alert p95",
                 "max queue", "chaos lost/2x/alerts lost/2x"):
        out.add_column(name, justify="left" if name == "mode" else "right")
    for r in results:
        ratio = f"{r.ingest_rate / base.ingest_rate:.2f}x" if base and r.mode != "run" else "—"
        p50, p95 = r.latency(0.5), r.latency(0.95)
        out.add_row(
            r.mode, f"{r.ingest_rate:.0f}", f"{r.triage_rate:.0f}", ratio,
            f"{p50:.1f} s" if p50 is not None else "—", f"{p95:.1f} s" if p95 is not None else "—",
            "—" if r.max_depth is None else str(r.max_depth),
            "—" if r.chaos is None else " / ".join(map(str, r.chaos)) + f" ({r.kills} kills)",
        )
        if r.held:
            notes.append(f"{r.mode}: {r.held} posts held by the fake Reddit's rate limit "
                         "(100 requests, then paused until its reset): fetched after, not lost")
    return out, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brands", type=int, default=20)
    parser.add_argument("--networks", default="hackernews,reddit")
    parser.add_argument("--backlog", type=int, default=100)
    parser.add_argument("--stream", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--modes", default="run,1,2,4,chaos")
    args = parser.parse_args()
    args.networks = args.networks.split(",")
    pg = machine_server()
    if pg is None:
        sys.exit("bench/scale.py needs PostgreSQL on 127.0.0.1:5432 and Redis on 6379")
    modes = {"run": ("run", 0), "1": ("1 worker", 1), "2": ("2 workers", 2),
             "4": ("4 workers", 4), "chaos": ("chaos", 2)}
    results = []
    with tempfile.TemporaryDirectory(prefix="listenpost-scale-") as folder:
        try:
            for key in args.modes.split(","):
                name, workers = modes[key]
                print(f"{name}...", file=sys.stderr, flush=True)
                results.append(run_mode(name if key != "chaos" else "chaos", workers, args, pg,
                                        Path(folder)))
        finally:
            pg.drop_all()
    console = Console(width=120)
    out, notes = table(results, args)
    console.print(out)
    for note in notes:
        console.print(note)
    console.print(f"machine: {cpu_model()}, {usable_cores()} usable core(s); workers run "
                  "`listenpost worker --concurrency 1` each; `run` on SQLite, workers on "
                  "PostgreSQL + Redis")


if __name__ == "__main__":
    main()
