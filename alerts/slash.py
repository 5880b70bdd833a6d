"""`/listenpost` in Slack: how things stand, the open cases, and muting noise for a while.

Every answer is ephemeral (only the person who typed the command sees it) and is computed
from the database in well under Slack's 3-second limit, so it goes back with the
acknowledgement itself. Slack sends the command text with `&`, `<`, `>` as entities; they are
decoded for matching and everything echoed back is escaped again.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.render import STATUS_LABELS, escape, inert, network_name, person, safe_url
from core.durations import parse_duration
from listeners import registry
from storage import cases
from storage.cases import CaseError

if TYPE_CHECKING:
    from storage import Store

COMMAND = "/listenpost"
CASES_SHOWN = 15
OPEN_STATUSES = ("open", "acknowledged", "assigned")
HELP = escape(f"""*{COMMAND}* — listenpost from Slack (only you see the answers)
• `{COMMAND} status` — sources, alert queue, open cases
• `{COMMAND} cases` — open cases, oldest first (`cases mine` for yours)
• `{COMMAND} mute term <term> [for 2h]` — no alerts for posts with the term
• `{COMMAND} mute author <name> [on <network>] [for 1d]` — no alerts for an author's posts
• `{COMMAND} unmute term|author <value>` — lift a mute
• `{COMMAND} mutes` — what is muted now
• `{COMMAND} note <mention #> <text>` — add to the case log""")  # `<term>` must stay text


class CommandError(ValueError):
    """The command could not be understood; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class Invocation:
    text: str
    user_id: str
    now: datetime


def answer(store: Store, invocation: Invocation) -> dict[str, Any]:
    """The ephemeral response body for one `/listenpost ...` (also for mistakes: never raises)."""
    try:
        text = _dispatch(store, invocation)
    except (CommandError, CaseError) as exc:
        text = f":warning: {escape(str(exc))}\n\n{HELP}"
    return {"response_type": "ephemeral", "text": text}


def permission(text: str) -> str | None:
    """The permission (alerts/app_settings.py Permissions) a command needs; None: reading only."""
    words = _split(_decode(text))
    return "mute" if words and words[0].lower() in ("mute", "unmute") else None


def _dispatch(store: Store, inv: Invocation) -> str:
    words = _split(_decode(inv.text))
    verb = words[0].lower() if words else "help"
    rest = words[1:]
    if verb == "help":
        return HELP
    if verb == "status":
        return _status(store, inv.now)
    if verb == "cases":
        mine = bool(rest) and rest[0].lower() == "mine"
        return _cases(store, inv.now, inv.user_id if mine else None)
    if verb == "mutes":
        return _mutes(store, inv.now)
    if verb == "note":
        return _note(store, rest, inv)
    if verb in ("mute", "unmute"):
        if not rest or rest[0].lower() not in cases.MUTE_KINDS:
            raise CommandError(
                f"say what to {verb}: `{verb} term <term>` or `{verb} author <name>`"
            )
        kind, args = rest[0].lower(), rest[1:]
        if verb == "unmute":
            return _unmute(store, kind, args)
        return _mute(store, kind, args, inv)
    raise CommandError(f"unknown command {verb!r}")


def _mute(store: Store, kind: str, args: list[str], inv: Invocation) -> str:
    until: datetime | None = None
    network: str | None = None
    if len(args) >= 2 and args[-2].lower() == "for":
        try:
            until = inv.now + _duration(args[-1])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        args = args[:-2]
    if kind == "author" and len(args) >= 2 and args[-2].lower() == "on":
        network, args = args[-1].lower(), args[:-2]
        if network not in registry.LISTENERS:  # a typo would mute nobody, silently
            known = ", ".join(sorted(registry.LISTENERS))
            raise CommandError(f"unknown network {network!r}; one of: {known}")
    value = " ".join(args)
    if not value.strip():
        raise CommandError(f"mute {kind}: say which {kind}, like `mute {kind} {_EXAMPLE[kind]}`")
    mute = cases.add_mute(
        store, kind, value, inv.user_id, until=until, network=network, now=inv.now
    )
    scope = f" on {network_name(network)}" if network else ""
    span = f"until {_when(until)}" if until else f"until someone runs `{COMMAND} unmute`"
    return f":mute: Muted {kind} *{inert(mute.value, 200)}*{scope} {span}."


NOTE_LIMIT = 2000  # characters of one note


