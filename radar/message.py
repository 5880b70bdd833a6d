"""The spike alert: one Slack message per crisis, edited in place, with the story in its thread.

The message answers what a responder asks first: how big (multiples of a normal hour like this
one), since when, what people are saying (terms far more common than usual), where (networks),
how angry (negative share against the usual), and who is loudest (the three most-reached posts).
Post text, authors and terms come from the internet, so every one goes through `inert`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.render import (
    HEADER_LIMIT,
    LINE_LIMIT,
    escape,
    humanize,
    inert,
    network_name,
    plain,
    safe_url,
)

POST_EXCERPT = 280
SCOPE_NAMES = {"brand": "mentions", "category": "category", "term": "term"}


@dataclass(frozen=True, slots=True)
class TopPost:
    id: int
    network: str
    author: str
    url: str
    text: str
    reach: int
    followers: int | None
    likes: int | None
    reposts: int | None


@dataclass(frozen=True, slots=True)
class SpikeView:
    """Everything the message shows, computed from the database by radar.watch."""

    spike_id: int
    brand: str
    scope: str  # brand | category | term
    key: str
    active: bool
    started_at: datetime
    ended_at: datetime | None
    as_of: datetime  # end of the last window judged
    window: timedelta
    observed: int  # mentions in the last window
    expected: float  # ... normally
    size: float  # the last window, in multiples of normal
    peak: float
    peak_at: datetime | None
    peak_observed: int  # mentions in the peak window
    mentions: int  # since the start
    negative_share: float | None  # since the start
    usual_negative_share: float | None  # in the same hours of past weeks/days
    negative_led: bool  # the storm is in the negative mentions more than in volume
    drivers: tuple[tuple[str, int], ...]
    networks: tuple[tuple[str, int], ...]
    top: tuple[TopPost, ...]


def subject(view: SpikeView) -> str:
    """'Acme' / 'Acme · category outage' / 'Acme · term #acmedown' (plain text)."""
    if view.scope == "brand":
        return view.brand
    return f"{view.brand} · {SCOPE_NAMES.get(view.scope, view.scope)} {view.key}"


def render_spike(view: SpikeView) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for the spike's own message, active or ended."""
    what = "negative mentions" if view.negative_led else "mentions"
    if view.active:
        # The peak is the headline: "now" drops while it calms down, the crisis was that big.
        headline = f"📈 Spike: {subject(view)}, {_times(view.peak)} usual {what}"
    else:
        headline = f"✅ Ended: {subject(view)} spike, peak {_times(view.peak)}"
    lasted = (view.ended_at or view.as_of) - view.started_at
    since = f"*Since* {_when(view.started_at)} ({_duration(lasted)})"
    minutes = int(view.window.total_seconds() // 60)
    if view.active:
        now = (
            f"*Now* {view.observed} in {minutes} min, usually {view.expected:.1f} "
            f"(*{_times(view.size)}*)"
        )
    else:
        ended = view.ended_at or view.as_of
        now = (
            f"*Ended* {_when(ended)} after {_duration(ended - view.started_at)}, "
            "back to its usual level"
        )
    peak = f"*Peak* {_times(view.peak)}" + (f" at {_when(view.peak_at)}" if view.peak_at else "")
    lines = [
        " · ".join((since, now)),
        f"{peak} · *{view.mentions}* mentions since it started",
    ]
    if view.negative_share is not None:
        usual = (
            f" (usually {_pct(view.usual_negative_share)})"
            if view.usual_negative_share is not None
            else ""
        )
        lines.append(f"*Negative* {_pct(view.negative_share)}{usual}")
    if view.networks:
        lines.append(
            "*Networks* "
            + " · ".join(f"{inert(network_name(n), 40)} {c}" for n, c in view.networks)
        )
    if view.drivers:
        lines.append(
            "*Driving it* "
            + ", ".join(f"{inert(term, 60)} ({count})" for term, count in view.drivers)
        )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": plain(headline, HEADER_LIMIT), "emoji": True},
        },
        {"type": "section", "text": _mrkdwn("\n".join(lines))},
    ]
    if view.top:
        blocks.append({"type": "section", "text": _mrkdwn("*Most-reached posts*")})
        blocks.extend(
            {"type": "section", "text": _mrkdwn(post_line(i, post))}
            for i, post in enumerate(view.top, 1)
        )
    context = f"{inert(subject(view), LINE_LIMIT)} · spike #{view.spike_id} · "
    context += "updates in the thread" if view.active else "final numbers"
    blocks.append({"type": "context", "elements": [_mrkdwn(context)]})
    fallback = f"{escape(headline)} — since {view.started_at:%H:%M} UTC"
    if view.drivers:
        fallback += " — " + ", ".join(inert(t, 60) for t, _ in view.drivers)
    return fallback, blocks


