"""A stored, triaged mention ready to be routed."""

from __future__ import annotations

from datetime import UTC, datetime

from core.mention import Mention, Metrics
from core.triage import Triage
from listenpost.runtime import Runtime


def routed_mention(
    rt: Runtime,
    n: int = 1,
    text: str = "Acme sync lost all my bookmarks, furious",
    urgency: str = "critical",
    metrics: Metrics | None = None,
) -> int:
    """Store and triage post `n` (posted just now, so routing's max_age lets it through)."""
    post = Mention(
        network="reddit",
        native_id=f"t3_{n}",
        url=f"https://www.reddit.com/r/acme/comments/{n}/",
        author=f"user{n}",
        text=text,
        created_at=datetime.now(UTC),
        metrics=metrics or Metrics(likes=40, reposts=2, followers=15_000),
    )
    (mention_id,) = rt.store.save_page("Acme", "reddit", [post], None)
    verdict = Triage(
        sentiment="negative",
        sentiment_scores={"negative": 0.93, "neutral": 0.05, "positive": 0.02},
        urgency=urgency,  # type: ignore[arg-type]
        reasons=["outage"],
        categories=["complaint", "outage"],
        model_version="test-1",
    )
    rt.store.save_triage([(mention_id, verdict)])
    return mention_id
