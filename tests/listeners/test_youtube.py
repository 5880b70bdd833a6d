from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.server import FakeServer, Response
from fakes.youtube import (
    BRAND_CHANNEL,
    KEY,
    FakeYouTube,
    google_error,
    search_answer,
    thread,
    video,
)
from listeners.base import Page
from listeners.errors import AuthError, MalformedResponse, NotConfigured, RateLimited
from listeners.http import HttpClient
from listeners.watermark import OVERLAP_SECONDS
from listeners.youtube import (
    YouTubeListener,
    YouTubeSettings,
    compile_youtube,
    next_pacific_midnight,
    quota_day,
    rfc3339,
)
from tests.listeners.helpers import ids

NOW = int(time.time())
HOUR = 3600
ENV = {"YOUTUBE_API_KEY": KEY}


@pytest.fixture
def yt(server: FakeServer) -> FakeYouTube:
    return FakeYouTube(server)


def listener(
    yt: FakeYouTube, http: HttpClient, env: dict[str, str] = ENV, **settings: object
) -> YouTubeListener:
    options = YouTubeSettings(base_url=yt.base_url, **settings)
    return YouTubeListener(options, http, env=env)


def channel_only(yt: FakeYouTube, http: HttpClient, **settings: object) -> YouTubeListener:
    return listener(yt, http, channel_id=BRAND_CHANNEL, search_videos=False, **settings)


