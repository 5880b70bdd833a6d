"""`listenpost query explain|test`: write a brand's query without fear.

`explain` shows the parse tree and what each enabled network's search is sent (and what it
cannot be asked, so only the local check decides it). `test` runs the exact local check on one
post written at the command line (exit 0 on a match, 1 on none), or, with `--stored`, over the
stored mentions of a window, to say how many a changed query would add or drop.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from core.query import KINDS, Post, Query, QueryError, fields, parse, tree
from core.tables import Column
from listenpost.cli import common

if TYPE_CHECKING:
    from listenpost.config import Settings
    from storage.records import StoredMention

EXAMPLES = 3  # mentions shown for each of "added" and "dropped"
STORED_LIMIT = 100_000  # mentions read for --stored: a month of a busy brand


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Write and check queries: how each network receives one, and what it keeps.",
        no_args_is_help=True,
    )
    group.command("explain")(explain)
    group.command("test")(test)
    app.add_typer(group, name="query")


def _parse(text: str) -> Query:
    try:
        return parse(text)
    except QueryError as exc:
        caret = ""
        if exc.position is not None and "\n" not in text and len(text) <= 200:
            caret = f"\n  {text}\n  {' ' * exc.position}^"
        raise common.fail("query error", f"{exc}{caret}") from None


# ---- explain ---------------------------------------------------------------------------------


def explain(query: Annotated[str, typer.Argument(help="The query, in quotes.")]) -> None:
    """The parse tree, and each enabled network's search with what it cannot express."""
    from listeners import registry
    from listeners.errors import NotConfigured
    from listeners.http import HttpClient
    from listeners.query_syntax import lost

    q = _parse(query)
    console = common.console
    console.print("parse tree:", style="bold")
    for line in tree(q.expr, "  "):
        console.print(line, highlight=False, markup=False)
    if q.lang:
        console.print(f"  whole query: lang:{q.lang} (when the post's language is known)")
    if q.about:
        console.print(
            f'  whole query: about:"{q.about.description}"~{q.about.threshold} '
            "(scored by the embedding model after each network's search)",
            highlight=False,
            markup=False,
        )
    settings = common.load_settings()
    rows: list[list[str | Text]] = []
    http = HttpClient()
    try:
        for name, source in settings.source_settings().items():
            try:
                listener = registry.load(name)(source, http, os.environ)
                searches = listener.compiled(q) if q.hears(name) else []
            except (NotConfigured, QueryError) as exc:
                rows.append([name, Text(f"cannot search: {exc}", style="red"), "-"])
                continue
            if not q.hears(name):
                sent, local = "not polled: network: rules it out", "-"
            elif listener.syntax is None or not searches:
                sent, local = "(no search: every post is read)", "everything"
            else:
                sent = "\n".join(searches)
                local = ", ".join(lost(q, listener.syntax)) or "nothing"
            rows.append([name, sent, local])
    finally:
        http.close()
    columns = [Column("network"), Column("search sent", wide=True), Column("checked locally only")]
    console.print(common.table(columns, rows, title="each enabled network"))


# ---- test ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    matched: bool
    decided_by: str
    why: str
    about: float | None = None


