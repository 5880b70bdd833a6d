"""Everything one process needs to run cycles, built once from settings and the environment."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from alerts.console import ConsoleSender
from alerts.routes import Route, written_condition
from alerts.slack import SlackSender
from core.secrets import RedactSecrets, secrets_from
from listeners import registry
from listeners.base import Listener
from listeners.http import HttpClient
from listenpost.config import BrandSettings, Settings
from storage import Store

if TYPE_CHECKING:
    from classifiers.embedder import Embedder
    from classifiers.relevance import RelevanceModel
    from classifiers.triager import Triager

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    env: Mapping[str, str]
    store: Store
    http: HttpClient
    listeners: dict[str, Listener]
    routes: list[Route]
    sender: ConsoleSender | SlackSender
    # One cycle's triage/route/deliver at a time: the model and the outbox are shared.
    process_lock: threading.Lock = field(default_factory=threading.Lock)
    # One delivery pass at a time in this process, so pacing counts are never raced.
    deliver_lock: threading.Lock = field(default_factory=threading.Lock)
    # Set on Ctrl-C: running polls stop after the page they are committing.
    stopping: threading.Event = field(default_factory=threading.Event)
    # The relevance model and the label mark it was built at (listenpost/pipeline.py).
    relevance: tuple[tuple[int, int], RelevanceModel] | None = None
    # What this process last said about each (brand, source): None healthy, else the error.
    # A new process says a failing source's error once more, however old it is.
    announced: dict[tuple[str, str], str | None] = field(default_factory=dict)

    @cached_property
    def redactor(self) -> RedactSecrets:
        """Scrubs this process's secrets from text that is stored or shown, not only logged."""
        return RedactSecrets(secrets_from(self.env))

    @cached_property
    def triager(self) -> Triager:
        """Loaded on first use: polling alone should not pay the model's start-up time."""
        from classifiers.settings import build_rules
        from classifiers.triager import Triager

        classifier = self.settings.classifier
        return Triager(
            batch_size=classifier.batch_size,
            sentiment_model=classifier.sentiment_model,
            rules=build_rules(classifier.rules),
        )

    @cached_property
    def embedder(self) -> Embedder:
        """Loaded only when a brand's query uses about:"…"."""
        from classifiers.embedder import Embedder

        return Embedder()

    def brand(self, name: str) -> BrandSettings:
        return next(b for b in self.settings.brands if b.name == name)

    def close(self) -> None:
        self.http.close()
        self.store.close()


def build_routes(settings: Settings) -> list[Route]:
    """Routes from settings; with none configured, negative or high-urgency -> the Slack channel."""
    default_channel = settings.alerts.slack.channel
    if not settings.alerts.routes:
        return [Route(name="default", channel=default_channel)]
    return [
        Route(
            name=r.name,
            channel=r.channel or default_channel,
            sentiments=written_condition(r.sentiments, r.min_urgency)[0],
            min_urgency=written_condition(r.sentiments, r.min_urgency)[1],
            brands=list(r.brands),
            networks=list(r.networks),
            languages=list(r.languages),
            categories=list(r.categories),
            min_reach=r.min_reach,
            target=r.target,
            sla=r.sla,
            quiet_hours=r.quiet_hours,
            timezone=r.timezone,
            escalate_to=r.escalate_to,
        )
        for r in settings.alerts.routes
    ]


def build_sender(settings: Settings, env: Mapping[str, str]) -> ConsoleSender | SlackSender:
    token = env.get("SLACK_BOT_TOKEN")
    if not token:
        return ConsoleSender()
    return SlackSender(token, base_url=settings.alerts.slack.base_url)


def build(settings: Settings, env: Mapping[str, str], http: HttpClient | None = None) -> Runtime:
    http = http or HttpClient()
    stopping = http.stopping  # Ctrl-C also cuts short the HTTP retries of running polls
    listeners = {
        name: registry.load(name)(source_settings, http, env)
        for name, source_settings in settings.poll_settings().items()
    }
    return Runtime(
        settings=settings,
        env=env,
        store=Store(settings.storage.url),
        http=http,
        listeners=listeners,
        routes=build_routes(settings),
        sender=build_sender(settings, env),
        stopping=stopping,
    )
