from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.mastodon import FakeMastodon, boost, status, tagged
from fakes.server import FakeServer, Response
from listeners.base import Page
from listeners.errors import AuthError, ListenerError, MalformedResponse, NotConfigured, RateLimited
from listeners.http import HttpClient
from listeners.mastodon import (
    MastodonListener,
    MastodonSettings,
    Status,
    compile_mastodon,
    excluded_tags,
    link_id,
    snowflake_at,
    timeline_tags,
    to_mention,
)
from tests.listeners.helpers import seconds_until

NOW = time.time()
TOKEN = "tok-3f9a"


@pytest.fixture
def masto(server: FakeServer) -> FakeMastodon:
    fake = FakeMastodon(server, token=TOKEN)
    fake.serve_tags("acme")
    return fake


def listener(
    fake: FakeMastodon, http: HttpClient, env: dict[str, str] | None = None, **settings: object
) -> MastodonListener:
    return MastodonListener(MastodonSettings(base_url=fake.base_url, **settings), http, env or {})


def run(lst: MastodonListener, query: str, cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def texts(pages: list[Page]) -> list[str]:
    return [m.text for p in pages for m in p.mentions]


def last_cursor(pages: list[Page]) -> str:
    cursors = [p.cursor for p in pages if p.cursor is not None]
    assert cursors, "no page carried a cursor"
    return cursors[-1]


def acme(n: int, at: float, **kw: object) -> dict:
    return status(at, tagged(f"acme post {n}", "acme"), tags=["acme"], **kw)  # type: ignore[arg-type]


def test_first_poll_hears_the_newest_page_then_pages_forward_to_the_end(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.add(*(acme(i, NOW - 600 + i) for i in range(1, 4)))
    lst = listener(masto, http, limit=2)
    first = run(lst, "acme")
    assert texts(first) == ["acme post 3 #acme", "acme post 2 #acme"]  # newest page only
    assert masto.timeline_requests[0].query == {"limit": ["2"]}

    masto.add(*(acme(i, NOW - 300 + i) for i in range(4, 9)))  # five new, limit 2
    pages = run(lst, "acme", last_cursor(first))
    heard = texts(pages)
    assert sorted(heard) == sorted(f"acme post {i} #acme" for i in range(4, 9))
    assert all(p.cursor is not None for p in pages)  # read oldest first: every page is safe
    sent = masto.timeline_requests[1:]
    # Each page starts where the previous page's rel="prev" Link said newer posts begin.
    for before, after in itertools.pairwise(sent):
        assert after.arg("min_id") is not None and after.arg("min_id") != before.arg("min_id")
    assert sent[-1].arg("min_id") == max(
        (s["id"] for s in masto.statuses), key=lambda i: (len(i), i)
    )


def test_any_and_none_are_sent_on_every_page_though_links_drop_them(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.serve_tags("acmecloud", "globex")
    masto.add(
        status(NOW - 500, tagged("first", "acme"), tags=["acme"]),
        status(NOW - 400, tagged("cloud news", "acmecloud"), tags=["acmecloud"]),
        status(NOW - 300, tagged("acme is hiring", "acme", "hiring"), tags=["acme", "hiring"]),
    )
    lst = listener(masto, http, limit=1)
    query = '(#acme OR "acme cloud") -#hiring'
    cursor = last_cursor(run(lst, query))
    masto.add(
        status(NOW - 200, tagged("acme outage", "acme"), tags=["acme"]),
        status(NOW - 100, tagged("acme cloud down", "acmecloud"), tags=["acmecloud"]),
    )
    pages = run(lst, query, cursor)
    assert sorted(texts(pages)) == ["acme cloud down #acmecloud", "acme outage #acme"]
    forward = [r for r in masto.timeline_requests if r.arg("min_id")]
    assert len(forward) >= 2
    assert all(r.path.endswith("/acme") for r in forward)
    assert all(r.query["any[]"] == ["acmecloud"] for r in forward)
    assert all(r.query["none[]"] == ["hiring"] for r in forward)


def test_link_header_ids_are_read_as_mastodon_documents_them() -> None:
    link = (
        '<https://mastodon.example/api/v1/timelines/tag/acme?max_id=7163058>; rel="next", '
        '<https://mastodon.example/api/v1/timelines/tag/acme?min_id=7275607>; rel="prev"'
    )
    response = httpx.Response(200, headers={"Link": link})
    assert link_id(response, "next", "max_id") == "7163058"
    assert link_id(response, "prev", "min_id") == "7275607"
    assert link_id(httpx.Response(200), "prev", "min_id") is None


def test_query_becomes_hashtags_and_search_terms() -> None:
    query = parse('(acme OR "acme cloud" OR @acmehq) #launch -#hiring -jobs')
    assert timeline_tags(query) == ["launch"]  # every alternative has #launch: one timeline
    assert excluded_tags(query) == ["hiring"]
    assert timeline_tags(parse('acme OR "acme cloud" OR @acmehq')) == ["acme", "acmecloud"]
    assert compile_mastodon(parse('acme OR "acme cloud" -jobs')) == ["acme", '"acme cloud"']
    assert compile_mastodon(parse("c++ #acme")) == ['"c++" acme']


def test_resuming_hears_only_new_posts_and_late_federated_ones_once(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.add(acme(1, NOW - 120), acme(2, NOW - 60))
    lst = listener(masto, http)
    first = run(lst, "acme")
    assert len(texts(first)) == 2
    again = run(lst, "acme", last_cursor(first))
    assert texts(again) == []

    # A new post, and a remote post written 90 s ago that federated only now: Mastodon gives it
    # an id from its creation time, behind the newest id already read.
    masto.add(acme(3, NOW), acme(4, NOW - 90, domain="fosstodon.org"))
    cursor = last_cursor(again) if any(p.cursor for p in again) else last_cursor(first)
    later = run(lst, "acme", cursor)
    assert sorted(texts(later)) == ["acme post 3 #acme", "acme post 4 #acme"]
    assert texts(run(lst, "acme", last_cursor(later))) == []


def test_rate_limit_names_mastodons_iso_reset_and_the_committed_cursor_resumes(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.add(acme(0, NOW - 900))
    lst = listener(masto, http, limit=2)
    cursor = last_cursor(run(lst, "acme"))
    masto.add(*(acme(i, NOW - 300 + i) for i in range(1, 6)))
    masto.reset_at = datetime.now(UTC) + timedelta(minutes=4)
    masto.remaining = 1  # one more page, then 429
    pages: list[Page] = []
    with pytest.raises(RateLimited) as info:
        for page in lst.search(parse("acme"), cursor):
            pages.append(page)
    assert 235 < seconds_until(info.value.until) <= 240
    assert len(texts(pages)) == 2

    # Later (a new process, or after `until`), from the cursor committed before the 429:
    masto.remaining = 300
    with HttpClient(timeout=0.5, retries=0) as later:
        resumed = run(listener(masto, later, limit=2), "acme", last_cursor(pages))
    assert sorted(texts(pages) + texts(resumed)) == sorted(
        f"acme post {i} #acme" for i in range(1, 6)
    )


def test_anonymous_refusal_is_an_auth_error_without_retries(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.public_feeds = False
    with pytest.raises(AuthError, match=r"HTTP 401.*requires sign-in"):
        run(listener(masto, http), "acme")
    assert len(masto.timeline_requests) == 1


def test_a_refused_token_is_an_auth_error_naming_the_variable(
    masto: FakeMastodon, http: HttpClient
) -> None:
    with pytest.raises(AuthError, match="MASTODON_ACCESS_TOKEN was refused") as info:
        run(listener(masto, http, env={"MASTODON_ACCESS_TOKEN": "revoked"}), "acme")
    assert "revoked" not in str(info.value)
    assert len(masto.server.requests) == 2  # one timeline, one search: no retry loop


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Bad gateway</html>", "not JSON"),
        (json.dumps([{"id": "1", "created_at": "2024-01-01T00:00:00Z"}]), "uri"),
        (json.dumps({"error": "Record not found"}), "list"),
    ],
)
def test_malformed_response(masto: FakeMastodon, http: HttpClient, body: str, message: str) -> None:
    masto.script = [Response(200, body, {"Content-Type": "application/json"})]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(masto, http), "acme")


def test_exclusions_and_language_are_rechecked_locally(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.add(
        status(NOW - 3, tagged("Acme support rocks", "acme"), tags=["acme"]),
        status(NOW - 2, tagged("Acme jobs fair", "acme"), tags=["acme"]),
        status(NOW - 1, tagged("Acme est super", "acme"), tags=["acme"], language="fr"),
    )
    pages = run(listener(masto, http), "acme -jobs lang:en")
    assert texts(pages) == ["Acme support rocks #acme"]
    assert "none[]" not in masto.timeline_requests[0].query  # a word exclusion stays local


def test_status_fields_become_a_mention(masto: FakeMastodon, http: HttpClient) -> None:
    masto.add(
        status(
            1_700_000_000,
            '<p>Is <a href="https://acme.com/x"><span class="invisible">https://</span>'
            '<span class="">acme.com/x</span></a> down? #<span>acme</span></p>',
            tags=["acme"],
            acct="carol",
            domain="fosstodon.org",
            spoiler_text="outage talk",
            followers=1200,
            favourites=3,
            reblogs=2,
            replies=1,
            in_reply_to_id="99",
        )
    )
    (m,) = [m for p in run(listener(masto, http), "acme") for m in p.mentions]
    assert m.native_id.startswith("https://fosstodon.org/users/carol/statuses/")
    assert m.url.startswith("https://fosstodon.org/@carol/")
    assert (m.author, m.title, m.lang) == ("carol@fosstodon.org", "outage talk", "en")
    assert m.text == "Is https://acme.com/x down? #acme"
    assert (m.metrics.followers, m.metrics.likes, m.metrics.reposts, m.metrics.replies) == (
        1200,
        3,
        2,
        1,
    )
    assert m.created_at == datetime.fromtimestamp(1_700_000_000, UTC)
    assert m.in_reply_to == "99"
    json.dumps(m.raw)  # storable as JSON


def test_a_boost_is_heard_as_the_post_it_boosts() -> None:
    original = status(NOW - 60, tagged("acme rocks", "acme"), tags=["acme"], acct="dave")
    m = to_mention(Status.model_validate(boost(original, NOW)), "https://mastodon.social")
    assert (m.author, m.text) == ("dave@mastodon.social", "acme rocks #acme")
    assert m.native_id == original["uri"]


def test_several_instances_hear_a_federated_post_once_and_only_home_gets_the_token(
    server: FakeServer, other_server: FakeServer, http: HttpClient
) -> None:
    home, other = FakeMastodon(server, token=TOKEN), FakeMastodon(other_server)
    post = acme(1, NOW - 10, domain="fosstodon.org")
    home.add(post)
    other.add({**post, "id": "9" + post["id"][1:]})  # same uri, that instance's own id
    other.add(acme(2, NOW - 5, domain="hachyderm.io"))
    settings = MastodonSettings(instances=[home.base_url, other.base_url])
    lst = MastodonListener(settings, http, {"MASTODON_ACCESS_TOKEN": TOKEN})
    pages = run(lst, "acme")
    assert sorted(texts(pages)) == ["acme post 1 #acme", "acme post 2 #acme"]
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in server.requests)
    assert all("authorization" not in r.headers for r in other_server.requests)
    assert home.searches and not other.searches


def test_one_failing_instance_does_not_silence_the_others(
    server: FakeServer, other_server: FakeServer, http: HttpClient
) -> None:
    down, up = FakeMastodon(server), FakeMastodon(other_server)
    down.serve_tags("acme")
    down.outage = Response(503, "maintenance")
    up.add(acme(1, NOW))
    lst = MastodonListener(MastodonSettings(instances=[down.base_url, up.base_url]), http, {})
    pages: list[Page] = []
    with pytest.raises(ListenerError, match="HTTP 503"):
        for page in lst.search(parse("acme"), None):
            pages.append(page)
    assert texts(pages) == ["acme post 1 #acme"]
    assert up.server.url.split("//")[1] in (pages[-1].cursor or "")


def test_search_with_a_token_pages_by_offset_and_resumes(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.add(*(status(NOW - 100 + i, f"<p>handle @acmehq {i}</p>") for i in range(3)))
    lst = listener(masto, http, env={"MASTODON_ACCESS_TOKEN": TOKEN}, limit=2)
    first = run(lst, "@acmehq")  # no hashtag possible: search alone hears it
    assert texts(first) == ["handle @acmehq 2", "handle @acmehq 1"]  # first poll: newest page
    assert masto.timeline_requests == []
    assert masto.searches[0].query == {"q": ["acmehq"], "type": ["statuses"], "limit": ["2"]}
    masto.add(*(status(NOW + i, f"<p>new @acmehq {i}</p>") for i in range(3)))
    pages = run(lst, "@acmehq", last_cursor(first))
    assert texts(pages) == ["new @acmehq 2", "new @acmehq 1", "new @acmehq 0"]
    # Newest first: the walk goes on through the overlap window to what it read before, and only
    # that last page carries the cursor.
    assert [r.arg("offset") for r in masto.searches[1:]] == [None, "2", "4"]
    assert [p.cursor is None for p in pages] == [True, True, False]
    assert texts(run(lst, "@acmehq", last_cursor(pages))) == []


def test_a_query_without_any_hashtag_needs_the_token(masto: FakeMastodon, http: HttpClient) -> None:
    with pytest.raises(NotConfigured, match="MASTODON_ACCESS_TOKEN"):
        run(listener(masto, http), "@acmehq")


def test_an_unknown_tag_answering_404_is_an_empty_timeline(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.script = [Response.json({"error": "Record not found"}, 404)]
    pages = run(listener(masto, http), "acme")
    assert texts(pages) == []
    assert len(masto.timeline_requests) == 1


def test_backfill_reads_forward_from_the_first_id_of_since(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.add(*(acme(i, NOW - 3600 * i) for i in range(1, 6)))
    lst = listener(masto, http, limit=2)
    since = datetime.fromtimestamp(int(NOW - 3 * 3600 - 60), UTC)
    pages = run(lst, "acme", lst.backfill_cursor(since))
    assert sorted(texts(pages)) == [f"acme post {i} #acme" for i in (1, 2, 3)]
    assert masto.timeline_requests[0].arg("min_id") == snowflake_at(int(since.timestamp()))
    assert "since" not in json.loads(last_cursor(pages))  # done: later polls go on from here
    assert texts(run(lst, "acme", last_cursor(pages))) == []


def test_a_backfill_that_finds_nothing_still_starts_listening_at_its_horizon(
    masto: FakeMastodon, http: HttpClient
) -> None:
    masto.add(acme(1, NOW - 7200))
    lst = listener(masto, http)
    pages = run(lst, "acme", lst.backfill_cursor(datetime.fromtimestamp(NOW - 3600, UTC)))
    assert texts(pages) == []
    masto.add(*(acme(i, NOW - 60 + i) for i in range(2, 50)))  # more than a page: all heard
    assert len(texts(run(lst, "acme", last_cursor(pages)))) == 48


def test_settings_name_instances_or_base_url() -> None:
    assert MastodonSettings(instances=["fosstodon.org/"]).servers == ["https://fosstodon.org"]
    assert MastodonSettings(base_url="http://127.0.0.1:9/").servers == ["http://127.0.0.1:9"]
    with pytest.raises(ValidationError, match="not both"):
        MastodonSettings(base_url="http://127.0.0.1:9", instances=["https://mastodon.social"])
    with pytest.raises(ValidationError):
        MastodonSettings(instances=["not a host"])
    with pytest.raises(ValidationError):
        MastodonSettings(limit=80)


def test_an_unreadable_cursor_starts_over(masto: FakeMastodon, http: HttpClient) -> None:
    masto.add(acme(1, NOW))
    assert texts(run(listener(masto, http), "acme", "not json{")) == ["acme post 1 #acme"]


def test_check_reports_the_instances(masto: FakeMastodon, http: HttpClient) -> None:
    masto.serve_tags("mastodon")
    assert "127.0.0.1" in listener(masto, http).check()
    with_token = listener(masto, http, env={"MASTODON_ACCESS_TOKEN": TOKEN}).check()
    assert "MASTODON_ACCESS_TOKEN searches" in with_token
