"""A signed outgoing webhook: the routed mention and its triage as JSON, to any HTTP receiver.

Signature scheme (receivers implement `verify` below, in any language):

    X-Listenpost-Timestamp: 1732450000                        (Unix seconds when signed)
    X-Listenpost-Signature: v1=<hex HMAC-SHA256(secret, "v1:{timestamp}:{raw body}")>

A receiver recomputes the HMAC over the *raw* body bytes (before parsing JSON), compares in
constant time, and rejects timestamps more than 5 minutes from its clock, so a captured request
cannot be replayed later. `X-Listenpost-Delivery` is the same on every retry of one hand-off:
receivers can drop a repeat they already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from alerts import http_delivery
from core.http import USER_AGENT

VERSION = "v1"
TIMESTAMP_HEADER = "X-Listenpost-Timestamp"
SIGNATURE_HEADER = "X-Listenpost-Signature"
DELIVERY_HEADER = "X-Listenpost-Delivery"
TOLERANCE_SECONDS = 300
# Unix seconds in ASCII digits: str.isdigit() also accepts "²" (int() refuses it) and
# Arabic-Indic digits (int() reads them); 12 digits last until the year 33658.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: 'v1=' + hex HMAC-SHA256 of b'v1:{timestamp}:' + body."""
    message = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature (header names are
    case-insensitive, as in HTTP)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not _TIMESTAMP.fullmatch(stamp):
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(stamp), body), given)


class WebhookClient:
    """Posts one signed JSON body per call; `transport` lets tests swap the network layer."""

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secret:
            raise ValueError("webhook: the signing secret is empty")
        self.url = url
        self._secret = secret
        self._client = httpx.Client(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, transport=transport
        )

    def post(
        self, payload: Mapping[str, Any], delivery_id: str, what: str, now: float | None = None
    ) -> int:
        """Deliver `payload`; returns the HTTP status. Raises RetryLater/Misconfigured/
        DeliveryFailed (alerts.sender) for the outbox to act on."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = int(time.time() if now is None else now)
        request = self._client.build_request(
            "POST",
            self.url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: str(stamp),
                SIGNATURE_HEADER: sign(self._secret, stamp, body),
                DELIVERY_HEADER: delivery_id,
            },
        )
        return http_delivery.send(self._client, request, what).status_code

    def close(self) -> None:
        self._client.close()
