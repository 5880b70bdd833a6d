"""`[queue]` and `[metrics]`: whether listenpost runs as one process or as Celery workers, and
where Prometheus scrapes it. config.py composes these into its settings.

Distributed mode is opt-in by naming a broker; without `[queue]`, `listenpost run` stays the one
process it always was.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from core.settings import Strict

BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
BROKER_EXAMPLE = "redis://localhost:6379/0 or amqp://guest@localhost:5672//"
QUEUES = ("poll", "triage", "deliver", "housekeeping")


class QueueSettings(Strict):
    """The broker the scheduler sends jobs through and the workers take them from."""

    broker: str | None = None
    # Mentions one triage task scores at once: big enough to use the model well, small enough
    # that a backlog spreads over every worker instead of landing on one.
    triage_batch: int = Field(default=256, ge=1, le=4096)
    # A task taken but not acknowledged within this many seconds (its worker died) goes back to
    # the queue (Redis; RabbitMQ gives it back as soon as the connection drops). Longer than the
    # slowest task, or that task would run twice at once (harmless, but wasted).
    visibility_timeout: int = Field(default=600, ge=10)

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in BROKER_SCHEMES or not parts.netloc:
            raise ValueError(f"{value!r} is not a Redis or RabbitMQ URL; use one like "
                             f"{BROKER_EXAMPLE}")
        return value

    @property
    def distributed(self) -> bool:
        return self.broker is not None

    @property
    def broker_shown(self) -> str:
        """The broker URL with its password masked, for logs and `sources`."""
        if self.broker is None:
            return "none"
        parts = urlsplit(self.broker)
        if parts.password is None:
            return self.broker
        host = parts.netloc.rsplit("@", 1)[1]
        return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


class MetricsSettings(Strict):
    """A Prometheus endpoint for `run`, each worker and the scheduler; off without a port."""

    port: int | None = Field(default=None, ge=1, le=65535)
    # Loopback by default: the numbers name brands and sources. Use "0.0.0.0" in a container.
    host: str = "127.0.0.1"


def check_distributed(queue: QueueSettings, storage_url: str) -> None:
    """Workers on several machines share one database: only a server database does that."""
    if queue.distributed and not storage_url.startswith("postgresql"):
        raise ValueError(
            "broker: distributed mode needs PostgreSQL; set [storage] url = "
            '"postgresql+psycopg://user@host/listenpost" (workers cannot share a SQLite file)'
        )
