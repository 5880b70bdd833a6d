"""settings.toml -> SLAs, quiet hours, fatigue, digests, and the scheduler jobs that run them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.outbox import deliver_due
from fakes.slack import FakeSlack
from listenpost import config, jobs
from listenpost.config import SettingsError
from listenpost.runtime import build
from listenpost.scheduler import build_scheduler
from storage import cases
from tests.alerts.queueing import T0, mention, queue
from tests.wiring.conftest import settings_text

ALERTING = """
[alerts.fatigue]
group_after = 8
burst = 2

[[alerts.routes]]
name = "support"
channel = "#support"
sla = { comment = "1h", post = "30m" }
quiet_hours = "22:00-07:00"
timezone = "Europe/Berlin"
escalate_to = "<!subteam^S0LEADS>"

[[alerts.digests]]
channel = "#support"
every = "weekly"
weekday = "friday"
at = "16:00"
timezone = "Europe/Berlin"
"""


def load(tmp_path: Path, extra: str, slack_url: str = "") -> config.Settings:
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {}, slack_url) + extra)
    return config.load(path)


def test_route_timing_and_digests_reach_the_runtime_and_the_scheduler(tmp_path: Path) -> None:
    settings = load(tmp_path, ALERTING)
    rt = build(settings, {})
    (route,) = rt.routes
    assert route.sla == {"comment": "1h", "post": "30m"}
    assert (route.quiet_hours, route.timezone) == ("22:00-07:00", "Europe/Berlin")
    assert route.escalate_to == "<!subteam^S0LEADS>"
    policy = settings.alerts.fatigue.policy()
    assert (policy.group_after, policy.burst, policy.per_second) == (8, 2, 1.0)
    scheduler = build_scheduler(rt)
    ids = {j.id for j in scheduler.get_jobs()}
    assert {"sla", "digests", "outbox"} <= ids
    rt.close()


def test_without_slas_or_digests_no_extra_jobs_run(tmp_path: Path) -> None:
    rt = build(load(tmp_path, ""), {})
    ids = {j.id for j in build_scheduler(rt).get_jobs()}
    assert "sla" not in ids and "digests" not in ids
    rt.close()


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('sla = "soon"', "sla: 'soon' is not a duration"),
        ('sla = { tweet = "1h" }', "sla: unknown kind 'tweet'"),
        ('quiet_hours = "22-7"', "quiet_hours '22-7': use HH:MM-HH:MM"),
        ('timezone = "Berlin"', "timezone 'Berlin': not an IANA time zone"),
        ('escalate_to = "<!channel>"', "escalate_to '<!channel>'"),
    ],
)
def test_bad_route_timing_is_one_clear_line(tmp_path: Path, snippet: str, message: str) -> None:
    with pytest.raises(SettingsError, match=r"alerts\.routes\[0\]") as caught:
        load(tmp_path, f'\n[[alerts.routes]]\nname = "r"\n{snippet}\n')
    assert message in str(caught.value)


def test_bad_digest_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"alerts.digests\[0\].every"):
        load(tmp_path, '\n[[alerts.digests]]\nchannel = "#d"\nevery = "hourly"\n')
    with pytest.raises(SettingsError, match=r"alerts.digests\[0\].at"):
        load(tmp_path, '\n[[alerts.digests]]\nchannel = "#d"\nat = "25:00"\n')


def test_jobs_escalate_and_send_digests_through_slack(tmp_path: Path, slack: FakeSlack) -> None:
    rt = build(load(tmp_path, ALERTING, slack.base_url), {"SLACK_BOT_TOKEN": slack.token})
    queue(rt.store, [mention(1)], routes=rt.routes)
    noon = T0 - timedelta(hours=3)  # 14:00 in Berlin: not quiet
    assert deliver_due(rt.store, rt.sender, now=noon, routes=rt.routes).sent == 1
    assert jobs.sla(rt, now=noon + timedelta(minutes=31)) == 1
    deliver_due(rt.store, rt.sender, now=noon + timedelta(minutes=31), routes=rt.routes)
    assert slack.messages[-1]["text"].startswith("<!subteam^S0LEADS> ⏰ SLA breached")
    (case,) = cases.list_cases(rt.store, breached=True)
    assert case.escalated_at is not None

    friday_evening = datetime(2024, 4, 5, 14, 30, tzinfo=UTC)  # Friday 16:30 in Berlin
    assert jobs.digests(rt, now=friday_evening) == 1
    assert jobs.digests(rt, now=friday_evening + timedelta(minutes=1)) == 0
    assert len(slack.files) == 1
    rt.close()
