"""One harness per network: its listener pointed at its fake, and the handful of moves the listener
contract (`tests/listeners/test_contract.py`) and the parse benchmark (`bench/listeners.py`)
make on every network.

A harness seeds mentions that match `QUERY` (and one that its exclusion rejects), and scripts the
network's own failures: its throttling answer with the wait it names, its refusal of a credential
with its real error body, and a body the listener cannot read. Settings and env are those of the
network's own tests; page sizes are small (`small_pages`) so a few mentions already span pages,
or the production defaults for the benchmark.

Seeded posts get increasing times, so "newer than anything seeded before" holds. For the contract
they are further apart than the network's overlap window (the minutes or the day of already-read
posts a listener re-reads to catch late ones), so a cursor that moved past unread posts really
loses them instead of re-reading them by luck; the benchmark packs them a second apart.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from core.mention import Mention
from core.query import Query, parse
from fakes import bluesky as fake_bluesky
from fakes import facebook as fake_graph
from fakes import hackernews as fake_hn
from fakes import mastodon as fake_mastodon
from fakes import reddit as fake_reddit
from fakes import rss as fake_rss
from fakes import stackexchange as fake_se
from fakes import web as fake_web
from fakes import x as fake_x
from fakes import youtube as fake_yt
from fakes.server import FakeServer, Handler, Request, Response
from listeners.base import Listener, Page, SourceSettings
from listeners.bluesky import BlueskyListener, BlueskySettings
from listeners.facebook import FacebookListener, FacebookSettings
from listeners.hackernews import HackerNewsListener, HackerNewsSettings
from listeners.http import HttpClient
from listeners.instagram import InstagramListener, InstagramSettings
from listeners.mastodon import MastodonListener, MastodonSettings
from listeners.reddit import RedditListener, RedditSettings
from listeners.rss import RssListener, RssSettings
from listeners.stackexchange import StackExchangeListener, StackExchangeSettings
from listeners.web import WebListener, WebSettings
from listeners.x import XListener, XSettings
from listeners.youtube import YouTubeListener, YouTubeSettings

QUERY = "acme -hiring"
OVERLAP_STEP = 20 * 60  # seconds between seeded posts: past `listeners.watermark`'s 15 minutes
BENCH_STEP = 1
ROOM = 300  # posts the contract's clock leaves room for before it reaches the present
BENCH_ROOM = 10_000

FirstPoll = Literal["all", "newest page"]


class RecordingServer(FakeServer):
    """A FakeServer that keeps every answer's status, in order, and the time its handlers took.

    The contract needs to know which answer was the injected failure (to tell pages yielded
    after it from pages before) and how many refusals a listener provoked; the benchmark
    subtracts the fake's own work from a search's wall time.
    """

    def __init__(self) -> None:
        super().__init__()
        # http.server writes headers and body separately; with Nagle on, the body waits for the
        # client's delayed ACK (40 ms on Linux) - a stall of the fake, not of any network.
        self.local.httpd.RequestHandlerClass.disable_nagle_algorithm = True
        self.answers: list[int] = []
        self.busy = 0.0  # seconds spent inside route handlers
        self._record_lock = threading.Lock()

    def route(self, method: str, path: str, handler: Handler) -> None:
        def recorded(req: Request) -> Response:
            started = time.perf_counter()
            response = handler(req)
            with self._record_lock:
                self.answers.append(response.status)
                self.busy += time.perf_counter() - started
            return response

        super().route(method, path, recorded)


class Harness(ABC):
    """What the contract and the benchmark need from one network.

    `small_pages` false means the network's production page sizes and densely packed posts,
    for the benchmark.

    - `page_size`: mentions per page as configured here (the API's fixed size where settings
      cannot change it).
    - `first_poll`: "all" when a search without a cursor reads every page, "newest page" when
      it starts listening at the newest page (later polls read everything since).
    - `backfill`: whether `backfill_cursor` reads history (else it raises NotConfigured).
    - `paginates`: whether a search pages at all (a feed is one document).
    - `step`: seconds between seeded posts in the contract, past the network's overlap window.
    - `keeps_failed_stream_state`: the listener reads several streams (sites, feeds) and
      yields a cursor after one of them failed, holding that stream's previous state; the
      contract then proves the cursor loses nothing instead of requiring that there is none.
    """

    network: ClassVar[str]
    listener_class: ClassVar[type[Listener]]
    step: ClassVar[int] = OVERLAP_STEP
    first_poll: ClassVar[FirstPoll] = "all"
    backfill: ClassVar[bool] = True
    paginates: ClassVar[bool] = True
    keeps_failed_stream_state: ClassVar[bool] = False
    env: ClassVar[Mapping[str, str]] = {}

    def __init__(self, server: RecordingServer, *, small_pages: bool = True) -> None:
        self.server = server
        self.small_pages = small_pages
        self._step = self.step if small_pages else BENCH_STEP
        self.origin = int(time.time()) - self._step * (ROOM if small_pages else BENCH_ROOM)
        self._clock = self.origin
        self._serial = 0
        self.install()

    # -- what each network provides

    @property
    @abstractmethod
    def page_size(self) -> int: ...

    @abstractmethod
    def install(self) -> None:
        """Put the network's fake on the server."""

    @abstractmethod
    def settings(self) -> SourceSettings: ...

    @abstractmethod
    def add(self, serial: int, created: int, text: str) -> str:
        """One post saying `text`; returns its identity as `ident` reads it from a Mention."""

    @abstractmethod
    def throttle(self) -> float:
        """Script the network's throttling answer for the next search, after its first page when
        it pages (on its first request otherwise); returns the seconds the answer says to wait."""

    @abstractmethod
    def deny(self) -> None:
        """From now on, answer every request as the network refuses a revoked credential."""

    @abstractmethod
    def malform(self) -> None:
        """Script the next answer as a body the listener cannot read."""

    # -- shared

    def listener(self, http: HttpClient) -> Listener:
        return self.listener_class(self.settings(), http, self.env)

    def ident(self, mention: Mention) -> str:
        return mention.native_id

    def seed(self, count: int) -> list[str]:
        """`count` posts matching QUERY, each newer than everything seeded before."""
        return [self._add(f"Acme is great, post {self._serial + 1}") for _ in range(count)]

    def seed_excluded(self) -> str:
        """A post that names the brand but also says 'hiring', which QUERY excludes."""
        return self._add(f"Acme is hiring engineers, post {self._serial + 1}")

    @property
    def history_start(self) -> datetime:
        """A moment before every seeded post: the `since` of a backfill that should hear all."""
        return datetime.fromtimestamp(self.origin - 60, UTC)

    def start(self, listener: Listener, query: Query) -> str | None:
        """The cursor from which a search hears everything seeded afterwards.

        Networks that read everything on a first poll start from None; the others listen from
        their first poll on, so one post is seeded and heard first to get there.
        """
        if self.first_poll == "all":
            return None
        self.seed(1)
        return last_cursor(list(listener.search(query, None)), None)

    def _add(self, text: str) -> str:
        self._serial += 1
        self._clock += self._step
        return self.add(self._serial, self._clock, text)


