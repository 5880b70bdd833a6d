"""A real HTTP server on 127.0.0.1 for tests: the code under test goes through its whole HTTP
stack (sockets, status codes, headers), and the test decides what each request gets back.

Usage::

    with FakeServer() as srv:
        srv.route("GET", "/api/v1/search_by_date", handler)   # handler(Request) -> Response
        client_under_test(base_url=srv.url)
        assert srv.requests[0].query["query"] == ["acme"]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class LocalServer:
    """A threading HTTP server on a free port of 127.0.0.1, served from a daemon thread: how
    every fake here listens, whatever it answers."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        # A short poll interval makes shutdown near-instant (the default waits up to 0.5 s).
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(data).encode(), hdrs)


Handler = Callable[[Request], Response]


class FakeServer:
    """Threaded HTTP server; routes are (method, path) -> handler. Unknown routes get a 404."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without this, Nagle's algorithm holds
            # the body back ~40 ms waiting for the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with outer._lock:
                    outer.requests.append(req)
                    handler = outer.routes.get((self.command, parts.path))
                if handler is None:
                    resp = Response.json({"error": "not found"}, status=404)
                else:
                    resp = handler(req)
                payload = resp.body
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                    resp.headers.setdefault("Content-Type", "application/json")
                elif isinstance(payload, str):
                    payload = payload.encode()
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        self.local = LocalServer(_H)

    @property
    def url(self) -> str:
        return self.local.url

    def route(self, method: str, path: str, handler: Handler) -> None:
        with self._lock:
            self.routes[(method, path)] = handler

    def start(self) -> FakeServer:
        self.local.start()
        return self

    def stop(self) -> None:
        self.local.stop()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
