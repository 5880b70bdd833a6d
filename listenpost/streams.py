"""Streams as long-lived threads beside the scheduled polls of `listenpost run`.

One thread per stream channel reads batches from its `StreamListener`, matches every post
against every brand's query at once (`listeners.matching.Matcher`), and commits each batch's
matches together with the channel's cursor (`Store.save_stream_batch`): the cursor only moves
with what it covers, so a kill anywhere loses nothing and a restart resumes at the cursor.
New mentions wake a processing thread that triages, routes and delivers at once (the same
`process` the scheduler runs every few seconds), so an alert follows a post within seconds.

Trouble the listener cannot fix by reconnecting is handled here, the way polls handle it: a
rate limit waits for the time the network named, a refused credential waits an hour, anything
else backs off and resumes from the committed cursor. Each is logged when it starts and once
when the stream recovers, and shown by `listenpost sources`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.mention import Mention
from core.query import Post, Query
from listeners import registry
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.matching import Matcher
from listeners.stream import Backoff, Batch, StreamListener
from storage import Store
from storage.streams import StreamHealth
from storage.topics import tag_linked

if TYPE_CHECKING:
    from listenpost.runtime import Runtime

log = logging.getLogger(__name__)

AUTH_BACKOFF = 3600.0  # seconds: a refused credential needs a person, not a retry storm
RATE_WINDOW = 10.0  # seconds of batches the events/s and matched/s figures average over


def utcnow() -> datetime:
    return datetime.now(UTC)


class Rates:
    """Events and matches per second over the last `window` seconds."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, int, int]] = deque()
        self._started = time.monotonic()

    def add(self, events: int, matched: int) -> tuple[float, float]:
        now = time.monotonic()
        self._samples.append((now, events, matched))
        while self._samples[0][0] < now - self.window:
            self._samples.popleft()
        span = max(min(now - self._started, self.window), 1.0)
        return (
            sum(s[1] for s in self._samples) / span,
            sum(s[2] for s in self._samples) / span,
        )


class StreamTask(threading.Thread):
    """Reads one channel of one stream until `stop`, committing batch by batch."""

    def __init__(
        self,
        listener: StreamListener,
        channel: str,
        store: Store,
        matcher: Matcher,
        stop: threading.Event,
        *,
        topics: Mapping[str, Mapping[str, Query]] | None = None,
        on_new: Callable[[], None] = lambda: None,
        redact: Callable[[str], str] = str,
    ) -> None:
        super().__init__(name=f"stream {listener.name} {channel}", daemon=True)
        self.listener = listener
        self.channel = channel
        self.store = store
        self.matcher = matcher
        self.stop = stop
        self.topics = topics or {}
        self.on_new = on_new
        self.redact = redact
        self.rates = Rates()
        self.failing: str | None = None  # the trouble last recorded, until it clears
        self.stored = 0  # mentions newly linked to brands by this task

    @property
    def source(self) -> str:
        return self.listener.name

    def run(self) -> None:
        backoff = Backoff(self.listener.settings.max_backoff, first=1.0)
        while not self.stop.is_set():
            wait: float | None = None
            try:
                cursor = self.store.stream_cursor(self.source, self.channel)
                for batch in self.listener.listen(self.channel, cursor, self.stop):
                    self.handle(batch)
                    if batch.posts or batch.events:
                        backoff.reset()
                if self.stop.is_set():
                    return
                self.trouble("the stream ended; reconnecting")
            except RateLimited as exc:
                wait = max((exc.until - utcnow()).total_seconds(), 1.0)
                self.trouble(f"rate limited: {exc}")
            except (AuthError, NotConfigured) as exc:
                wait = AUTH_BACKOFF
                self.trouble(str(exc))
            except ListenerError as exc:
                self.trouble(str(exc) or type(exc).__name__)
            except Exception as exc:  # a bug or a database error must not end the stream
                log.exception("%s/%s failed unexpectedly", self.source, self.channel)
                self.trouble(f"unexpected {type(exc).__name__}: {exc}")
            stopped = self.stop.wait(wait) if wait is not None else backoff.wait(self.stop)
            if stopped:
                return

    def handle(self, batch: Batch) -> None:
        """Match, commit with the cursor, tag topics, and wake processing if anything is new."""
        if batch.error is not None:
            self.trouble(batch.error, log_it=False)  # the listener logged it and reconnects
            return
        matched: dict[str, list[Mention]] = {}
        hits = 0
        for heard in batch.posts:
            brands = self.matcher.match(Post.of(heard.mention, heard.text), heard.langs)
            hits += bool(brands)
            for brand in brands:
                matched.setdefault(brand, []).append(heard.mention)
        events_s, matched_s = self.rates.add(batch.events, hits)
        health = StreamHealth(batch.connected_since, batch.lag, events_s, matched_s)
        linked = self._save(matched, batch.cursor, health)
        if self.failing is not None and batch.connected_since is not None:
            log.info("%s/%s recovered", self.source, self.channel)
            self.store.record_stream_error(self.source, self.channel, None)
            self.failing = None
        new = 0
        for brand, ids in linked.items():
            if ids:
                new += len(ids)
                tag_linked(self.store, brand, ids, self.topics.get(brand, {}))
        if new:
            self.stored += new
            log.info("%s/%s: %d new mention(s)", self.source, self.channel, new)
            self.on_new()

    def _save(
        self, matched: dict[str, list[Mention]], cursor: str | None, health: StreamHealth
    ) -> dict[str, list[int]]:
        """Commit the batch; a batch the database refuses is stored mention by mention, so one
        post it cannot hold does not stop the stream, and the cursor moves on only after the
        rest is committed (and not at all when nothing could be: the database is down)."""
        store = self.store
        try:
            return store.save_stream_batch(self.source, self.channel, matched, cursor, health)
        except Exception as exc:
            if not matched:
                raise
            log.warning(
                "%s/%s: batch refused (%s); storing one by one", self.source, self.channel, exc
            )
        linked: dict[str, list[int]] = {}
        failed: Exception | None = None
        stored = 0
        for brand, mentions in matched.items():
            for m in mentions:
                try:
                    ids = store.save_stream_batch(
                        self.source, self.channel, {brand: [m]}, None, health
                    )
                except Exception as exc:
                    failed = exc
                    log.error(
                        "%s: could not store %s %s (%s): %s",
                        self.source,
                        m.network,
                        m.native_id,
                        m.url,
                        exc,
                    )
                    continue
                stored += 1
                linked.setdefault(brand, []).extend(ids.get(brand, []))
        if stored == 0 and failed is not None:
            raise failed
        store.save_stream_batch(self.source, self.channel, {}, cursor, health)
        return linked

    def trouble(self, error: str, log_it: bool = True) -> None:
        """Record a problem; logged when it starts or changes, not on every retry."""
        error = self.redact(error)
        if log_it and error != self.failing:
            log.error("%s/%s: %s (stored data and cursor kept)", self.source, self.channel, error)
        self.failing = error
        try:
            self.store.record_stream_error(self.source, self.channel, error)
        except Exception:
            log.exception("%s/%s: could not record the error", self.source, self.channel)