def run(lst: YouTubeListener, query: str = "acme", cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def collect(lst: YouTubeListener, cursor: str | None = None) -> tuple[list[Page], Exception | None]:
    pages: list[Page] = []
    try:
        for page in lst.search(parse("acme"), cursor):
            pages.append(page)
    except Exception as exc:
        return pages, exc
    return pages, None


def brand_video(yt: FakeYouTube, threads: list[dict]) -> None:
    yt.videos.append(
        video("brandvid001", NOW - 2 * HOUR, "Our spring launch", channel=BRAND_CHANNEL)
    )
    yt.threads["brandvid001"] = threads


def test_a_missing_key_explains_how_to_get_one(yt: FakeYouTube, http: HttpClient) -> None:
    with pytest.raises(NotConfigured, match=r"YOUTUBE_API_KEY.*YouTube Data API v3.*Credentials"):
        run(listener(yt, http, env={}))
    assert yt.server.requests == []


def test_every_comment_on_the_brand_channel_is_heard_except_its_own(
    yt: FakeYouTube, http: HttpClient
) -> None:
    brand_video(
        yt,
        [
            thread(
                "Ugw1", "brandvid001", NOW - 600, "Is the app down for anyone?", likes=4, replies=2
            ),
            thread(
                "Ugw2",
                "brandvid001",
                NOW - 500,
                "Looking into it!",
                author="Acme",
                author_channel=BRAND_CHANNEL,
            ),
            thread("Ugw3", "brandvid001", NOW - 400, "   "),
        ],
    )
    pages = run(channel_only(yt, http))
    (mention,) = [m for p in pages for m in p.mentions]
    assert (mention.network, mention.native_id, mention.author) == ("youtube", "Ugw1", "Jo Viewer")
    assert mention.text == "Is the app down for anyone?"  # no brand name, still heard
    assert mention.url == "https://www.youtube.com/watch?v=brandvid001&lc=Ugw1"
    assert mention.in_reply_to == "brandvid001"
    assert (mention.metrics.likes, mention.metrics.replies) == (4, 2)
    assert mention.created_at == datetime.fromtimestamp(NOW - 600, UTC)
    assert mention.raw["snippet"]["topLevelComment"]["snippet"]["authorDisplayName"] == "Jo Viewer"
    sent = yt.requests_to("commentThreads")[0]
    assert sent.arg("allThreadsRelatedToChannelId") == BRAND_CHANNEL
    assert (sent.arg("part"), sent.arg("order"), sent.arg("textFormat")) == (
        "snippet",
        "time",
        "plainText",
    )
    assert (sent.arg("maxResults"), sent.arg("key")) == ("100", KEY)
    assert pages[-1].cursor is not None


def test_match_query_applies_the_query_to_channel_comments_too(
    yt: FakeYouTube, http: HttpClient
) -> None:
    brand_video(
        yt,
        [
            thread("Ugw1", "brandvid001", NOW - 20, "Is it down?"),
            thread("Ugw2", "brandvid001", NOW - 10, "Acme support never answers"),
        ],
    )
    assert ids(run(channel_only(yt, http, match_query=True))) == ["Ugw2"]


def test_channel_comments_page_to_the_end_back_to_the_cursor(
    yt: FakeYouTube, http: HttpClient
) -> None:
    brand_video(yt, [thread(f"Ugc{i}", "brandvid001", NOW - i, f"hi {i}") for i in range(230)])
    lst = channel_only(yt, http)
    first = run(lst)
    assert len(ids(first)) == 100  # a first run hears from the newest page on
    backfill = lst.backfill_cursor(datetime.fromtimestamp(NOW - HOUR, UTC))
    pages = run(lst, cursor=backfill)
    assert sorted(ids(pages)) == sorted(f"Ugc{i}" for i in range(230))
    assert [p.cursor is None for p in pages] == [True, True, True, False]
    tokens = [r.arg("pageToken") for r in yt.requests_to("commentThreads")[1:]]
    assert tokens[0] is None and all(tokens[1:])


def test_videos_found_by_search_are_mentions_and_their_matching_comments_too(
    yt: FakeYouTube, http: HttpClient
) -> None:
    long_description = "Acme Phone review. " + "Specs and benchmarks. " * 20
    yt.videos = [
        video(
            "vid00000001",
            NOW - 3000,
            "Acme Phone review",
            long_description,
            likes=42,
            comments=7,
            lang="en-US",
            channel_title="Tech Reviews",
        ),
        video("vid00000002", NOW - 2000, "Phone roundup", "acmes everywhere"),  # fuzzy hit only
    ]
    yt.threads["vid00000001"] = [
        thread("Ugv1", "vid00000001", NOW - 100, "My Acme phone overheats", likes=3),
        thread("Ugv2", "vid00000001", NOW - 90, "great video"),
    ]
    yt.threads["vid00000002"] = [thread("Ugv3", "vid00000002", NOW - 50, "acme acme")]
    pages = run(listener(yt, http))
    found = {m.native_id: m for p in pages for m in p.mentions}
    assert sorted(found) == ["Ugv1", "vid00000001"]
    v = found["vid00000001"]
    assert (v.title, v.author, v.lang) == ("Acme Phone review", "Tech Reviews", "en-US")
    assert v.text == long_description  # the whole description, not search's 160 characters
    assert v.url == "https://www.youtube.com/watch?v=vid00000001"
    assert (v.metrics.likes, v.metrics.replies) == (42, 7)
    assert v.raw["statistics"]["viewCount"] == 1000
    search = yt.requests_to("search")[0]
    assert (search.arg("q"), search.arg("type"), search.arg("order")) == ("acme", "video", "date")
    assert (search.arg("maxResults"), search.arg("publishedAfter")) == ("50", None)
    assert yt.requests_to("videos")[0].arg("id") == "vid00000002,vid00000001"
    assert yt.requests_to("videos")[0].arg("part") == "snippet,statistics"
    # Only the video that matched the query has its comments read.
    assert [r.arg("videoId") for r in yt.requests_to("commentThreads")] == ["vid00000001"]


def test_comments_turned_off_skip_that_video_not_the_source(
    yt: FakeYouTube, http: HttpClient
) -> None:
    yt.videos = [
        video("vidclosed01", NOW - 300, "Acme unboxing"),
        video("vidopen0001", NOW - 200, "Acme teardown"),
    ]
    yt.comments_disabled = {"vidclosed01"}
    yt.threads["vidopen0001"] = [thread("Ugo1", "vidopen0001", NOW - 10, "acme glue everywhere")]
    lst = listener(yt, http)
    pages = run(lst)
    assert sorted(ids(pages)) == ["Ugo1", "vidclosed01", "vidopen0001"]
    assert pages[-1].cursor is not None
    watched = json.loads(pages[-1].cursor)["videos"]
    assert list(watched) == ["vidopen0001"]  # not asked again every poll
    run(lst, cursor=pages[-1].cursor)
    assert [r.arg("videoId") for r in yt.requests_to("commentThreads")] == [
        "vidopen0001",
        "vidclosed01",
        "vidopen0001",
    ]


def test_resuming_from_the_cursor_yields_only_what_is_new(
    yt: FakeYouTube, http: HttpClient
) -> None:
    yt.videos = [video("vid00000001", NOW - 3000, "Acme review")]
    yt.threads["vid00000001"] = [thread("Ugv1", "vid00000001", NOW - 100, "acme rocks")]
    brand_video(yt, [thread("Ugb1", "brandvid001", NOW - 50, "love it")])
    lst = listener(yt, http, channel_id=BRAND_CHANNEL)
    first = run(lst)
    assert sorted(ids(first)) == ["Ugb1", "Ugv1", "vid00000001"]

    again = run(lst, cursor=first[-1].cursor)
    assert ids(again) == []
    assert yt.requests_to("search")[-1].arg("publishedAfter") == rfc3339(
        NOW - 3000 - OVERLAP_SECONDS
    )

    # New comments on the watched video and on the channel, and a new video: each heard once.
    yt.threads["vid00000001"].append(thread("Ugv2", "vid00000001", NOW + 5, "acme broke"))
    yt.threads["brandvid001"].append(thread("Ugb2", "brandvid001", NOW + 6, "refund?"))
    yt.videos.append(video("vid00000003", NOW + 7, "Acme 2 announced"))
    later = run(lst, cursor=again[-1].cursor)
    assert sorted(ids(later)) == ["Ugb2", "Ugv2", "vid00000003"]
    assert ids(run(lst, cursor=later[-1].cursor)) == []
    # The brand's own video is read through the channel's listing, never one by one.
    assert "brandvid001" not in [r.arg("videoId") for r in yt.requests_to("commentThreads")]


def test_the_daily_budget_stops_before_a_call_would_pass_it(
    yt: FakeYouTube, http: HttpClient
) -> None:
    yt.videos = [video("vid00000001", NOW - 300, "Acme review")]
    yt.threads["vid00000001"] = [thread("Ugv1", "vid00000001", NOW - 10, "acme")]
    pages, error = collect(listener(yt, http, daily_quota=101))
    assert ids(pages) == ["vid00000001"]
    assert all(p.cursor is None for p in pages)
    assert isinstance(error, RateLimited)
    assert "daily_quota" in str(error)
    assert error.until == next_pacific_midnight(datetime.now(UTC))
    assert yt.spent == 101  # search + videos; the comments call was never sent
    assert yt.requests_to("commentThreads") == []


def test_units_spent_travel_in_the_cursor_across_a_restart(
    yt: FakeYouTube, http: HttpClient
) -> None:
    yt.videos = [video("vid00000001", NOW - 300, "Acme review")]
    pages = run(listener(yt, http, daily_quota=150))
    cursor = pages[-1].cursor
    assert cursor is not None
    saved = json.loads(cursor)["quota"]
    assert saved == {"day": str(quota_day(datetime.now(UTC))), "units": 102}
    # A new process with the same cursor: another search (100 units) would pass 150.
    requests = len(yt.server.requests)
    with pytest.raises(RateLimited) as info:
        run(listener(yt, http, daily_quota=150), cursor=cursor)
    assert info.value.until == next_pacific_midnight(datetime.now(UTC))
    assert len(yt.server.requests) == requests
    # Units from an earlier quota day do not count.
    stale = json.loads(cursor)
    stale["quota"]["day"] = str(quota_day(datetime.now(UTC)) - timedelta(days=1))
    assert ids(run(listener(yt, http, daily_quota=150), cursor=json.dumps(stale))) == []


def test_quota_exceeded_waits_for_pacific_midnight_and_stops_every_brand(
    yt: FakeYouTube, http: HttpClient
) -> None:
    yt.videos = [video("vid00000001", NOW - 300, "Acme review")]
    yt.daily_quota = 100  # other apps on the same project spent the rest
    lst = listener(yt, http)
    pages, error = collect(lst)
    assert isinstance(error, RateLimited)
    assert "quotaExceeded" in str(error)
    assert error.until == next_pacific_midnight(datetime.now(UTC))
    assert all(p.cursor is None for p in pages)
    requests = len(yt.server.requests)
    with pytest.raises(RateLimited):
        run(lst, "globex")
    assert len(yt.server.requests) == requests


def test_a_per_minute_throttle_waits_a_minute(yt: FakeYouTube, http: HttpClient) -> None:
    yt.script = [google_error(403, "rateLimitExceeded", "Too many requests", "usageLimits")]
    lst = listener(yt, http)
    with pytest.raises(RateLimited) as info:
        run(lst)
    wait = (info.value.until - datetime.now(UTC)).total_seconds()
    assert 55 < wait <= 60
    # Until then calls are refused before sending, and Google charges nothing for those.
    assert lst.ledger.snapshot(datetime.now(UTC))["units"] == 100
    with pytest.raises(RateLimited):
        run(lst)
    assert len(yt.server.requests) == 1
    assert lst.ledger.snapshot(datetime.now(UTC))["units"] == 100


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "API_KEY_INVALID.*API key not valid"),  # the fake's answer to a wrong key
        (google_error(400, "keyInvalid", "Bad Request", "usageLimits"), "keyInvalid"),
        (google_error(403, "forbidden", "Request had insufficient authentication"), "forbidden"),
        (
            google_error(
                403,
                "accessNotConfigured",
                "YouTube Data API v3 has not been used in project 42 before or it is disabled.",
                "usageLimits",
            ),
            "enable 'YouTube Data API v3'",
        ),
    ],
)
def test_key_and_access_refusals_are_auth_errors_without_retries(
    yt: FakeYouTube, http: HttpClient, answer: Response | None, message: str
) -> None:
    env = {"YOUTUBE_API_KEY": "AIza-wrong-key"} if answer is None else ENV
    yt.script = [answer] if answer is not None else []
    with pytest.raises(AuthError, match=message) as info:
        run(listener(yt, http, env=env))
    assert "AIza-wrong-key" not in str(info.value)
    assert len(yt.server.requests) == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Response(200, "<html>oops</html>", {"Content-Type": "text/html"}), "not JSON"),
        (Response.json({"kind": "youtube#searchListResponse"}), "items"),
        (
            Response.json({"items": [{"id": {"kind": "youtube#video"}, "snippet": {}}]}),
            "publishedAt",
        ),
    ],
)
def test_malformed_response(
    yt: FakeYouTube, http: HttpClient, answer: Response, message: str
) -> None:
    yt.script = [answer]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(yt, http))


