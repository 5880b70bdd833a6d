"""The team's word in the real cycle: labels beat the model, rules mute/tag/raise, and what is
muted or not relevant never reaches Slack."""

from __future__ import annotations

import time
from pathlib import Path

from classifiers.settings import build_rules
from classifiers.triager import Triager
from fakes.hackernews import FakeHackerNews, story
from fakes.slack import FakeSlack
from listeners.http import HttpClient
from listenpost import config
from listenpost.pipeline import poll_source, process
from listenpost.runtime import Runtime, build
from storage.labels import add_label, labels_for
from tests.wiring.conftest import settings_text

NOW = int(time.time())
RULES = """
[[classifier.rules]]
name = "promos"
query = '"promo code" OR giveaway'
mute = true

[[classifier.rules]]
name = "press"
terms = ["press inquiry"]
urgency = "critical"
tag = ["question"]
"""


def runtime(tmp_path: Path, hn: FakeHackerNews, slack: FakeSlack, triager: Triager) -> Runtime:
    path = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url}}
    path.write_text(settings_text(tmp_path / "lp.db", sources, slack.base_url) + RULES)
    settings = config.load(path)
    http = HttpClient("t", timeout=2, retries=1)
    rt = build(settings, {"SLACK_BOT_TOKEN": slack.token}, http=http)
    # The loaded model is shared across tests; the rules are this settings file's own.
    rt.__dict__["triager"] = Triager(
        model=triager.model, rules=build_rules(settings.classifier.rules)
    )
    return rt


def test_labels_and_rules_decide_what_is_alerted(
    tmp_path: Path, hn: FakeHackerNews, slack: FakeSlack, triager: Triager
) -> None:
    hn.items += [
        story(1, NOW - 500, "Love the new Acme dashboard, great work team"),
        story(2, NOW - 400, "Acme Cloud is down again, outage for 3 hours, this is terrible"),
        story(3, NOW - 300, "Acme giveaway! Use promo code WIN50, this outage deal is terrible"),
        story(4, NOW - 200, "Press inquiry about Acme: lovely product, who can we talk to"),
    ]
    rt = runtime(tmp_path, hn, slack, triager)
    poll_source(rt, "Acme", "hackernews")
    ids = {m.native_id: m.id for m in rt.store.mentions()}
    # Before triage: the team already said the praise is sarcasm, the outage post is noise.
    add_label(rt.store, ids["1"], "sentiment", "negative", "ana")
    add_label(rt.store, ids["2"], "relevant", False, "ana")

    process(rt)

    stored = {m.native_id: m for m in rt.store.mentions()}
    praise, outage, promo, press = (stored[k].triage for k in "1234")
    assert praise is not None and outage is not None and promo is not None and press is not None
    assert praise.sentiment == "negative" and praise.reasons[0] == "labelled negative"
    assert outage.relevant is False
    assert promo.relevant is False and promo.reasons == ["team rule 'promos': muted"]
    assert labels_for(rt.store, [ids["3"]]) == {ids["3"]: {"relevant": False}}
    assert press.urgency == "critical" and "question" in press.categories
    assert all(m.lang == "en" for m in stored.values())  # HN says nothing; the detector did

    alerted = sorted(m["text"] for m in slack.messages)
    assert len(alerted) == 2, alerted
    assert "Love the new Acme dashboard" in alerted[0] and "negative" in alerted[0]
    assert "Press inquiry" in alerted[1]
    line = next(
        b["text"]["text"]
        for m in slack.messages
        for b in m["blocks"]
        if b["type"] == "section" and "labelled negative" in b["text"]["text"]
    )
    assert line.startswith("*Negative*") and f"model {rt.triager.model_version}" in line

    # A label given after the alert still wins everywhere the mention is read again.
    add_label(rt.store, ids["4"], "relevant", False, "bo", origin="slack")
    later = rt.store.get_mention(ids["4"])
    assert later is not None and later.triage is not None and later.triage.relevant is False
    rt.close()


def test_posts_like_one_the_team_called_noise_are_not_routed(
    tmp_path: Path, hn: FakeHackerNews, slack: FakeSlack, triager: Triager
) -> None:
    """"Not relevant" teaches: a later post much like it (for the same brand) is stored and
    counted as noise, never alerted; an unrelated complaint still is."""
    hn.items += [story(1, NOW - 900, "Acme Corp has an opening for a senior Java developer "
                                     "in Berlin, apply now on our careers page")]
    rt = runtime(tmp_path, hn, slack, triager)
    poll_source(rt, "Acme", "hackernews")
    (job,) = rt.store.mentions()
    add_label(rt.store, job.id, "relevant", False, "ana", origin="slack")
    process(rt)
    assert slack.messages == []

    hn.items += [
        story(2, NOW - 300, "Acme Corp has an opening for a senior Python developer in Munich, "
                            "apply now on our careers page"),
        story(3, NOW - 200, "Acme Cloud is down again, outage for 3 hours, this is terrible"),
    ]
    poll_source(rt, "Acme", "hackernews")
    process(rt)

    stored = {m.native_id: m for m in rt.store.mentions()}
    hiring, outage = stored["2"].triage, stored["3"].triage
    assert hiring is not None and outage is not None
    assert hiring.relevant is False
    assert hiring.details["noise_like"]["mention_id"] == job.id
    assert any(r.startswith(f"noise: like mention #{job.id} marked not relevant") for r in
               hiring.reasons)
    assert outage.relevant is True
    alerted = [m["text"] for m in slack.messages]
    assert len(alerted) == 1 and "Acme Cloud is down again" in alerted[0]
