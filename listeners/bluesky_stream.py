"""Every Bluesky post as it is written, from Jetstream (no account needed).

Jetstream (https://github.com/bluesky-social/jetstream) turns the network's firehose into JSON
over a WebSocket: `GET wss://<instance>/subscribe?wantedCollections=app.bsky.feed.post` sends
one message per event::

    {"did": "did:plc:…", "time_us": 1725911162329308, "kind": "commit",
     "commit": {"rev": "…", "operation": "create", "collection": "app.bsky.feed.post",
                "rkey": "3l3qo2vutsw2b", "record": {"text": "…", "createdAt": "…", …},
                "cid": "bafy…"}}

plus `identity` (a handle changed) and `account` (activated, deactivated) events. `time_us` is
the instance's own clock when it relayed the event, and `?cursor=<time_us>` replays from there.

The cursor is the `time_us` of the last committed event and the instance that stamped it.
Back on that instance, replay starts there and nothing is read twice. Another instance stamps
its own times, slightly out of step, so a switch asks for `rewind` seconds *before* the cursor
and skips the events this process already read, by post and revision; what a restart then
reads twice, storage keeps once (mentions are unique by network and native id). Instances in
`url` are tried in turn when one fails; a connection silent for `read_timeout` is reopened.

Authors arrive as DIDs; handles are learnt from `identity` events as they pass, so early posts
of an author link by DID (bsky.app resolves both).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from pydantic import Field, ValidationError, field_validator
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import connect

from core.http import USER_AGENT
from core.mention import Mention
from core.query import fields
from listeners.bluesky import POST_URL, PostRecord, links
from listeners.errors import ListenerError
from listeners.stream import Backoff, Batch, Heard, StreamListener, StreamSettings, now

log = logging.getLogger(__name__)

COLLECTION = "app.bsky.feed.post"
INSTANCES = [
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-west.bsky.network/subscribe",
    "wss://jetstream2.us-west.bsky.network/subscribe",
]
MAX_BATCH = 1000  # events per batch at most
FLUSH_EVERY = 0.25  # seconds: how long a read event waits to be committed, at most
HANDLES = 50_000  # DIDs whose handle is remembered
_TICK = 0.2  # seconds between checks of `stop` while the socket is quiet


class BlueskyStreamSettings(StreamSettings):
    """`[sources.bluesky_stream]`: `url` lists Jetstream instances, tried in turn (a host alone
    means wss://host/subscribe); `rewind` is how many seconds before the cursor a reconnect
    replays."""

    url: list[str] = Field(default_factory=lambda: list(INSTANCES), min_length=1)
    rewind: float = Field(default=5.0, ge=0, le=600)

    @field_validator("url", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _websocket_urls(cls, value: list[str]) -> list[str]:
        urls = []
        for raw in value:
            url = raw.strip()
            if "://" not in url:
                url = f"wss://{url.rstrip('/')}/subscribe"
            parts = urlsplit(url)
            if parts.scheme not in ("ws", "wss") or not parts.hostname:
                raise ValueError(
                    f"{raw!r} is not a Jetstream instance like "
                    "'wss://jetstream2.us-east.bsky.network/subscribe'"
                )
            urls.append(url)
        return list(dict.fromkeys(urls))


class _Stalled(Exception):
    """No byte for `read_timeout` seconds: the connection is open but dead."""


def _created_at(record: PostRecord, relayed: datetime) -> datetime:
    """The author's `createdAt`, unless later than when Jetstream relayed it (a skewed clock)."""
    try:
        when = datetime.fromisoformat(record.createdAt)
    except ValueError:
        return relayed
    return min((when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC), relayed)


def to_heard(event: dict[str, Any], handle: str | None) -> Heard | None:
    """A commit creating or editing a post as a Mention; None for anything else."""
    commit = event.get("commit")
    if not isinstance(commit, dict) or commit.get("collection") != COLLECTION:
        return None
    if commit.get("operation") not in ("create", "update"):
        return None
    did, rkey = event.get("did"), commit.get("rkey")
    if not isinstance(did, str) or not isinstance(rkey, str):
        return None
    try:
        record = PostRecord.model_validate(commit.get("record"))
    except ValidationError:
        return None
    relayed = datetime.fromtimestamp(int(event["time_us"]) / 1e6, UTC)
    langs = tuple(record.langs or []) or (None,)
    mention = Mention(
        network="bluesky",  # the same post the bluesky search listener hears: stored once
        native_id=f"at://{did}/{COLLECTION}/{rkey}",
        url=POST_URL.format(handle or did, rkey),
        author=handle or did,
        text=record.text,
        created_at=_created_at(record, relayed),
        lang=langs[0],
        in_reply_to=record.reply.parent.uri if record.reply else None,
        raw={
            "did": did,
            "time_us": event["time_us"],
            "cid": commit.get("cid"),
            "rev": commit.get("rev"),
            "operation": commit["operation"],
            "record": commit.get("record"),
        },
    )
    return Heard(mention, fields(record.text, *links(record)), langs)


class _Recent:
    """Events read within the replay window, so a rewound reconnect skips them."""

    def __init__(self) -> None:
        self._order: deque[tuple[int, str]] = deque()
        self._keys: set[str] = set()

    def seen(self, key: str, time_us: int, window_us: int) -> bool:
        if key in self._keys:
            return True
        self._keys.add(key)
        self._order.append((time_us, key))
        while self._order and self._order[0][0] < time_us - 2 * window_us:
            self._keys.discard(self._order.popleft()[1])
        return False


class BlueskyStreamListener(StreamListener):
    name: ClassVar[str] = "bluesky_stream"
    network: ClassVar[str] = "bluesky"
    Settings: ClassVar[type[StreamSettings]] = BlueskyStreamSettings
    settings: BlueskyStreamSettings

    def listen(self, channel: str, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        instances = self.settings.url
        backoff = Backoff(self.settings.max_backoff)
        handles: OrderedDict[str, str] = OrderedDict()
        recent = _Recent()
        position, stamped_by = _position(cursor)
        turn = instances.index(stamped_by) if stamped_by in instances else 0
        while not stop.is_set():
            instance = instances[turn % len(instances)]
            same_clock = instance == stamped_by
            url = self._url(instance, position, rewind=not same_clock)
            floor = position if same_clock else None  # events at or before it were read
            batch = Batch()
            try:
                with connect(
                    url,
                    open_timeout=self.settings.read_timeout,
                    close_timeout=1,
                    user_agent_header=USER_AGENT,
                    max_size=2**22,
                ) as ws:
                    since = now()
                    start = None
                    if position is None:  # from now: a cursor at once, so nothing read is lost
                        position = int(time.time() * 1e6)
                        start = json.dumps({"time_us": position, "instance": None})
                    yield Batch(connected_since=since, cursor=start)  # errors cleared, shown
                    batch = Batch(connected_since=since)
                    last_byte = time.monotonic()
                    flushed = time.monotonic()
                    while not stop.is_set():
                        try:
                            message = ws.recv(timeout=_TICK)
                        except TimeoutError:
                            if time.monotonic() - last_byte > self.settings.read_timeout:
                                raise _Stalled from None
                            message = None
                        if message is not None:
                            last_byte = time.monotonic()
                            backoff.reset()
                            read = self._read(message, batch, handles, recent, instance, floor)
                            if read is not None:
                                position, stamped_by = read, instance
                        if batch.events and (
                            batch.events >= MAX_BATCH or time.monotonic() - flushed >= FLUSH_EVERY
                        ):
                            yield batch
                            batch = Batch(connected_since=since)
                            flushed = time.monotonic()
            except (ConnectionClosed, InvalidHandshake, InvalidURI, OSError, _Stalled) as exc:
                reason = _describe(exc, url)
                if batch.events:
                    yield batch  # read in full before the drop: keep it
                log.warning("bluesky_stream: %s; reconnecting", reason)
                yield Batch(error=reason)
                turn += 1
                if backoff.wait(stop):
                    return
                continue
            if batch.events:
                yield batch  # stopping: commit what was read

    def _url(self, instance: str, position: int | None, rewind: bool = True) -> str:
        params: dict[str, Any] = {"wantedCollections": COLLECTION}
        if position is not None:
            back = int(self.settings.rewind * 1e6) if rewind else 0
            params["cursor"] = max(0, position - back)
        sep = "&" if "?" in instance else "?"
        return f"{instance}{sep}{urlencode(params)}"

    def _read(
        self,
        message: str | bytes,
        batch: Batch,
        handles: OrderedDict[str, str],
        recent: _Recent,
        instance: str,
        floor: int | None,
    ) -> int | None:
        """Fold one message into `batch`; returns its time_us (None: not a new event)."""
        try:
            event = json.loads(message)
            time_us = int(event["time_us"])
        except (ValueError, TypeError, KeyError):
            log.debug("bluesky_stream: skipping a message that is not a Jetstream event")
            return None
        if floor is not None and time_us <= floor:
            return None  # replayed from the cursor itself: committed before
        batch.events += 1
        batch.cursor = json.dumps({"time_us": time_us, "instance": instance})
        batch.lag = max(0.0, time.time() - time_us / 1e6)
        kind = event.get("kind")
        did = event.get("did")
        if kind == "identity" and isinstance(event.get("identity"), dict):
            handle = event["identity"].get("handle")
            if isinstance(handle, str) and isinstance(did, str):
                handles[did] = handle
                handles.move_to_end(did)
                if len(handles) > HANDLES:
                    handles.popitem(last=False)
        elif kind == "commit" and isinstance(event.get("commit"), dict):
            commit = event["commit"]
            key = f"{did}/{commit.get('rkey')}/{commit.get('operation')}/{commit.get('rev')}"
            if not recent.seen(key, time_us, int(self.settings.rewind * 1e6)):
                heard = to_heard(event, handles.get(did) if isinstance(did, str) else None)
                if heard is not None:
                    batch.posts.append(heard)
        return time_us

    def check(self) -> str:
        url = self._url(self.settings.url[0], None)
        try:
            with connect(url, open_timeout=10, user_agent_header=USER_AGENT) as ws:
                ws.recv(timeout=10)
        except (ConnectionClosed, InvalidHandshake, InvalidURI, OSError) as exc:
            raise ListenerError(_describe(exc, url)) from exc
        return f"{self.settings.url[0]} is streaming"


def _position(cursor: str | None) -> tuple[int | None, str | None]:
    """(time_us, the instance that stamped it) from a stored cursor."""
    if not cursor:
        return None, None
    try:
        data = json.loads(cursor)
        if isinstance(data, int):
            return data, None
        return int(data["time_us"]), data.get("instance") or None
    except (ValueError, TypeError, KeyError):
        log.warning("bluesky_stream: ignoring an unreadable cursor %r; reading from now", cursor)
        return None, None


def _describe(exc: BaseException, url: str) -> str:
    host = urlsplit(url).netloc
    if isinstance(exc, _Stalled):
        return f"{host} sent nothing for too long (read timeout)"
    if isinstance(exc, ConnectionClosed):
        return f"{host} closed the connection ({exc})"
    return f"{host}: {type(exc).__name__}: {exc}"
