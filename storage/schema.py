"""The tables. Alembic migrations under storage/migrations create and evolve them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC everywhere (SQLite has no time zones); always returned UTC-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


mentions = Table(
    "mentions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(32), nullable=False),
    Column("native_id", String(255), nullable=False),
    Column("url", Text, nullable=False),
    Column("author", String(255), nullable=False),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("lang", String(16)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("likes", Integer),
    Column("reposts", Integer),
    Column("replies", Integer),
    Column("followers", Integer),
    Column("in_reply_to", String(255)),
    Column("raw", JSON, nullable=False),
    Column("dup_key", String(32)),
    Column("duplicate_of", Integer, ForeignKey("mentions.id")),
    Column("routed_at", UTCDateTime),
    Column("repost_of", String(255)),  # the author this post repeats, where marked (0006)
    UniqueConstraint("network", "native_id", name="uq_mentions_network_native_id"),
    Index("ix_mentions_dup_key", "dup_key"),
    Index("ix_mentions_created_at", "created_at"),
)

mention_brands = Table(
    "mention_brands",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("brand", String(255), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    Index("ix_mention_brands_brand", "brand"),
)

triage = Table(
    "triage",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("sentiment", String(16), nullable=False),
    Column("negative", Float, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("triaged_at", UTCDateTime, nullable=False),
    Column("lang", String(16)),  # detected language (0003)
    Column("details", JSON),  # category/urgency scores, rule hits (0003)
)

# What people said about a mention (Slack buttons, CLI); the newest label per field always wins
# over the model, and labels join the next `listenpost train` (0003).
labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mention_id", Integer, ForeignKey("mentions.id"), nullable=False),
    Column("field", String(16), nullable=False),  # relevant | sentiment | category | urgency
    Column("value", JSON, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("origin", String(16), nullable=False),  # slack | cli
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_labels_mention", "mention_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("route", String(128), nullable=False),
    Column("mention_id", Integer, ForeignKey("mentions.id"), nullable=False),
    Column("channel", String(255), nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", UTCDateTime),
    Column("last_error", Text),
    Column("channel_id", String(64)),
    Column("ts", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("kind", String(16), nullable=False, server_default="alert"),  # (0004)
    Column("thread_of", Integer),  # outbox id whose Slack message this replies under (0004)
    Column("payload", JSON),  # (0004)
    UniqueConstraint("route", "mention_id", name="uq_outbox_route_mention"),
    Index("ix_outbox_due", "status", "not_before"),
)

source_state = Table(
    "source_state",
    metadata,
    Column("brand", String(255), primary_key=True),
    Column("source", String(128), primary_key=True),
    Column("cursor", Text),
    Column("last_success", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("disabled_until", UTCDateTime),
    Column("rate_budget", Text),  # what the network last said about requests left (0002)
)


# ---- cases worked from Slack (0004) ----------------------------------------------------------

cases = Table(
    "cases",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("route", String(128), nullable=False),
    Column("status", String(24), nullable=False),
    Column("assignee", String(64)),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime),
    Column("first_response_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("sla_due_at", UTCDateTime),
    Column("breached_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_cases_status", "status"),
    Index("ix_cases_sla_due_at", "sla_due_at"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mention_id", Integer, ForeignKey("mentions.id"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("note", Text),
    Column("data", JSON),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_case_events_mention", "mention_id"),
)

# Slack people as `users.info` named them, so the case log reads "Bo Smith (U0BO)" without
# asking Slack each time; refreshed when older than alerts/people.py's REFRESH (0007).
slack_users = Table(
    "slack_users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(255)),  # None: Slack said user_not_found
    Column("fetched_at", UTCDateTime, nullable=False),
)

mutes = Table(
    "mutes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # term | author
    Column("value", String(255), nullable=False),
    Column("network", String(32)),
    Column("until", UTCDateTime),
    Column("actor", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(255), nullable=False),
    Column("period", String(16), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("channel_id", String(64)),
    Column("ts", String(64)),
    UniqueConstraint("channel", "period", "period_start", name="uq_digests_period"),
)

# ---- crisis radar and reports (0005) ---------------------------------------------------------

mention_topics = Table(
    "mention_topics",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("brand", String(255), primary_key=True),
    Column("topic", String(255), primary_key=True),
    Index("ix_mention_topics_topic", "brand", "topic"),
)

spikes = Table(
    "spikes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("brand", String(255), nullable=False),
    Column("scope", String(16), nullable=False),  # brand | category | term
    Column("key", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # active | ended
    Column("started_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("baseline", Float, nullable=False),
    Column("observed", Integer, nullable=False),
    Column("ratio", Float, nullable=False),
    Column("negative_share", Float),
    Column("details", JSON),
    Column("channel", String(255)),
    Column("channel_id", String(64)),
    Column("ts", String(64)),
    Index("ix_spikes_open", "brand", "scope", "key", "status"),
)

# ---- streams (0006) --------------------------------------------------------------------------

# One row per stream channel (a Jetstream connection, a Mastodon instance's feed): the cursor
# committed with the mentions it covers, and the health `listenpost sources` shows.
stream_state = Table(
    "stream_state",
    metadata,
    Column("stream", String(128), primary_key=True),
    Column("channel", String(255), primary_key=True),
    Column("cursor", Text),
    Column("connected_since", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("lag_s", Float),
    Column("events_per_s", Float),
    Column("matched_per_s", Float),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
)
