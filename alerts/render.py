"""Turn a stored, triaged mention into a Slack message a person can act on at a glance.

Everything that comes from the network (post text, author, title, even the URL) is hostile:
a post saying `<!channel>` must not page a whole company, and `<https://evil|bank.com>` must
not become a disguised link. Slack treats only `&`, `<` and `>` as control characters, so
escaping those three makes every control sequence inert; mrkdwn text objects also get
`verbatim: true` so Slack does not auto-link channel names or mentions in the text.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

from classifiers.triage import Triage
from storage.records import StoredMention

SECTION_LIMIT = 3000  # section text object
HEADER_LIMIT = 150  # header block, plain_text
URL_LIMIT = 3000  # button url
FALLBACK_POST_LIMIT = 280  # notifications show one short line; the blocks carry the full text
LINE_LIMIT = 300  # author / title / triage lines stay one glance long
ELLIPSIS = "…"

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# mrkdwn has no backslash escape. A delimiter inside a word never formats (Slack needs a word
# boundary), so only delimiters at a boundary are swapped for look-alikes: `*bold*` in a post
# stays literal and cannot unbalance the bold author name we wrap around it.
LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_WHITESPACE = re.compile(r"\s+")

_URGENCY_EMOJI = {"critical": "🚨", "high": "🔴", "medium": "🟠", "low": "⚪"}
_NETWORK_NAMES = {
    "hackernews": "Hacker News",
    "reddit": "Reddit",
    "rss": "RSS",
    "x": "X",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "youtube": "YouTube",
}


def escape(text: str) -> str:
    """Slack's documented escaping: makes `<!channel>`, `<@U1>` and `<url|label>` plain text."""
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def inert(text: str, limit: int | None = None) -> str:
    """User content ready for mrkdwn: escaped, formatting delimiters defused, fitted to `limit`.

    The limit counts UTF-16 code units, the most conservative reading of Slack's "characters",
    and truncation never splits an entity such as `&amp;`.
    """
    pieces = _pieces(text)
    out = "".join(pieces)
    if limit is None or _units(out) <= limit:
        return out
    budget = limit - _units(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        size = _units(piece)
        if used + size > budget:
            break
        kept.append(piece)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link Slack can show; None for anything else."""
    if not url or len(url) > URL_LIMIT:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ch in '<>|"' for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def humanize(n: int) -> str:
    """12345 -> 12.3k: reach is read at a glance, not counted."""
    if abs(n) < 1000:
        return str(n)
    for suffix, unit in (("k", 1e3), ("M", 1e6)):
        shown = _short(n / unit)
        if abs(float(shown)) < 1000:  # 999_960 rounds to "1000k": show "1M" instead
            return shown + suffix
    return _short(n / 1e9) + "B"


def reach_line(mention: StoredMention) -> str:
    m = mention.metrics
    parts = [
        f"{humanize(value)} {name}{'' if value == 1 else 's'}"
        for name, value in (("follower", m.followers), ("like", m.likes), ("repost", m.reposts))
        if value is not None
    ]
    return " · ".join(parts)


def network_name(network: str) -> str:
    return _NETWORK_NAMES.get(network, network.replace("_", " ").title())


def render(mention: StoredMention) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) for one alert; both carry the same essentials."""
    triage = mention.triage
    if triage is None:
        raise ValueError(f"mention {mention.id} has no triage; only triaged mentions are alerted")
    brand = ", ".join(mention.brands) or "Brand"
    network = network_name(mention.network)
    emoji = _URGENCY_EMOJI[triage.urgency]
    headline = _fit_plain(f"{emoji} {brand} mention on {network}", HEADER_LIMIT)

    author = inert(_one_line(mention.author) or "unknown author", LINE_LIMIT)
    reach = reach_line(mention)
    who = f"*{author}*" + (f" · {reach}" if reach else "")
    if mention.title:
        who += f"\n*{inert(_one_line(mention.title), LINE_LIMIT)}*"

    post = inert(mention.text.replace("\r\n", "\n"), SECTION_LIMIT) if mention.text.strip() else ""
    triage_text = _triage_line(triage)
    url = safe_url(mention.url)

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline, "emoji": True}},
        {"type": "section", "text": _mrkdwn(who)},
        {"type": "section", "text": _mrkdwn(post or "_(no text)_")},
        {"type": "section", "text": _mrkdwn(triage_text)},
        {"type": "context", "elements": [_mrkdwn(_context_line(mention))]},
    ]
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "View post"},
                        "url": url,
                        "action_id": "view_post",
                    }
                ],
            }
        )

    excerpt_source = " ".join(t for t in (mention.title, mention.text) if t)
    excerpt = inert(_one_line(excerpt_source), FALLBACK_POST_LIMIT)
    fallback = f"{emoji} {escape(brand)} on {network}: {triage.sentiment}, {triage.urgency} urgency"
    fallback += f" — {author}" + (f" ({reach})" if reach else "")
    if excerpt:
        fallback += f': "{excerpt}"'
    if url:
        fallback += f" <{escape(url)}|View post>"
    return fallback, blocks


def _triage_line(triage: Triage) -> str:
    score = triage.sentiment_scores.get(triage.sentiment)
    line = f"*{triage.sentiment.capitalize()}*" + (f" ({score:.2f})" if score is not None else "")
    line += f" · urgency *{triage.urgency}*"
    if triage.reasons:
        reasons = inert(_one_line(", ".join(triage.reasons)), LINE_LIMIT)
        line += f" · {reasons}"
    return line


def _context_line(mention: StoredMention) -> str:
    created = mention.created_at.astimezone(UTC)
    # Slack shows the date in each reader's own time zone; the fallback is for old clients.
    parts = [
        f"Posted <!date^{int(created.timestamp())}^{{date_short_pretty}} at {{time}}|"
        f"{created:%Y-%m-%d %H:%M} UTC>"
    ]
    if mention.in_reply_to:
        parts.append("reply in a thread")
    if mention.duplicate_of is not None:
        parts.append(f"repost of mention #{mention.duplicate_of}")
    parts.append(f"mention #{mention.id}")
    return " · ".join(parts)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _pieces(text: str) -> list[str]:
    pieces: list[str] = []
    for i, ch in enumerate(text):
        if ch in _ENTITIES:
            pieces.append(_ENTITIES[ch])
        elif ch in LOOKALIKES and not (_wordy(text, i - 1) and _wordy(text, i + 1)):
            pieces.append(LOOKALIKES[ch])
        elif ord(ch) < 32 and ch not in "\n\t":
            continue  # control characters only garble the layout
        else:
            pieces.append(ch)
    return pieces


def _short(value: float) -> str:
    return (f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}").removesuffix(".0")


def _wordy(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isalnum()


def _one_line(text: str | None) -> str:
    return _WHITESPACE.sub(" ", text or "").strip()


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit_plain(text: str, limit: int) -> str:
    if _units(text) <= limit:
        return text
    out = ""
    for ch in text:
        if _units(out + ch) > limit - 1:
            break
        out += ch
    return out.rstrip() + ELLIPSIS
