"""Who may act from Slack: each click and `/listenpost mute` is checked here, on our side.

A signed request proves it came from Slack, not that its sender may resolve a case: anyone in
the workspace can click a button in a channel they can read. The rules are
`[alerts.slack.permissions]` (alerts/app_settings.py); user groups are asked of Slack
(`usergroups.users.list`, scope `usergroups:read`) and remembered for a few minutes, so a click
costs at most one API call per group and window.

A group that cannot be read (scope missing, group deleted) admits nobody through it: failing
open would hand the action to the whole workspace. The reason is logged once per group.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alerts import render as r
from alerts.app_settings import EVERYONE, Permissions

log = logging.getLogger(__name__)

GROUP_TTL = 300.0  # seconds a group's members are trusted before Slack is asked again
# Which permission each button or menu needs (View post only opens a link).
BY_ACTION = {
    r.ACKNOWLEDGE: "acknowledge",
    r.ASSIGN: "assign",
    r.RESOLVE: "resolve",
    r.REOPEN: "reopen",
    r.NOT_RELEVANT: "not_relevant",
    r.ESCALATE: "escalate",
    r.MUTE_AUTHOR: "mute",
    r.SENTIMENT: "label",
    r.REPLIES: "reply",
}
_DOING = {
    "acknowledge": "acknowledge cases",
    "assign": "assign cases",
    "resolve": "resolve cases",
    "reopen": "reopen cases",
    "not_relevant": "mark cases not relevant",
    "escalate": "escalate cases",
    "mute": "mute authors or terms",
    "label": "correct the sentiment",
    "reply": "see the saved replies",
}


class Gate:
    def __init__(
        self,
        rules: Permissions,
        client: WebClient,
        ttl: float = GROUP_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = rules
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def allows(self, permission: str, user: str) -> bool:
        allowed: list[str] = getattr(self.rules, permission)
        if EVERYONE in allowed or user in allowed:
            return True
        return any(user in self._members(g) for g in allowed if g.startswith("S"))

    def refusal(self, permission: str) -> str:
        """The ephemeral answer to someone who may not: who may, and whom to ask."""
        allowed: list[str] = getattr(self.rules, permission)
        doing = _DOING[permission]
        if not allowed:
            return (
                f":no_entry: Nobody may {doing} from Slack here "
                f"(`alerts.slack.permissions.{permission}` is empty); use the `listenpost` CLI."
            )
        who = ", ".join(_mention(x) for x in allowed)
        return f":no_entry: Only {who} may {doing}; ask one of them, or an admin to add you."

    def _members(self, group: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._groups.get(group)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        try:
            users = self._client.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as exc:
            self._warn(group, str(exc.response.get("error") or "error"))
            return frozenset()
        except (SlackClientError, OSError) as exc:  # not cached: the next click asks again
            self._warn(group, type(exc).__name__)
            return frozenset()
        members = frozenset(str(u) for u in users)
        with self._lock:
            self._groups[group] = (now, members)
        return members

    def _warn(self, group: str, error: str) -> None:
        with self._lock:
            if (group, error) in self._warned:
                return
            self._warned.add((group, error))
        hint = " (add the usergroups:read scope to the app)" if error == "missing_scope" else ""
        log.warning(
            "Slack app: cannot read the members of user group %s: %s%s; nobody is let in "
            "through it",
            group,
            error,
            hint,
        )


def _mention(who: str) -> str:
    return f"<!subteam^{who}>" if who.startswith("S") else f"<@{who}>"
