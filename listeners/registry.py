"""Every network listenpost can hear, by its settings name, as a lazily imported dotted path.

Explicit beats discovery: a listener exists when it is listed here, and importing one network's
optional dependency can never break another's.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from listeners.errors import NotConfigured

if TYPE_CHECKING:  # importing a listener's base pulls in the HTTP layer; looking up a name must not
    from listeners.base import Listener
    from listeners.stream import StreamListener

LISTENERS: dict[str, str] = {
    "hackernews": "listeners.hackernews:HackerNewsListener",
    "reddit": "listeners.reddit:RedditListener",
    "rss": "listeners.rss:RssListener",
    "x": "listeners.x:XListener",
    "facebook": "listeners.facebook:FacebookListener",
    "instagram": "listeners.instagram:InstagramListener",
    "mastodon": "listeners.mastodon:MastodonListener",
    "bluesky": "listeners.bluesky:BlueskyListener",
    "stackexchange": "listeners.stackexchange:StackExchangeListener",
    "youtube": "listeners.youtube:YouTubeListener",
    "web": "listeners.web:WebListener",
}

# Streams hear every post as it is written and match every brand locally (listeners/stream.py).
STREAMS: dict[str, str] = {
    "bluesky_stream": "listeners.bluesky_stream:BlueskyStreamListener",
    "mastodon_stream": "listeners.mastodon_stream:MastodonStreamListener",
    "hackernews_items": "listeners.hackernews_items:HackerNewsItemsListener",
    "reddit_new": "listeners.reddit_new:RedditNewListener",
}


def load(name: str) -> type[Listener] | type[StreamListener]:
    """The listener class registered as `name`; NotConfigured with the reason if it cannot load."""
    path = LISTENERS.get(name) or STREAMS.get(name)
    if path is None:
        known = ", ".join(sorted([*LISTENERS, *STREAMS]))
        raise NotConfigured(f"unknown source {name!r}; known sources: {known}")
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NotConfigured(f"source {name!r} needs a missing package: {exc}") from exc
    return getattr(module, attr)


@cache
def display_name(network: str) -> str:
    """How people read a network's name ("Hacker News"), from its listener's `display_name`.

    The listener's module is imported on the first call, not when the caller is imported, so
    alert rendering stays light to load; a network no longer registered, or one whose optional
    package is missing, still reads as its stored name in title case.
    """
    try:
        return load(network).display_name
    except NotConfigured:
        return network.replace("_", " ").title()
