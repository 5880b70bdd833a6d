"""Fuzzing what strangers and typos feed listenpost: queries and settings files.

    python bench/fuzz.py [--target queries|settings|all] [--queries 10000] [--settings 2000]
                         [--seed 17]

queries:  random query strings (pieces of the grammar in random order, and junk) are parsed;
          each that parses is matched against random posts, one in ten a hostile 32,000
          characters (runs of punctuation, repeated words) built to make a backtracking matcher
          quadratic, and compiled for every network. A QueryError is the expected answer to a
          bad query; any other exception is a failure. The slowest local check is reported
          (goal: 50 ms or less).
settings: the repository's settings.toml, mutated (lines dropped, doubled, swapped; values
          replaced by other types; junk inserted; the text cut short), written to a temporary
          file and loaded by `listenpost.config.load`. A SettingsError is the expected answer;
          any other exception is a failure.

Prints the cases tried, the failures grouped by where they were raised (one traceback each),
and the slowest case.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, usable_cores  # noqa: E402

SLOW_GOAL_MS = 50.0
PIECES = [
    "acme", "cloud", "Apple", "at", "&", "t", "-", "status", "plug*", "colo?r", "c++", "a*",
    "acme.com", '"acme cloud"', '"AT & T"', '"acme - status"', '"& -"', "{Apple}", "{Apple Inc}",
    "#acme", "@acmehq", "@acme.support", "OR", "AND", "NOT", "NEAR/2", "ONEAR/0", "NEAR/",
    "NEAR/99999", "(", ")", "-jobs", "--x", "title:acme", 'title:"acme cloud"', "title:{Acme}",
    "author:acmehq", "author:@a*", "site:acme.com", "domain:acme.com", "links:https://acme.com/x",
    "url:acme.com/blog", "type:post|comment", "type:", "network:reddit|x", "lang:en", "lang:x",
    "min_followers:10k", "reach:>5", "reach:<=1m", 'about:"tech"~0.3', 'about:"x"~', "*", "?",
    "{", "}", '"', ":", "\u201c", "\u201d", "é", "ß", "İ", "\x1f", "\x00", "日本", "🍎",
]  # fmt: skip
CLEAN = [p for p in PIECES if p not in {"(", ")", "{", "}", '"', ":", "*", "?", "NEAR/", "\x00"}]
WORDS = ["acme", "Acme", "ACME", "cloud", "at", "t", "plugin", "colour", "apple", "Apple",
         "dot", "com", "status", "jobs", "İstanbul", "straße", "日本", "🍎"]  # fmt: skip
GAPS = [" ", "-", " & ", "&", ".", "[.]", "(.)", " - ", "#", "@", "\x1f", ", ", "++", "\n"]


@dataclass
class Report:
    name: str
    tried: int = 0
    expected: int = 0  # QueryError / SettingsError: the right answer to bad input
    failures: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    slowest: tuple[float, str] = (0.0, "")

    def fail(self, exc: BaseException, case: str) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
        count, first_case, trace = self.failures.get(where, (0, case, ""))
        if not trace:
            trace = "".join(traceback.format_exception(exc))
        self.failures[where] = (count + 1, first_case, trace)

    def timed(self, ms: float, case: str) -> None:
        if ms > self.slowest[0]:
            self.slowest = (ms, case)


def random_query(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:  # mostly well-formed: the matcher and compilers get exercised too
        return " ".join(rng.choice(CLEAN) for _ in range(rng.randint(1, 14)))
    if roll < 0.7:
        return " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
    if roll < 0.85:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8)))
    alphabet = '()"{}-*?:#@ &.~|<>=/\\\x1f abcAZ019é'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))


def random_post(rng: random.Random) -> str:
    if rng.random() < 0.1:  # hostile: 32K characters of one repeated shape
        unit = rng.choice(
            [
                "&",
                " -",
                "at" + "&" * 50,
                "acme ",
                "acme - ",
                "a & ",
                "#",
                "acme.",
                "dot ",
                rng.choice(WORDS) + rng.choice(GAPS),
            ]
        )
        head = rng.choice(["at", "acme", "", "AT &"])
        return (head + unit * (32_000 // len(unit) + 1))[:32_000]
    n = rng.randint(0, 60)
    return "".join(rng.choice(WORDS) + rng.choice(GAPS) for _ in range(n))


def fuzz_queries(cases: int, rng: random.Random) -> Report:
    from core.query import Post, QueryError, fields, parse
    from listeners.bluesky import compile_bluesky
    from listeners.mastodon import compile_mastodon
    from listeners.query_syntax import to_algolia, to_google_news, to_reddit
    from listeners.stackexchange import compile_stackexchange
    from listeners.x import compile_x
    from listeners.youtube import compile_youtube

    compilers: list[Callable[..., object]] = [
        compile_x, to_reddit, to_google_news, to_algolia, compile_bluesky, compile_mastodon,
        compile_youtube, compile_stackexchange,
    ]  # fmt: skip
    report = Report("queries")
    for _ in range(cases):
        text = random_query(rng)
        report.tried += 1
        try:
            q = parse(text)
        except QueryError:
            report.expected += 1
            continue
        except Exception as exc:
            report.fail(exc, repr(text))
            continue
        post_text = random_post(rng)
        title, _, body = post_text.partition("\x1f")
        post = Post(
            fields(title, body),
            title=title,
            author=rng.choice(["acmehq", "@AcmeHQ", "x@host", ""]),
            url=rng.choice(["https://acme.com/blog/1", "", "not a url", "https://[::1"]),
            kind=rng.choice(["post", "comment", "reply"]),
            followers=rng.choice([None, 0, 10_000]),
            reach=rng.choice([0, 50]),
            links=tuple(rng.sample(["https://acme.com", "mailto:x", "http://", "x"], 2)),
        )
        try:
            started = time.perf_counter()
            q.accepts(post)
            ms = (time.perf_counter() - started) * 1000
            report.timed(ms, f"{text!r} on a {len(post_text)}-char post {post_text[:40]!r}")
            q.explain(post)
            for compile_for in compilers:
                with contextlib.suppress(QueryError):  # X: one term past the length limit
                    compile_for(q)
        except Exception as exc:
            report.fail(exc, f"{text!r} on {post_text[:60]!r}")
    return report


def mutate_settings(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        i = rng.randrange(len(lines)) if lines else 0
        if not lines:
            lines = [rng.choice(["[x]", "a = 1", '"'])]
        elif roll < 0.2:
            del lines[i]
        elif roll < 0.35:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif roll < 0.6 and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            value = rng.choice(
                ['""', "0", "-1", "1e309", "true", "[]", "{}", '"x"', "[1, 2]", '"5"',
                 '"sqlite:////nonexistent/dir/x.db"', '"-1m"', '"0s"', "2024-01-01", '"\\u0000"',
                 '"' + "a" * 5000 + '"', "{ a = 1 }", '"' + rng.choice(PIECES) + '"', "nan",
                 "inf", "0x10", "1_000", "[[]]", "[{}]", "99999999999999999999",
                 "{ every = 5 }", "'x'", "[" * 50 + "]" * 50, "1979-05-27T07:32:00Z"]
            )  # fmt: skip
            lines[i] = f"{key}= {value}"
        elif roll < 0.75:
            junk = rng.choice(
                ["[", "]", "=", '"', "'", "[[", "\x00", "\\", "#", "é", "[sources.x]"]
            )
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + junk + lines[i][at:]
        elif roll < 0.85:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(i, rng.choice(
                ["[sources.reddit]", "[sources.nonsense]", "[[brands]]", 'name = "B"',
                 "query = '" + random_query(rng).replace("'", "") + "'", "[alerts]",
                 "[[alerts.routes]]", 'channel = "#x"', "[classifier]", "[radar]", "[reports]"]
            ))  # fmt: skip
    out = "\n".join(lines)
    if rng.random() < 0.05:
        out = out[: rng.randint(0, len(out))]
    return out


def fuzz_settings(cases: int, rng: random.Random) -> Report:
    from listenpost import config

    base = (ROOT / "settings.toml").read_text(encoding="utf-8")
    report = Report("settings")
    with tempfile.TemporaryDirectory(prefix="fuzz-settings-") as tmp:
        path = Path(tmp) / "settings.toml"
        for _ in range(cases):
            text = mutate_settings(base, rng)
            report.tried += 1
            data = text.encode("utf-8", "surrogatepass")
            if rng.random() < 0.02:  # not UTF-8 at all
                at = rng.randint(0, len(data))
                data = data[:at] + rng.choice([b"\xff", b"\xc3", b"\x00"]) + data[at:]
            path.write_bytes(data)
            started = time.perf_counter()
            try:
                config.load(path)
            except config.SettingsError:
                report.expected += 1
            except Exception as exc:
                report.fail(exc, _diff(base, text))
            report.timed((time.perf_counter() - started) * 1000, _diff(base, text))
    return report


def _diff(base: str, text: str) -> str:
    """The first line that differs, for a case short enough to read."""
    for old, new in zip(base.splitlines(), text.splitlines(), strict=False):
        if old != new:
            return repr(new[:120])
    return repr(text[-120:])


def show(report: Report) -> None:
    failed = sum(count for count, _, _ in report.failures.values())
    print(f"\n== {report.name}: {report.tried} cases tried, {report.expected} refused with the "
          f"expected error, {failed} failure(s) in {len(report.failures)} place(s)")  # fmt: skip
    for where, (count, case, trace) in sorted(report.failures.items(), key=lambda kv: -kv[1][0]):
        print(f"-- {count} x {where}; first case: {case}")
        print(trace.rstrip())
    ms, case = report.slowest
    print(f"slowest case: {ms:.1f} ms: {case[:200]}")
    if report.name == "queries":
        verdict = "ok" if ms <= SLOW_GOAL_MS else "OVER"
        print(f"slowest local check vs the {SLOW_GOAL_MS:g} ms goal: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description="fuzz queries and settings files")
    parser.add_argument("--target", choices=["queries", "settings", "all"], default="all")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--settings", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    print(f"fuzzing on {cpu_model()}, {usable_cores()} usable core(s), seed {args.seed}")
    rng = random.Random(args.seed)
    reports = []
    if args.target in ("queries", "all"):
        reports.append(fuzz_queries(args.queries, rng))
    if args.target in ("settings", "all"):
        reports.append(fuzz_settings(args.settings, rng))
    for report in reports:
        show(report)
    return 1 if any(r.failures for r in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
