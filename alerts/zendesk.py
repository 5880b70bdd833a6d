"""Open a Zendesk Support ticket for a routed mention (Tickets API, create ticket).

Wire format (developer.zendesk.com, Support API):
- POST {base}/api/v2/tickets.json, JSON `{"ticket": {"subject", "comment": {"body"},
  "priority": urgent|high|normal|low, "tags": [...], "external_id": ...}}` -> 201 with
  `{"ticket": {"id": ..., ...}}`.
- Basic auth with an API token: username "{email}/token", password the token.
- `Idempotency-Key` header: a retry of the same creation returns the first ticket instead of
  opening a second one (so a crash between Zendesk's answer and our bookkeeping is harmless).
- 429 with Retry-After (seconds); 422 `{"error": "RecordInvalid", "description": ...,
  "details": {...}}` for a ticket Zendesk will never accept; 401 `{"error": "Couldn't
  authenticate you"}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from alerts import http_delivery
from core.http import USER_AGENT
from core.mention import display_text
from core.triage import category_label
from storage.records import StoredMention

# Our urgency -> Zendesk's ticket priority.
PRIORITY = {"critical": "urgent", "high": "high", "medium": "normal", "low": "low"}
SUBJECT_WORDS = 90  # characters of the post in the subject line


def external_id(mention: StoredMention) -> str:
    """Links the ticket back to the mention; stable, so a ticket can be found by it."""
    return f"listenpost-mention-{mention.id}"


def tag(value: str) -> str:
    """Zendesk tags are single lowercase words: 'Acme Cloud' -> 'acme_cloud'."""
    return re.sub(r"[^a-z0-9_\-]+", "_", value.lower()).strip("_")[:80]


def ticket(mention: StoredMention, route: str, extra_tags: Sequence[str] = ()) -> dict[str, Any]:
    """The ticket body for one mention. Plain text only: Zendesk shows `comment.body` as text,
    so nothing in a post can become markup or a link it did not contain."""
    t = mention.triage
    words = " ".join(display_text(mention.title, mention.text).split())
    brand = mention.brands[0] if mention.brands else "listenpost"
    subject = f"[{brand}] {mention.network} post by {mention.author}: {words}"
    if len(subject) > SUBJECT_WORDS + 40:
        subject = subject[: SUBJECT_WORDS + 39] + "…"
    m = mention.metrics
    lines = [
        words,
        "",
        f"Link: {mention.url}",
        f"Author: {mention.author} on {mention.network}",
        f"Posted: {mention.created_at:%Y-%m-%d %H:%M} UTC",
        f"Reach: {m.reach():,} "
        f"(followers {m.followers if m.followers is not None else '—'}, "
        f"likes {m.likes if m.likes is not None else '—'}, "
        f"reposts {m.reposts if m.reposts is not None else '—'})",
        f"Brands: {', '.join(mention.brands) or '—'}",
    ]
    tags = [*extra_tags, f"route_{route}", *(f"brand_{b}" for b in mention.brands)]
    priority = "normal"
    if t is not None:
        priority = PRIORITY.get(t.urgency, "normal")
        lines += [
            f"Sentiment: {t.sentiment}; urgency: {t.urgency}",
            f"Categories: {', '.join(map(category_label, t.categories)) or '—'}",
            f"Why: {', '.join(t.reasons) or '—'}",
        ]
        tags += [f"sentiment_{t.sentiment}", f"urgency_{t.urgency}", *t.categories]
    lines += ["", f"Opened by listenpost route '{route}'."]
    return {
        "ticket": {
            "subject": subject,
            "comment": {"body": "\n".join(lines)},
            "priority": priority,
            "tags": list(dict.fromkeys(x for x in map(tag, tags) if x)),
            "external_id": external_id(mention),
        }
    }


class ZendeskClient:
    def __init__(
        self,
        base_url: str,
        email: str,
        token: str,
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not email or not token:
            raise ValueError("zendesk: the agent email and the API token are both needed")
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            timeout=timeout,
            auth=httpx.BasicAuth(f"{email}/token", token),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
        )

    def create(self, body: dict[str, Any], idempotency_key: str, what: str) -> str:
        """Create the ticket; returns its id. Raises RetryLater/Misconfigured/DeliveryFailed."""
        request = self._client.build_request(
            "POST",
            f"{self.base_url}/api/v2/tickets.json",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        response = http_delivery.send(self._client, request, what)
        try:
            return str(response.json()["ticket"]["id"])
        except (ValueError, KeyError, TypeError):
            # Zendesk said yes; a body we cannot read must not make us open a second ticket.
            return "unknown"

    def close(self) -> None:
        self._client.close()