def post_line(rank: int | None, post: TopPost) -> str:
    """'*1.* *author* on X · 12k followers · 40 likes' then the excerpt and a link."""
    reach = " · ".join(
        f"{humanize(v)} {name}{'' if v == 1 else 's'}"
        for name, v in (
            ("follower", post.followers),
            ("like", post.likes),
            ("repost", post.reposts),
        )
        if v is not None
    )
    head = f"*{rank}.* " if rank is not None else ""
    head += f"*{inert(_one_line(post.author) or 'unknown author', LINE_LIMIT)}* on "
    head += inert(network_name(post.network), 40) + (f" · {reach}" if reach else "")
    excerpt = inert(_one_line(post.text), POST_EXCERPT)
    text = head + (f"\n>{excerpt}" if excerpt else "")
    url = safe_url(post.url)
    if url:
        text += f"\n<{escape(url)}|View post>"
    return text


def reply(text: str) -> tuple[str, list[dict[str, Any]]]:
    """A thread reply: the mrkdwn line as fallback text and as its only block."""
    return text, [{"type": "section", "text": _mrkdwn(text)}]


def peak_reply(view: SpikeView) -> str:
    minutes = int(view.window.total_seconds() // 60)
    return (
        f"📈 New peak: *{_times(view.peak)}* usual ({view.peak_observed} mentions in {minutes} min"
        + (f", {_when(view.peak_at)}" if view.peak_at else "")
        + ")"
    )


def post_reply(post: TopPost) -> str:
    return "🔝 Now among the most-reached posts: " + post_line(None, post)


def reopened_reply(view: SpikeView) -> str:
    return (
        f"🔁 Flaring up again: {_times(view.size)} usual, "
        f"{view.observed} mentions in the last window"
    )


def also_reply(view: SpikeView) -> str:
    """A category or term spiking inside this crisis: said here, not as a second alert."""
    return f"📊 Also rising: {inert(subject(view), LINE_LIMIT)} at {_times(view.size)} usual"


def ended_reply(view: SpikeView) -> str:
    ended = view.ended_at or view.as_of
    return (
        f"✅ Ended after {_duration(ended - view.started_at)}, peak {_times(view.peak)} usual, "
        f"{view.mentions} mentions in all"
    )


def fingerprint(text: str, blocks: list[dict[str, Any]]) -> str:
    """Whether the message changed since it was last sent (no edit when nothing did)."""
    payload = json.dumps([text, blocks], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


TIMES = "\u00d7"  # the multiplication sign, as in "8.4 times usual"


def _times(size: float) -> str:
    return f"{size:.1f}{TIMES}" if size < 100 else f"{size:.0f}{TIMES}"


def _pct(share: float | None) -> str:
    return f"{100 * (share or 0):.0f} %"


def _when(t: datetime) -> str:
    """Slack shows the time in each reader's zone; old clients read the UTC fallback."""
    t = t.astimezone(UTC)
    return f"<!date^{int(t.timestamp())}^{{time}}|{t:%H:%M} UTC>"


def _duration(d: timedelta) -> str:
    minutes = max(0, int(d.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours}h {minutes:02d}m"
    return f"{hours}h" if hours else f"{minutes} min"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
