"""The one shape every network's posts are turned into.

Listeners know networks; everything downstream (storage, triage, alerts) knows only this
dataclass, so adding a network never touches the rest of the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Networks whose answers to a post are replies in a conversation, not comments under it.
CONVERSATIONAL = frozenset({"x", "bluesky", "mastodon"})
# Raw keys where listeners keep the post a comment sits under (Facebook, Instagram, HN).
_THREAD_ROOTS = ("post_id", "media_id", "story_id")


def kind_of(network: str, in_reply_to: str | None, raw: dict[str, Any]) -> str:
    """post, comment or reply, from what every listener already records.

    A post answers nothing. On a conversational network (X, Bluesky, Mastodon) an answer is a
    reply. Elsewhere it is a comment when it answers the post at the top of its thread
    (a YouTube comment, a Hacker News comment on the story) and a reply when it answers
    another comment.
    """
    if in_reply_to is None:
        return "post"
    if network in CONVERSATIONAL:
        return "reply"
    roots = {str(raw[k]) for k in _THREAD_ROOTS if raw.get(k) is not None}
    return "reply" if roots and in_reply_to not in roots else "comment"


@dataclass(frozen=True, slots=True)
class Metrics:
    """Reach and engagement as the network reported them at fetch time (None = not reported)."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    followers: int | None = None

    def reach(self) -> int:
        """How many people a post could reach: the author's followers when the network reports
        them, else its engagement (likes + reposts), a floor on how many saw it. Networks without
        either (RSS, news) count 0.

        The one definition: routes' `min_reach`, urgency, top authors, reports, the radar and
        hand-offs all call it, so "reach 12k" means the same thing in an alert and in the
        monthly report.
        """
        if self.followers is not None:
            return max(self.followers, 0)
        return max(self.likes or 0, 0) + max(self.reposts or 0, 0)


@dataclass(frozen=True, slots=True)
class Mention:
    """One post, comment, story or page that matched a brand's query.

    `created_at` is timezone-aware UTC. `raw` keeps the network's own fields that we do not
    normalise, so nothing the API told us is lost. `repost_of` is the author whose post this
    one repeats without adding words, where the network marks it (an X retweet, a Reddit
    cross-post): the copy is grouped under that post, not counted as another voice.
    """

    network: str
    native_id: str
    url: str
    author: str
    text: str
    created_at: datetime
    title: str | None = None
    lang: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    in_reply_to: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    repost_of: str | None = None

    @property
    def kind(self) -> str:
        """post, comment or reply (what `type:` matches); see `kind_of`."""
        return kind_of(self.network, self.in_reply_to, self.raw)



def body_text(title: str | None, text: str | None) -> str:
    """The post's words below its title: none when they only repeat the title (a Hacker News
    story or a Reddit link post without a body carries its title as its text)."""
    words = text or ""
    if title and " ".join(words.split()).casefold() == " ".join(title.split()).casefold():
        return ""
    return words


def display_text(title: str | None, text: str | None) -> str:
    """The text to show for a post, everywhere one is shown (alerts, tickets, spike top posts,
    tables): its title, then its words, each once."""
    return " ".join(t for t in (title, body_text(title, text)) if t and t.strip())
