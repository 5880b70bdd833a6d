"""Distributed mode's vocabulary: the Celery app for a broker, the task names, which queue each
runs on, and what the broker says about its queues and workers.

Nothing here reads settings at import or imports the tasks, so the scheduler, `sources` and
`doctor` can talk to the broker without becoming workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from listenpost.settings_queue import QUEUES

if TYPE_CHECKING:
    from celery import Celery

    from listenpost.config import Settings

POLL, TRIAGE, DELIVER, HOUSEKEEPING = (f"listenpost.{q}" for q in QUEUES)
TASK_OF_QUEUE = dict(zip(QUEUES, (POLL, TRIAGE, DELIVER, HOUSEKEEPING), strict=True))
PING_TIMEOUT = 1.0  # seconds `sources` and `doctor` wait for workers to answer


def make_app(settings: Settings) -> Celery:
    """Every task acknowledged only once it ran (a worker killed mid-task gives it back), one
    task taken at a time per process (a long triage batch does not sit on queued polls)."""
    from celery import Celery

    broker = settings.queue.broker
    if broker is None:
        raise ValueError("no [queue] broker in settings: distributed mode is off")
    app = Celery("listenpost", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="housekeeping",
        task_routes={task: {"queue": queue} for queue, task in TASK_OF_QUEUE.items()},
        broker_transport_options={"visibility_timeout": settings.queue.visibility_timeout},
        broker_connection_retry_on_startup=True,
        # listenpost's own log format and secret redaction; Celery's stdout-to-log proxy would
        # feed the log handler's own output back into it.
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    return app


@dataclass
class BrokerView:
    """What `sources` and `doctor` show: the broker (password masked), each queue's waiting
    tasks (None: not created yet, no worker has declared it) and the workers that answered."""

    broker: str
    depths: dict[str, int | None] = field(default_factory=dict)
    workers: list[str] = field(default_factory=list)
    error: str | None = None


def look(settings: Settings, ping: bool = True) -> BrokerView:
    """Ask the broker (and, with `ping`, the workers: a second's wait); an unreachable broker
    is reported, never raised."""
    view = BrokerView(settings.queue.broker_shown)
    app = make_app(settings)
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
            channel = conn.default_channel
            for queue in QUEUES:
                try:
                    view.depths[queue] = channel.queue_declare(queue, passive=True).message_count
                except Exception:  # not declared yet: no worker has listened on it
                    view.depths[queue] = None
                    channel = conn.channel()  # AMQP closes a channel on a failed passive declare
        if ping:
            replies = app.control.ping(timeout=PING_TIMEOUT)
            view.workers = sorted(name for reply in replies for name in reply)
    except Exception as exc:
        view.error = f"{type(exc).__name__}: {exc}"
    return view
