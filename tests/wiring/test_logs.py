"""Secrets never reach a log line, from our environment or echoed back in an error."""

from __future__ import annotations

import logging

from core.secrets import RedactSecrets


def render(
    record_args: tuple, msg: str, secrets: list[str], exc: bool = False
) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, msg, record_args, None)
    if exc:
        try:
            raise RuntimeError(f"token was {secrets[0]}")
        except RuntimeError:
            import sys

            record.exc_info = sys.exc_info()
    RedactSecrets(secrets).filter(record)
    return record


def test_known_secret_values_are_masked_in_message_and_traceback() -> None:
    secret = "s3cr3t-reddit-value"
    record = render(("x", secret), "auth failed for %s with %s", [secret], exc=True)
    assert secret not in record.getMessage()
    assert secret not in (record.exc_text or "")
    assert "***" in record.getMessage()


def test_token_shapes_are_masked_even_when_not_ours() -> None:
    record = render((), "posting with xoxb-123-456-abcdef and Bearer abc.def-ghi", [])
    assert "xoxb-123" not in record.getMessage()
    assert "abc.def-ghi" not in record.getMessage()
