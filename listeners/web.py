"""Any site that lists posts on HTML pages (forums, review sites, blogs, app-store pages), read
with Scrapy through selectors written in settings::

    [sources.web]
    every = "30m"
    [[sources.web.sites]]
    name = "acme-forum"
    start_urls = ["https://forum.example.com/c/support"]
    item = "article.post"              # one post: CSS, or XPath after "xpath:"
    text = ".post-body"                # the fields below are looked up inside the post
    author = ".author"
    date = "time::attr(datetime)"
    link = "a.permalink::attr(href)"
    title = "h2"                       # optional
    next_page = "a.next::attr(href)"   # optional, followed up to max_pages
    max_pages = 5

Scrapy runs in a child process, one per site and crawl (`python -m listeners.web_spider`):
Twisted's reactor cannot be restarted inside the long-lived scheduler, and a child that overruns
its wall clock can be killed without taking anything else down. The child reads a `Job` as JSON
on stdin and answers with JSON lines on stdout (`ItemLine`, `FailureLine`, then one `DoneLine`);
everything on this side is plain Python: settings, reading the lines, Mentions, the cursor.

A crawl is polite and bounded by construction: robots.txt is obeyed, AutoThrottle adapts the
delay to the site, and `max_pages`, a page count, a per-request timeout and the wall clock each
end it. Sites have no search, so every post goes through `Query.matches`. The cursor keeps, per
site, the newest post date and the ids seen (bounded), so a newest-first listing is not followed
past the first page with nothing new.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Annotated, ClassVar, Literal
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from cssselect import SelectorError
from parsel import Selector, SelectorList
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from core.durations import parse_duration
from core.http import USER_AGENT
from core.mention import Mention
from core.query import Post, Query, fields
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import AuthError, ListenerError, MalformedResponse, RateLimited, first_of
from listeners.http import DEFAULT_RATE_LIMIT_WAIT, wait_until

log = logging.getLogger(__name__)

SPIDER_MODULE = "listeners.web_spider"
XPATH_PREFIX = "xpath:"
MAX_SEEN_PER_SITE = 1000
# A newest-first listing stops being followed at a page whose posts are all older than the
# newest one already held, minus this much: room for posts approved or indexed late.
OVERLAP = timedelta(days=1)
STDERR_TAIL = 600  # characters of the crawler's log quoted in an error
SHUTDOWN_MARGIN = 10.0  # seconds the crawler gets to close cleanly before its wall clock


# ---- selectors -------------------------------------------------------------------------------


def select(node: Selector, expr: str) -> SelectorList[Selector]:
    """`expr` as written in settings: CSS (with parsel's `::text` and `::attr(name)`), or XPath
    after the "xpath:" prefix."""
    if expr.startswith(XPATH_PREFIX):
        return node.xpath(expr[len(XPATH_PREFIX) :].strip())
    return node.css(expr)


_PROBE = Selector(text="<html><body></body></html>")


def _compiles(expr: str) -> str:
    try:
        select(_PROBE, expr)
    except (ValueError, SelectorError) as exc:
        kind = "XPath expression" if expr.startswith(XPATH_PREFIX) else "CSS selector"
        raise ValueError(f"{expr!r} is not a valid {kind}: {exc}") from None
    return expr


# ---- settings --------------------------------------------------------------------------------


class SiteSettings(BaseModel):
    """One `[[sources.web.sites]]` entry: where the listing pages are and how to read a post.

    `start_urls` may be relative ("/c/support") when the source sets `base_url`, so a test or a
    mirror can re-point a site. Field selectors are looked up inside the post: an XPath one
    starts with "." to stay there ("xpath:.//span[@class='author']"). `newest_first = false`
    is for listings that grow at the end (a forum thread read from page 1): every page up to
    `max_pages` is then read on each crawl.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    start_urls: list[str] = Field(min_length=1)
    item: str
    text: str
    author: str | None = None
    date: str | None = None
    link: str | None = None
    title: str | None = None
    next_page: str | None = None
    max_pages: int = Field(default=5, ge=1, le=100)
    newest_first: bool = True

    @field_validator("item", "text", "author", "date", "link", "title", "next_page")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        return None if value is None else _compiles(value)

    @field_validator("start_urls")
    @classmethod
    def _http_or_relative(cls, value: list[str]) -> list[str]:
        for url in value:
            scheme = urlsplit(url).scheme
            if scheme not in ("", "http", "https") or (scheme and not urlsplit(url).netloc):
                raise ValueError(f"{url!r} is not an http(s) URL or a path on base_url")
        return value


class WebSettings(SourceSettings):
    """`[sources.web]`: the sites, and limits that bound every crawl.

    `timeout` is the wall clock of one site's crawl (the crawler is killed past it);
    `download_timeout` bounds each request; `delay` is the least time between two requests to
    a site, in seconds (AutoThrottle raises it when the site slows down).
    """

    every: str = "30m"
    max_poll_time: str = "30m"  # several sites, each crawl up to `timeout`
    sites: list[SiteSettings] = Field(min_length=1)
    timeout: str = "5m"
    download_timeout: str = "30s"
    delay: float = Field(default=1.0, ge=0, le=60)

    @field_validator("timeout", "download_timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WebSettings:
        names = [site.name for site in self.sites]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"site names must be unique; repeated: {', '.join(repeated)}")
        if not self.base_url:
            for site in self.sites:
                for url in site.start_urls:
                    if not urlsplit(url).scheme:
                        raise ValueError(
                            f"site {site.name!r}: start URL {url!r} is relative; "
                            "write it in full or set base_url"
                        )
        return self


# ---- what travels between this process and the crawler ---------------------------------------


class Job(BaseModel):
    """One crawl, as the spider process reads it from stdin (`site.start_urls` absolute).

    `floor`: a post dated before it counts as already known, like a post in `seen`.
    """

    site: SiteSettings
    user_agent: str
    download_timeout: float
    close_after: float
    delay: float
    seen: list[str] = []
    floor: datetime | None = None
    max_bytes: int = 16 * 1024 * 1024  # one page; past it the download is dropped
    redirect_hosts: list[str] = []  # besides the start URLs' hosts


class ItemLine(BaseModel):
    """One post as the page shows it; `link` is absolute, `date` as written on the page."""

    kind: Literal["item"] = "item"
    page: str
    text: str = ""
    author: str | None = None
    date: str | None = None
    link: str | None = None
    title: str | None = None


class FailureLine(BaseModel):
    """A request that gave no page. `start`: it was a start URL, not a followed next page."""

    kind: Literal["failure"] = "failure"
    url: str
    start: bool
    reason: Literal["http", "robots", "not_html", "network", "spider"]
    detail: str
    status: int | None = None
    retry_after: str | None = None

    @property
    def blocking(self) -> bool:
        """robots.txt forbidding a followed page is the site's wish, not a failure to report."""
        return self.reason != "robots" or self.start


class DoneLine(BaseModel):
    """The last line: listing pages read, and Scrapy's finish reason ("finished" when whole)."""

    kind: Literal["done"] = "done"
    pages: int
    reason: str


_LINE: TypeAdapter[ItemLine | FailureLine | DoneLine] = TypeAdapter(
    Annotated[ItemLine | FailureLine | DoneLine, Field(discriminator="kind")]
)


@dataclass
class Crawl:
    items: list[ItemLine]
    failures: list[FailureLine]
    done: DoneLine


def read_crawl(site: str, stdout: bytes, stderr: bytes) -> Crawl:
    """The crawler's JSON lines; anything else means its output cannot be trusted at all."""
    items: list[ItemLine] = []
    failures: list[FailureLine] = []
    done: DoneLine | None = None
    for number, line in enumerate(stdout.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = _LINE.validate_json(line)
        except ValidationError:
            raise MalformedResponse(
                f"web site {site!r}: the crawler wrote an unreadable line {number} "
                f"({line[:80]!r}){_tail(stderr)}"
            ) from None
        if isinstance(record, ItemLine):
            items.append(record)
        elif isinstance(record, FailureLine):
            failures.append(record)
        else:
            done = record
    if done is None:
        raise MalformedResponse(
            f"web site {site!r}: the crawler stopped without its summary line{_tail(stderr)}"
        )
    return Crawl(items, failures, done)


def _tail(stderr: bytes | None) -> str:
    text = (stderr or b"").decode("utf-8", "replace").strip()
    if not text:
        return ""
    return "; crawler log ends: " + (
        text if len(text) <= STDERR_TAIL else "..." + text[-STDERR_TAIL:]
    )


# ---- posts -----------------------------------------------------------------------------------


def post_ids(site: str, items: Sequence[ItemLine]) -> list[str]:
    """Stable ids: a hash of the post's absolute link; of its site (or link), author and words
    when it has no link, or when several different posts share one link (a review list whose
    posts all link to the product page must not collapse into one mention)."""
    texts: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.link:
            texts[item.link].add(item.text)
    ids = []
    for item in items:
        if item.link and len(texts[item.link]) == 1:
            key = item.link
        else:
            key = "\n".join((item.link or site, item.author or "", item.text or item.title or ""))
        ids.append(hashlib.sha256(key.encode()).hexdigest()[:32])
    return ids


_EPOCH = re.compile(r"^\d{10}(\d{3})?(\.\d+)?$")
_RELATIVE = re.compile(
    r"^(?:(?P<n>\d+|an?|one)\s+(?P<unit>sec|second|min|minute|hr|hour|day|week|month|year)s?"
    r"\s+ago|(?P<word>just now|now|today|yesterday))$",
    re.IGNORECASE,
)
_UNIT = {
    "sec": 1,
    "second": 1,
    "min": 60,
    "minute": 60,
    "hr": 3600,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b", re.IGNORECASE)
_ZONE_NAME = re.compile(r"\s*\b(?:UTC|GMT)$", re.IGNORECASE)
# Day-first and month-first numeric dates (03/04/2026) are ambiguous, so neither is guessed.
_FORMATS = tuple(
    f"{day} {time}".strip()
    for day in (
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%d.%m.%Y",
        "%B %d %Y",
        "%b %d %Y",
        "%d %B %Y",
        "%d %b %Y",
    )
    for time in ("%H:%M:%S", "%H:%M", "%I:%M %p", "")
)


def parse_date(text: str | None, now: datetime) -> datetime | None:
    """A date as sites write it, in UTC; None when it cannot be read with confidence.

    Accepts epoch seconds or milliseconds, ISO 8601, RFC 2822, "3 hours ago"/"yesterday"
    (against `now`) and common written forms ("March 1st, 2026 at 9:05 pm", "01.03.2026").
    A date without a zone is taken as UTC.
    """
    value = " ".join((text or "").split())
    if not value:
        return None
    parsed = _epoch(value) or _iso(value) or _relative(value, now) or _rfc2822(value)
    parsed = parsed or _written(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _epoch(value: str) -> datetime | None:
    if not _EPOCH.match(value):
        return None
    number = float(value)
    return datetime.fromtimestamp(number / 1000 if number >= 1e11 else number, UTC)


def _iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _relative(value: str, now: datetime) -> datetime | None:
    m = _RELATIVE.match(value)
    if not m:
        return None
    word = (m.group("word") or "").lower()
    if word:
        return now - timedelta(days=1) if word == "yesterday" else now
    n = m.group("n").lower()
    count = int(n) if n.isdigit() else 1
    return now - timedelta(seconds=count * _UNIT[m.group("unit").lower()])


def _rfc2822(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _written(value: str) -> datetime | None:
    cleaned = _ORDINAL.sub("", value).replace(",", " ")
    cleaned = _ZONE_NAME.sub("", re.sub(r"\s+at\s+", " ", cleaned, flags=re.IGNORECASE))
    cleaned = " ".join(cleaned.split())
    for fmt in _FORMATS:
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    return None


def to_mention(
    site: SiteSettings, item: ItemLine, native_id: str, when: datetime | None, fetched: datetime
) -> Mention:
    """A post without a date is stamped with the crawl's time: when we first heard it."""
    return Mention(
        network="web",
        native_id=native_id,
        url=item.link or item.page,
        author=item.author or site.name,
        text=item.text or item.title or "",
        created_at=when or fetched,
        title=item.title,
        raw={"site": site.name, "page": item.page, **({"date": item.date} if item.date else {})},
    )


# ---- the cursor ------------------------------------------------------------------------------


class SiteState(BaseModel):
    """`since` is set only by a backfill: posts dated before it are skipped, on that crawl."""

    newest: datetime | None = None
    seen: list[str] = []
    since: datetime | None = None

    @property
    def floor(self) -> datetime | None:
        if self.since is not None:
            return self.since
        return None if self.newest is None else self.newest - OVERLAP


class Cursor(BaseModel):
    sites: dict[str, SiteState] = {}


def _load(cursor: str | None) -> Cursor:
    if not cursor:
        return Cursor()
    try:
        return Cursor.model_validate_json(cursor)
    except ValidationError:
        # Re-reading the sites only repeats posts, which storage upserts.
        log.warning("ignoring an unreadable web cursor %r; re-reading the sites", cursor[:80])
        return Cursor()


# ---- the listener ----------------------------------------------------------------------------


class WebListener(Listener):
    name: ClassVar[str] = "web"
    display_name: ClassVar[str] = "Web"
    Settings: ClassVar[type[SourceSettings]] = WebSettings
    default_base_url: ClassVar[str] = ""
    settings: WebSettings

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """One page per site, each carrying the whole cursor; a site that fails keeps its state
        while the others move on, and the first error is raised once all were crawled."""
        saved = _load(cursor).sites
        states = {s.name: saved[s.name] for s in self.settings.sites if s.name in saved}
        errors: list[ListenerError] = []
        for site in self.settings.sites:
            previous = states.get(site.name, SiteState())
            try:
                crawl = self.crawl(site, previous)
            except ListenerError as exc:
                errors.append(exc)
                continue
            mentions, state = self._read(site, crawl, previous, query)
            problem = _problem(site, crawl)
            if problem is None:
                states[site.name] = state
            else:
                errors.append(problem)
                if not mentions:
                    continue
            yield Page(mentions, Cursor(sites=states).model_dump_json(exclude_defaults=True))
        if errors:
            raise first_of(errors)

    def backfill_cursor(self, since: datetime) -> str | None:
        """Sites keep no history beyond their pages: a backfill reads up to `max_pages` of each
        and keeps the posts dated after `since` (and those without a date)."""
        states = {site.name: SiteState(since=since) for site in self.settings.sites}
        return Cursor(sites=states).model_dump_json(exclude_defaults=True)

    def job(self, site: SiteSettings, state: SiteState) -> Job:
        limit = parse_duration(self.settings.timeout).total_seconds()
        download = parse_duration(self.settings.download_timeout).total_seconds()
        absolute = site.model_copy(
            update={"start_urls": [self.resolve(u) for u in site.start_urls]}
        )
        return Job(
            site=absolute,
            user_agent=USER_AGENT,
            download_timeout=download,
            # Scrapy closes the crawl itself first (and still reports what it read); the kill at
            # `limit` is for a crawler that cannot.
            close_after=max(limit / 2, limit - download - SHUTDOWN_MARGIN),
            delay=self.settings.delay,
            seen=state.seen,
            floor=state.floor,
            max_bytes=self.settings.max_bytes,
            redirect_hosts=self.settings.follow_redirects_to,
        )

    def resolve(self, url: str) -> str:
        return urljoin(self.base_url + "/", url) if self.base_url else url

    def crawl(self, site: SiteSettings, state: SiteState) -> Crawl:
        """Run the spider process for one site; its wall clock is `timeout`."""
        limit = parse_duration(self.settings.timeout).total_seconds()
        job = self.job(site, state).model_dump_json()
        try:
            finished = subprocess.run(
                [sys.executable, "-m", SPIDER_MODULE],
                input=job.encode(),
                capture_output=True,
                timeout=limit,
                env=_child_env(),
                check=False,
            )
        except subprocess.TimeoutExpired as exc:  # run() has killed and reaped the child
            raise ListenerError(
                f"web site {site.name!r}: the crawl ran past its {self.settings.timeout} limit "
                f"and was killed; raise sources.web.timeout or lower max_pages{_tail(exc.stderr)}"
            ) from None
        except OSError as exc:
            raise ListenerError(
                f"web site {site.name!r}: could not start the crawler ({exc})"
            ) from exc
        if finished.returncode != 0:
            raise ListenerError(
                f"web site {site.name!r}: the crawler exited with status {finished.returncode}"
                f"{_tail(finished.stderr)}"
            )
        return read_crawl(site.name, finished.stdout, finished.stderr)

    def _read(
        self, site: SiteSettings, crawl: Crawl, previous: SiteState, query: Query
    ) -> tuple[list[Mention], SiteState]:
        """New matching posts, and the site's state once everything crawled is committed."""
        now = datetime.now(UTC)
        seen = set(previous.seen)
        ids: dict[str, None] = {}  # in crawl order
        dates: list[datetime] = []
        mentions = []
        for item, native_id in zip(crawl.items, post_ids(site.name, crawl.items), strict=True):
            if native_id in ids:
                continue  # the listing moved during the crawl and showed the post twice
            ids[native_id] = None
            when = parse_date(item.date, now)
            if when is not None:
                dates.append(when)
            if native_id in seen or (previous.since and when and when < previous.since):
                continue
            mention = to_mention(site, item, native_id, when, now)
            if query.accepts(Post.of(mention, fields(item.title, item.text, item.link))):
                mentions.append(mention)
        if crawl.done.pages and not crawl.items:
            log.warning(
                "web site %r: the item selector %r matched nothing on %d page(s)",
                site.name,
                site.item,
                crawl.done.pages,
            )
        carried = [i for i in previous.seen if i not in ids]
        newest = max([*dates, *([previous.newest] if previous.newest else [])], default=None)
        return mentions, SiteState(newest=newest, seen=[*ids, *carried][:MAX_SEEN_PER_SITE])

    def check(self) -> str:
        """Fetch each site's first start URL (when robots.txt allows) and count its posts, so a
        selector that no longer matches shows up in `doctor`."""
        reports = []
        for site in self.settings.sites:
            url = self.resolve(site.start_urls[0])
            if not self._robots_allow(url):
                raise ListenerError(f"web site {site.name!r}: robots.txt forbids {url}")
            page = Selector(text=self.http.get(url).text)
            reports.append(f"{site.name}: {len(select(page, site.item))} post(s) on {url}")
        return "; ".join(reports)

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        try:
            response = self.http.get(f"{parts.scheme}://{parts.netloc}/robots.txt")
        except RateLimited:
            raise
        except ListenerError:
            return True  # no readable robots.txt: nothing is forbidden
        robots = RobotFileParser()
        robots.parse(response.text.splitlines())
        return robots.can_fetch(USER_AGENT, url)


def _child_env() -> dict[str, str]:
    """This process's environment, with this source tree importable even when not installed."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _problem(site: SiteSettings, crawl: Crawl) -> ListenerError | None:
    """What went wrong in a crawl that ran, as the error the scheduler acts on; None if whole."""
    throttled = [
        f for f in crawl.failures if f.status == 429 or (f.status == 503 and f.retry_after)
    ]
    if throttled:
        return _rate_limited(site, throttled)
    blocking = [f for f in crawl.failures if f.blocking]
    if not blocking and crawl.done.reason == "finished":
        return None
    problems = [f"{f.url}: {f.detail}" for f in blocking[:3]]
    if len(blocking) > 3:
        problems.append(f"and {len(blocking) - 3} more")
    if crawl.done.reason != "finished":
        problems.append(f"the crawl was cut short ({crawl.done.reason})")
    message = f"web site {site.name!r}: " + "; ".join(problems)
    if blocking and all(f.reason == "not_html" for f in blocking):
        return MalformedResponse(message)
    if not crawl.done.pages and blocking and all(f.status in (401, 403) for f in blocking):
        return AuthError(f"{message} - the site refuses this crawler or needs a login")
    return ListenerError(message)


def _rate_limited(site: SiteSettings, throttled: list[FailureLine]) -> RateLimited:
    now = datetime.now(UTC)
    waits = [w for f in throttled if (w := wait_until(f.retry_after, now)) is not None]
    until = max(waits, default=now + DEFAULT_RATE_LIMIT_WAIT)
    until = max(until, now + timedelta(seconds=1))
    first = throttled[0]
    return RateLimited(
        f"web site {site.name!r}: {urlsplit(first.url).netloc} asked the crawler to wait "
        f"(HTTP {first.status}) on {first.url}; retry after {until:%Y-%m-%d %H:%M:%S} UTC",
        until,
    )
