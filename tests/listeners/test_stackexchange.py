from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.server import FakeServer, Response
from fakes.stackexchange import (
    KEY,
    SECONDS_TO_QUOTA_RESET,
    FakeStackExchange,
    api_error,
    gzipped,
    question,
)
from listeners.base import Page
from listeners.errors import AuthError, ListenerError, MalformedResponse, RateLimited
from listeners.http import HttpClient
from listeners.stackexchange import (
    StackExchangeListener,
    StackExchangeSettings,
    compile_stackexchange,
)
from listeners.watermark import OVERLAP_SECONDS
from tests.listeners.helpers import ids, seconds_until

NOW = int(time.time())
HOUR = 3600


@pytest.fixture
def se(server: FakeServer) -> FakeStackExchange:
    return FakeStackExchange(server)


def listener(
    se: FakeStackExchange, http: HttpClient, env: dict[str, str] | None = None, **settings: object
) -> StackExchangeListener:
    options = StackExchangeSettings(base_url=se.base_url, **settings)
    return StackExchangeListener(options, http, env=env or {})


def run(lst: StackExchangeListener, query: str = "acme", cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def collect(
    lst: StackExchangeListener, cursor: str | None = None
) -> tuple[list[Page], Exception | None]:
    pages: list[Page] = []
    try:
        for page in lst.search(parse("acme"), cursor):
            pages.append(page)
    except Exception as exc:
        return pages, exc
    return pages, None


def since(seconds_ago: int) -> datetime:
    return datetime.fromtimestamp(NOW - seconds_ago, UTC)


def test_first_run_hears_the_newest_page_only_then_pages_to_the_end_from_a_cursor(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [
        question(100 + i, NOW - 60 * i, f"Acme question {i}") for i in range(1, 8)
    ]
    lst = listener(se, http, pagesize=3)
    first = run(lst)
    # A first run hears from now on: the newest page, not the site's whole history.
    assert ids(first) == ["stackoverflow:101", "stackoverflow:102", "stackoverflow:103"]
    assert first[-1].cursor is not None
    sent = se.searches[0]
    assert (sent.arg("site"), sent.arg("q"), sent.arg("filter")) == (
        "stackoverflow",
        "acme",
        "withbody",
    )
    assert (sent.arg("sort"), sent.arg("order"), sent.arg("page"), sent.arg("pagesize")) == (
        "creation",
        "desc",
        "1",
        "3",
    )
    assert sent.arg("fromdate") is None

    pages = run(lst, cursor=lst.backfill_cursor(since(HOUR)))
    assert ids(pages) == [f"stackoverflow:{100 + i}" for i in range(1, 8)]
    assert [p.cursor is None for p in pages] == [True, True, False]
    assert [r.arg("page") for r in se.searches[1:]] == ["1", "2", "3"]


def test_questions_become_mentions_with_html_decoded(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [
        question(
            4242,
            NOW - 30,
            'Why does Acme say "quota exceeded" & fail?',
            "<p>Since <code>AT&amp;T</code> moved to Acme,<br>uploads fail.</p><pre>Error 42</pre>",
            tags=["acme", "upload"],
            owner="Zoë O'Brien",
            reputation=1234,
            score=7,
            answer_count=2,
            view_count=99,
        )
    ]
    (mention,) = [m for p in run(listener(se, http)) for m in p.mentions]
    assert mention.network == "stackexchange"
    assert mention.native_id == "stackoverflow:4242"
    assert mention.url.startswith("https://stackoverflow.com/questions/4242/")
    assert mention.title == 'Why does Acme say "quota exceeded" & fail?'
    assert mention.text == "Since AT&T moved to Acme,\nuploads fail.\n\nError 42"
    assert mention.author == "Zoë O'Brien"
    assert mention.created_at == datetime.fromtimestamp(NOW - 30, UTC)
    assert (mention.metrics.likes, mention.metrics.replies) == (7, 2)
    assert mention.raw["site"] == "stackoverflow"
    assert mention.raw["tags"] == ["acme", "upload"]
    assert (mention.raw["view_count"], mention.raw["owner"]["reputation"]) == (99, 1234)


def test_a_deleted_author_and_a_missing_body_still_make_a_mention(
    se: FakeStackExchange, http: HttpClient
) -> None:
    q = question(7, NOW, "Acme & friends", owner=None)
    del q["body"]
    se.script = [gzipped({"items": [q], "has_more": False, "quota_max": 300})]
    (mention,) = [m for p in run(listener(se, http)) for m in p.mentions]
    assert (mention.author, mention.text) == ("user123", "Acme & friends")


def test_resuming_from_the_cursor_yields_only_what_is_new(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [question(i, NOW - 10 * i, f"acme {i}") for i in range(1, 4)]
    lst = listener(se, http)
    first = run(lst)
    assert ids(first) == ["stackoverflow:1", "stackoverflow:2", "stackoverflow:3"]

    again = run(lst, cursor=first[-1].cursor)
    assert ids(again) == []
    assert again[-1].cursor is not None
    assert se.searches[-1].arg("fromdate") == str(NOW - 10 - OVERLAP_SECONDS)

    # A new question, and one indexed late (older than the newest seen): both heard, once.
    se.questions["stackoverflow"] += [
        question(7, NOW + 5, "acme new"),
        question(8, NOW - 15, "acme late"),
    ]
    later = run(lst, cursor=again[-1].cursor)
    assert ids(later) == ["stackoverflow:7", "stackoverflow:8"]
    assert ids(run(lst, cursor=later[-1].cursor)) == []


def test_each_site_is_searched_and_keeps_its_own_watermark(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [question(1, NOW - 5, "acme on SO")]
    se.questions["superuser"] = [question(1, NOW - 500, "acme on SU", site="superuser")]
    lst = listener(se, http, sites=["stackoverflow", "superuser"])
    pages = run(lst)
    # Same question id on two sites: two different questions.
    assert ids(pages) == ["stackoverflow:1", "superuser:1"]
    assert [r.arg("site") for r in se.searches] == ["stackoverflow", "superuser"]
    # Each site's page carries the cursor that covers the sites finished so far.
    assert [p.cursor is None for p in pages] == [False, False]

    run(lst, cursor=pages[-1].cursor)
    assert se.searches[-2].arg("fromdate") == str(NOW - 5 - OVERLAP_SECONDS)
    assert se.searches[-1].arg("fromdate") == str(NOW - 500 - OVERLAP_SECONDS)


def test_a_throttle_on_the_second_site_keeps_what_the_first_committed(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [question(1, NOW - 5, "acme on SO")]
    se.questions["superuser"] = [question(2, NOW - 5, "acme on SU", site="superuser")]
    lst = listener(se, http, sites=["stackoverflow", "superuser"])
    se.script = [None, api_error(502, "throttle_violation", "too many requests from this IP")]
    pages, error = collect(lst)
    assert isinstance(error, RateLimited)
    assert ids(pages) == ["stackoverflow:1"]
    committed = pages[-1].cursor
    assert committed is not None
    # Next cycle (a fresh client: the throttle blocked this one's host for minutes): Stack
    # Overflow resumes from its watermark, Super User from scratch.
    with HttpClient(timeout=0.5, retries=0) as later_http:
        later = run(
            listener(se, later_http, sites=["stackoverflow", "superuser"]), cursor=committed
        )
    assert ids(later) == ["superuser:2"]
    assert se.searches[-2].arg("fromdate") is not None
    assert se.searches[-1].arg("fromdate") is None


def test_backoff_lets_the_page_through_then_refuses_the_next_call_before_sending(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [question(i, NOW - i, f"acme {i}") for i in range(1, 6)]
    se.backoff = 120
    lst = listener(se, http, pagesize=2)
    pages, error = collect(lst, lst.backfill_cursor(since(HOUR)))
    assert ids(pages) == ["stackoverflow:1", "stackoverflow:2"]
    assert all(p.cursor is None for p in pages)
    assert isinstance(error, RateLimited)
    assert 115 < seconds_until(error.until) <= 120
    # The second page was never requested, so the API never saw the backoff violated.
    assert len(se.searches) == 1
    # Any brand's next search waits too, without a request.
    with pytest.raises(RateLimited):
        run(lst)
    assert len(se.searches) == 1


def test_throttle_violation_waits_as_long_as_the_api_says(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [question(i, NOW - i, f"acme {i}") for i in range(1, 4)]
    se.quota_remaining[False] = 1
    lst = listener(se, http, pagesize=1)
    pages, error = collect(lst, lst.backfill_cursor(since(HOUR)))
    assert ids(pages) == ["stackoverflow:1"]
    assert all(p.cursor is None for p in pages)
    assert isinstance(error, RateLimited)
    assert "throttle_violation" in str(error)
    assert SECONDS_TO_QUOTA_RESET - 5 < seconds_until(error.until) <= SECONDS_TO_QUOTA_RESET
    assert len(se.searches) == 2  # refused once, not retried


def test_a_key_from_the_environment_raises_the_quota_and_is_never_shown(
    se: FakeStackExchange, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    se.questions["stackoverflow"] = [question(1, NOW, "acme")]
    lst = listener(se, http, env={"STACKEXCHANGE_KEY": KEY})
    assert ids(run(lst)) == ["stackoverflow:1"]
    assert se.searches[0].arg("key") == KEY
    report = lst.check()
    assert "9998 of 10000 requests left today" in report  # the search, then the check
    assert "stackapps.com" not in report  # no advice to get the key it already has

    wrong = listener(se, http, env={"STACKEXCHANGE_KEY": "not-the-key"})
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(AuthError, match="STACKEXCHANGE_KEY") as info,
    ):
        run(wrong)
    assert "not-the-key" not in str(info.value)
    # httpx logs URLs itself (listenpost.logs scrubs those); our own lines never carry the key.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("listeners")]
    assert not any("not-the-key" in line for line in ours)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (api_error(403, "access_denied", "page above 25 requires access token or app key"), "403"),
        (api_error(405, "key_required", "a key is required"), "key_required"),
        (Response(403, "<html>Forbidden</html>", {"Content-Type": "text/html"}), "HTTP 403"),
        (Response(401, "", {}), "HTTP 401"),
    ],
)
def test_access_refusals_are_auth_errors_without_retries(
    se: FakeStackExchange, http: HttpClient, answer: Response, message: str
) -> None:
    se.script = [answer]
    with pytest.raises(AuthError, match=message) as info:
        run(listener(se, http))
    assert str(info.value).startswith("stackexchange")
    assert len(se.searches) == 1


def test_an_unknown_site_is_a_clear_error(se: FakeStackExchange, http: HttpClient) -> None:
    with pytest.raises(ListenerError, match="No site found for name `mathoverflow`"):
        run(listener(se, http, sites=["mathoverflow"]))


def test_without_a_key_paging_stops_at_page_25(
    se: FakeStackExchange, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    se.questions["stackoverflow"] = [question(i, NOW - i, f"acme {i}") for i in range(1, 31)]
    lst = listener(se, http, pagesize=1)
    with caplog.at_level(logging.WARNING):
        pages = run(lst, cursor=lst.backfill_cursor(since(HOUR)))
    assert len(ids(pages)) == 25
    assert pages[-1].cursor is not None
    assert "STACKEXCHANGE_KEY" in caplog.text


def test_a_low_quota_is_warned_about_once_a_search(
    se: FakeStackExchange, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    se.questions["stackoverflow"] = [question(i, NOW - i, f"acme {i}") for i in range(1, 4)]
    se.quota_remaining[False] = 20
    lst = listener(se, http, pagesize=1)
    with caplog.at_level(logging.WARNING):
        run(lst, cursor=lst.backfill_cursor(since(HOUR)))
    warnings = [r for r in caplog.records if "requests left today" in r.getMessage()]
    assert len(warnings) == 1
    assert "19 of 300 requests left today" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Response(200, "<html>Bad gateway</html>", {"Content-Type": "text/html"}), "not JSON"),
        (gzipped({"items": [{"question_id": 1}], "has_more": False}), "creation_date"),
        (gzipped({"quota_max": 300, "quota_remaining": 299}), "items"),
    ],
)
def test_malformed_response(
    se: FakeStackExchange, http: HttpClient, answer: Response, message: str
) -> None:
    se.script = [answer]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(se, http))


def test_exclusions_and_phrases_are_rechecked_locally(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [
        question(1, NOW - 1, "The Acme Cloud SDK times out"),
        question(2, NOW - 2, "Acme Cloud jobs in Berlin"),  # excluded word
        question(3, NOW - 3, "Cloud pricing at Acme"),  # the words, not the phrase
    ]
    pages = run(listener(se, http), '"acme cloud" -jobs')
    assert ids(pages) == ["stackoverflow:1"]
    assert se.searches[0].arg("q") == "acme cloud"  # asked widely, checked exactly


def test_or_runs_one_search_per_alternative_and_dedupes(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [
        question(1, NOW - 1, "acme vs globex"),
        question(2, NOW - 2, "globex sdk"),
        question(3, NOW - 3, "acme sdk"),
    ]
    pages = run(listener(se, http), "acme OR globex")
    assert sorted(ids(pages)) == ["stackoverflow:1", "stackoverflow:2", "stackoverflow:3"]
    assert [r.arg("q") for r in se.searches] == ["acme", "globex"]
    assert [p.cursor is None for p in pages] == [True, False]


def test_search_in_title_asks_the_title_and_checks_only_the_title(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [
        question(1, NOW - 1, "Acme login loop", "<p>help</p>"),
        question(2, NOW - 2, "Login loop", "<p>acme acme</p>"),
    ]
    se.script = [
        gzipped({"items": se.questions["stackoverflow"], "has_more": False, "quota_max": 300})
    ]
    pages = run(listener(se, http, search_in="title"))
    assert ids(pages) == ["stackoverflow:1"]
    assert se.searches[0].arg("title") == "acme"
    assert se.searches[0].arg("q") is None


def test_compiled_searches() -> None:
    assert compile_stackexchange(parse('"acme cloud" #acme @acmehq -jobs')) == ["acme cloud acmehq"]
    assert compile_stackexchange(parse("(acme OR globex) outage")) == [
        "acme outage",
        "globex outage",
    ]


def test_check_reports_the_quota_and_how_to_raise_it(
    se: FakeStackExchange, http: HttpClient
) -> None:
    report = listener(se, http).check()
    assert "299 of 300 requests left today" in report
    assert "STACKEXCHANGE_KEY" in report


def test_backfill_cursor_reads_history_back_to_since(
    se: FakeStackExchange, http: HttpClient
) -> None:
    se.questions["stackoverflow"] = [question(i, NOW - HOUR * i, f"acme {i}") for i in range(1, 6)]
    lst = listener(se, http)
    start = since(3 * HOUR + 60)
    pages = run(lst, cursor=lst.backfill_cursor(start))
    assert ids(pages) == ["stackoverflow:1", "stackoverflow:2", "stackoverflow:3"]
    assert se.searches[0].arg("fromdate") == str(int(start.timestamp()))
    assert ids(run(lst, cursor=pages[-1].cursor)) == []


def test_an_unreadable_cursor_starts_over(se: FakeStackExchange, http: HttpClient) -> None:
    se.questions["stackoverflow"] = [question(1, NOW, "acme")]
    assert ids(run(listener(se, http), cursor="not json{")) == ["stackoverflow:1"]
    assert ids(run(listener(se, http), cursor=json.dumps([1, 2]))) == ["stackoverflow:1"]


def test_settings_validate_sites_and_page_size() -> None:
    assert StackExchangeSettings(sites=[" SuperUser "]).sites == ["superuser"]
    assert StackExchangeSettings().interval.total_seconds() == 15 * 60
    with pytest.raises(ValidationError, match="not a Stack Exchange site"):
        StackExchangeSettings(sites=["stack overflow"])
    with pytest.raises(ValidationError):
        StackExchangeSettings(sites=[])
    with pytest.raises(ValidationError):
        StackExchangeSettings(pagesize=101)
    with pytest.raises(ValidationError):
        StackExchangeSettings(search_in="tags")
