"""`listenpost doctor`: every moving part checked, one clear line each, so setup problems show
before the first alert is missed."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.secrets import RedactSecrets, secrets_from
from listeners.base import SourceSettings
from listenpost.config import RouteSettings, Settings, SettingsOrigin
from listenpost.runtime import build_routes, build_sender


def _check(name: str, fn: Callable[[], str]) -> tuple[str, bool, str]:
    try:
        return name, True, fn()
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        return name, False, f"{type(exc).__name__}: {exc}"


def _slack_app(settings: Settings, env: Mapping[str, str]) -> str:
    """Buttons that do nothing when clicked are worse than none: say whether they will answer."""
    slack = settings.alerts.slack
    if slack.app_mode == "http":
        if not env.get("SLACK_SIGNING_SECRET"):
            raise ValueError('app_mode = "http" needs SLACK_SIGNING_SECRET in the environment')
        return f"HTTP mode on {slack.http_host}:{slack.http_port}{slack.http_path}, signed requests"
    app_token = env.get("SLACK_APP_TOKEN")
    if not app_token:
        return "off (alert buttons will not answer): set SLACK_APP_TOKEN=xapp-... to turn it on"
    from slack_sdk import WebClient

    client = WebClient(base_url=slack.base_url, timeout=10) if slack.base_url else WebClient()
    client.apps_connections_open(app_token=app_token)
    return "Socket Mode: Slack issued a connection for the app token"


def _queue(settings: Settings) -> str:
    """Distributed mode runs nothing without a reachable broker and a worker on it."""
    from listenpost.queues import look

    view = look(settings)
    if view.error:
        raise ConnectionError(f"broker {view.broker}: {view.error}")
    if not view.workers:
        raise RuntimeError(f"broker {view.broker} answers, but no worker does: "
                           "start `listenpost worker`")
    waiting = ", ".join(f"{q} {'—' if n is None else n}" for q, n in view.depths.items())
    return f"{view.broker}; waiting: {waiting}; workers: {', '.join(view.workers)}"


def _handoff(route: RouteSettings, env: Mapping[str, str]) -> str:
    """A hand-off without its secret would hold every ticket; better to hear it now."""
    table = route.webhook if route.target == "webhook" else route.zendesk
    names = (
        [route.webhook.secret_env]
        if route.webhook is not None
        else [route.zendesk.email_env, route.zendesk.token_env]
        if route.zendesk is not None
        else []
    )
    missing = [name for name in names if not env.get(name)]
    if table is None or missing:
        raise ValueError(f"{route.target}: set {', '.join(missing)} in the environment")
    return f"{route.target}: credentials found in {', '.join(names)}"


def run_checks(
    settings: Settings,
    env: Mapping[str, str],
    console: Console,
    origin: SettingsOrigin | None = None,
) -> bool:
    from listeners import registry
    from listeners.http import HttpClient
    from storage import Store
    from storage.db import sqlite_path

    rows: list[tuple[str, bool, str]] = []
    if origin is not None:  # run from another folder, the first thing to know
        rows.append(("settings file", origin.path is not None, origin.text))
    rows.append(
        (
            "settings",
            bool(settings.brands),
            f"{len(settings.brands)} brand(s), sources: {', '.join(settings.sources) or 'none'}"
            if settings.brands
            else "no [[brands]] configured",
        )
    )

    def database() -> str:
        path = sqlite_path(settings.storage.url)
        if path is not None and not path.exists():  # doctor looks; it never creates one
            return f"none yet at {path.absolute()}; `listenpost run` or `poll --once` creates it"
        store = Store(settings.storage.url)
        try:
            return f"{store.ping()}, {store.count_mentions()} mention(s) stored"
        finally:
            store.close()

    rows.append(_check("database", database))
    if settings.queue.distributed:
        rows.append(_check("queue", lambda: _queue(settings)))

    def model() -> str:
        from classifiers.triager import Triager

        start = time.perf_counter()
        # The settings' own bring-your-own model too: a wrong name should show here, not at 2 a.m.
        triager = Triager(sentiment_model=settings.classifier.sentiment_model)
        triager.triage([])
        took = time.perf_counter() - start
        return f"{triager.model_version} loaded in {took:.1f}s (CPU, offline)"

    rows.append(_check("model", model))

    def slack() -> str:
        sender = build_sender(settings, env)
        return sender.check()

    rows.append(_check("alerts", slack))
    rows.append(_check("slack app", lambda: _slack_app(settings, env)))
    # What each route matches, in words: a route that opens tickets for more than its author
    # meant shows here, before the tickets do.
    rows.extend(("route", True, route.describe()) for route in build_routes(settings))
    for route in settings.alerts.routes:
        if route.target != "slack":
            rows.append(_check(f"hand-off {route.name}", lambda r=route: _handoff(r, env)))

    http = HttpClient(retries=0, timeout=10)
    try:
        for name, source_settings in settings.source_settings().items():

            def source(name: str = name, source_settings: SourceSettings = source_settings) -> str:
                listener = registry.load(name)(source_settings, http, env)
                notes = [
                    f"{brand.name}: {note}"
                    for brand in settings.brands
                    if (note := listener.query_note(brand.parsed))
                ]
                return "; ".join([f"reachable: {listener.check()}", *notes])

            rows.append(_check(f"source {name}", source))
    finally:
        http.close()

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column()
    # Details quote servers' error bodies, which may echo the credentials sent (a token
    # endpoint's "basic=id:secret"): scrubbed as `poll`, `sources` and the database scrub them.
    redactor = RedactSecrets(secrets_from(env))
    for name, ok, detail in rows:
        # Details quote servers, settings and exceptions: plain text, never Rich markup.
        mark = Text("✓", style="green") if ok else Text("✗", style="red")
        table.add_row(mark, Text(redactor.redact(name)), Text(redactor.redact(detail)))
    console.print(table, highlight=False)
    return all(ok for _, ok, _ in rows)
