"""YouTube: videos that match the brand's query, the comments under them, and every comment on
the brand's own channel, through the YouTube Data API v3 with an API key.

Heard: videos found by `search.list` (type=video, order=date, since the cursor) whose title,
description or tags match the query; top-level comments on those videos for `watch_days` after
they appear (the `max_videos` newest), when they match the query; and, with `channel_id`, every
top-level comment on the brand's channel (`allThreadsRelatedToChannelId`), as on Facebook: people
commenting under the brand's videos rarely name it (`match_query` applies the query there too).
Not heard: replies (a thread's `totalReplyCount` is kept as `metrics.replies`), the channel's own
comments, comments on videos with comments turned off or older than `watch_days`, live chat, and
videos `search.list` does not return.

Quota is what limits YouTube, not request rates: a project has 10,000 units a day, reset at
midnight Pacific Time; `search.list` costs 100 units a page, `videos.list` and
`commentThreads.list` 1 unit each, invalid requests included. The listener counts what it
spends per Pacific day in the cursor and in memory (shared by every brand of the process) and
stops before a call would pass `daily_quota`, rather than letting YouTube refuse it; a
`quotaExceeded` from YouTube (other apps on the same project) stops it the same way.

API: GET {base}/search?part=snippet&type=video&order=date&q=&publishedAfter=&maxResults=50,
GET {base}/videos?part=snippet,statistics&id=a,b,c, GET {base}/commentThreads?part=snippet
&videoId=|allThreadsRelatedToChannelId=&order=time&textFormat=plainText&maxResults=100, all with
`key=` and `nextPageToken` pagination. Errors: `{"error": {"code", "message", "errors": [{"message",
"domain", "reason"}], "status", "details": [{"reason"}]}}`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.mention import Mention, Metrics
from core.query import And, Atom, Handle, Hashtag, Not, Phrase, Post, Query, Word, fields
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.http import Budget, HttpClient, read_model
from listeners.query_syntax import Syntax, alternatives, searchable
from listeners.watermark import Watermark

log = logging.getLogger(__name__)

KEY_ENV = "YOUTUBE_API_KEY"
KEY_HELP = (
    f"set {KEY_ENV} to an API key: in the Google Cloud console create a project, enable "
    "'YouTube Data API v3' (APIs & Services > Library), then create an API key under "
    "APIs & Services > Credentials (restrict it to that API)"
)
WATCH_URL = "https://www.youtube.com/watch?v={}"
CHANNEL_URL = "https://www.youtube.com/channel/{}"
COST = {"search": 100, "videos": 1, "commentThreads": 1, "channels": 1, "i18nLanguages": 1}
SEARCH_PAGE = 50  # search.list's maxResults ceiling
THREAD_PAGE = 100  # commentThreads.list's maxResults ceiling
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"})
DISABLED_REASONS = frozenset({"accessNotConfigured", "SERVICE_DISABLED"})
GONE_REASONS = frozenset({"commentsDisabled", "videoNotFound"})  # skip that video, not the source
RATE_WAIT = timedelta(minutes=1)  # per-minute throttles name no wait; a minute is their window

T = TypeVar("T", bound=BaseModel)


@cache
def _pacific() -> ZoneInfo:
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError as exc:
        raise NotConfigured(
            "youtube: the time zone database is missing (YouTube's quota day is Pacific Time); "
            "install the 'tzdata' package"
        ) from exc


def quota_day(now: datetime) -> date:
    """The quota day `now` falls in: YouTube's day runs midnight to midnight Pacific Time."""
    return now.astimezone(_pacific()).date()


def next_pacific_midnight(now: datetime) -> datetime:
    """When the daily quota resets next, in UTC (08:00 in winter, 07:00 in summer)."""
    tomorrow = quota_day(now) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=_pacific()).astimezone(UTC)


