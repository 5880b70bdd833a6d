"""Saved replies: the team's answer templates, picked for a mention by category and language.

The "Saved replies" button on an alert shows the ones that fit, filled in and copy-ready, next
to a link to answer on the network, to whoever clicked (ephemeral: it is a draft, not a post).
Copy-ready means the text is shown as it will be pasted: in a code block, escaped only for
Slack's three control characters, with none of the look-alike swaps alert text gets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alerts.render import escape, inert, network_name, safe_url
from storage.records import StoredMention

if TYPE_CHECKING:
    from alerts.app_settings import SavedReply

SHOWN = 3  # more than a few is a list to read, not a suggestion
BODY_LIMIT = 2800  # a section holds 3000 characters; the name and the fences take the rest
_PIECE = re.compile(r"&(?:amp|lt|gt);|.", re.S)  # an entity or one character: never cut inside


@dataclass(frozen=True, slots=True)
class Suggestion:
    name: str
    text: str


def suggest(
    mention: StoredMention, templates: Sequence[SavedReply], limit: int = SHOWN
) -> list[Suggestion]:
    """Templates that fit the mention, the most specific first (category, then language).

    A language-specific template needs the post's language known: a French answer to a post
    of unknown language is a guess the team did not ask for.
    """
    triage = mention.triage
    categories = set(triage.categories) if triage else set()
    lang = (triage.lang if triage else None) or mention.lang
    ranked: list[tuple[int, int, SavedReply]] = []
    for order, template in enumerate(templates):
        if template.categories and not categories & set(template.categories):
            continue
        if template.languages and (lang or "").lower() not in template.languages:
            continue
        specific = 2 * bool(template.categories) + bool(template.languages)
        ranked.append((-specific, order, template))
    ranked.sort(key=lambda item: item[:2])
    values = {
        "author": " ".join(mention.author.split()),
        "brand": mention.brands[0] if mention.brands else "",
    }
    return [Suggestion(t.name, t.text.format_map(values)) for _, _, t in ranked[:limit]]


def message(mention: StoredMention, suggestions: Sequence[Suggestion]) -> dict[str, Any]:
    """The ephemeral answer to a click on "Saved replies"."""
    where = network_name(mention.network)
    if not suggestions:
        text = (
            "No saved reply fits this mention. Add some to settings.toml as "
            "`[[alerts.replies]]` (name, text, optional categories and languages)."
        )
        return {"response_type": "ephemeral", "replace_original": False, "text": text}
    blocks: list[dict[str, Any]] = []
    for s in suggestions:
        body = _copyable(s.text, BODY_LIMIT)
        blocks.append(_section(f"*{inert(s.name, 100)}*\n```{body}```"))
    fits = _fits(mention)
    context = f"Suggested for {fits}" if fits else "Suggested for any mention"
    blocks.append({"type": "context", "elements": [_mrkdwn(context)]})
    if url := safe_url(mention.url):
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": f"Answer on {where}"},
            "url": url,
            "action_id": "view_post",
        }
        blocks.append({"type": "actions", "elements": [button]})
    text = f"{len(suggestions)} saved repl{'y' if len(suggestions) == 1 else 'ies'} for this post"
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": text,
        "blocks": blocks,
    }


def _fits(mention: StoredMention) -> str:
    triage = mention.triage
    parts = [c.replace("_", " ") for c in (triage.categories if triage else [])]
    lang = (triage.lang if triage else None) or mention.lang
    if lang:
        parts.append(lang)
    return inert(", ".join(parts), 200)


def _copyable(text: str, limit: int) -> str:
    """Escaped for Slack, unable to close its code block early, never cut inside an entity."""
    out: list[str] = []
    used = 0
    # Escaped before the fence is broken: escaping drops zero-width spaces, ours included.
    for piece in _PIECE.findall(escape(text).replace("```", "`\u200b``")):
        if used + len(piece) > limit:
            out.append("…")
            break
        out.append(piece)
        used += len(piece)
    return "".join(out)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
