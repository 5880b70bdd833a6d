"""Who is who in Slack: ids from clicks turned into the names people know, via `users.info`.

Asked when someone works a case (the clicker and the person assigned) and kept in the database
(storage/people.py) for REFRESH, so the CLI, CSV and reports read "Bo Smith (U0BO)" without a
Slack token, and a renamed person catches up within a week. A failed lookup never stops a
click: the id is shown until Slack answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from storage import people

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from storage import Store

log = logging.getLogger(__name__)
REFRESH = timedelta(days=7)


def display_name(user: Mapping[str, Any]) -> str | None:
    """The name Slack shows: the display name, else the real name, else the handle."""
    profile = user.get("profile") or {}
    for value in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:255]
    return None


def learn(
    store: Store,
    client: WebClient,
    user_ids: Iterable[str | None],
    now: datetime,
    refresh: timedelta = REFRESH,
) -> None:
    """Ask Slack for the names not cached, or cached longer ago than `refresh`."""
    wanted = {u for u in user_ids if u and u != "unknown"}
    cached = people.fetched(store, wanted)
    for user_id in sorted(wanted):
        if user_id in cached and now - cached[user_id][1] < refresh:
            continue
        try:
            answer = client.users_info(user=user_id)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "user_not_found":
                people.remember(store, user_id, None, now)  # asked; not asked again for a week
            else:  # missing users:read scope, a rate limit: the id is shown until next time
                log.warning("users.info for %s failed: %s", user_id, error)
            continue
        except Exception as exc:  # the network: a name is not worth failing a click over
            log.warning("users.info for %s failed: %s", user_id, exc)
            continue
        people.remember(store, user_id, display_name(answer.get("user") or {}), now)