def last_cursor(pages: Iterable[Page], default: str | None) -> str | None:
    """The cursor a caller would have stored after committing these pages."""
    cursors = [p.cursor for p in pages if p.cursor is not None]
    return cursors[-1] if cursors else default


def query() -> Query:
    return parse(QUERY)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response.json(body, status, headers)


def _in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# ---- Hacker News (Algolia) ------------------------------------------------------------------


class HackerNewsHarness(Harness):
    network = "hackernews"
    listener_class = HackerNewsListener

    @property
    def page_size(self) -> int:
        return 3 if self.small_pages else 100

    def install(self) -> None:
        self.fake = fake_hn.FakeHackerNews(self.server)

    def settings(self) -> SourceSettings:
        size = {"hits_per_page": self.page_size} if self.small_pages else {}
        return HackerNewsSettings(base_url=self.fake.base_url, **size)

    def add(self, serial: int, created: int, text: str) -> str:
        self.fake.items.append(fake_hn.story(10_000 + serial, created, text))
        return str(10_000 + serial)

    def throttle(self) -> float:
        limited = _json(
            {"message": "Too many requests", "status": 429}, 429, {"Retry-After": "300"}
        )
        self.fake.script = [None, limited]
        return 300

    def deny(self) -> None:
        self.fake.outage = _json(
            {"message": "Invalid Application-ID or API key", "status": 403}, 403
        )

    def malform(self) -> None:
        body = {"hits": [{"created_at_i": 1}], "page": 0, "nbPages": 1}  # no objectID
        self.fake.script = [_json(body)]


