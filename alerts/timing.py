"""When a route's alerts go out and how long the team has to answer them.

Three per-route settings, parsed here so config validation and the delivery pass agree:

- `sla`: one duration for everything (`"30m"`) or one per kind of post
  (`{ dm = "30m", comment = "1h", post = "24h" }`; a kind left out has no SLA). A post's kind:
  `dm` for private-message sources (a network named `<name>_dm`; none of today's listeners
  hear DMs), `comment` when it answers another post (`in_reply_to` is set: Reddit and HN
  comments, YouTube and Facebook comments, replies on X, Bluesky, Mastodon), else `post`.
- `quiet_hours` (`"22:00-07:00"`, may wrap midnight) in the route's `timezone` (IANA name):
  non-critical alerts are held for the channel's next digest; critical ones still go out.
- `escalate_to`: a channel (`#leads`, `C0123ABCD`) or a Slack user group mention
  (`<!subteam^S0123ABCD>`), the only mention listenpost ever sends unescaped because it comes
  from settings, never from a post.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.durations import parse_duration

if TYPE_CHECKING:
    from storage.records import StoredMention

PostKind = Literal["dm", "comment", "post"]
POST_KINDS: tuple[PostKind, ...] = ("dm", "comment", "post")
SlaSetting = str | Mapping[str, str] | None

_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
_SUBTEAM = re.compile(r"^<!subteam\^[A-Z0-9]{2,30}(\|@?[\w.-]{1,80})?>$")
_CHANNEL = re.compile(r"^(#[\w.-]{1,80}|[CG][A-Z0-9]{2,30})$")


def mention_kind(mention: StoredMention) -> PostKind:
    if mention.network.endswith("_dm"):
        return "dm"
    return "comment" if mention.in_reply_to else "post"


def parse_sla(value: SlaSetting) -> dict[str, timedelta]:
    """`"30m"` -> every kind; a table -> those kinds. Raises ValueError naming the problem."""
    if value is None:
        return {}
    if isinstance(value, str):
        return dict.fromkeys(POST_KINDS, _duration(value, "sla"))
    unknown = sorted(set(value) - set(POST_KINDS))
    if unknown:
        raise ValueError(f"sla: unknown kind {unknown[0]!r}; use {', '.join(POST_KINDS)}")
    return {kind: _duration(text, f"sla.{kind}") for kind, text in value.items()}


def sla_for(sla: SlaSetting, mention: StoredMention) -> timedelta | None:
    """How long the team has to acknowledge this alert; None: no SLA on this route/kind."""
    return parse_sla(sla).get(mention_kind(mention))


def parse_quiet_hours(value: str) -> tuple[time, time]:
    start, sep, end = value.partition("-")
    clocks = [_CLOCK.match(part) for part in (start, end)] if sep else []
    if len(clocks) != 2 or not all(clocks):
        raise ValueError(f"quiet_hours {value!r}: use HH:MM-HH:MM, like \"22:00-07:00\"")
    first, last = (time(int(m.group(1)), int(m.group(2))) for m in clocks if m is not None)
    if first == last:
        raise ValueError(f"quiet_hours {value!r}: start and end are the same time")
    return first, last


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # A region ("Europe") is a folder of zone files: IsADirectoryError, an OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"timezone {name!r}: not an IANA time zone, like Europe/Berlin") from None


def in_quiet_hours(quiet_hours: str | None, timezone: str, now: datetime) -> bool:
    """Whether `now` falls in a route's quiet hours, read on the route's own wall clock."""
    if not quiet_hours:
        return False
    start, end = parse_quiet_hours(quiet_hours)
    local = now.astimezone(zone(timezone)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight


def escalation_target(value: str) -> tuple[Literal["channel", "group"], str]:
    """("channel", "#leads") or ("group", "<!subteam^S0123>"); ValueError for anything else."""
    text = value.strip()
    if _SUBTEAM.match(text):
        return "group", text
    if _CHANNEL.match(text):
        return "channel", text
    raise ValueError(
        f"escalate_to {value!r}: give a channel (\"#leads\" or its id \"C0123ABCD\") or a "
        "user group as \"<!subteam^S0123ABCD>\""
    )


def _duration(text: str, what: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