class YouTubeSettings(SourceSettings):
    """`[sources.youtube]`: `channel_id` (the brand's channel, 'UC...'; every comment on it is
    heard), `search_videos` (hear videos matching the query and their matching comments),
    `match_query` (apply the query to the channel's comments too), `daily_quota` (units this
    source may spend per Pacific day; 10,000 is a project's default), `watch_days` and
    `max_videos` (how long and how many found videos have their comments re-read). `every`
    defaults to 30 minutes: each poll's search costs 100 units."""

    every: str = "30m"
    channel_id: str | None = None
    search_videos: bool = True
    match_query: bool = False
    daily_quota: int = Field(default=10_000, ge=1)
    watch_days: int = Field(default=7, ge=1, le=30)
    max_videos: int = Field(default=20, ge=0, le=50)

    @field_validator("channel_id")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not (value.startswith("UC") and len(value) == 24):
            raise ValueError(
                f"{value!r} is not a channel id like 'UC_x5XG1OV2P6uZZ5FSM9Ttw' (YouTube Studio > "
                "Settings > Channel > Advanced settings; a @handle is not an id)"
            )
        return value

    @model_validator(mode="after")
    def _hears_something(self) -> YouTubeSettings:
        if self.channel_id is None and not self.search_videos:
            raise ValueError("set channel_id, or leave search_videos on: nothing would be heard")
        return self


# ---- wire format -----------------------------------------------------------------------------


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str = ""
    domain: str = ""
    reason: str = ""


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: str = ""


class GoogleError(BaseModel):
    code: int
    message: str = ""
    errors: list[ErrorItem] = []
    status: str | None = None
    details: list[ErrorDetail] = []

    @property
    def reasons(self) -> set[str]:
        """Both generations of Google's error reasons: `errors[].reason` and the newer
        `details[].reason` (ErrorInfo), which is all an invalid key gets today."""
        return {e.reason for e in self.errors if e.reason} | {
            d.reason for d in self.details if d.reason
        }


class _ErrorBody(BaseModel):
    error: GoogleError


class ChannelRef(BaseModel):
    value: str


class CommentSnippet(BaseModel):
    model_config = ConfigDict(extra="allow")

    publishedAt: datetime
    textOriginal: str | None = None
    textDisplay: str | None = None
    authorDisplayName: str | None = None
    authorChannelUrl: str | None = None
    authorChannelId: ChannelRef | None = None
    likeCount: int | None = None
    videoId: str | None = None
    channelId: str | None = None


class Comment(BaseModel):
    id: str
    snippet: CommentSnippet


class ThreadSnippet(BaseModel):
    model_config = ConfigDict(extra="allow")

    topLevelComment: Comment
    videoId: str | None = None
    channelId: str | None = None
    totalReplyCount: int | None = None


class Thread(BaseModel):
    id: str
    snippet: ThreadSnippet


class ThreadList(BaseModel):
    items: list[Thread]
    nextPageToken: str | None = None


class ResultId(BaseModel):
    kind: str
    videoId: str | None = None


class SearchSnippet(BaseModel):
    model_config = ConfigDict(extra="allow")

    publishedAt: datetime
    channelId: str | None = None


class SearchResult(BaseModel):
    id: ResultId
    snippet: SearchSnippet


class SearchList(BaseModel):
    items: list[SearchResult]
    nextPageToken: str | None = None


class VideoSnippet(BaseModel):
    model_config = ConfigDict(extra="allow")

    publishedAt: datetime
    channelId: str
    title: str
    description: str = ""
    channelTitle: str | None = None
    tags: list[str] = []
    defaultLanguage: str | None = None
    defaultAudioLanguage: str | None = None


class Statistics(BaseModel):
    """Counts arrive as strings ("1234"); absent when the owner hides them."""

    model_config = ConfigDict(extra="allow")

    viewCount: int | None = None
    likeCount: int | None = None
    commentCount: int | None = None


class Video(BaseModel):
    id: str
    snippet: VideoSnippet
    statistics: Statistics | None = None


class VideoList(BaseModel):
    items: list[Video]


class ItemList(BaseModel):
    """Any list answer whose items `check` only counts or names (channels, languages)."""

    items: list[dict[str, Any]] = []


# ---- query and mentions ----------------------------------------------------------------------


YOUTUBE = Syntax()  # words, phrases, | and -; no field operators in `q`


def _term(atom: Atom) -> str:
    """Tags and handles as bare words: YouTube's search reads '#acme' as 'acme' anyway, and
    the local check restores the difference."""
    match atom:
        case Phrase(words):
            return '"' + " ".join(words) + '"'
        case Word(text):
            return text
        case Hashtag(tag):
            return tag
        case Handle(name):
            return name
    raise ValueError(f"{atom!r} is not searchable on YouTube")


