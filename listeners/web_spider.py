"""The Scrapy half of `listeners.web`: one site's crawl, in a process of its own.

    python -m listeners.web_spider < job.json > lines.jsonl

Reads a `Job` on stdin and writes JSON lines on stdout: an `ItemLine` per post, a `FailureLine`
per request that gave no page, and a `DoneLine` last. Only those lines reach stdout (anything
else that prints goes to stderr, with Scrapy's log), so the parent can trust every line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO, cast
from urllib.parse import urlsplit

import scrapy
from parsel import Selector
from pydantic import BaseModel
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.response import response_status_message
from twisted.python.failure import Failure

from listeners.text import html_to_text
from listeners.web import (
    DoneLine,
    FailureLine,
    ItemLine,
    Job,
    SiteSettings,
    parse_date,
    post_ids,
    select,
)

RETRY_TIMES = 2  # three attempts at a page that fails with a 5xx or a dropped connection

Emit = Callable[[BaseModel], None]


def crawl_settings(job: Job) -> dict[str, Any]:
    """Polite and bounded: every way a crawl could run on has its own limit here."""
    site = job.site
    hosts = {urlsplit(url).netloc for url in site.start_urls}
    requests = len(site.start_urls) * site.max_pages + len(hosts)  # pages plus robots.txt
    return {
        "USER_AGENT": job.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": job.delay,
        "AUTOTHROTTLE_MAX_DELAY": max(job.delay, 30.0),
        "DOWNLOAD_DELAY": job.delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "DOWNLOAD_TIMEOUT": job.download_timeout,
        "DNS_TIMEOUT": job.download_timeout,
        "DOWNLOAD_MAXSIZE": job.max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOADER_MIDDLEWARES": {f"{__name__}.KeepToTheSites": 50},
        "CLOSESPIDER_TIMEOUT": job.close_after,
        "CLOSESPIDER_PAGECOUNT": requests * (RETRY_TIMES + 1),
        "RETRY_TIMES": RETRY_TIMES,
        # 429 is reported to the scheduler (which waits), not retried at once.
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "LOGSTATS_INTERVAL": 0,
    }


def origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


class KeepToTheSites:
    """Drops a redirect that leaves the start URLs' origins (scheme, host, port) for a host the
    source does not name in `follow_redirects_to`. Scrapy's own offsite filter lets every
    redirect of a start URL by (they are sent with dont_filter), so it cannot do this."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KeepToTheSites:
        return cls(crawler)

    def process_request(self, request: scrapy.Request) -> None:
        spider = cast(ListingSpider, self.crawler.spider)
        if not request.meta.get("redirect_urls") or origin(request.url) in spider.origins:
            return
        parts = urlsplit(request.url)
        if {parts.hostname, parts.netloc} & set(spider.job.redirect_hosts):
            return
        raise IgnoreRequest(f"offsite redirect to {parts.netloc}")


