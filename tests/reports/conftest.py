"""Ten days of Acme (ours) and Chrome (a competitor that never alerts), as `report` reads them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.mention import Mention, Metrics
from core.triage import Triage
from listenpost.config import Settings, load
from storage import Store, people
from storage.cases import act
from storage.labels import add_label
from storage.schema import cases
from storage.topics import tag

START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=10)
XSS = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.example","click")'

SETTINGS = """
[storage]
url = "sqlite:///{db}"

[[brands]]
name = "Acme"
query = "acme"
competitors = ["Chrome"]
topics = {{ sync = "sync OR bookmarks", mobile = "android OR ios" }}

[[brands]]
name = "Chrome"
query = "chrome"
alerts = false

[sources]
"""


def _verdict(sentiment: str, categories: list[str]) -> Triage:
    return Triage(
        sentiment=sentiment,  # type: ignore[arg-type]
        sentiment_scores={"negative": 0.1, "neutral": 0.1, "positive": 0.1, sentiment: 0.8},
        urgency="medium",
        reasons=[],
        categories=categories,
        model_version="test",
    )


# Module-scoped: the data is only read, and building it (and charts from it) once per module
# keeps the suite fast. Tests that write build their own database.
@pytest.fixture(scope="module")
def settings_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    path = folder / "settings.toml"
    path.write_text(SETTINGS.format(db=folder / "lp.db"))
    return path


@pytest.fixture(scope="module")
def settings(settings_path: Path) -> Settings:
    return load(settings_path)


@pytest.fixture(scope="module")
def store(settings: Settings) -> Iterator[Store]:
    s = Store(settings.storage.url)
    _fill(s, settings)
    yield s
    s.close()


def _fill(store: Store, settings: Settings) -> None:
    """Acme: 30 posts (sentiment cycles), one copy, one rejected, one XSS author, one formula
    author; Chrome: 10 posts; three cases, one breached."""
    acme_topics = settings.brands[0].topic_queries
    posts, verdicts = [], {}
    for n in range(30):
        text = ["Acme sync broke my bookmarks", "Acme on android is fine", "Acme rocks"][n % 3]
        author = {0: XSS, 1: FORMULA}.get(n, f"user{n % 5}")
        posts.append(
            Mention(
                "reddit",
                f"a{n}",
                f"https://reddit.com/a{n}",
                author,
                f"{text} #{n}",
                START + timedelta(hours=8 * n),
                metrics=Metrics(followers=1000 * (n + 1)),
            )
        )
        verdicts[f"a{n}"] = _verdict(
            ["negative", "neutral", "positive"][n % 3],
            [["complaint"], ["question"], ["praise"]][n % 3],
        )
    copy = Mention(
        "x",
        "copy",
        "https://x.com/1",
        "bot",
        "RT @user3: Acme sync broke my bookmarks #3",
        START + timedelta(days=2),
    )
    rejected = Mention(
        "reddit",
        "junk",
        "https://reddit.com/j",
        "spam",
        "acme acme buy now",
        START + timedelta(days=3),
    )
    acme_ids = store.save_page("Acme", "reddit", [*posts, copy, rejected], None)
    tag(store, "Acme", acme_ids, acme_topics)
    by_native = {p.native_id: i for p, i in zip([*posts, copy, rejected], acme_ids, strict=True)}
    store.save_triage([(by_native[k], v) for k, v in verdicts.items()])
    add_label(store, by_native["junk"], "relevant", False, actor="ana")
    chrome = [
        Mention(
            "reddit",
            f"c{n}",
            f"https://reddit.com/c{n}",
            f"fan{n}",
            f"chrome thing {n}",
            START + timedelta(hours=20 * n),
        )
        for n in range(10)
    ]
    chrome_ids = store.save_page("Chrome", "reddit", chrome, None)
    store.save_triage([(i, _verdict("negative", ["complaint"])) for i in chrome_ids])
    with store.engine.begin() as conn:
        for n, (respond, resolve, breach) in enumerate(
            [
                (timedelta(minutes=10), timedelta(hours=2), None),
                (timedelta(minutes=50), None, timedelta(minutes=30)),
                (None, None, None),
            ]
        ):
            opened = START + timedelta(hours=8 * n)
            conn.execute(
                cases.insert().values(
                    mention_id=by_native[f"a{n}"],
                    route="support",
                    status="resolved" if resolve else "assigned" if breach else "open",
                    assignee="U0BO" if breach else None,
                    opened_at=opened,
                    updated_at=opened,
                    first_response_at=opened + respond if respond else None,
                    resolved_at=opened + resolve if resolve else None,
                    sla_due_at=opened + timedelta(minutes=30),
                    breached_at=opened + breach if breach else None,
                )
            )
    people.remember(store, "U0BO", "Bo Smith", START)
    breached = by_native["a1"]
    act(store, breached, "note", "U0BO", note="Called the customer, refund on its way",
        at=START + timedelta(hours=10))