class Processor(threading.Thread):
    """Runs `process` soon after a stream stores something new, one pass at a time; wakes
    coalesce, so a busy stream costs one pass per `pause` seconds at most."""

    def __init__(self, process: Callable[[], object], stop: threading.Event, pause: float = 0.2):
        super().__init__(name="stream processing", daemon=True)
        self.process = process
        self.stop = stop
        self.pause = pause
        self._wanted = threading.Event()

    def nudge(self) -> None:
        self._wanted.set()

    def run(self) -> None:
        while not self.stop.is_set():
            if not self._wanted.wait(0.5):
                continue
            self._wanted.clear()
            if self.stop.is_set():
                return  # what was stored is processed by the next run
            try:
                self.process()
            except Exception:
                log.exception("processing after a stream batch failed; the scheduler retries")
            self.stop.wait(self.pause)


class Streams:
    """The running stream threads of one process; `join` waits for their last commits."""

    def __init__(self, tasks: list[StreamTask], processor: Processor | None) -> None:
        self.tasks = tasks
        self.processor = processor

    def start(self) -> Streams:
        if self.processor is not None:
            self.processor.start()
        for task in self.tasks:
            task.start()
        return self

    def join(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in [*self.tasks, *([self.processor] if self.processor else [])]:
            if thread.is_alive():
                thread.join(max(deadline - time.monotonic(), 0.0))


def build_streams(
    listeners: Mapping[str, StreamListener],
    queries: Mapping[str, Query],
    store: Store,
    stop: threading.Event,
    *,
    process: Callable[[], object] | None = None,
    topics: Mapping[str, Mapping[str, Query]] | None = None,
    redact: Callable[[str], str] = str,
) -> Streams:
    """A task per channel of each stream, all sharing one matcher of every brand's query."""
    if not listeners or not queries:
        return Streams([], None)
    matcher = Matcher.build(queries)
    processor = Processor(process, stop) if process is not None else None
    tasks = [
        StreamTask(
            listener,
            channel,
            store,
            matcher,
            stop,
            topics=topics,
            on_new=processor.nudge if processor else (lambda: None),
            redact=redact,
        )
        for listener in listeners.values()
        for channel in listener.channels()
    ]
    return Streams(tasks, processor)


def stream_listeners(
    configured: Mapping[str, object], http: object, env: Mapping[str, str]
) -> dict[str, StreamListener]:
    """The enabled streams among the configured sources' validated settings."""
    found: dict[str, StreamListener] = {}
    for name, settings in configured.items():
        if name in registry.STREAMS:
            cls = registry.load(name)
            found[name] = cls(settings, http, env)  # type: ignore[arg-type]
    return found


def start_for_run(rt: Runtime) -> Streams:
    """`listenpost run`'s streams: every enabled one, for every brand, stopping with the run."""
    from listenpost.pipeline import process
    from listenpost.settings_brands import brand_topics

    listeners = stream_listeners(rt.settings.source_settings(), rt.http, rt.env)
    streams = build_streams(
        listeners,
        {b.name: b.parsed for b in rt.settings.brands},
        rt.store,
        rt.stopping,
        process=lambda: process(rt),
        topics={b.name: brand_topics(rt.settings, b.name) for b in rt.settings.brands},
        redact=rt.redactor.redact,
    ).start()
    if streams.tasks:
        log.info("streaming: %s", ", ".join(t.name.removeprefix("stream ") for t in streams.tasks))
    return streams
