"""`listenpost mentions`: what was stored, newest first, as a table or as JSON for scripts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from core.mention import display_text
from core.tables import Column
from listenpost.cli import common

if TYPE_CHECKING:
    from storage.records import StoredMention


COLUMNS = (
    Column("when (UTC)"),
    Column("brand"),
    Column("network"),
    Column("author"),
    Column("sentiment"),
    Column("urgency"),
    Column("text", wide=True),
)


def register(app: typer.Typer) -> None:
    app.command()(mentions)


def mentions(
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    limit: Annotated[
        int, typer.Option(callback=common.at_least(1), help="How many, newest first (at least 1).")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Stored mentions, newest first, with their triage."""
    settings = common.load_settings()
    store = common.open_store(settings, read_only=True)
    try:
        rows = store.mentions(brand=brand, limit=limit)
    except Exception as exc:
        raise common.fail("cannot read the database", common.one_line(exc)) from None
    finally:
        store.close()
    if as_json:
        text = json.dumps([_mention_json(m) for m in rows], ensure_ascii=False, indent=2) + "\n"
        common.write_utf8(text)
        return
    colors = {"negative": "red", "positive": "green", "critical": "bold red", "high": "red"}
    cells = []
    for m in rows:
        t = m.triage
        sentiment = t.sentiment if t else "—"
        urgency = t.urgency if t else "—"
        text = display_text(m.title, m.text).replace("\n", " ")
        cells.append(
            [
                f"{m.created_at:%Y-%m-%d %H:%M}",
                ", ".join(m.brands),
                m.network,
                m.author or "",
                Text(sentiment, style=colors.get(sentiment, "")),
                Text(urgency, style=colors.get(urgency, "")),
                (text[:200] + "…") if len(text) > 200 else text,
            ]
        )
    table = common.table(COLUMNS, cells, title=f"{len(rows)} mention(s)")
    common.console.print(table, highlight=False)


def _mention_json(m: StoredMention) -> dict[str, Any]:
    t = m.triage
    return {
        "id": m.id,
        "network": m.network,
        "native_id": m.native_id,
        "url": m.url,
        "author": m.author,
        "title": m.title,
        "text": m.text,
        "lang": m.lang,
        "created_at": common.iso(m.created_at),
        "fetched_at": common.iso(m.fetched_at),
        "brand": m.brands[0] if m.brands else None,
        "brands": m.brands,
        "metrics": {
            "likes": m.metrics.likes,
            "reposts": m.metrics.reposts,
            "replies": m.metrics.replies,
            "followers": m.metrics.followers,
        },
        "in_reply_to": m.in_reply_to,
        "duplicate_of": m.duplicate_of,
        "repost_of": m.repost_of,  # the author a marked repost repeats
        "sentiment": t.sentiment if t else None,
        "sentiment_scores": t.sentiment_scores if t else None,
        "urgency": t.urgency if t else None,
        "categories": t.categories if t else [],
        "reasons": t.reasons if t else [],
        "model_version": t.model_version if t else None,
        "relevant": t.relevant if t else None,  # False: muted by a rule or labelled so
    }
