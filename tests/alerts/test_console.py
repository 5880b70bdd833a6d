from __future__ import annotations

import io

from rich.console import Console

from alerts.console import ConsoleSender
from alerts.render import render
from alerts.sender import Delivery
from tests.alerts.factories import stored


def test_console_panel_shows_the_alert_with_post_markup_inert() -> None:
    out = io.StringIO()
    sender = ConsoleSender(Console(file=out, width=120, color_system=None))
    post = "[bold red]pwned[/bold red] <!channel> & *friends*"
    mention = stored(text=post, author="[link=x]eve")
    delivery = sender.send("#brand-alerts", *render(mention))

    printed = out.getvalue()
    assert delivery == Delivery(channel_id=None, ts=None)
    assert "🔴 Acme mention on Reddit" in printed
    assert "#brand-alerts" in printed
    assert post in printed
    assert "[link=x]eve" in printed
    assert "12.3k followers" in printed
    assert "Negative (0.91)" in printed
    assert "2024-04-05 14:03 UTC" in printed
    assert "View post: https://www.reddit.com/r/acme/comments/abc/outage/" in printed


def test_console_check_says_where_alerts_go() -> None:
    assert "terminal" in ConsoleSender(Console(file=io.StringIO())).check()
