"""Feeds as a local server: RSS 2.0, Atom 1.0, and Google News' RSS search.

- `rss(path, items)` / `atom(path, items)` serve a feed at `path` with `ETag` and
  `Last-Modified`, and answer `304 Not Modified` (no body) to a matching `If-None-Match` or a
  not-older `If-Modified-Since` (the ETag wins when both are sent, as RFC 9110 says).
  `conditional=False` makes a server that ignores both.
- `GET /rss/search?q=&hl=&gl=&ceid=` answers like news.google.com: an RSS 2.0 channel whose items
  have "Headline - Publisher" titles, a news.google.com article link, a non-permalink guid, an
  HTML description and a `<source url=...>` element. Its search is deliberately fuzzy (any word
  of `q` outside OR), so the listener's local check is what keeps results precise.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape

from fakes.server import FakeServer, Request, Response


@dataclass
class Item:
    id: str
    title: str
    published: datetime
    summary: str = ""
    link: str | None = None
    author: str | None = None
    source: str | None = None  # Google News: the publisher


def _rfc822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def rss_document(title: str, link: str, items: list[Item], language: str = "en-us") -> str:
    entries = []
    for it in items:
        parts = [
            f"<title>{escape(it.title)}</title>",
            f"<link>{escape(it.link or link + '/' + it.id)}</link>",
            f'<guid isPermaLink="false">{escape(it.id)}</guid>',
            f"<pubDate>{_rfc822(it.published)}</pubDate>",
            f"<description>{escape(it.summary)}</description>",
        ]
        if it.author:
            parts.append(f"<dc:creator>{escape(it.author)}</dc:creator>")
        if it.source:
            parts.append(
                f'<source url="https://{it.source.lower()}.example">{escape(it.source)}</source>'
            )
        entries.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(title)}</description><language>{language}</language>"
        + "".join(entries)
        + "</channel></rss>"
    )


def atom_document(title: str, link: str, items: list[Item], language: str = "en") -> str:
    updated = max((it.published for it in items), default=datetime(2024, 1, 1, tzinfo=UTC))
    entries = []
    for it in items:
        entries.append(
            "<entry>"
            f"<id>tag:status.acme.example,2026:{escape(it.id)}</id>"
            f"<title>{escape(it.title)}</title>"
            f'<link rel="alternate" href="{escape(it.link or link + "/" + it.id)}"/>'
            f"<updated>{it.published.astimezone(UTC).isoformat()}</updated>"
            f"<published>{it.published.astimezone(UTC).isoformat()}</published>"
            f"<author><name>{escape(it.author or 'staff')}</name></author>"
            f'<summary type="html">{escape(it.summary)}</summary>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{language}">'
        f'<title>{escape(title)}</title><id>{escape(link)}</id><link href="{escape(link)}"/>'
        f"<updated>{updated.astimezone(UTC).isoformat()}</updated>" + "".join(entries) + "</feed>"
    )


class FakeFeeds:
    """Install on a FakeServer. `news` holds what Google News would find; `script` is consumed
    one entry per request to any feed before normal service (a Response, or None = normal)."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.news: list[Item] = []
        self.script: list[Response | None] = []
        self.outage: Response | None = None
        server.route("GET", "/rss/search", self._google_news)

    @property
    def base_url(self) -> str:
        return self.server.url

    def url(self, path: str) -> str:
        return self.server.url + path

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.server.requests if r.path == path]

    def rss(
        self, path: str, items: list[Item], *, conditional: bool = True, language: str = "en-us"
    ) -> None:
        def handler(req: Request) -> Response:
            body = rss_document("Acme blog", self.url(path), items, language)
            return self._serve(req, body, "application/rss+xml; charset=utf-8", items, conditional)

        self.server.route("GET", path, handler)

    def atom(
        self, path: str, items: list[Item], *, conditional: bool = True, language: str = "en"
    ) -> None:
        def handler(req: Request) -> Response:
            body = atom_document("Acme status", self.url(path), items, language)
            return self._serve(req, body, "application/atom+xml; charset=utf-8", items, conditional)

        self.server.route("GET", path, handler)

    def raw(self, path: str, body: str, content_type: str = "text/html") -> None:
        self.server.route(
            "GET", path, lambda req: Response(200, body, {"Content-Type": content_type})
        )

    def _serve(
        self, req: Request, body: str, content_type: str, items: list[Item], conditional: bool
    ) -> Response:
        scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted
        if self.outage is not None:
            return self.outage
        if not conditional:
            return Response(200, body, {"Content-Type": content_type})
        etag = '"' + hashlib.sha1(body.encode()).hexdigest()[:16] + '"'
        newest = max((it.published for it in items), default=datetime(2024, 1, 1, tzinfo=UTC))
        headers = {"ETag": etag, "Last-Modified": _rfc822(newest)}
        if "if-none-match" in req.headers:
            unchanged = etag in [t.strip() for t in req.headers["if-none-match"].split(",")]
        elif since := req.headers.get("if-modified-since"):
            unchanged = parsedate_to_datetime(since) >= newest.replace(microsecond=0)
        else:
            unchanged = False
        if unchanged:
            return Response(304, b"", headers)
        return Response(200, body, {"Content-Type": content_type, **headers})

    def _google_news(self, req: Request) -> Response:
        q = req.arg("q") or ""
        words = {w for w in re.findall(r"\w+", q.lower())} - {"or"}
        found = [
            it for it in self.news if any(w in f"{it.title} {it.summary}".lower() for w in words)
        ]
        found.sort(key=lambda it: it.published, reverse=True)
        items = [
            Item(
                id=it.id,
                title=f"{it.title} - {it.source or 'Example News'}",
                published=it.published,
                summary=f'<a href="https://news.google.com/rss/articles/{it.id}?oc=5" '
                f'target="_blank">{escape(it.title)}</a>&nbsp;&nbsp;'
                f'<font color="#6f6f6f">{escape(it.source or "Example News")}</font>'
                + (f"<p>{escape(it.summary)}</p>" if it.summary else ""),
                link=f"https://news.google.com/rss/articles/{it.id}?oc=5",
                source=it.source or "Example News",
            )
            for it in found
        ]
        link = f"https://news.google.com/search?q={q}&hl=en-US&gl=US&ceid=US:en"
        body = rss_document(f'"{q}" - Google News', link, items, "en-US")
        return self._serve(req, body, "application/xml; charset=utf-8", items, conditional=False)
