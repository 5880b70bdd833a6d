"""What every alert sender promises the outbox, so Slack and the console are interchangeable.

Senders never retry and never sleep: they report what happened in one attempt and the outbox,
which owns the durable state, decides when to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where the message landed, kept so later issues can update the same message."""

    channel_id: str | None
    ts: str | None


class RetryLater(Exception):
    """The message may go through later.

    `after_seconds` is set when the receiver said how long to wait (Slack's Retry-After); the
    outbox then holds back the whole channel. None means a transient failure (5xx, network)
    that the outbox spaces out with exponential backoff.
    """

    def __init__(self, reason: str, after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_seconds = after_seconds


class DeliveryFailed(Exception):
    """Retrying cannot help (unknown channel, revoked token...); a person has to act."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Misconfigured(DeliveryFailed):
    """Our setup is wrong (revoked token, app not in the channel), not the message.

    Failing every queued alert would lose them all to one typo; the outbox holds them instead
    (`whole_sender`: every channel, else just this one) until a person fixes the setup.
    """

    def __init__(self, error: str, whole_sender: bool) -> None:
        super().__init__(error)
        self.whole_sender = whole_sender


class Sender(Protocol):
    """Slack and the console behave alike, so the outbox, the SLA check and digests never ask
    which one they hold."""

    def send(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        marker: int | None = None,
    ) -> Delivery:
        """Post a message; with `thread_ts`, as a reply under that message. `marker` (an outbox
        id) travels with the message, invisible, so `landed` can find it again."""
        ...

    def landed(
        self, channel_id: str, marker: int, thread_ts: str | None = None
    ) -> Delivery | None:
        """The message sent with `marker` to `channel_id` if it is there, None if it is not or
        the receiver cannot say: a send cut off by a crash is looked for before it is repeated."""
        ...

    def update(
        self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]]
    ) -> Delivery:
        """Replace a posted message in place (a case's status shown on its alert)."""
        ...

    def upload_file(
        self,
        channel: str,
        path: Path,
        title: str,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> Delivery:
        """Share a file (a digest's chart) in a channel, by channel id."""
        ...

    def check(self) -> str: ...
