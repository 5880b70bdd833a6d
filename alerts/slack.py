"""Talk to Slack's Web API (post, thread, update in place, upload a chart) one attempt at a time.

The slack_sdk client is built with no retry handlers: its built-in ones sleep inside the call
(Retry-After can be minutes), which would stall the scheduler's job. One attempt per call;
the outbox stores the verdict and schedules the next try.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from http.client import HTTPException
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from alerts.sender import Delivery, DeliveryFailed, Misconfigured, RetryLater
from core.http import retry_after

DEFAULT_RETRY_AFTER = 30.0  # a 429 without a usable Retry-After header still means "wait"
MARK = "listenpost_alert"  # the message metadata's event_type carrying the outbox id
LOOK_BACK = 200  # newest messages of a channel searched for a send cut off by a crash
MAX_RETRY_AFTER = 24 * 3600.0  # a garbled header must not park the channel for years
# Slack's documented transient errors: the request may succeed if sent again later.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# Setup problems a person fixes; alerts wait for the fix instead of failing.
SENDER_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
_HINTS = {
    "channel_not_found": "check the channel name or ID in the alert routes",
    "not_in_channel": "invite the Slack app to the channel (/invite @yourapp)",
    "is_archived": "the channel is archived; route alerts to another channel",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid",
    "not_authed": "SLACK_BOT_TOKEN is missing",
    "token_revoked": "SLACK_BOT_TOKEN was revoked; reinstall the app",
    "account_inactive": "the Slack app's token belongs to a deleted user or workspace",
    "missing_scope": "the Slack app needs the chat:write scope",
    "invalid_blocks": "Slack rejected the message layout (please report this as a bug)",
    "msg_blocks_too_long": "Slack rejected the message length (please report this as a bug)",
}


class SlackSender:
    """Delivers rendered alerts to Slack; never sleeps, never retries by itself."""

    def __init__(self, token: str, base_url: str | None = None, timeout: int = 10) -> None:
        options: dict[str, Any] = {"token": token, "timeout": timeout, "retry_handlers": []}
        if base_url:
            options["base_url"] = base_url  # slack_sdk appends the method name to it
        self._client = WebClient(**options)

    def send(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        marker: int | None = None,
    ) -> Delivery:
        options: dict[str, Any] = {}
        if thread_ts is not None:
            options["thread_ts"] = thread_ts  # a reply under the alert, not a new message
        if marker is not None:  # invisible to people; `landed` looks for it after a crash
            options["metadata"] = {"event_type": MARK, "event_payload": {"outbox_id": marker}}
        response = self._call(
            self._client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks,
            # The alert carries the post itself; previews of every link in it are noise.
            unfurl_links=False,
            unfurl_media=False,
            **options,
        )
        return Delivery(channel_id=response.get("channel"), ts=response.get("ts"))

    def update(
        self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]]
    ) -> Delivery:
        """chat.update wants the channel's id (not its name) and the message's ts."""
        response = self._call(
            self._client.chat_update, channel=channel_id, ts=ts, text=text, blocks=blocks
        )
        return Delivery(channel_id=response.get("channel"), ts=response.get("ts"))

    def upload_file(
        self,
        channel: str,
        path: Path,
        title: str,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> Delivery:
        """files_upload_v2: get an upload URL, send the bytes there, complete into `channel`.

        Slack shares the file only into a channel id (files.completeUploadExternal's
        channel_id), so callers pass the id a chat.postMessage answered with.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise DeliveryFailed(f"cannot read {path}: {exc}") from None
        response = self._call(
            self._client.files_upload_v2,
            channel=channel,
            file=data,
            filename=Path(path).name,
            title=title,
            initial_comment=initial_comment,
            thread_ts=thread_ts,
        )
        ts = _share_ts(response.get("file") or {}, channel)
        return Delivery(channel_id=channel, ts=ts)

    def landed(
        self, channel_id: str, marker: int, thread_ts: str | None = None
    ) -> Delivery | None:
        """Search the channel's newest messages (a thread's replies, with `thread_ts`) for
        `marker`.

        Needs the channels:history scope; without it (or if Slack cannot answer) this says
        None and the alert is sent again: a possible repeat beats a certain loss."""
        try:
            if thread_ts is None:
                response = self._client.conversations_history(
                    channel=channel_id, limit=LOOK_BACK, include_all_metadata=True
                )
            else:
                response = self._client.conversations_replies(
                    channel=channel_id, ts=thread_ts, limit=LOOK_BACK, include_all_metadata=True
                )
        except (SlackApiError, SlackRequestError, OSError, HTTPException):
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == MARK and payload.get("outbox_id") == marker:
                return Delivery(channel_id=channel_id, ts=message.get("ts"))
        return None

    def check(self) -> str:
        """For `doctor`: proves the token works without posting anything."""
        response = self._call(self._client.auth_test)
        return f"Slack workspace {response.get('team')!s} as {response.get('user')!s}"

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            raise classify(exc) from None
        except SlackRequestError as exc:
            if "Failed to upload a file" in str(exc):  # the upload URL answered non-200
                raise RetryLater("Slack file upload failed") from None
            raise DeliveryFailed(f"bad Slack request: {exc}") from None  # e.g. a non-http base_url
        except (OSError, HTTPException) as exc:  # refused, reset, DNS, timeout
            raise RetryLater(f"Slack unreachable: {exc}") from None


def _share_ts(file: Mapping[str, Any], channel: str) -> str | None:
    """The ts of the file's message in `channel`, from files.info's `shares`, when Slack says."""
    shares = file.get("shares") or {}
    for scope in ("public", "private"):
        posts = (shares.get(scope) or {}).get(channel) or []
        if posts and isinstance(posts[0], Mapping):
            return posts[0].get("ts")
    return None


def classify(exc: SlackApiError) -> RetryLater | DeliveryFailed:
    """Sort a Slack API error into "later" (rate limit, outage) or "never" (config problems)."""
    response = exc.response
    status = response.status_code
    data = response.data
    error = (data.get("error") if isinstance(data, dict) else None) or f"HTTP {status}"
    if status == 429 or error in RATE_LIMIT_ERRORS:
        after = rate_limit_wait(response.headers)
        return RetryLater(f"Slack rate limited ({error}); retry in {after:g}s", after)
    if status >= 500 or status == 408 or error in TRANSIENT_ERRORS:
        return RetryLater(f"Slack error {error} (HTTP {status})")
    hint = _HINTS.get(error)
    message = f"{error}: {hint}" if hint else error
    if error in SENDER_ERRORS:
        return Misconfigured(message, whole_sender=True)
    if error in CHANNEL_ERRORS:
        return Misconfigured(message, whole_sender=False)
    return DeliveryFailed(message)


def rate_limit_wait(headers: Mapping[str, Any], now: datetime | None = None) -> float:
    """Seconds to park the channel after a rate limit: Slack's Retry-After (slack_sdk's headers,
    any case, maybe a list), at least one second, the default when it says nothing usable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    seconds = retry_after(None if value is None else str(value), now)
    if seconds is None:
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)