def test_exclusions_are_rechecked_locally(yt: FakeYouTube, http: HttpClient) -> None:
    yt.videos = [
        video("vid00000001", NOW - 30, "Acme Cloud outage explained"),
        video("vid00000002", NOW - 20, "Acme Cloud", tags=["jobs"]),  # excluded, in its tags
        video("vid00000003", NOW - 10, "Cloud bills at Acme"),  # the words, not the phrase
    ]
    yt.script = [search_answer(yt.videos)]  # a search fuzzier than asked: all three come back
    pages = run(listener(yt, http, max_videos=0), '"acme cloud" -jobs')
    assert ids(pages) == ["vid00000001"]
    assert yt.requests_to("search")[0].arg("q") == '"acme cloud" -jobs'


def test_compiled_query_uses_youtube_or_and_not() -> None:
    assert compile_youtube(parse("(acme OR globex) -jobs")) == "acme|globex -jobs"
    assert compile_youtube(parse('#acme OR "acme cloud" OR @acmehq')) == 'acme|"acme cloud"|acmehq'
    # An AND inside an OR is not expressible: each side keeps its most specific part (wider).
    assert compile_youtube(parse('(acme outage) OR ("globex cloud" down)')) == (
        'outage|"globex cloud"'
    )
    assert compile_youtube(parse('acme -"acme jobs" -(hiring OR careers)')) == "acme"