# ---- Reddit (public JSON, as most of its tests) -----------------------------------------------


class RedditHarness(Harness):
    network = "reddit"
    listener_class = RedditListener

    @property
    def page_size(self) -> int:
        return 3 if self.small_pages else 100

    def install(self) -> None:
        self.fake = fake_reddit.FakeReddit(self.server)

    def settings(self) -> SourceSettings:
        size = {"limit": self.page_size} if self.small_pages else {}
        return RedditSettings(base_url=self.fake.base_url, **size)

    def add(self, serial: int, created: int, text: str) -> str:
        self.fake.posts.append(fake_reddit.post(f"h{serial}", created, text))
        return f"t3_h{serial}"

    def throttle(self) -> float:
        headers = {
            "X-Ratelimit-Used": "100",
            "X-Ratelimit-Remaining": "0",
            "X-Ratelimit-Reset": "240",
        }
        limited = _json({"message": "Too Many Requests", "error": 429}, 429, headers)
        self.fake.script = [None, limited]
        return 240

    def deny(self) -> None:
        self.fake.outage = _json({"message": "Forbidden", "error": 403}, 403)

    def malform(self) -> None:
        listing = {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {}}]}}
        self.fake.script = [_json(listing)]


# ---- RSS (a Google News search) ----------------------------------------------------------------


class RssHarness(Harness):
    network = "rss"
    listener_class = RssListener
    backfill = False
    paginates = False

    @property
    def page_size(self) -> int:
        return 3  # a feed is one document; this only sizes the contract's seeding

    def install(self) -> None:
        self.fake = fake_rss.FakeFeeds(self.server)

    def settings(self) -> SourceSettings:
        return RssSettings(base_url=self.fake.base_url)

    def add(self, serial: int, created: int, text: str) -> str:
        published = datetime.fromtimestamp(created, UTC)
        self.fake.news.append(fake_rss.Item(f"CBMi{serial:08d}", text, published, source="Wire"))
        return f"CBMi{serial:08d}"

    def throttle(self) -> float:
        page = "<html><title>Sorry...</title><body>unusual traffic from your network</body></html>"
        self.fake.script = [
            Response(429, page, {"Retry-After": "600", "Content-Type": "text/html"})
        ]
        return 600

    def deny(self) -> None:
        page = "<html><title>Error 403 (Forbidden)!!1</title><p>Your client has no permission"
        self.fake.outage = Response(403, page, {"Content-Type": "text/html"})

    def malform(self) -> None:
        page = "<!doctype html><html><body>Before you continue to Google News</body></html>"
        self.fake.script = [Response(200, page, {"Content-Type": "text/html; charset=utf-8"})]


# ---- Meta Graph: Facebook Page and Instagram ----------------------------------------------------

PAGE_ID = "1001"
BRAND_POST = f"{PAGE_ID}_1"
IG_USER = "17841400000000001"
GRAPH_ENV = {"FACEBOOK_PAGE_TOKEN": fake_graph.TOKEN}