def _note(store: Store, args: list[str], inv: Invocation) -> str:
    """A note joins the case's history: the CLI, the CSV export and the report show it."""
    number = args[0].removeprefix("#") if args else ""
    text = " ".join(" ".join(args[1:]).split())
    if not number.isdigit() or not text:
        raise CommandError("write `note <mention #> <text>`, like `note 42 refund sent`")
    if len(text) > NOTE_LIMIT:
        raise CommandError(f"a note is at most {NOTE_LIMIT} characters")
    cases.act(store, int(number), "note", inv.user_id, note=text, at=inv.now)
    return f":memo: Noted on case #{int(number)}: {inert(text, 300)}"


def _unmute(store: Store, kind: str, args: list[str]) -> str:
    value = " ".join(args)
    if not value.strip():
        raise CommandError(f"unmute {kind}: say which {kind}")
    lifted = cases.remove_mute(store, kind, value)
    shown = inert(cases.normalize_mute(kind, value), 200)
    if not lifted:
        return f"Nothing to unmute: {kind} *{shown}* is not muted."
    return f":loud_sound: Unmuted {kind} *{shown}*."


def _status(store: Store, now: datetime) -> str:
    lines = ["*listenpost status*"]
    states = store.source_states()
    if not states:
        lines.append("• no source has been polled yet")
    for s in states:
        where = f"{inert(s.brand, 80)} on {network_name(s.source)}"
        if s.disabled_until and s.disabled_until > now:
            lines.append(f"• :double_vertical_bar: {where}: paused until {_when(s.disabled_until)}")
        elif s.last_error_at and (s.last_success is None or s.last_error_at > s.last_success):
            lines.append(f"• :x: {where}: {inert(_first_line(s.last_error or ''), 200)}")
        elif s.last_success:
            lines.append(f"• :white_check_mark: {where}: polled {_ago(s.last_success, now)}")
    open_cases = cases.list_cases(store, statuses=OPEN_STATUSES)
    breached = sum(1 for c in open_cases if c.breached_at is not None)
    lines.append(f"• alerts waiting to be sent: {cases.pending_alerts(store)}")
    late = f" ({breached} past SLA)" if breached else ""
    lines.append(f"• open cases: {len(open_cases)}{late}")
    return "\n".join(lines)


def _cases(store: Store, now: datetime, assignee: str | None) -> str:
    found = cases.list_cases(store, statuses=OPEN_STATUSES, assignee=assignee)
    if not found:
        return "No open cases assigned to you. :tada:" if assignee else "No open cases. :tada:"
    title = "Your open cases" if assignee else "Open cases"
    lines = [f"*{title}* ({len(found)}, oldest first)"]
    for case in found[:CASES_SHOWN]:
        mention = store.get_mention(case.mention_id)
        if mention is None:
            continue
        excerpt = inert(" ".join((mention.title or mention.text).split()), 80)
        line = (
            f"• #{case.mention_id} {STATUS_LABELS[case.status]}"
            + (f" ({person(case.assignee)})" if case.assignee else "")
            + f" · {network_name(mention.network)} · {inert(mention.author, 60)}: {excerpt}"
            + f" · opened {_ago(case.opened_at, now)}"
        )
        if case.breached_at is not None:
            line += " · :alarm_clock: past SLA"
        if url := safe_url(mention.url):
            line += f" · <{escape(url)}|view>"
        lines.append(line)
    if len(found) > CASES_SHOWN:
        lines.append(f"…and {len(found) - CASES_SHOWN} more: `listenpost cases` shows them all")
    return "\n".join(lines)


def _mutes(store: Store, now: datetime) -> str:
    active = cases.active_mutes(store, now)
    if not active:
        return "Nothing is muted."
    lines = ["*Muted now*"]
    for m in active:
        scope = f" on {network_name(m.network)}" if m.network else ""
        span = f"until {_when(m.until)}" if m.until else "until unmuted"
        lines.append(f"• {m.kind} *{inert(m.value, 200)}*{scope} {span}")
    return "\n".join(lines)


_EXAMPLE = {"term": '"free crypto" for 2h', "author": "spambot42 on reddit for 1d"}


def _split(text: str) -> list[str]:
    """Words, with "quoted phrases" kept whole (an unbalanced quote is just a character)."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _decode(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _duration(text: str) -> timedelta:
    return parse_duration(text.lower())


def _when(at: datetime) -> str:
    """Shown in each reader's own time zone by Slack; the fallback is UTC."""
    stamp = int(at.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def _ago(at: datetime, now: datetime) -> str:
    seconds = max(0, int((now - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "error"