class ListingSpider(scrapy.Spider):
    """Reads the posts on each listing page and follows `next_page` up to `max_pages`."""

    name = "listenpost-web"

    def __init__(self, job: Job, emit: Emit, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.emit = emit
        self.origins = {origin(url) for url in job.site.start_urls}
        self.seen = set(job.seen)
        self.pages = 0
        self.finish_reason = "unknown"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ListingSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.spider_error, signal=signals.spider_error)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.job.site.start_urls:
            yield self.request(url, page=1)

    def request(self, url: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_listing,
            errback=self.failed,
            meta={"page": page},
            dont_filter=page == 1,  # two start URLs may redirect to one page; read both
        )

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        site = self.job.site
        page = response.meta["page"]
        if not isinstance(response, TextResponse):
            kind = response.headers.get("Content-Type", b"no Content-Type").decode("latin-1")
            self.emit(
                FailureLine(
                    url=response.url,
                    start=page == 1,
                    reason="not_html",
                    detail=f"not an HTML page ({kind})",
                )
            )
            return
        self.pages += 1
        posts = [read_post(node, response, site) for node in select(response.selector, site.item)]
        items = [item for item in posts if item is not None]
        for item in items:
            self.emit(item)
        if page >= site.max_pages or not site.next_page:
            return
        if site.newest_first and items and self.all_known(items):
            return  # the rest of a newest-first listing was read on an earlier crawl
        target = first_value(select(response.selector, site.next_page), ("href",))
        if target:
            yield self.request(response.urljoin(target), page + 1)

    def all_known(self, items: Sequence[ItemLine]) -> bool:
        now = datetime.now(UTC)
        floor = self.job.floor
        for item, native_id in zip(items, post_ids(self.job.site.name, items), strict=True):
            when = parse_date(item.date, now)
            old = floor is not None and when is not None and when < floor
            if native_id not in self.seen and not old:
                return False
        return True

    def failed(self, failure: Failure) -> None:
        request = failure.request
        start = request.meta.get("page", 1) == 1
        attempts = request.meta.get("retry_times", 0) + 1
        tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
        if failure.check(HttpError):
            response = failure.value.response
            wait = response.headers.get("Retry-After")
            line = FailureLine(
                url=request.url,
                start=start,
                reason="http",
                status=response.status,
                retry_after=wait.decode("latin-1") if wait else None,
                detail=f"HTTP {response_status_message(response.status)} {tries}",
            )
        elif failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
            line = FailureLine(
                url=request.url, start=start, reason="robots", detail="forbidden by robots.txt"
            )
        elif failure.check(DownloadCancelledError):
            line = FailureLine(
                url=request.url,
                start=start,
                reason="network",
                detail=f"larger than the {self.job.max_bytes:,}-byte limit; stopped reading "
                "(raise sources.web.max_bytes if that is expected)",
            )
        elif failure.check(IgnoreRequest) and "offsite" in str(failure.value):
            line = FailureLine(
                url=request.url,
                start=start,
                reason="network",
                detail="redirected to another site; not followed (allow its host with "
                "sources.web.follow_redirects_to)",
            )
        else:
            error = failure.value
            line = FailureLine(
                url=request.url,
                start=start,
                reason="network",
                detail=f"{type(error).__name__} ({error or 'no details'}) {tries}",
            )
        self.emit(line)

    def spider_error(self, failure: Failure, response: Response, spider: scrapy.Spider) -> None:
        error = failure.value
        self.emit(
            FailureLine(
                url=response.url,
                start=response.meta.get("page", 1) == 1,
                reason="spider",
                detail=f"reading the page failed: {type(error).__name__}: {error}",
            )
        )

    def closed(self, reason: str) -> None:
        self.finish_reason = reason


def read_post(node: Selector, response: TextResponse, site: SiteSettings) -> ItemLine | None:
    """One post's fields, looked up inside its node; None when it has no words at all."""
    text = "\n".join(values(select(node, site.text), ()))
    title = _first_line(node, site.title)
    if not text and not title:
        return None
    link = first_value(select(node, site.link), ("href",)) if site.link else None
    date = (
        first_value(select(node, site.date), ("datetime", "content", "title"))
        if site.date
        else None
    )
    return ItemLine(
        page=response.url,
        text=text,
        title=title,
        author=_first_line(node, site.author),
        date=date,
        link=response.urljoin(link) if link else None,
    )


def values(found: Sequence[Selector], attributes: Sequence[str]) -> list[str]:
    """What each match says: a string result as it is; an element by the first of `attributes`
    it carries, else by its text as a reader sees it (paragraphs kept, tags dropped)."""
    out = []
    for match in found:
        if not hasattr(match.root, "tag"):  # ::text, ::attr(), @attr or an XPath string/number
            value = str(match.get())
        else:
            value = next((match.attrib[a] for a in attributes if match.attrib.get(a)), None)
            value = value if value is not None else html_to_text(match.get())
        value = value.strip()
        if value:
            out.append(value)
    return out


def first_value(found: Sequence[Selector], attributes: Sequence[str]) -> str | None:
    return next(iter(values(found, attributes)), None)


def _first_line(node: Selector, expr: str | None) -> str | None:
    value = first_value(select(node, expr), ()) if expr else None
    return " ".join(value.split()) if value else None


def _claim_stdout() -> TextIO:
    """Keep fd 1 for result lines alone: move it aside, point fd 1 and sys.stdout at stderr."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def main() -> int:
    out = _claim_stdout()
    job = Job.model_validate_json(sys.stdin.buffer.read())

    def emit(line: BaseModel) -> None:
        out.write(line.model_dump_json() + "\n")
        out.flush()

    process = CrawlerProcess(crawl_settings(job))
    crawler = process.create_crawler(ListingSpider)
    process.crawl(crawler, job=job, emit=emit)
    process.start()
    spider = cast(ListingSpider, crawler.spider)
    emit(DoneLine(pages=spider.pages, reason=spider.finish_reason))
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
