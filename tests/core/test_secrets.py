"""The redactor knows each secret in the forms a server may echo it back (issue 15, item 8)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from core.secrets import MASK, RedactSecrets, secrets_from

ENV = {"REDDIT_CLIENT_ID": "lp-app-id_42", "REDDIT_CLIENT_SECRET": "s3cr3t/with+plus=and*star"}
PAIR = f"{ENV['REDDIT_CLIENT_ID']}:{ENV['REDDIT_CLIENT_SECRET']}"


def test_the_basic_auth_pair_is_masked_decoded_and_base64_encoded() -> None:
    redactor = RedactSecrets(secrets_from(ENV))
    b64 = base64.b64encode(PAIR.encode()).decode()
    for echoed in (
        f"basic={PAIR}",
        f"Authorization: Basic {b64}",
        f"token={base64.urlsafe_b64encode(PAIR.encode()).decode()}",
        f"unpadded {b64.rstrip('=')}",
    ):
        shown = redactor.redact(echoed)
        assert MASK in shown, echoed
        assert all(part not in shown for part in (*ENV.values(), b64.rstrip("="))), shown


def test_url_encoded_and_json_escaped_forms_are_masked() -> None:
    secret = ENV["REDDIT_CLIENT_SECRET"]
    redactor = RedactSecrets(secrets_from(ENV))
    for form in (quote(secret, safe=""), quote_plus(secret), json.dumps('a"b\\c' + secret)[1:-1]):
        assert "s3cr3t" not in redactor.redact(f"client_secret={form}"), form
    quoted = RedactSecrets(['a"b\\c-secret'])
    assert quoted.redact(json.dumps({"echo": 'a"b\\c-secret'})) == f'{{"echo": "{MASK}"}}'


def test_other_text_is_left_alone() -> None:
    text = "reddit answered HTTP 401 Unauthorized: invalid_client"
    assert RedactSecrets(secrets_from(ENV)).redact(text) == text