class FacebookHarness(Harness):
    """Comments under one of the Page's posts; `match_query` on, so QUERY decides (the default
    hears every comment). Graph's comment pages hold 100, whatever the settings."""

    network = "facebook"
    listener_class = FacebookListener
    env = GRAPH_ENV

    @property
    def page_size(self) -> int:
        return 100

    def install(self) -> None:
        self.fake = fake_graph.FakeGraph(self.server)
        self.fake.add_page(PAGE_ID, "Acme")
        self.fake.add_post(
            PAGE_ID, fake_graph.post(BRAND_POST, self.origin, "Our spring launch"), []
        )

    def settings(self) -> SourceSettings:
        return FacebookSettings(base_url=self.fake.base_url, page_id=PAGE_ID, match_query=True)

    def add(self, serial: int, created: int, text: str) -> str:
        self.fake.add_comments(BRAND_POST, [fake_graph.comment(f"c{serial}", created, text)])
        return f"c{serial}"

    def throttle(self) -> float:
        usage = fake_graph.buc_usage(PAGE_ID, "pages", call_count=100, regain_minutes=7)
        limited = fake_graph.graph_error(
            400,
            80001,
            "(#80001) There have been too many calls to this Page account. Wait a bit and try "
            "again.",
            headers={"X-Business-Use-Case-Usage": usage},
        )
        self.fake.script = [None, None, limited]  # the feed, a page of comments, then the limit
        return 7 * 60

    def deny(self) -> None:
        self.fake.token = "EAAB-revoked"  # Graph answers 400, code 190, WWW-Authenticate

    def malform(self) -> None:
        self.fake.script = [_json({"data": [{"id": BRAND_POST, "message": "no created_time"}]})]


class InstagramHarness(Harness):
    """Comments under one media of the account; `match_query` on. Comment pages hold 50."""

    network = "instagram"
    listener_class = InstagramListener
    env = GRAPH_ENV

    @property
    def page_size(self) -> int:
        return 50

    def install(self) -> None:
        self.fake = fake_graph.FakeGraph(self.server)
        self.fake.add_ig_user(IG_USER, "acmehq")
        self.fake.add_media(IG_USER, fake_graph.media("m1", self.origin, "Spring drop"), [])

    def settings(self) -> SourceSettings:
        return InstagramSettings(base_url=self.fake.base_url, ig_user_id=IG_USER, match_query=True)

    def add(self, serial: int, created: int, text: str) -> str:
        self.fake.ig_comments["m1"].append(fake_graph.ig_comment(f"c{serial}", created, text))
        return f"c{serial}"

    def throttle(self) -> float:
        usage = fake_graph.buc_usage(IG_USER, "instagram", call_count=100, regain_minutes=30)
        limited = fake_graph.graph_error(
            400,
            80002,
            "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
            "try again.",
            headers={"X-Business-Use-Case-Usage": usage},
        )
        self.fake.script = [None, None, limited]  # the media, a page of comments, then the limit
        return 30 * 60

    def deny(self) -> None:
        self.fake.token = "EAAB-revoked"

    def malform(self) -> None:
        self.fake.script = [_json({"data": [{"id": "m1", "caption": "no timestamp"}]})]


# ---- Mastodon (the #acme timeline of one instance) ----------------------------------------------


class MastodonHarness(Harness):
    network = "mastodon"
    listener_class = MastodonListener
    first_poll = "newest page"

    @property
    def page_size(self) -> int:
        return 3 if self.small_pages else 40

    def install(self) -> None:
        self.fake = fake_mastodon.FakeMastodon(self.server)
        self.fake.serve_tags("acme")

    def settings(self) -> SourceSettings:
        size = {"limit": self.page_size} if self.small_pages else {}
        return MastodonSettings(base_url=self.fake.base_url, **size)

    def add(self, serial: int, created: int, text: str) -> str:
        status = fake_mastodon.status(
            created, fake_mastodon.tagged(text, "acme"), tags=["acme"], acct=f"user{serial}"
        )
        self.fake.add(status)
        return status["uri"]

    def throttle(self) -> float:
        reset = _in(240).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset,
        }
        self.fake.script = [None, _json({"error": "Too many requests"}, 429, headers)]
        return 240

    def deny(self) -> None:
        self.fake.public_feeds = False  # 401 "This API requires an authenticated user"

    def malform(self) -> None:
        self.fake.script = [_json([{"id": "1", "created_at": "2024-01-01T00:00:00Z"}])]


