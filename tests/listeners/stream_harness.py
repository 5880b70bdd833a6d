"""One harness per stream: its listener pointed at its local fake, and the moves the stream
contract (`test_stream_contract.py`) makes on every stream.

`Run` drives `listen` the way the stream runner does, on its own thread: each batch is "committed"
(recorded, its cursor kept) before the next is asked for, and `stop` must end it promptly.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import ClassVar

from fakes.hn_firebase import FakeHackerNewsFirebase
from fakes.jetstream import FakeJetstream
from fakes.mastodon import status
from fakes.mastodon_stream import FakeMastodonStreaming
from fakes.reddit import FakeReddit
from fakes.reddit_new import FakeRedditListings
from fakes.server import FakeServer, Response
from listeners.bluesky_stream import BlueskyStreamListener, BlueskyStreamSettings
from listeners.hackernews_items import HackerNewsItemsListener, HackerNewsItemsSettings
from listeners.http import HttpClient
from listeners.mastodon_stream import MastodonStreamListener, MastodonStreamSettings
from listeners.reddit_new import RedditNewListener, RedditNewSettings
from listeners.stream import Batch, StreamListener

READ_TIMEOUT = 0.6  # seconds: a stalled fake is noticed quickly


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


class Run:
    """`listen` on a thread, recording what it yields."""

    def __init__(self, listener: StreamListener, channel: str, cursor: str | None) -> None:
        self.listener = listener
        self.stop = threading.Event()
        self.batches: list[Batch] = []
        self.cursor = cursor
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(channel,), daemon=True)
        self._thread.start()

    def _run(self, channel: str) -> None:
        try:
            for batch in self.listener.listen(channel, self.cursor, self.stop):
                self.batches.append(batch)
                if batch.cursor is not None:
                    self.cursor = batch.cursor  # committed
        except BaseException as exc:  # handed to the test
            self.error = exc

    @property
    def ids(self) -> list[str]:
        return [h.mention.native_id for b in self.batches for h in b.posts]

    @property
    def connected(self) -> bool:
        return any(b.connected_since is not None for b in self.batches)

    @property
    def errors(self) -> list[str]:
        return [b.error for b in self.batches if b.error]

    def wait_ready(self) -> Run:
        wait_for(lambda: self.connected or self.error is not None, what="the stream to connect")
        assert self.error is None, self.error
        return self

    def wait_heard(self, ids: list[str], timeout: float = 10.0) -> Run:
        wait_for(
            lambda: set(ids) <= set(self.ids) or self.error is not None,
            timeout,
            f"{len(ids)} posts to be heard",
        )
        assert self.error is None, self.error
        return self

    def finish(self, within: float = 2.0) -> Run:
        """Stop, and require that `listen` returns promptly (a clean stop)."""
        self.stop.set()
        started = time.monotonic()
        self._thread.join(within + 1)
        assert not self._thread.is_alive(), "listen did not return after stop"
        assert time.monotonic() - started <= within + 0.5
        return self


class StreamHarness(ABC):
    """`repeats_on_resume`: a restart re-reads a short window before its cursor (storage keeps
    those posts once); `stalls`: the stream is one long connection that can go silent."""

    name: ClassVar[str]
    repeats_on_resume: ClassVar[bool] = False
    stalls: ClassVar[bool] = True

    def __init__(self, stack: ExitStack, http: HttpClient) -> None:
        self.http = http
        self.serial = 0
        self.install(stack)

    @abstractmethod
    def install(self, stack: ExitStack) -> None: ...

    @abstractmethod
    def listener(self) -> StreamListener: ...

    @abstractmethod
    def emit(self, text: str) -> str:
        """Post `text`; returns the native id the listener hears it as."""

    @abstractmethod
    def disconnect(self) -> None:
        """Make the stream fail once, mid-message where it has messages, after one post."""

    def stall(self) -> None:
        raise NotImplementedError

    def channel(self) -> str:
        return self.listener().channels()[0]

    def start(self, cursor: str | None = None) -> Run:
        return Run(self.listener(), self.channel(), cursor)


class JetstreamHarness(StreamHarness):
    name = "bluesky_stream"

    def install(self, stack: ExitStack) -> None:
        self.fake = stack.enter_context(FakeJetstream())

    def listener(self) -> StreamListener:
        settings = BlueskyStreamSettings(
            url=[self.fake.url], read_timeout=READ_TIMEOUT, max_backoff=0.2
        )
        return BlueskyStreamListener(settings, self.http, {})

    def emit(self, text: str) -> str:
        self.serial += 1
        rkey = f"3k{self.serial:06d}"
        self.fake.post("did:plc:alice", rkey, text, langs=["en"])
        return f"at://did:plc:alice/app.bsky.feed.post/{rkey}"

    def disconnect(self) -> None:
        self.fake.cut(after=1)

    def stall(self) -> None:
        self.fake.stall(after=1)


class MastodonHarness(StreamHarness):
    name = "mastodon_stream"
    repeats_on_resume = True  # the backfill reopens a minute before the cursor

    def install(self, stack: ExitStack) -> None:
        self.fake = stack.enter_context(FakeMastodonStreaming(heartbeat=0.1))

    def listener(self) -> StreamListener:
        settings = MastodonStreamSettings(
            instances=[self.fake.url], read_timeout=READ_TIMEOUT, max_backoff=0.2
        )
        return MastodonStreamListener(settings, self.http, {})

    def emit(self, text: str) -> str:
        item = status(time.time(), f"<p>{text}</p>", domain="mastodon.social")
        self.fake.add(item)
        return item["uri"]

    def disconnect(self) -> None:
        self.fake.cut(after=1)

    def stall(self) -> None:
        self.fake.stall(after=1)


class HackerNewsItemsHarness(StreamHarness):
    name = "hackernews_items"
    stalls = False

    def install(self, stack: ExitStack) -> None:
        self.fake = FakeHackerNewsFirebase(stack.enter_context(FakeServer()))

    def listener(self) -> StreamListener:
        settings = HackerNewsItemsSettings(
            base_url=self.fake.base_url, poll=0.05, updates=0, workers=4, max_backoff=0.2
        )
        return HackerNewsItemsListener(settings, self.http, {})

    def emit(self, text: str) -> str:
        return str(self.fake.comment(text))

    def disconnect(self) -> None:
        # The second item after now fails past the client's retries, once.
        self.fake.fail(self.fake.max_id + 2, times=3)


class RedditNewHarness(StreamHarness):
    name = "reddit_new"
    stalls = False

    def install(self, stack: ExitStack) -> None:
        server = stack.enter_context(FakeServer())
        self.reddit = FakeReddit(server)
        self.reddit.remaining = 10_000
        self.fake = FakeRedditListings(server, self.reddit)

    def listener(self) -> StreamListener:
        settings = RedditNewSettings(
            base_url=self.fake.server.url, poll=0.05, max_backoff=0.2, comments=False
        )
        env = {"REDDIT_CLIENT_ID": "app-id", "REDDIT_CLIENT_SECRET": "app-secret"}
        return RedditNewListener(settings, self.http, env)

    def emit(self, text: str) -> str:
        return self.fake.post(text)

    def disconnect(self) -> None:
        self.reddit.script += [Response.json({"error": 500}, 500)] * 3


HARNESSES: dict[str, type[StreamHarness]] = {
    h.name: h for h in (JetstreamHarness, MastodonHarness, HackerNewsItemsHarness, RedditNewHarness)
}


def open_harness(name: str) -> Iterator[StreamHarness]:
    with ExitStack() as stack:
        http = stack.enter_context(HttpClient(timeout=2, retries=2, backoff=0.01))
        yield HARNESSES[name](stack, http)