def test_watched_videos_are_the_newest_within_watch_days(yt: FakeYouTube, http: HttpClient) -> None:
    yt.videos = [
        video("vidold00001", NOW - 9 * 86400, "Acme history"),
        video("vidnew00001", NOW - 100, "Acme today"),
        video("vidnew00002", NOW - 200, "Acme yesterday-ish"),
    ]
    pages = run(listener(yt, http, watch_days=7, max_videos=1))
    assert sorted(ids(pages)) == ["vidnew00001", "vidnew00002", "vidold00001"]
    assert [r.arg("videoId") for r in yt.requests_to("commentThreads")] == ["vidnew00001"]


def test_backfill_reads_videos_and_channel_comments_back_to_since(
    yt: FakeYouTube, http: HttpClient
) -> None:
    yt.videos = [video(f"vid0000000{i}", NOW - HOUR * i, f"Acme {i}") for i in range(1, 6)]
    brand_video(yt, [thread(f"Ugb{i}", "brandvid001", NOW - HOUR * i, "hi") for i in range(1, 6)])
    lst = listener(yt, http, channel_id=BRAND_CHANNEL, max_videos=0)
    start = datetime.fromtimestamp(NOW - 3 * HOUR - 60, UTC)
    pages = run(lst, cursor=lst.backfill_cursor(start))
    assert sorted(ids(pages)) == [
        "Ugb1",
        "Ugb2",
        "Ugb3",
        "vid00000001",
        "vid00000002",
        "vid00000003",
    ]
    assert yt.requests_to("search")[0].arg("publishedAfter") == rfc3339(int(start.timestamp()))
    assert ids(run(lst, cursor=pages[-1].cursor)) == []


