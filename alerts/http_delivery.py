"""One HTTP attempt for a hand-off, turned into the outbox's vocabulary.

Like the Slack sender, hand-off clients never retry and never sleep: they say what one attempt
gave (delivered, retry later, hold for a person, failed for good) and the outbox decides.
"""

from __future__ import annotations

import httpx

from alerts.sender import DeliveryFailed, Misconfigured, RetryLater
from core.http import retry_after

DEFAULT_RETRY_AFTER = 60.0  # a 429 without a usable Retry-After: wait a minute
MAX_RETRY_AFTER = 6 * 3600.0  # never believe a receiver asking for days


def _wait(retry_after_header: str | None) -> float:
    """Seconds to hold the target: the receiver's Retry-After, at least one second, at most
    `MAX_RETRY_AFTER`, a minute when it says nothing usable."""
    seconds = retry_after(retry_after_header)
    if seconds is None:
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def send(client: httpx.Client, request: httpx.Request, what: str) -> httpx.Response:
    """Send `request`; return the 2xx response or raise what the outbox acts on.

    `what` names the target in errors ("webhook orders", "zendesk support"); error text carries
    the status and the receiver's own short message, never request headers (they hold secrets).
    """
    try:
        response = client.send(request)
    except httpx.TimeoutException:
        raise RetryLater(f"{what}: timed out") from None
    except httpx.TransportError as exc:
        raise RetryLater(f"{what}: cannot connect ({type(exc).__name__})") from None
    code = response.status_code
    if 200 <= code < 300:
        return response
    detail = f"{what}: HTTP {code}{_said(response)}"
    if code == 429:
        raise RetryLater(detail, _wait(response.headers.get("Retry-After")))
    if code in (408, 425) or code >= 500:
        raise RetryLater(detail)
    if code in (401, 403):
        # Our credentials or signature were refused: every hand-off to this target would fail
        # the same way, so hold them until a person fixes the secret rather than drop them.
        raise Misconfigured(detail, whole_sender=False)
    raise DeliveryFailed(detail)


def _said(response: httpx.Response) -> str:
    """The receiver's error in a few words (Zendesk: error/description/details)."""
    text = response.text.strip().replace("\n", " ")
    return f" ({text[:300]})" if text else ""
