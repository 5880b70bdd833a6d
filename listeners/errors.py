"""Typed failures the scheduler can act on without knowing which network raised them."""

from __future__ import annotations

from datetime import datetime


class ListenerError(Exception):
    """A source failed this cycle; stored data and the cursor are untouched."""


class NotConfigured(ListenerError):
    """The source is missing a credential or an optional dependency; it is skipped, not retried."""


class AuthError(ListenerError):
    """401/403: a revoked token or a plan without access. Retrying will not help."""


class MalformedResponse(ListenerError):
    """The network answered, but not with what its documented format promises."""


class RateLimited(ListenerError):
    """The network asked us to wait; the scheduler skips the source until `until` (UTC)."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until