def _specific(alt: tuple[Atom, ...]) -> Atom:
    """The atom of an alternative that narrows most: a phrase, else the longest word."""
    return max(alt, key=lambda a: (isinstance(a, Phrase), len(_term(a))))


def compile_youtube(query: Query) -> str:
    """`q` for search.list, which documents only `a|b` (OR) and `-a` (NOT) and says nothing of
    grouping: so one alternative is sent whole, several as `x|y` with one atom each (dropping
    the rest of each alternative widens the search), and only top-level exclusions of single
    words go along. One search, because each one costs 100 units."""
    alts = alternatives(query, YOUTUBE)
    if len(alts) == 1:
        body = " ".join(dict.fromkeys(_term(a) for a in alts[0]))
    else:
        body = "|".join(dict.fromkeys(_term(_specific(alt)) for alt in alts))
    exclusions: list[str] = []
    widest = searchable(query, YOUTUBE)  # no exclusion of a wider term (-{Apple}, -plug*)
    if isinstance(widest, And):
        exclusions = [
            "-" + _term(item.item)
            for item in widest.items
            if isinstance(item, Not) and isinstance(item.item, (Word, Hashtag, Handle))
        ]
    return " ".join([body, *dict.fromkeys(exclusions)])


def unix(when: datetime) -> int:
    return int(when.timestamp())


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def video_mention(video: Video) -> Mention:
    s, stats = video.snippet, video.statistics or Statistics()
    return Mention(
        network="youtube",
        native_id=video.id,
        url=WATCH_URL.format(video.id),
        author=s.channelTitle or "",
        text=s.description or s.title,
        title=s.title,
        lang=s.defaultLanguage or s.defaultAudioLanguage,
        created_at=s.publishedAt.astimezone(UTC),
        metrics=Metrics(likes=stats.likeCount, replies=stats.commentCount),
        raw=video.model_dump(exclude_none=True, mode="json"),
    )


def comment_text(thread: Thread) -> str:
    s = thread.snippet.topLevelComment.snippet
    return (s.textOriginal or s.textDisplay or "").strip()


def comment_mention(thread: Thread) -> Mention:
    comment = thread.snippet.topLevelComment
    s = comment.snippet
    video = thread.snippet.videoId or s.videoId
    if video:
        url = f"{WATCH_URL.format(video)}&lc={comment.id}"
    else:
        url = CHANNEL_URL.format(thread.snippet.channelId or s.channelId or "")
    return Mention(
        network="youtube",
        native_id=comment.id,
        url=url,
        author=s.authorDisplayName or "",
        text=comment_text(thread),
        created_at=s.publishedAt.astimezone(UTC),
        metrics=Metrics(likes=s.likeCount, replies=thread.snippet.totalReplyCount),
        in_reply_to=video,
        raw=thread.model_dump(exclude_none=True, mode="json"),
    )


def newest_first(times: list[int]) -> bool:
    return all(a >= b for a, b in pairwise(times))


# ---- quota -----------------------------------------------------------------------------------


