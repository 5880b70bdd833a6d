"""`listenpost worker`, `scheduler` and `slack-app`: listenpost past one machine.

With `[queue] broker` set (and PostgreSQL as the store), the scheduler sends the job table's
runs to Celery queues and any number of workers, on any machines, run them; the Slack app runs
on its own. Celery is imported inside the commands only, so `--help` stays fast.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from listenpost.cli import common
from listenpost.settings_queue import QUEUES

if TYPE_CHECKING:
    from listenpost.config import Settings


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command()(scheduler)
    app.command("slack-app")(slack_app)


def _distributed() -> Settings:
    """Settings that name a broker, with the file they came from exported for the workers'
    processes (and `celery -A listenpost.celery_app`) to read the same one."""
    from listenpost import config

    settings = common.load_settings()
    if not settings.queue.distributed:
        raise common.fail(
            "settings error",
            'distributed mode is off: add [queue] broker = "redis://host:6379/0" (or amqp://...) '
            "to settings.toml, or use `listenpost run` for one process",
        )
    path = common.settings_origin().path
    if path is not None:
        os.environ[config.SETTINGS_ENV] = str(path.resolve())
    return settings


def worker(
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Comma-separated: poll, triage, deliver, "
                          "housekeeping.")
    ] = ",".join(QUEUES),
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            callback=common.at_least(1),
            help="Processes (default: one per CPU).",
        ),
    ] = None,
) -> None:
    """Run a Celery worker on these queues until SIGTERM (running tasks finish first)."""
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUES]
    if unknown or not wanted:
        raise common.error(f"--queues: unknown {', '.join(unknown) or 'none given'}; "
                           f"use {', '.join(QUEUES)}")
    settings = _distributed()
    if settings.metrics.port is not None:
        from listenpost import metrics

        metrics.prepare_multiprocess()  # before any forked process counts
        metrics.serve(settings.metrics, common.open_store(settings))
    from listenpost.celery_app import app

    if not common.state.verbose:  # "Task ... received / succeeded" for every poll is noise
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    argv = ["worker", "--queues", ",".join(wanted), "--hostname", f"listenpost-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip",
            "--loglevel", "DEBUG" if common.state.verbose else "INFO"]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    app.worker_main(argv)


def scheduler() -> None:
    """Send the schedule to the workers; a second scheduler stands by (never doubles it)."""
    from listenpost import metrics
    from listenpost.dispatch import lead
    from listenpost.scheduler import stop_on_signals

    settings = _distributed()
    store = common.open_store(settings)
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        metrics.serve(settings.metrics, store)
        lead(settings, store, stop)
    finally:
        store.close()


def slack_app() -> None:
    """Serve the alerts' buttons and /listenpost alone, until SIGTERM."""
    from alerts.app import AppSetupError, from_settings
    from listenpost.runtime import build_routes
    from listenpost.scheduler import stop_on_signals

    settings = common.load_settings()
    slack = settings.alerts.slack
    store = common.open_store(settings)
    try:
        try:
            served = from_settings(
                store, slack, slack.base_url, os.environ, build_routes(settings),
                settings.alerts.replies,
            )
        except AppSetupError as exc:
            raise common.fail("cannot start", exc) from None
        if served is None:
            raise common.fail(
                "cannot start",
                "the Slack app is off: set SLACK_APP_TOKEN=xapp-... (Socket Mode), or "
                'alerts.slack.app_mode = "http" with SLACK_SIGNING_SECRET',
            )
        stop = threading.Event()
        stop_on_signals(stop)
        served.start()
        common.console.print("Slack app running; Ctrl-C or SIGTERM to stop", highlight=False)
        try:
            stop.wait()
        finally:
            served.stop()
    finally:
        store.close()
