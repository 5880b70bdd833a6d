"""Turn a stored, triaged mention into a Slack message a person can act on at a glance.

Everything that comes from the network (post text, author, title, even the URL) is hostile:
a post saying `<!channel>` must not page a whole company, and `<https://evil|bank.com>` must
not become a disguised link. Slack treats only `&`, `<` and `>` as control characters, so
escaping those three makes every control sequence inert; mrkdwn text objects also get
`verbatim: true` so Slack does not auto-link channel names or mentions in the text. Characters
that reorder or hide what a reader sees (bidi overrides, zero-width spaces) are dropped by the
same functions: `escape` and `inert` for mrkdwn, `plain` for plain_text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

from core.mention import body_text, display_text
from core.triage import SENTIMENTS, Triage
from listeners import registry
from storage.cases import CLOSED, OPEN, Case, CaseEvent
from storage.records import StoredMention

SECTION_LIMIT = 3000  # section text object
HEADER_LIMIT = 150  # header block, plain_text
URL_LIMIT = 3000  # button url
FALLBACK_POST_LIMIT = 280  # notifications show one short line; the blocks carry the full text
LINE_LIMIT = 300  # author / title / triage lines stay one glance long
REASONS_SHOWN = 4  # an alert line names the strongest reasons; `listenpost mentions` has all
ELLIPSIS = "…"

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# mrkdwn has no backslash escape. A delimiter inside a word never formats (Slack needs a word
# boundary), so only delimiters at a boundary are swapped for look-alikes: `*bold*` in a post
# stays literal and cannot unbalance the bold author name we wrap around it.
LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_WHITESPACE = re.compile(r"\s+")
# Bidi marks, embeddings, overrides and isolates, and the invisible format characters (zero-width
# space, word joiner, BOM, tag characters): Slack shows text with them as it is, so a post could
# read backwards ("U+202E") or hide a word inside another. The zero-width (non-)joiners stay:
# emoji sequences and several scripts need them, and they neither reorder nor hide text.
HIDDEN = re.compile(
    "[\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\U000e0000-\U000e007f]"
)

_URGENCY_EMOJI = {"critical": "🚨", "high": "🔴", "medium": "🟠", "low": "⚪"}


def escape(text: str) -> str:
    """Slack's documented escaping: makes `<!channel>`, `<@U1>` and `<url|label>` plain text
    (and drops the characters that would reorder or hide it)."""
    return "".join(_ENTITIES.get(ch, ch) for ch in HIDDEN.sub("", text))


def plain(text: str, limit: int) -> str:
    """Text for a plain_text object (headers, button labels): Slack shows it literally, so it
    needs no entities, only the hidden characters dropped and Slack's length kept."""
    return _fit_plain(HIDDEN.sub("", text), limit)


def inert(text: str, limit: int | None = None) -> str:
    """User content ready for mrkdwn: escaped, formatting delimiters defused, fitted to `limit`.

    The limit counts UTF-16 code units, the most conservative reading of Slack's "characters",
    and truncation never splits an entity such as `&amp;`.
    """
    pieces = _pieces(HIDDEN.sub("", text))
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
    if any(ch.isspace() or ord(ch) < 32 or ch in '<>|"' for ch in url) or HIDDEN.search(url):
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
    """The network as its listener names it ("Hacker News"); see `listeners.registry`."""
    return registry.display_name(network)


