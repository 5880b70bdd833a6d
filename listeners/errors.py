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


class Runaway(ListenerError):
    """The source kept paging past a bound: the page cap, the poll's time budget, or a page or
    cursor it already sent. Pages committed before it stay; the next poll starts again."""


class RateLimited(ListenerError):
    """The network asked us to wait; the scheduler skips the source until `until` (UTC)."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


def first_of(errors: list[ListenerError]) -> ListenerError:
    """The first failure, naming the others too, so one bad feed or site cannot hide another
    (a source reading several feeds, sites or instances raises once, after reading them all)."""
    first = errors[0]
    if len(errors) == 1:
        return first
    message = f"{first} (and {len(errors) - 1} more: " + "; ".join(map(str, errors[1:])) + ")"
    if isinstance(first, RateLimited):
        return RateLimited(message, first.until)
    return type(first)(message)
