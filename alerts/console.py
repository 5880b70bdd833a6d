"""Alerts on the terminal when no Slack token is set: try listenpost before wiring Slack.

It prints the same rendered message Slack would get, turned back into plain text. Post text is
passed through rich's markup escaping, so `[bold]` or `[link=...]` in a post stays literal
here just as `<!channel>` stays literal in Slack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from alerts.render import LOOKALIKES
from alerts.sender import Delivery

_SLACK_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>|<([^<>]*)>")
_BOLD = re.compile(r"(?<!\w)\*([^*\n]+)\*(?!\w)")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")
_ORIGINALS = str.maketrans({lookalike: ch for ch, lookalike in LOOKALIKES.items()})


class ConsoleSender:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()

    def send(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        marker: int | None = None,
    ) -> Delivery:
        """Print the message; a threaded reply says which message it answers."""
        title = next(
            (b["text"]["text"] for b in blocks if b.get("type") == "header"), "listenpost alert"
        )
        lines: list[str] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "section":
                if "text" in block:
                    lines.append(to_markup(block["text"]["text"]))
                lines.extend(to_markup(f["text"]) for f in block.get("fields", []))
            elif kind == "context":
                parts = [to_markup(e["text"]) for e in block.get("elements", []) if "text" in e]
                lines.append(f"[dim]{' '.join(parts)}[/dim]")
            elif kind == "actions":
                lines.extend(
                    f"{escape(e['text']['text'])}: {escape(e['url'])}"
                    for e in block.get("elements", [])
                    if e.get("url")
                )
        body = "\n".join(lines) if lines else to_markup(text)
        where = channel if thread_ts is None else f"{channel}, in thread {thread_ts}"
        self.console.print(
            Panel(body, title=escape(title), subtitle=escape(where), title_align="left"),
            highlight=False,
        )
        # No ts: nothing can thread under or update a printed panel, and a stored ts would
        # send a later Slack reply under a message Slack never saw.
        return Delivery(channel_id=None, ts=None)

    def update(
        self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]]
    ) -> Delivery:
        """The terminal cannot edit what it printed: print the new version, marked as such."""
        self.console.print(f"[dim]updated {escape(ts)} in {escape(channel_id)}:[/dim]")
        self.send(channel_id, text, blocks)
        return Delivery(channel_id=None, ts=None)

    def upload_file(
        self,
        channel: str,
        path: Path,
        title: str,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> Delivery:
        """Nothing to upload to: say where the file is so it can be opened."""
        self.console.print(
            f"[bold]{escape(title)}[/bold] for {escape(channel)}: {escape(str(path))}",
            highlight=False,
        )
        if initial_comment:
            self.console.print(to_markup(initial_comment), highlight=False)
        return Delivery(channel_id=None, ts=None)

    def landed(
        self, channel_id: str, marker: int, thread_ts: str | None = None
    ) -> Delivery | None:
        return None  # a terminal keeps nothing to look in

    def check(self) -> str:
        return "printing alerts to the terminal (set SLACK_BOT_TOKEN to post to Slack)"


def to_markup(mrkdwn: str) -> str:
    """Slack mrkdwn (as render produced it) -> rich markup with the text itself inert."""
    plain = _SLACK_LINK.sub(lambda m: m.group(2) if m.group(1) is not None else m.group(3), mrkdwn)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    markup = escape(plain)
    markup = _BOLD.sub(r"[bold]\1[/bold]", markup)
    markup = _ITALIC.sub(r"[italic]\1[/italic]", markup)
    # The terminal has no mrkdwn to defuse: give the post its own characters back.
    return markup.translate(_ORIGINALS)
