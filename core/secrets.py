"""Every secret the process knows about, and a filter that scrubs them from text.

Tokens reach us only through the environment; this keeps a token echoed back in an exception
message or a URL out of logs, stored errors and anything shown, whichever layer writes it.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

SECRET_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "REDDIT_CLIENT_ID",
    "REDDIT_CLIENT_SECRET",
    "X_BEARER_TOKEN",
    "MASTODON_ACCESS_TOKEN",
    "BLUESKY_APP_PASSWORD",
    "STACKEXCHANGE_KEY",
    "YOUTUBE_API_KEY",
    "FACEBOOK_PAGE_TOKEN",
    "LISTENPOST_WEBHOOK_SECRET",  # hand-offs (issue 7); routes may name other variables,
    "ZENDESK_API_TOKEN",  # which alerts/handoff.py scrubs itself
)
# Credentials sent together as HTTP Basic auth ("id:secret", base64-encoded): an error page that
# echoes the header, or the pair decoded, must not show them either.
BASIC_PAIRS = (("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"),)
# Token shapes we recognise even when they did not come from our own environment.
_PATTERNS = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|Bearer\s+[A-Za-z0-9._~+/=-]+)"
)
MASK = "***"


class RedactSecrets(logging.Filter):
    """Replace known secret values and token-shaped strings in the rendered message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first so a secret that contains another is masked whole.
        forms = {form for s in secrets if len(s) >= 6 for form in _forms(s)}
        self.secrets = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _PATTERNS.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def _forms(secret: str) -> set[str]:
    """The secret as a body may echo it: as sent in a URL (a Stack Exchange key's '*' and '('
    are percent-encoded there), inside a JSON string, and base64-encoded as in Basic auth."""
    raw = secret.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret),
        json.dumps(secret)[1:-1],
        *encoded,
        *(e.rstrip("=") for e in encoded),
    }


def secrets_from(env: Mapping[str, str]) -> list[str]:
    """The environment's secrets, plus each Basic-auth pair joined as it goes on the wire."""
    found = [env[name] for name in SECRET_ENV if env.get(name)]
    pairs = [f"{env[a]}:{env[b]}" for a, b in BASIC_PAIRS if env.get(a) and env.get(b)]
    return found + pairs