class QuotaLedger:
    """Units spent on the current Pacific quota day, shared by every brand of the process.

    The cursor of each brand records the ledger when written, so after a restart the largest
    figure among the cursors read so far stands for the day's spending.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.day: date | None = None
        self.units = 0
        self._lock = threading.Lock()

    def restore(self, saved: Mapping[str, Any], now: datetime) -> None:
        try:
            day, units = date.fromisoformat(str(saved["day"])), int(saved["units"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            self._roll(now)
            if day == self.day:
                self.units = max(self.units, units)

    def spend(self, method: str, now: datetime) -> None:
        """Count a call before it is made (YouTube charges even refused calls), or refuse it."""
        cost = COST[method]
        with self._lock:
            self._roll(now)
            if self.units + cost > self.budget:
                until = next_pacific_midnight(now)
                raise RateLimited(
                    f"youtube: {method}.list costs {cost} units and {self.units} of the "
                    f"{self.budget} allowed today (daily_quota) are spent; the quota resets at "
                    f"midnight Pacific Time ({until:%Y-%m-%d %H:%M} UTC)",
                    until,
                )
            self.units += cost

    def refund(self, method: str) -> None:
        with self._lock:
            self.units = max(self.units - COST[method], 0)

    def exhaust(self, now: datetime) -> None:
        with self._lock:
            self._roll(now)
            self.units = max(self.units, self.budget)

    def snapshot(self, now: datetime) -> dict[str, Any]:
        with self._lock:
            self._roll(now)
            return {"day": str(self.day), "units": self.units}

    def _roll(self, now: datetime) -> None:
        today = quota_day(now)
        if self.day != today:
            self.day, self.units = today, 0


@dataclass
class Signal:
    """A `RateLimitRule` for one request: Google's error reasons, read before the HTTP layer
    judges the status, and the short wait a per-minute throttle means. (A spent daily quota is
    the ledger's business: it refuses every brand's calls until the Pacific midnight reset.)
    """

    answered: bool = False
    error: GoogleError | None = None

    def read(self, response: httpx.Response, now: datetime) -> Budget | None:
        self.answered = True
        if response.status_code < 400:
            return None
        try:
            self.error = _ErrorBody.model_validate_json(response.content).error
        except ValidationError:
            return None  # not Google's error shape: the status speaks alone
        if self.error.reasons & RATE_REASONS:
            return Budget(remaining=0, reset_at=now + RATE_WAIT)
        return None


class CommentsUnavailable(ListenerError):
    """One video's comments cannot be read (turned off, or the video is gone)."""


# ---- cursor ----------------------------------------------------------------------------------


@dataclass
class Watched:
    published: int
    mark: Watermark = field(default_factory=Watermark)