def test_check_names_the_channel_and_the_units_spent(yt: FakeYouTube, http: HttpClient) -> None:
    report = listener(yt, http, channel_id=BRAND_CHANNEL).check()
    assert report.startswith(f"channel Acme ({BRAND_CHANNEL}) found")
    assert "1 of 10000 quota units spent today" in report
    assert "API key accepted" in listener(yt, http).check()


def test_an_unreadable_cursor_starts_over(yt: FakeYouTube, http: HttpClient) -> None:
    brand_video(yt, [thread("Ugb1", "brandvid001", NOW, "hi")])
    assert ids(run(channel_only(yt, http), cursor="{nope")) == ["Ugb1"]
    bad_shape = json.dumps({"videos": {"x": {"comments": {}}}})
    assert ids(run(channel_only(yt, http), cursor=bad_shape)) == ["Ugb1"]


@pytest.mark.parametrize(
    ("now", "midnight", "day"),
    [
        ("2024-01-15T20:00:00+00:00", "2024-01-16T08:00:00+00:00", date(2024, 1, 15)),  # PST
        ("2024-07-01T06:30:00+00:00", "2024-07-01T07:00:00+00:00", date(2024, 6, 30)),  # PDT
        ("2024-03-10T12:00:00+00:00", "2024-03-11T07:00:00+00:00", date(2024, 3, 10)),  # DST on
        ("2024-11-03T12:00:00+00:00", "2024-11-04T08:00:00+00:00", date(2024, 11, 3)),  # DST off
    ],
)
def test_the_quota_day_is_pacific_time(now: str, midnight: str, day: date) -> None:
    moment = datetime.fromisoformat(now)
    assert next_pacific_midnight(moment) == datetime.fromisoformat(midnight)
    assert quota_day(moment) == day


def test_settings_validate_the_channel_and_that_something_is_heard() -> None:
    assert YouTubeSettings().interval == timedelta(minutes=30)
    with pytest.raises(ValidationError, match="not a channel id"):
        YouTubeSettings(channel_id="@acme")
    with pytest.raises(ValidationError, match="nothing would be heard"):
        YouTubeSettings(search_videos=False)
    with pytest.raises(ValidationError):
        YouTubeSettings(max_videos=51)
