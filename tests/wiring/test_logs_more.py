"""Secrets are masked in the forms they take inside URLs, too."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

import pytest

from core.secrets import RedactSecrets

KEY = "U4DMV*8nvpm3EOpvf69Rxw(("


@pytest.mark.parametrize("form", [KEY, quote(KEY, safe=""), quote_plus(KEY), "a b/c+d=e&f"])
def test_url_encoded_secrets_are_masked(form: str) -> None:
    secret = KEY if form != "a b/c+d=e&f" else form
    for shown in {form, quote(secret, safe=""), quote_plus(secret)}:
        msg = f"GET https://api.example/2.3/search?key={shown}&site=so failed"
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, msg, None, None)
        RedactSecrets([secret]).filter(record)
        assert shown not in record.getMessage()
        assert "key=***&site" in record.getMessage()


def test_stack_exchange_key_in_a_url_is_masked() -> None:
    msg = "GET https://api.stackexchange.com/2.3/search?key=U4DMV%2A8nvpm3EOpvf69Rxw%28%28 -> 400"
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, msg, None, None)
    RedactSecrets([KEY]).filter(record)
    assert "U4DMV" not in record.getMessage()
