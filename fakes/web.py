"""A small forum on 127.0.0.1, as a crawler meets one.

- `GET /robots.txt`: `User-agent: *` / `Disallow: /archive/` (the archive must never be fetched).
- `GET /c/support` and `/c/support?page=N`: listing pages, newest first, each post an
  `<article class="post">` with an `<h2>` title (when it has one), `.author`,
  `<time datetime="ISO 8601">` (when dated), `.post-body` paragraphs and a relative
  `a.permalink` (when it has one). Page N links to `?page=N+1`; the last page's "older posts"
  link leads into the disallowed `/archive/c/support`.
- `GET /archive/c/support`: older posts, served to anyone who ignores robots.txt.
- `raw(path, body, content_type)`: any other page (an image, a page with another layout).
- `script`: consumed one entry per listing request before normal service (a Response, or None);
  `outage`: what every path, robots.txt included, answers; `stall`: listing requests wait on
  this event (a site that hangs) before answering.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from html import escape

from fakes.server import FakeServer, Request, Response

LISTING = "/c/support"
ARCHIVE = "/archive/c/support"
ROBOTS = "User-agent: *\nDisallow: /archive/\n"
HTML = "text/html; charset=utf-8"


@dataclass
class Post:
    id: int
    author: str
    body: str
    published: datetime | None
    title: str | None = None
    permalink: bool = True


def render_post(post: Post) -> str:
    parts = [f'<article class="post" id="post-{post.id}">']
    if post.title:
        parts.append(f"<h2>{escape(post.title)}</h2>")
    parts.append(f'<span class="author">{escape(post.author)}</span>')
    if post.published:
        iso = post.published.isoformat().replace("+00:00", "Z")
        parts.append(f'<time datetime="{iso}">{post.published:%b %d, %Y}</time>')
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in post.body.split("\n\n"))
    parts.append(f'<div class="post-body">{paragraphs}</div>')
    if post.permalink:
        parts.append(f'<a class="permalink" href="/t/{post.id}">#{post.id}</a>')
    parts.append("</article>")
    return "\n".join(parts)


def render_listing(title: str, posts: list[Post], next_href: str | None) -> str:
    nav = (
        f'<nav><a class="next" href="{escape(next_href)}">Older posts</a></nav>'
        if next_href
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)} - Acme Forum</title></head><body>"
        '<header><a href="/">Acme Forum</a></header><main>'
        + "\n".join(render_post(p) for p in posts)
        + nav
        + "</main></body></html>"
    )


class FakeForum:
    """Install on a FakeServer; `pages` are the listing's pages, newest first."""

    def __init__(self, server: FakeServer, pages: list[list[Post]], archive: list[Post]) -> None:
        self.server = server
        self.pages = pages
        self.archive = archive
        self.script: list[Response | None] = []
        self.outage: Response | None = None
        self.stall: threading.Event | None = None
        server.route("GET", "/robots.txt", self._robots)
        server.route("GET", LISTING, self._listing)
        server.route("GET", ARCHIVE, self._archive)

    @property
    def base_url(self) -> str:
        return self.server.url

    def url(self, path: str) -> str:
        return self.server.url + path

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.server.requests if r.path == path]

    def listing_pages_read(self) -> list[str]:
        return [r.arg("page", "1") or "1" for r in self.requests_to(LISTING)]

    def raw(self, path: str, body: bytes | str, content_type: str = HTML) -> None:
        self.server.route("GET", path, lambda req: self._serve(body, content_type))

    def _serve(self, body: bytes | str, content_type: str) -> Response:
        if self.outage is not None:
            return self.outage
        return Response(200, body, {"Content-Type": content_type})

    def _robots(self, req: Request) -> Response:
        return self._serve(ROBOTS, "text/plain")

    def _listing(self, req: Request) -> Response:
        if self.stall is not None:
            self.stall.wait(timeout=30)
        scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted
        number = int(req.arg("page", "1") or "1")
        if not 1 <= number <= len(self.pages):
            return Response(404, "<h1>No such page</h1>", {"Content-Type": HTML})
        next_href = f"?page={number + 1}" if number < len(self.pages) else ARCHIVE
        return self._serve(render_listing("Support", self.pages[number - 1], next_href), HTML)

    def _archive(self, req: Request) -> Response:
        return self._serve(render_listing("Archive", self.archive, None), HTML)
