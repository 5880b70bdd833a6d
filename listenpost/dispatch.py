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
import threading
from typing import TYPE_CHECKING

from listenpost.jobs import Job, table
from listenpost.queues import HOUSEKEEPING, TASK_OF_QUEUE, make_app
from listenpost.scheduler import schedule
from storage.locks import Lease

if TYPE_CHECKING:
    from celery import Celery

    from listenpost.config import Settings
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
        try:
            while not stop.wait(LEADER_CHECK):
                if not lease.alive():
                    log.error("lost the database connection: stepping down")
                    break
        finally:
            scheduler.shutdown(wait=True)
            lease.release()