@dataclass
class State:
    """The cursor: a watermark per listing, the found videos still watched, the quota spent."""

    channel: Watermark = field(default_factory=Watermark)
    search: Watermark = field(default_factory=Watermark)
    videos: dict[str, Watched] = field(default_factory=dict)
    quota: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, cursor: str | None) -> State:
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
            videos = {
                str(vid): Watched(int(v["published"]), _mark(v.get("comments")))
                for vid, v in data.get("videos", {}).items()
            }
            return cls(
                _mark(data.get("channel")),
                _mark(data.get("search")),
                videos,
                dict(data.get("quota") or {}),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("ignoring an unreadable youtube cursor; starting from the newest")
            return cls()

    def dumps(self) -> str:
        return json.dumps(
            {
                "channel": json.loads(self.channel.dumps()),
                "search": json.loads(self.search.dumps()),
                "videos": {
                    vid: {"published": w.published, "comments": json.loads(w.mark.dumps())}
                    for vid, w in self.videos.items()
                },
                "quota": self.quota,
            },
            separators=(",", ":"),
        )


def _mark(data: object) -> Watermark:
    return Watermark.load(json.dumps(data) if isinstance(data, dict) else None)


# ---- the listener ----------------------------------------------------------------------------


@dataclass
class _Walk:
    """One search's query and the ids already yielded: a comment can come both from the
    channel's listing and from a watched video's."""

    query: Query
    heard: set[str] = field(default_factory=set)


class YouTubeListener(Listener):
    name: ClassVar[str] = "youtube"
    display_name: ClassVar[str] = "YouTube"
    Settings: ClassVar[type[SourceSettings]] = YouTubeSettings
    default_base_url: ClassVar[str] = "https://www.googleapis.com/youtube/v3"
    syntax: ClassVar[Syntax | None] = YOUTUBE
    settings: YouTubeSettings

    def compiled(self, query: Query) -> list[str]:
        return [compile_youtube(query)]

    def __init__(self, settings: SourceSettings, http: HttpClient, env: Mapping[str, str]) -> None:
        super().__init__(settings, http, env)
        self.ledger = QuotaLedger(self.settings.daily_quota)

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """The channel's comments, then new videos, then comments on watched videos, a page
        each; the cursor rides on a final page once everything is read."""
        self._key()
        state = State.load(cursor)
        self.ledger.restore(state.quota, _now())
        walk = _Walk(query)
        if self.settings.channel_id:
            params = {"allThreadsRelatedToChannelId": self.settings.channel_id}
            fetched: dict[str, int] = {}
            for threads in self._threads(params, state.channel):
                yield Page(self._comments(threads, state.channel, fetched, walk, channel=True))
            state.channel = state.channel.advance(fetched.items())
        if self.settings.search_videos:
            found: dict[str, int] = {}
            for mentions in self._videos(state, found, walk):
                yield Page(mentions)
            state.search = state.search.advance(found.items())
            self._prune(state)
        for vid, watched in list(state.videos.items()):
            fetched = {}
            try:
                for threads in self._threads({"videoId": vid}, watched.mark):
                    yield Page(self._comments(threads, watched.mark, fetched, walk, channel=False))
            except CommentsUnavailable as exc:
                log.info("youtube: no longer reading comments on video %s: %s", vid, exc)
                del state.videos[vid]
                continue
            watched.mark = watched.mark.advance(fetched.items())
        state.quota = self.ledger.snapshot(_now())
        yield Page([], state.dumps())

    def backfill_cursor(self, since: datetime) -> str | None:
        """Videos published since `since` (100 units per search page, within `daily_quota`) and
        the channel's comments back to it; comments on the videos found are read from then on."""
        mark = Watermark.reaching_back_to(since)
        return State(channel=mark, search=mark).dumps()

    def check(self) -> str:
        self._key()
        if self.settings.channel_id:
            params = {"part": "snippet", "id": self.settings.channel_id}
            body = self._get("channels", params, ItemList)
            if not body.items:
                raise ListenerError(f"youtube: no channel with id {self.settings.channel_id}")
            title = body.items[0].get("snippet", {}).get("title", "(no title)")
            what = f"channel {title} ({self.settings.channel_id}) found"
        else:
            self._get("i18nLanguages", {"part": "snippet"}, ItemList)
            what = "API key accepted"
        spent = self.ledger.snapshot(_now())["units"]
        return f"{what}; {spent} of {self.settings.daily_quota} quota units spent today (Pacific)"

    # -- listings --

    def _threads(self, params: Mapping[str, str], mark: Watermark) -> Iterator[list[Thread]]:
        """Comment threads newest first: one page on a first read, else back to the window."""
        query: dict[str, str | int] = {
            "part": "snippet",
            "order": "time",
            "textFormat": "plainText",
            "maxResults": THREAD_PAGE,
            **params,
        }
        while True:
            body = self._get("commentThreads", query, ThreadList)
            yield body.items
            times = [unix(t.snippet.topLevelComment.snippet.publishedAt) for t in body.items]
            if not body.nextPageToken or not body.items or mark.floor is None:
                return
            if newest_first(times) and mark.is_old(times[-1]):
                return
            query["pageToken"] = body.nextPageToken

    def _comments(
        self,
        threads: list[Thread],
        mark: Watermark,
        fetched: dict[str, int],
        walk: _Walk,
        *,
        channel: bool,
    ) -> list[Mention]:
        found = []
        for thread in threads:
            comment = thread.snippet.topLevelComment
            created = unix(comment.snippet.publishedAt)
            new = comment.id not in fetched and mark.is_new(comment.id, created)
            fetched[comment.id] = created
            if not new or comment.id in walk.heard:
                continue
            mention = comment_mention(thread)
            if not self._heard(thread, mention, walk.query, channel):
                continue
            walk.heard.add(comment.id)
            found.append(mention)
        return found

    def _heard(self, thread: Thread, mention: Mention, query: Query, channel: bool) -> bool:
        text = comment_text(thread)
        if not text:
            return False
        author = thread.snippet.topLevelComment.snippet.authorChannelId
        if author is not None and author.value == self.settings.channel_id:
            return False  # the brand's own comment
        if channel and not self.settings.match_query:
            return True
        return query.accepts(Post.of(mention, text))

    def _videos(self, state: State, found: dict[str, int], walk: _Walk) -> Iterator[list[Mention]]:
        """Newest videos matching the query: one search page on a first run, else back to the
        window; their full text and counts come from one `videos.list` call per page."""
        mark = state.search
        params: dict[str, str | int] = {
            "part": "snippet",
            "type": "video",
            "order": "date",
            "q": compile_youtube(walk.query),
            "maxResults": SEARCH_PAGE,
        }
        if mark.floor is not None:
            params["publishedAfter"] = rfc3339(mark.floor)
        while True:
            body = self._get("search", params, SearchList)
            results = [r for r in body.items if r.id.videoId]
            fresh = []
            for result in results:
                vid, created = str(result.id.videoId), unix(result.snippet.publishedAt)
                if vid not in found and mark.is_new(vid, created):
                    fresh.append(vid)
                found[vid] = created
            yield self._video_mentions(fresh, state, walk) if fresh else []
            times = [unix(r.snippet.publishedAt) for r in results]
            if not body.nextPageToken or not body.items or mark.floor is None:
                return
            if times and mark.is_old(min(times)):
                return
            params["pageToken"] = body.nextPageToken

    def _video_mentions(self, ids: list[str], state: State, walk: _Walk) -> list[Mention]:
        params = {"part": "snippet,statistics", "id": ",".join(ids), "maxResults": SEARCH_PAGE}
        videos = self._get("videos", params, VideoList).items
        mentions = []
        for video in videos:
            s = video.snippet
            mention = video_mention(video)
            text = fields(s.title, s.description, " ".join(s.tags))
            if not walk.query.accepts(Post.of(mention, text)):
                continue
            mentions.append(mention)
            walk.heard.add(video.id)
            if s.channelId != self.settings.channel_id:  # the channel's listing covers its own
                state.videos.setdefault(video.id, Watched(unix(s.publishedAt)))
        return mentions

    def _prune(self, state: State) -> None:
        """Keep the `max_videos` newest videos that appeared within `watch_days`."""
        oldest = unix(_now() - timedelta(days=self.settings.watch_days))
        keep = sorted(
            ((vid, w) for vid, w in state.videos.items() if w.published >= oldest),
            key=lambda item: -item[1].published,
        )[: self.settings.max_videos]
        state.videos = dict(keep)

    # -- requests --

    def _get(self, method: str, params: Mapping[str, str | int], model: type[T]) -> T:
        key = self._key()
        now = _now()
        self.ledger.spend(method, now)
        signal = Signal()
        try:
            response = self.http.get(
                f"{self.base_url}/{method}", params={**params, "key": key}, rules=[signal]
            )
        except ListenerError as exc:
            if not signal.answered:
                self.ledger.refund(method)  # refused before sending, or never reached Google
            explained = self._explain(method, signal.error, exc)
            if explained is exc:
                raise
            raise explained from exc
        return read_model(response, model)

    def _explain(self, method: str, error: GoogleError | None, exc: ListenerError) -> ListenerError:
        where = f"{method}.list"
        if error is None:
            if isinstance(exc, RateLimited):
                return exc
            kind = AuthError if isinstance(exc, AuthError) else type(exc)
            return kind(f"youtube: {exc}")
        reasons = error.reasons
        said = f"HTTP {error.code} {', '.join(sorted(reasons)) or error.status}: {error.message}"
        if reasons & QUOTA_REASONS:
            now = _now()
            self.ledger.exhaust(now)
            until = exc.until if isinstance(exc, RateLimited) else next_pacific_midnight(now)
            return RateLimited(
                f"youtube: the project's daily quota is spent ({said}); it resets at midnight "
                f"Pacific Time ({until:%Y-%m-%d %H:%M} UTC)",
                until,
            )
        if isinstance(exc, RateLimited):
            return RateLimited(f"youtube: throttled on {where} ({said})", exc.until)
        if reasons & GONE_REASONS:
            return CommentsUnavailable(said)
        if reasons & KEY_REASONS:
            return AuthError(f"youtube refused {KEY_ENV} on {where} ({said}); {KEY_HELP}")
        if reasons & DISABLED_REASONS:
            return AuthError(
                f"youtube: the key's Google Cloud project cannot use the API on {where} "
                f"({said}); enable 'YouTube Data API v3' for that project"
            )
        if error.code in (401, 403) or isinstance(exc, AuthError):
            return AuthError(f"youtube refused {where} ({said})")
        return ListenerError(f"youtube error on {where}: {said}")

    def _key(self) -> str:
        """Read on use, so one unconfigured source never stops the others from being built."""
        key = self.env.get(KEY_ENV, "").strip()
        if not key:
            raise NotConfigured(f"youtube: {KEY_HELP}")
        return key


def _now() -> datetime:
    return datetime.now(UTC)