def test(
    query: Annotated[str, typer.Argument(help="The query, in quotes.")],
    text: Annotated[str | None, typer.Option(help="The post's text.")] = None,
    title: Annotated[str | None, typer.Option(help="Its title.")] = None,
    author: Annotated[str | None, typer.Option(help="Its author's handle.")] = None,
    url: Annotated[str | None, typer.Option(help="Its address.")] = None,
    kind: Annotated[
        str, typer.Option("--type", help="post, comment or reply.", show_default=True)
    ] = "post",
    network: Annotated[str | None, typer.Option(help="The network that heard it.")] = None,
    followers: Annotated[
        int | None, typer.Option(callback=common.at_least(0), help="Its author's followers.")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Its language, e.g. en.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    stored: Annotated[
        bool, typer.Option("--stored", help="Re-run over stored mentions instead.")
    ] = False,
    since: Annotated[str, typer.Option(help="With --stored: how far back, e.g. 7d.")] = "7d",
    brand: Annotated[
        str | None, typer.Option(help="With --stored: the brand whose query changes.")
    ] = None,
) -> None:
    """Match or no match, and which operator decided (exit 0 on a match, 1 on none); with
    --stored, how many stored mentions a changed query would add or drop."""
    q = _parse(query)
    if stored:
        _stored(q, since, brand, as_json)
        return
    if text is None:
        raise common.error("give the post: --text 'what it says' (or --stored to re-run)")
    if kind not in KINDS:
        raise common.error(f"--type {kind!r}: use post, comment or reply")
    post = Post(
        text=fields(title, text),
        lang=lang,
        title=title,
        author=author,
        url=url,
        network=network,
        kind=kind,
        followers=followers,
        reach=followers or 0,
    )
    outcome = _decide(q, post, title, text)
    if as_json:
        common.write_utf8(json.dumps(outcome.__dict__, ensure_ascii=False) + "\n")
    else:
        said = Text("match" if outcome.matched else "no match", style="bold")
        said.append(f"  decided by {outcome.decided_by}: {outcome.why}", style="")
        common.console.print(said)
    raise typer.Exit(0 if outcome.matched else 1)


def _decide(q: Query, post: Post, title: str | None, text: str) -> _Outcome:
    verdict = q.explain(post)
    if not verdict.matched or q.about is None:
        return _Outcome(verdict.matched, verdict.decided_by, verdict.why)
    from listenpost.about import about_text, scores

    score = scores(_embedder(), q, [about_text(title, text)])[0]
    matched = score >= q.about.threshold
    said = f'about:"{q.about.description}"'
    why = f"similarity {score:.2f} {'>=' if matched else '<'} {q.about.threshold}"
    if matched:
        why = f"{verdict.why}; {why}"
    return _Outcome(matched, said if not matched else verdict.decided_by, why, score)


def _embedder() -> Any:
    from classifiers.embedder import Embedder

    try:
        return Embedder()
    except (FileNotFoundError, ImportError) as exc:
        raise common.fail("about: needs the embedding model", exc) from None


def _stored(q: Query, since: str, brand: str | None, as_json: bool) -> None:
    from core.durations import parse_duration

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise common.error(f"--since {since!r}: {exc}") from None
    settings = common.load_settings()
    name = _brand(settings, brand)
    store = common.open_store(settings)
    try:
        rows = store.mentions(limit=STORED_LIMIT, since=datetime.now(UTC) - window)
    except Exception as exc:
        raise common.fail("cannot read the database", common.one_line(exc)) from None
    finally:
        store.close()
    kept = _kept(q, rows)
    added = [m for m, k in zip(rows, kept, strict=True) if k and name not in m.brands]
    dropped = [m for m, k in zip(rows, kept, strict=True) if not k and name in m.brands]
    had = sum(name in m.brands for m in rows)
    if as_json:
        body = {
            "brand": name,
            "since": since,
            "read": len(rows),
            "kept": had - len(dropped) + len(added),
            "added": [_json(m) for m in added],
            "dropped": [_json(m) for m in dropped],
        }
        common.write_utf8(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return
    common.console.print(
        f"{len(rows)} stored mention(s) since {since}; {name} has {had}. The new query would "
        f"add {len(added)} and drop {len(dropped)}.",
        highlight=False,
        markup=False,
    )
    examples = [("added", m) for m in added[:EXAMPLES]] + [
        ("dropped", m) for m in dropped[:EXAMPLES]
    ]
    if examples:
        columns = [Column("change"), Column("id", justify="right"), Column("network")]
        columns.append(Column("text", wide=True))
        cells: list[list[str | Text]] = [
            [change, str(m.id), m.network, " ".join(fields(m.title, m.text).split())[:300]]
            for change, m in examples
        ]
        common.console.print(common.table(columns, cells, title="a few of them"))


def _brand(settings: Settings, wanted: str | None) -> str:
    common.need_brands(settings)
    if wanted is not None:
        common.check_brands(settings, [wanted])
        return wanted
    if len(settings.brands) > 1:
        names = ", ".join(b.name for b in settings.brands)
        raise common.error(f"--stored compares with one brand's mentions: add --brand ({names})")
    return settings.brands[0].name


def _kept(q: Query, rows: list[StoredMention]) -> list[bool]:
    from listenpost.about import about_text, scores

    kept = [q.accepts(Post.of(m)) for m in rows]
    if q.about is not None:
        todo = [i for i, k in enumerate(kept) if k]
        texts = [about_text(rows[i].title, rows[i].text) for i in todo]
        for i, score in zip(todo, scores(_embedder(), q, texts), strict=True):
            kept[i] = score >= q.about.threshold
    return kept


def _json(m: StoredMention) -> dict[str, Any]:
    return {"id": m.id, "network": m.network, "url": m.url, "text": m.text, "brands": m.brands}
