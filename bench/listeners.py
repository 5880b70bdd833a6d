"""Per-network parse benchmark on local fakes: how fast each listener turns pages into mentions.

    python bench/listeners.py [--mentions 2000] [--repeat 3] [--networks hackernews,reddit]

For every network with a contract harness (fakes/harness.py), its fake holds
`--mentions` posts matching the query plus one the query excludes, and one full `search()` is
timed over all pages: fetch over loopback + parse + local query re-check, at the network's
production page size and settings. Networks that start listening at their newest page get one
poll first, so the timed search is a resumed one that reads everything. Each network runs
`--repeat` times on a fresh fake; the fastest run is shown.

The fakes run in this process, so their own work (filtering, JSON encoding) is inside the wall
time; it is shown apart ("fake s") and taken out of "listener/s". "heard" below "seeded" is an
API limit the fake reproduces (Algolia answers at most 1,000 hits per search) or a finding.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.machine import describe  # noqa: E402
from fakes.harness import HARNESSES, Harness, RecordingServer, query  # noqa: E402
from listeners.errors import ListenerError  # noqa: E402
from listeners.http import HttpClient  # noqa: E402


@dataclass
class Result:
    network: str
    seeded: int
    heard: int
    pages: int
    requests: int
    seconds: float
    fake_seconds: float
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.heard / self.seconds if self.seconds else 0.0

    @property
    def listener_rate(self) -> float:
        own = self.seconds - self.fake_seconds
        return self.heard / own if own > 0 else 0.0


def bench(made: type[Harness], mentions: int) -> Result:
    with RecordingServer() as server, HttpClient() as http:
        h = made(server, small_pages=False)
        lst = h.listener(http)
        cursor = h.start(lst, query())
        seeded = set(h.seed(mentions // 2))
        h.seed_excluded()
        seeded |= set(h.seed(mentions - mentions // 2))
        answers, busy = len(server.answers), server.busy
        started = time.perf_counter()
        try:
            pages = list(lst.search(query(), cursor))
        except ListenerError as exc:
            took = time.perf_counter() - started
            return Result(h.network, len(seeded), 0, 0, 0, took, 0.0, f"{type(exc).__name__}")
        took = time.perf_counter() - started
        heard = {h.ident(m) for p in pages for m in p.mentions}
        stray = heard - seeded  # the excluded post, or anything not seeded: a wrong result
        return Result(
            h.network,
            len(seeded),
            len(heard & seeded),
            len(pages),
            len(server.answers) - answers,
            took,
            server.busy - busy,
            f"{len(stray)} unexpected mention(s)" if stray else None,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=2000, help="posts seeded per network")
    parser.add_argument("--repeat", type=int, default=3, help="runs per network; best shown")
    parser.add_argument(
        "--networks",
        default=",".join(HARNESSES),
        help="comma-separated harness names (default: all of them)",
    )
    args = parser.parse_args()
    wanted = [n.strip() for n in args.networks.split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(HARNESSES))
    if unknown:
        parser.error(f"no harness for {', '.join(unknown)}; known: {', '.join(HARNESSES)}")

    # Piped into a file or CI log, a table at the default 80 columns would truncate every cell.
    console = Console(width=None if sys.stdout.isatty() else 130)
    results = []
    for name in wanted:
        with console.status(f"{name}: seeding {args.mentions} posts and searching..."):
            runs = [bench(HARNESSES[name], args.mentions) for _ in range(max(args.repeat, 1))]
        results.append(min(runs, key=lambda r: r.seconds))

    table = Table(title="listenpost listener parse benchmark", title_justify="left")
    for column in ("network", "seeded", "heard", "pages", "requests", "seconds", "fake s"):
        table.add_column(column, justify="left" if column == "network" else "right")
    table.add_column("mentions/s", justify="right")
    table.add_column("listener/s", justify="right")
    table.add_column("note")
    for r in results:
        table.add_row(
            r.network,
            str(r.seeded),
            str(r.heard),
            str(r.pages),
            str(r.requests),
            f"{r.seconds:.3f}",
            f"{r.fake_seconds:.3f}",
            f"{r.rate:,.0f}",
            f"{r.listener_rate:,.0f}",
            r.error or "",
        )
    console.print(table)
    console.print(f"machine: {describe()}")
    console.print(
        "seconds: one search() over every page (loopback fetch + parse + query re-check); pages: "
        "Pages yielded (commit batches); fake s: the in-process fake's handlers; listener/s: "
        "mentions per second without them. web runs Scrapy in a child process (its start-up "
        "is in the time)."
    )


if __name__ == "__main__":
    main()
