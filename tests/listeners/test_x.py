from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.query import QueryError, parse
from fakes.server import FakeServer, Response
from fakes.x import FakeX, post, snowflake
from listeners.base import Page
from listeners.errors import AuthError, MalformedResponse, NotConfigured, RateLimited
from listeners.http import HttpClient
from listeners.x import XListener, XSettings, compile_x
from tests.listeners.helpers import seconds_until

NOW = time.time()
TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid-test-bearer"
ENV = {"X_BEARER_TOKEN": TOKEN}


@pytest.fixture
def fake(server: FakeServer) -> FakeX:
    return FakeX(server, TOKEN)


def listener(
    fake: FakeX, http: HttpClient, env: dict[str, str] | None = None, **settings: object
) -> XListener:
    return XListener(
        XSettings(base_url=fake.base_url, **settings), http, ENV if env is None else env
    )


def run(lst: XListener, query: str, cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def texts(pages: list[Page]) -> list[str]:
    return [m.text for p in pages for m in p.mentions]


def since_id(cursor: str | None) -> str:
    assert cursor is not None
    return json.loads(cursor)["since_id"]


def start_time(value: str | None) -> datetime:
    assert value is not None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# ---- polling ---------------------------------------------------------------------------------


def test_pages_to_the_end_newest_first_with_the_cursor_on_the_last_page_only(
    fake: FakeX, http: HttpClient
) -> None:
    fake.posts = [post("acme launch 0", NOW - 3600)]
    lst = listener(fake, http, max_results=10)
    cursor = run(lst, "acme")[-1].cursor
    fake.posts += [post(f"acme launch {i}", NOW - 100 * i) for i in range(1, 26)]

    pages = run(lst, "acme", cursor)

    assert texts(pages) == [f"acme launch {i}" for i in range(1, 26)]
    assert [p.cursor is None for p in pages] == [True, True, False]
    assert since_id(pages[-1].cursor) == fake.posts[1].id  # the newest: "acme launch 1"
    sent = fake.searches[1:]
    assert [r.arg("next_token") is None for r in sent] == [True, False, False]
    assert {r.arg("since_id") for r in sent} == {fake.posts[0].id}
    first = sent[0]
    assert first.arg("query") == "acme"
    assert first.arg("max_results") == "10"
    assert first.arg("sort_order") == "recency"
    assert first.arg("start_time") is None
    assert first.arg("expansions") == "author_id"
    assert set(first.arg("tweet.fields", "").split(",")) >= {
        "created_at",
        "lang",
        "public_metrics",
        "conversation_id",
        "in_reply_to_user_id",
        "referenced_tweets",
    }
    assert first.arg("user.fields") == "username,public_metrics"


def test_the_first_poll_hears_only_the_newest_page(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [post(f"acme {i}", NOW - 10 * i) for i in range(30)]
    pages = run(listener(fake, http, max_results=10), "acme")
    assert texts(pages) == [f"acme {i}" for i in range(10)]
    assert len(fake.searches) == 1  # listening starts now; reads cost money on X
    assert fake.searches[0].arg("since_id") is None
    assert fake.searches[0].arg("start_time") is None
    assert since_id(pages[-1].cursor) == fake.posts[0].id


def test_a_post_becomes_a_mention(fake: FakeX, http: HttpClient) -> None:
    parent = post("what do you think of our app?", NOW - 500, username="acmehq")
    whole = "A long thread about tools. " * 12 + "In the end acme won."
    reply = post(
        "@acmehq your app is down",
        NOW - 10,
        username="bob",
        followers=5400,
        likes=3,
        retweets=2,
        replies=1,
        quotes=4,
        reply_to=parent.id,
    )
    long = post(whole[:270] + "…", NOW - 20, username="carol", lang="und", note=whole)
    fake.posts = [parent, reply, long]

    pages = run(listener(fake, http), "acme OR @acmehq")

    r, n = pages[-1].mentions
    assert r.network == "x" and r.native_id == reply.id
    assert r.url == f"https://x.com/bob/status/{reply.id}"
    assert (r.author, r.text, r.lang) == ("bob", "@acmehq your app is down", "en")
    assert r.created_at == datetime.fromisoformat(reply.tweet["created_at"])
    assert (r.metrics.likes, r.metrics.reposts, r.metrics.replies) == (3, 2, 1)
    assert r.metrics.followers == 5400
    assert r.in_reply_to == parent.id
    assert r.raw["public_metrics"]["quote_count"] == 4
    assert r.raw["author"]["username"] == "bob"
    assert n.text == whole  # the whole long post, not X's truncated `text`
    assert n.lang is None  # "und": X could not tell the language
    assert n.in_reply_to is None


def test_resuming_from_the_cursor_yields_only_what_is_new(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [post(f"acme {i}", NOW - 10 * i) for i in range(1, 4)]
    lst = listener(fake, http)
    cursor = run(lst, "acme")[-1].cursor

    again = run(lst, "acme", cursor)
    assert texts(again) == []
    assert fake.searches[-1].arg("since_id") == fake.posts[0].id
    assert again[-1].cursor == cursor

    fake.posts.append(post("acme new", NOW - 1))
    later = run(lst, "acme", again[-1].cursor)
    assert texts(later) == ["acme new"]
    assert texts(run(lst, "acme", later[-1].cursor)) == []


def test_an_unreadable_cursor_starts_over_instead_of_failing(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [post("acme", NOW - 5)]
    assert texts(run(listener(fake, http), "acme", "not json{")) == ["acme"]


def test_a_cursor_older_than_seven_days_resumes_at_the_edge_of_recent_search(
    fake: FakeX, http: HttpClient
) -> None:
    fake.posts = [post("acme today", NOW - 60), post("acme six days ago", NOW - 6 * 86400)]
    stale = json.dumps({"since_id": snowflake(NOW - 10 * 86400)})
    pages = run(listener(fake, http), "acme", stale)
    assert texts(pages) == ["acme today", "acme six days ago"]
    sent = fake.searches[0]
    assert sent.arg("since_id") is None  # X answers 400 to a since_id older than seven days
    edge = start_time(sent.arg("start_time"))
    assert timedelta(days=7) - timedelta(minutes=6) < datetime.now(UTC) - edge < timedelta(days=7)
    assert since_id(pages[-1].cursor) == fake.posts[0].id


# ---- the query -------------------------------------------------------------------------------


def test_the_query_compiles_to_x_operators() -> None:
    q = parse('("acme cloud" OR #acme OR @AcmeHQ) -jobs lang:en')
    assert compile_x(q) == ['("acme cloud" OR #acme OR @AcmeHQ) -jobs lang:en']
    # Punctuated words stay words, not X operators; a non-X handle is searched as a phrase.
    assert compile_x(parse("acme.com OR is:retweet OR @acme.bsky.social")) == [
        '"acme.com" OR "is:retweet" OR "acme.bsky.social"'
    ]
    # X cannot negate a group: -(a OR b) is written -a -b, -(a b) is left to the local check.
    assert compile_x(parse("acme -(jobs OR hiring) -(free trial)")) == ["acme -jobs -hiring"]
    assert compile_x(parse("acme"), retweets=False) == ["acme -is:retweet"]
    # AND binds tighter than OR on X: a suffix after an OR needs the OR in parentheses.
    assert compile_x(parse("(acme OR globex) lang:en"), retweets=False) == [
        "(acme OR globex) lang:en -is:retweet"
    ]


def test_exclusions_are_rechecked_locally(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [
        post("acme is great", NOW - 1),
        post("acme free trial now", NOW - 2),  # X cannot exclude "free AND trial"
        post("acme jobs board", NOW - 3),  # X excludes this one itself
        post("the acme trial ends today", NOW - 4),
        post("Acmé rocks", NOW - 5),  # X ignores accents; the brand has none
    ]
    pages = run(listener(fake, http), "acme -(free trial) -jobs")
    assert fake.searches[0].arg("query") == "acme -jobs"
    assert texts(pages) == ["acme is great", "the acme trial ends today"]


def test_a_query_longer_than_512_characters_is_split_into_searches_that_cover_it(
    fake: FakeX, http: HttpClient
) -> None:
    brands = [f"brandname{i:03d}" for i in range(80)]
    query = "(" + " OR ".join(brands) + ") lang:en"
    parts = compile_x(parse(query))
    assert len(parts) == 3
    assert all(len(p) <= 512 and p.startswith("(") and p.endswith(") lang:en") for p in parts)
    assert [w for p in parts for w in re.findall(r"brandname\d+", p)] == brands

    fake.posts = [
        post("brandname000 is here", NOW - 1),
        post("brandname079 too", NOW - 2),
        post("brandname001 and brandname078 together", NOW - 3),  # found by two searches
        post("brandname040 in French", NOW - 4, lang="fr"),
    ]
    pages = run(listener(fake, http), query)
    assert [r.arg("query") for r in fake.searches] == parts  # X would refuse a longer one
    assert sorted(texts(pages)) == [
        "brandname000 is here",
        "brandname001 and brandname078 together",
        "brandname079 too",
    ]
    assert [p.cursor is None for p in pages] == [True, True, False]


def test_a_long_or_inside_an_and_is_split_keeping_the_rest_of_the_and() -> None:
    outages = [f"outage{i:03d}" for i in range(60)]
    parts = compile_x(parse("acme (" + " OR ".join(outages) + ") -jobs"))
    assert len(parts) >= 2
    assert all(len(p) <= 512 for p in parts)
    assert all(p.startswith("acme (") and p.endswith(") -jobs") for p in parts)
    assert [w for p in parts for w in re.findall(r"outage\d+", p)] == outages


def test_exclusions_that_do_not_fit_are_dropped_and_still_enforced_locally(
    fake: FakeX, http: HttpClient
) -> None:
    spam = [f"spamword{i:03d}" for i in range(60)]
    query = "acme " + " ".join(f"-{s}" for s in spam)
    (sent,) = compile_x(parse(query))
    assert sent.startswith("acme ") and len(sent) <= 512
    dropped = [s for s in spam if f"-{s}" not in sent]
    assert dropped  # the search got wider...

    fake.posts = [post(f"acme {s}", NOW - i) for i, s in enumerate(spam, start=1)]
    fake.posts.append(post("acme is fine", NOW - 100))
    assert texts(run(listener(fake, http), query)) == ["acme is fine"]  # ...the check did not


def test_a_single_term_longer_than_the_limit_is_a_clear_error(
    fake: FakeX, http: HttpClient
) -> None:
    huge = '"' + " ".join(["word"] * 120) + '"'
    with pytest.raises(QueryError, match="512-character"):
        compile_x(parse(huge))
    with pytest.raises(NotConfigured, match="512-character"):
        run(listener(fake, http), huge)
    assert fake.searches == []


def test_retweets_can_be_left_out(fake: FakeX, http: HttpClient) -> None:
    original = post("acme launches rockets", NOW - 10)
    fake.posts = [
        original,
        post("RT @alice: acme launches rockets", NOW - 5, retweet_of=original.id),
        post("globex copies acme", NOW - 20),
    ]
    pages = run(listener(fake, http, retweets=False), "acme OR globex")
    assert fake.searches[0].arg("query") == "(acme OR globex) -is:retweet"
    assert texts(pages) == ["acme launches rockets", "globex copies acme"]


def test_a_retweet_says_whose_post_it_repeats(fake: FakeX, http: HttpClient) -> None:
    """X marks retweets in referenced_tweets: the mention names the author it repeats, so
    storage groups it under that post (a quote, with words added, is its own post)."""
    original = post("acme launches rockets", NOW - 10)
    fake.posts = [
        original,
        post("RT @alice: acme launches rockets", NOW - 5, retweet_of=original.id),
        post("RT @bob: acme launches rockets, not a retweet flag", NOW - 4),
    ]
    by_text = {m.text: m for p in run(listener(fake, http), "acme") for m in p.mentions}
    assert by_text["RT @alice: acme launches rockets"].repost_of == "alice"
    assert by_text["acme launches rockets"].repost_of is None
    assert by_text["RT @bob: acme launches rockets, not a retweet flag"].repost_of is None


# ---- limits and refusals ---------------------------------------------------------------------


def test_a_429_is_rate_limited_until_the_reset_epoch(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [post("acme", NOW - 5)]
    fake.remaining = 0
    with pytest.raises(RateLimited) as info:
        run(listener(fake, http), "acme")
    assert info.value.until == datetime.fromtimestamp(fake.reset, UTC)
    assert len(fake.searches) == 1


def test_a_budget_spent_mid_way_stops_before_sending_and_keeps_the_cursor(
    fake: FakeX, http: HttpClient
) -> None:
    fake.posts = [post("acme 0", NOW - 3600)]
    lst = listener(fake, http, max_results=10)
    cursor = run(lst, "acme")[-1].cursor
    fake.posts += [post(f"acme {i}", NOW - 10 * i) for i in range(1, 31)]
    fake.remaining = 2  # two pages, then x-rate-limit-remaining: 0

    pages: list[Page] = []
    with pytest.raises(RateLimited) as info:
        for page in lst.search(parse("acme"), cursor):
            pages.append(page)

    assert len(texts(pages)) == 20
    assert all(p.cursor is None for p in pages)  # the stored cursor stays where it was
    assert info.value.until == datetime.fromtimestamp(fake.reset, UTC)
    assert len(fake.searches) == 3  # the first poll, two pages, and no third request


def test_a_spent_monthly_cap_waits_longer_than_the_window(fake: FakeX, http: HttpClient) -> None:
    fake.usage_capped = True
    with pytest.raises(RateLimited, match="cap is used up") as info:
        run(listener(fake, http), "acme")
    assert seconds_until(info.value.until) > 3500


def test_a_revoked_token_is_an_auth_error_without_retries(fake: FakeX, http: HttpClient) -> None:
    revoked = {"X_BEARER_TOKEN": "AAAA-revoked-token"}
    with pytest.raises(AuthError, match="wrong or was revoked") as info:
        run(listener(fake, http, env=revoked), "acme")
    assert "X_BEARER_TOKEN" in str(info.value)
    assert "revoked-token" not in str(info.value)
    assert len(fake.searches) == 1


def test_an_app_without_search_access_is_an_auth_error(fake: FakeX, http: HttpClient) -> None:
    fake.enrolled = False
    with pytest.raises(AuthError, match="client-not-enrolled") as info:
        run(listener(fake, http), "acme")
    assert "attach the app to a Project" in str(info.value)
    assert TOKEN not in str(info.value)
    assert len(fake.searches) == 1


def test_spent_credits_are_an_auth_error(fake: FakeX, http: HttpClient) -> None:
    fake.credits = False
    with pytest.raises(AuthError, match="no credits left"):
        run(listener(fake, http), "acme")
    assert len(fake.searches) == 1


def test_a_missing_token_says_how_to_get_one(fake: FakeX, http: HttpClient) -> None:
    with pytest.raises(NotConfigured, match=r"set X_BEARER_TOKEN.*Keys and tokens"):
        run(listener(fake, http, env={}), "acme")
    assert fake.searches == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>upstream connect error</html>", "not JSON"),
        (json.dumps({"data": []}), "meta"),
        # (a tweet without created_at is dated by its Snowflake id: tests/faults/)
        (json.dumps({"data": [{"id": "1"}], "meta": {"result_count": 1}}), "text"),
        (
            json.dumps(
                {
                    "data": [{"id": "x1", "text": "acme", "created_at": "2024-05-01T00:00:00Z"}],
                    "meta": {"result_count": 1},
                }
            ),
            "id",
        ),
    ],
)
def test_malformed_response(fake: FakeX, http: HttpClient, body: str, message: str) -> None:
    fake.script = [Response(200, body, {"Content-Type": "application/json"})]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(fake, http), "acme")


def test_an_empty_result_keeps_the_cursor(fake: FakeX, http: HttpClient) -> None:
    pages = run(listener(fake, http), "acme")
    assert texts(pages) == []
    assert pages[-1].cursor is None


# ---- backfill, base_url, check, settings -----------------------------------------------------


def test_backfill_reads_every_page_back_to_since(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [post(f"acme {i}", NOW - 600 * i) for i in range(1, 31)]  # 5 hours
    lst = listener(fake, http, max_results=10)
    since = datetime.fromtimestamp(NOW - 3 * 3600 - 60, UTC)

    pages = run(lst, "acme", lst.backfill_cursor(since))

    assert texts(pages) == [f"acme {i}" for i in range(1, 19)]
    assert start_time(fake.searches[0].arg("start_time")) == since.replace(microsecond=0)
    assert fake.searches[0].arg("since_id") is None
    assert texts(run(lst, "acme", pages[-1].cursor)) == []
    assert fake.searches[-1].arg("since_id") == fake.posts[0].id


def test_backfill_reaches_back_at_most_seven_days(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [post("acme six days ago", NOW - 6 * 86400)]
    lst = listener(fake, http)
    pages = run(lst, "acme", lst.backfill_cursor(datetime.now(UTC) - timedelta(days=30)))
    assert texts(pages) == ["acme six days ago"]
    edge = start_time(fake.searches[0].arg("start_time"))
    assert datetime.now(UTC) - edge < timedelta(days=7)


def test_base_url_and_the_shared_http_layer_are_used(server: FakeServer, http: HttpClient) -> None:
    assert XListener.default_base_url == "https://api.x.com"
    fake = FakeX(server, TOKEN, prefix="/proxy/x")
    fake.posts = [post("acme", NOW - 5)]
    assert texts(run(listener(fake, http), "acme")) == ["acme"]
    (sent,) = fake.searches
    assert sent.path == "/proxy/x/2/tweets/search/recent"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["user-agent"].startswith("listenpost/")  # not tweepy's own session


def test_check_searches_an_empty_minute(fake: FakeX, http: HttpClient) -> None:
    fake.posts = [post("an old post", NOW - 3600, username="XDevelopers")]
    assert listener(fake, http).check().endswith("recent search answered; 449 of 450 requests left")
    (sent,) = fake.searches
    assert sent.arg("query") == "from:XDevelopers"
    window = start_time(sent.arg("end_time")) - start_time(sent.arg("start_time"))
    assert window == timedelta(minutes=1)


def test_settings_bounds() -> None:
    assert XSettings().max_results == 100 and XSettings().max_query_length == 512
    with pytest.raises(ValidationError):
        XSettings(max_results=5)
    with pytest.raises(ValidationError):
        XSettings(max_results=500)
    with pytest.raises(ValidationError):
        XSettings(bearer_token="secrets come from the environment")


def test_doctor_is_told_when_a_long_query_is_split(http: HttpClient) -> None:
    listener = XListener(XSettings(), http, {"X_BEARER_TOKEN": "t"})
    assert listener.query_note(parse("acme -hiring")) is None
    long_query = " OR ".join(f'"acme product number {i}"' for i in range(40))
    note = listener.query_note(parse(long_query))
    assert note is not None and note.startswith("query split into ")
    assert "512-character limit" in note
