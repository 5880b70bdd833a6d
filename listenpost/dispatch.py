"""`listenpost scheduler`: the one schedule of distributed mode, sent to the Celery queues.

The job table (listenpost/jobs.py) is the schedule, as in `listenpost run`; each run sends the
job's task to its queue instead of running it here. Two schedulers never double the work: only
the holder of the database lease `scheduler` sends anything; another one stands by and takes
over within seconds when the leader's connection (and so its lease) goes. A message that waited
longer than its job's interval expires unrun, since the next one is already on its way: a
backlog of stale polls never builds up behind slow workers.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from listeners.http import HttpClient
from listenpost.jobs import Job, table
from listenpost.queues import HOUSEKEEPING, TASK_OF_QUEUE, make_app
from listenpost.scheduler import schedule
from storage.locks import Lease

if TYPE_CHECKING:
    from celery import Celery

    from listenpost.config import Settings
    from listenpost.streams import Streams
    from storage import Store

log = logging.getLogger(__name__)

STANDBY_CHECK = 5.0  # seconds between a standby's tries to become the leader
LEADER_CHECK = 5.0  # seconds between the leader's checks that it still holds the lease


def send(app: Celery, job: Job) -> None:
    """One run of `job`: its task, on its queue, expiring when the next run is due."""
    task = TASK_OF_QUEUE[job.queue]
    args = (job.id,) if task == HOUSEKEEPING else job.args
    app.send_task(task, args=args, expires=job.every.total_seconds())


def lead(settings: Settings, store: Store, stop: threading.Event) -> None:
    """Schedule while leading, stand by otherwise, until `stop` is set."""
    app = make_app(settings)
    lease = Lease(store, "scheduler")
    waiting = False
    while not stop.is_set():
        if not lease.acquire():
            if not waiting:
                log.info("another scheduler leads; standing by")
                waiting = True
            stop.wait(STANDBY_CHECK)
            continue
        waiting = False
        jobs = [j for j in table(settings) if j.enabled]
        log.info("leading: sending %d job(s) to %s", len(jobs), settings.queue.broker_shown)
        scheduler = schedule(jobs, lambda job: (send, (app, job)))
        scheduler.start()
        term = threading.Event()  # this term as leader: its streams stop with it
        streams, http = _read_streams(settings, store, app, term)
        try:
            while not stop.wait(LEADER_CHECK):
                if not lease.alive():
                    log.error("lost the database connection: stepping down")
                    break
        finally:
            term.set()
            streams.join()  # each stream commits what it read, with its cursor
            http.close()
            scheduler.shutdown(wait=True)
            lease.release()


def _read_streams(
    settings: Settings, store: Store, app: Celery, term: threading.Event
) -> tuple[Streams, HttpClient]:
    """The streams, read by the leader alone, so each has one reader however many schedulers
    stand by; what they store is triaged, routed and delivered by the workers."""
    from core.secrets import RedactSecrets, secrets_from
    from listenpost.settings_brands import brand_topics
    from listenpost.streams import build_streams, stream_listeners

    http = HttpClient(stopping=term)
    streams = build_streams(
        stream_listeners(settings.source_settings(), http, os.environ),
        {b.name: b.parsed for b in settings.brands},
        store,
        term,
        process=lambda: app.send_task(TASK_OF_QUEUE["triage"]),
        topics={b.name: brand_topics(settings, b.name) for b in settings.brands},
        redact=RedactSecrets(secrets_from(os.environ)).redact,
    ).start()
    if streams.tasks:
        log.info("streaming: %s", ", ".join(t.name.removeprefix("stream ") for t in streams.tasks))
    return streams, http