def render(
    mention: StoredMention, case: Case | None = None, history: Sequence[CaseEvent] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) for one alert; both carry the same essentials.

    With its case (and the case's history) the alert also says who did what and when, and
    offers only the buttons that make sense now: a resolved case shows Reopen, not Resolve.
    No case yet means a fresh alert: the case opens as it is delivered.
    """
    triage = mention.triage
    if triage is None:
        raise ValueError(f"mention {mention.id} has no triage; only triaged mentions are alerted")
    brand = ", ".join(mention.brands) or "Brand"
    network = network_name(mention.network)
    emoji = _URGENCY_EMOJI[triage.urgency]
    headline = plain(f"{emoji} {brand} mention on {network}", HEADER_LIMIT)

    author = inert(_one_line(mention.author) or "unknown author", LINE_LIMIT)
    reach = reach_line(mention)
    who = f"*{author}*" + (f" · {reach}" if reach else "")
    if mention.title:
        who += f"\n*{inert(_one_line(mention.title), LINE_LIMIT)}*"

    body = body_text(mention.title, mention.text)
    post = inert(body.replace("\r\n", "\n"), SECTION_LIMIT) if body.strip() else ""
    triage_text = _triage_line(triage, history)
    url = safe_url(mention.url)

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline, "emoji": True}},
        {"type": "section", "text": _mrkdwn(who)},
        {"type": "section", "text": _mrkdwn(post or "_(no text)_")},
        {"type": "section", "text": _mrkdwn(triage_text)},
        {"type": "context", "elements": [_mrkdwn(_context_line(mention))]},
    ]
    blocks.extend(case_blocks(mention, url, case, history))

    excerpt_source = display_text(mention.title, mention.text)
    excerpt = inert(_one_line(excerpt_source), FALLBACK_POST_LIMIT)
    fallback = f"{emoji} {escape(brand)} on {network}: {triage.sentiment}, {triage.urgency} urgency"
    fallback += f" — {author}" + (f" ({reach})" if reach else "")
    if excerpt:
        fallback += f': "{excerpt}"'
    if url:
        fallback += f" <{escape(url)}|View post>"
    if case is not None and case.status != OPEN:
        fallback += f" · {STATUS_LABELS[case.status]}"
    return fallback, blocks


def _triage_line(triage: Triage, history: Sequence[CaseEvent] = ()) -> str:
    score = triage.sentiment_scores.get(triage.sentiment)
    said = f"*{triage.sentiment.capitalize()}*"
    if f"labelled {triage.sentiment}" in triage.reasons:
        # A person's word, not the model's: the model's score would read as confidence in it.
        who = next((e.actor for e in reversed(history) if e.action == "relabel"), None)
        line = said + (f" (set by {person(who)})" if who else " (set by the team)")
    else:
        line = said + (f" ({score:.2f})" if score is not None else "")
    line += f" · urgency *{triage.urgency}*"
    # Why, in one glance (triage-features, issue 5): labels and team rules come first in
    # `reasons`, then rule hits and the model's top category scores; the rest is counted.
    shown = triage.reasons[:REASONS_SHOWN]
    more = len(triage.reasons) - len(shown)
    tail = ", ".join(shown) + (f" +{more} more" if more else "")
    if triage.model_version:
        tail += (" · " if tail else "") + f"model {triage.model_version}"
    if tail:
        line += f" · {inert(_one_line(tail), LINE_LIMIT)}"
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


# ---- case buttons ---------------------------------------------------------------------------
# Slack sends these ids back on every click (alerts/app.py routes on them): renaming one breaks
# the buttons on every alert already posted. Buttons carry the mention id as their `value`;
# menus, which have no value of their own, carry it in front of each option's value
# ("7:spam"), and the user picker in its block id ("case_more:7").
ACKNOWLEDGE = "case_acknowledge"
ASSIGN = "case_assign"
RESOLVE = "case_resolve"
NOT_RELEVANT = "case_not_relevant"
MUTE_AUTHOR = "case_mute_author"
ESCALATE = "case_escalate"
REOPEN = "case_reopen"
SENTIMENT = "case_sentiment"
REPLIES = "case_replies"  # shows the saved replies that fit; changes nothing
VIEW_POST = "view_post"
CASE_BLOCK, MORE_BLOCK = "case", "case_more"
NOT_RELEVANT_REASONS = {
    "spam": "Spam or a bot",
    "job_post": "Job post",
    "not_us": "Not about us",
    "handled": "Already handled",
    "other": "Other",
}
STATUS_LABELS = {
    "open": "Open",
    "acknowledged": "Acknowledged",
    "assigned": "Assigned",
    "resolved": "Resolved",
    "not_relevant": "Not relevant",
}
HISTORY_SHOWN = 5  # the newest steps; the full history is in `listenpost cases`
_STATUS_EMOJI = {
    "open": "🆕",
    "acknowledged": "👀",
    "assigned": "👤",
    "resolved": "✅",
    "not_relevant": "🚫",
}
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")


def case_blocks(
    mention: StoredMention, url: str | None, case: Case | None, history: Sequence[CaseEvent]
) -> list[dict[str, Any]]:
    """The buttons for the case's current state, then who did what (when anything was done)."""
    status = case.status if case else OPEN
    closed = status in CLOSED
    mid = str(mention.id)
    main: list[dict[str, Any]] = []
    if closed:
        main.append(_button("Reopen", REOPEN, mid))
    else:
        if status == OPEN:
            main.append(_button("Acknowledge", ACKNOWLEDGE, mid, style="primary"))
        main.append(_button("Resolve", RESOLVE, mid))
        main.append(_button("Saved replies", REPLIES, mid))
        if case is None or case.escalated_at is None:
            main.append(_button("Escalate", ESCALATE, mid))
        main.append(_mute_button(mention))
    if url:
        link = {"type": "button", "text": _plain("View post"), "url": url, "action_id": VIEW_POST}
        main.insert(0, link)
    more: list[dict[str, Any]] = []
    if not closed:
        picker: dict[str, Any] = {
            "type": "users_select",
            "action_id": ASSIGN,
            "placeholder": _plain("Assign to…"),
        }
        if case and case.assignee and _SLACK_USER.fullmatch(case.assignee):
            picker["initial_user"] = case.assignee
        more.append(picker)
        more.append(
            {
                "type": "static_select",
                "action_id": NOT_RELEVANT,
                "placeholder": _plain("Not relevant…"),
                "options": [
                    _option(label, f"{mid}:{key}") for key, label in NOT_RELEVANT_REASONS.items()
                ],
            }
        )
    current = mention.triage.sentiment if mention.triage else None
    more.append(
        {
            "type": "overflow",
            "action_id": SENTIMENT,
            "options": [
                _option(f"Wrong sentiment: it is {s}", f"{mid}:{s}")
                for s in SENTIMENTS
                if s != current
            ],
        }
    )
    blocks = [
        {"type": "actions", "block_id": f"{CASE_BLOCK}:{mid}", "elements": main},
        {"type": "actions", "block_id": f"{MORE_BLOCK}:{mid}", "elements": more},
    ]
    if case is not None and (status != OPEN or any(e.action != "open" for e in history)):
        blocks.append({"type": "context", "elements": [_mrkdwn(status_text(case, history))]})
    return blocks


def status_text(case: Case, history: Sequence[CaseEvent]) -> str:
    """'👤 Assigned to @bo' and then the newest steps, each with who and when."""
    line = f"{_STATUS_EMOJI[case.status]} *{STATUS_LABELS[case.status]}*"
    if case.assignee and case.status != "not_relevant":
        line += f" · {person(case.assignee)}"
    if case.breached_at is not None:
        line += " · ⏰ SLA breached"
    steps = [e for e in history if e.action != "open"][-HISTORY_SHOWN:]
    return "\n".join([line, *(_step(e) for e in steps)])


def _step(event: CaseEvent) -> str:
    who = person(event.actor)
    data = event.data or {}
    said = {
        "acknowledge": f"acknowledged by {who}",
        "assign": f"assigned to {person(str(data.get('assignee', '?')))} by {who}",
        "resolve": f"resolved by {who}",
        "not_relevant": f"marked not relevant by {who}",
        "mute_author": f"author muted by {who}",
        "escalate": f"escalated by {who}",
        "reopen": f"reopened by {who}",
        "breach": "SLA breached",
        "relabel": f"relabelled by {who}",
        "note": f"note by {who}",
    }.get(event.action, f"{inert(event.action, 40)} by {who}")
    if event.note:
        said += f" ({inert(_one_line(event.note), 200)})"
    at = int(event.at.timestamp())
    when = f"<!date^{at}^{{date_short_pretty}} at {{time}}|{event.at:%Y-%m-%d %H:%M} UTC>"
    return f"• {when}: {said}"


def person(actor: str) -> str:
    """A Slack user id becomes a mention Slack shows as a name; anything else (a CLI user, the
    SLA check) stays text."""
    if _SLACK_USER.fullmatch(actor):
        return f"<@{actor}>"
    return inert(_one_line(actor), 80)


def _mute_button(mention: StoredMention) -> dict[str, Any]:
    # The author's name stays out of the dialog: it is shown above, escaped, and plain_text
    # here would carry `<!here>` in a name as it is.
    where = network_name(mention.network)
    button = _button("Mute author", MUTE_AUTHOR, str(mention.id))
    button["confirm"] = {
        "title": _plain("Mute this author?"),
        "text": _plain(
            plain(
                f"No more alerts for this author's posts on {where} until someone runs "
                "/listenpost unmute author followed by the name.",
                300,
            )
        ),
        "confirm": _plain("Mute"),
        "deny": _plain("Cancel"),
    }
    return button


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(plain(text, 75)), "value": value}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


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
