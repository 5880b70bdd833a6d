"""A local HTTP server that answers with as many bytes as a test asks for, generated as they are
sent, so a 100 MB (or endless) answer costs the test no memory, and whose Content-Length may
tell the truth, be missing, or lie.

Usage::

    with FloodServer() as flood:
        flood.serve("/feed.xml", size=100 * 2**20, content_type="application/rss+xml")
        flood.serve("/liar.xml", size=10**9, content_length=500)   # says 500, sends 1 GB
        listener(base_url=flood.url)
        assert flood.sent["/feed.xml"] < 100 * 2**20               # the client hung up early
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from fakes.server import LocalServer

_CHUNK = b"<!-- " + b"x" * 65_000 + b" -->\n"  # still XML: a feed reader keeps reading


@dataclass
class Flood:
    size: int  # bytes of body to send (after `head`)
    content_type: str = "application/rss+xml; charset=utf-8"
    content_length: int | str | None = "true"  # "true": the real length; None: no header
    head: bytes = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'


class FloodServer:
    def __init__(self) -> None:
        self.floods: dict[str, Flood] = {}
        self.sent: dict[str, int] = {}  # bytes written before the client hung up
        self._lock = threading.Lock()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                flood = outer.floods.get(path)
                if flood is None:
                    self.send_error(404)
                    return
                total = len(flood.head) + flood.size
                self.send_response(200)
                self.send_header("Content-Type", flood.content_type)
                declared = total if flood.content_length == "true" else flood.content_length
                if declared is not None:
                    self.send_header("Content-Length", str(declared))
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                written = 0
                try:
                    self.wfile.write(flood.head)
                    written += len(flood.head)
                    while written < total:
                        chunk = _CHUNK[: total - written]
                        self.wfile.write(chunk)
                        written += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the tests want
                with outer._lock:
                    outer.sent[path] = written

        self.local = LocalServer(_H)

    @property
    def url(self) -> str:
        return self.local.url

    def serve(self, path: str, size: int, **options: Any) -> None:
        self.floods[path] = Flood(size, **options)

    def __enter__(self) -> FloodServer:
        self.local.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.local.stop()