# ---- Bluesky (searchPosts with an app password) -------------------------------------------------


class BlueskyHarness(Harness):
    network = "bluesky"
    listener_class = BlueskyListener
    first_poll = "newest page"
    env = {"BLUESKY_HANDLE": "acme.bsky.social", "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"}

    @property
    def page_size(self) -> int:
        return 3 if self.small_pages else 100

    def install(self) -> None:
        self.fake = fake_bluesky.FakeBluesky(
            self.server, self.env["BLUESKY_HANDLE"], self.env["BLUESKY_APP_PASSWORD"]
        )

    def settings(self) -> SourceSettings:
        size = {"limit": self.page_size} if self.small_pages else {}
        return BlueskySettings(base_url=self.fake.base_url, **size)

    def add(self, serial: int, created: int, text: str) -> str:
        item = fake_bluesky.post(text, created, handle=f"user{serial}.bsky.social")
        self.fake.posts.append(item)
        return item["uri"]

    def throttle(self) -> float:
        reset = str(int(time.time()) + 240)
        headers = {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": reset}
        limited = _json(
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, headers
        )
        self.fake.script = [None, limited]
        return 240

    def deny(self) -> None:
        # Every searchPosts refused, however fresh the session: a renewal is allowed, no more.
        body = {"error": "AuthenticationRequired", "message": "Authentication Required"}
        self.fake.outage = _json(body, 401)

    def malform(self) -> None:
        self.fake.script = [_json({"posts": [{"uri": "at://x/app.bsky.feed.post/1", "cid": "b"}]})]


# ---- Web (a forum listing crawled by Scrapy) ----------------------------------------------------

FORUM_SITE: dict[str, Any] = {
    "name": "acme-forum",
    "start_urls": [fake_web.LISTING],
    "item": "article.post",
    "text": ".post-body",
    "author": ".author",
    "date": "time::attr(datetime)",
    "link": "a.permalink::attr(href)",
    "title": "h2",
    "next_page": "a.next::attr(href)",
}


class WebHarness(Harness):
    """Identity is the post's permalink (the listener hashes it into `native_id`)."""

    network = "web"
    listener_class = WebListener
    step = 25 * 3600  # past `listeners.web.OVERLAP` (a day)
    keeps_failed_stream_state = True

    @property
    def page_size(self) -> int:
        return 3 if self.small_pages else 25

    def install(self) -> None:
        self.posts: list[fake_web.Post] = []  # newest first, as the listing shows them
        self.fake = fake_web.FakeForum(self.server, [[]], archive=[])

    def settings(self) -> SourceSettings:
        site = {**FORUM_SITE, "max_pages": 10 if self.small_pages else 100}
        return WebSettings(base_url=self.fake.base_url, delay=0, sites=[site])

    def ident(self, mention: Mention) -> str:
        return mention.url

    def add(self, serial: int, created: int, text: str) -> str:
        published = datetime.fromtimestamp(created, UTC)
        self.posts.insert(0, fake_web.Post(serial, f"user{serial}", text, published))
        size = self.page_size
        chunks = [self.posts[i : i + size] for i in range(0, len(self.posts), size)]
        self.fake.pages = chunks or [[]]
        return self.fake.url(f"/t/{serial}")

    def throttle(self) -> float:
        headers = {"Retry-After": "120", "Content-Type": fake_web.HTML}
        limited = Response(429, "<h1>Too Many Requests</h1>", headers)
        self.fake.script = [None, limited]
        return 120

    def deny(self) -> None:
        self.fake.outage = Response(403, "<h1>Access denied</h1>", {"Content-Type": fake_web.HTML})

    def malform(self) -> None:
        archive = b"PK\x03\x04" + bytes(range(256))
        self.fake.script = [Response(200, archive, {"Content-Type": "application/zip"})]


# ---- Stack Exchange (Stack Overflow, no key) ----------------------------------------------------


class StackExchangeHarness(Harness):
    network = "stackexchange"
    listener_class = StackExchangeListener
    first_poll = "newest page"

    @property
    def page_size(self) -> int:
        return 3 if self.small_pages else 100

    def install(self) -> None:
        self.fake = fake_se.FakeStackExchange(self.server)

    def settings(self) -> SourceSettings:
        size = {"pagesize": self.page_size} if self.small_pages else {}
        return StackExchangeSettings(base_url=self.fake.base_url, **size)

    def add(self, serial: int, created: int, text: str) -> str:
        self.fake.questions["stackoverflow"].append(fake_se.question(serial, created, text))
        return f"stackoverflow:{serial}"

    def throttle(self) -> float:
        message = "too many requests from this IP, more requests available in 3600 seconds"
        self.fake.script = [None, fake_se.api_error(502, "throttle_violation", message)]
        return 3600

    def deny(self) -> None:
        refusal = fake_se.api_error(403, "access_denied", "this IP address has been blocked")
        self.fake.script = [refusal] * 4

    def malform(self) -> None:
        self.fake.script = [fake_se.gzipped({"items": [{"question_id": 1}], "has_more": False})]


# ---- YouTube (video search with an API key) -----------------------------------------------------


class YouTubeHarness(Harness):
    """Videos found by search.list, whose pages hold 50 whatever the settings."""

    network = "youtube"
    listener_class = YouTubeListener
    first_poll = "newest page"
    env = {"YOUTUBE_API_KEY": fake_yt.KEY}

    @property
    def page_size(self) -> int:
        return 50

    def install(self) -> None:
        self.fake = fake_yt.FakeYouTube(self.server)

    def settings(self) -> SourceSettings:
        return YouTubeSettings(base_url=self.fake.base_url)

    def add(self, serial: int, created: int, text: str) -> str:
        video_id = f"v{serial:010d}"
        self.fake.videos.append(fake_yt.video(video_id, created, text))
        return video_id

    def throttle(self) -> float:
        limited = fake_yt.google_error(
            403, "rateLimitExceeded", "The request rate is higher than allowed.", "usageLimits"
        )
        self.fake.script = [None, None, limited]  # the first page's search and videos, then this
        return 60

    def deny(self) -> None:
        self.fake.script = [fake_yt.invalid_key()] * 4

    def malform(self) -> None:
        body = {"kind": "youtube#searchListResponse", "items": [{"id": {"kind": "youtube#video"}}]}
        self.fake.script = [_json(body)]


# ---- X (recent search with an app Bearer Token) -------------------------------------------------


class XHarness(Harness):
    network = "x"
    listener_class = XListener
    first_poll = "newest page"
    env = {"X_BEARER_TOKEN": "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid-contract-bearer"}

    @property
    def page_size(self) -> int:
        return 10 if self.small_pages else 100  # X allows 10 to 100

    def install(self) -> None:
        self.fake = fake_x.FakeX(self.server, self.env["X_BEARER_TOKEN"])

    def settings(self) -> SourceSettings:
        size = {"max_results": self.page_size} if self.small_pages else {}
        return XSettings(base_url=self.fake.base_url, **size)

    def add(self, serial: int, created: int, text: str) -> str:
        item = fake_x.post(text, created, username=f"user{serial}")
        self.fake.posts.append(item)
        return item.id

    def throttle(self) -> float:
        self.fake.reset = int(time.time()) + 240  # x-rate-limit-reset, on every answer
        self.fake.script = [None, _json(fake_x.TOO_MANY, 429)]
        return 240

    def deny(self) -> None:
        self.fake.token = "AAAA-another-app"  # the one we send is refused: 401 Unauthorized

    def malform(self) -> None:
        tweet = {"id": "1", "created_at": "2024-05-01T00:00:00Z"}  # no text
        self.fake.script = [_json({"data": [tweet], "meta": {"result_count": 1}})]


HARNESSES: dict[str, type[Harness]] = {
    h.network: h
    for h in (
        HackerNewsHarness,
        RedditHarness,
        RssHarness,
        FacebookHarness,
        InstagramHarness,
        MastodonHarness,
        BlueskyHarness,
        WebHarness,
        StackExchangeHarness,
        YouTubeHarness,
        XHarness,
    )
}
