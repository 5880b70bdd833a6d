"""The monthly (or weekly) report, posted into Slack by the scheduler.

`[reports] slack_channel = "#marketing", every = "monthly"`: once the period has ended (plus
`delay`, so slow sources catch up), one summary message goes to the channel and the HTML report
and the volume chart are attached in its thread. Each step is recorded (storage/report_log.py),
so a restart finishes the same report rather than posting it twice. On the first start, the
last complete period is sent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.durations import parse_duration
from storage import report_log

if TYPE_CHECKING:
    from alerts.sender import Sender
    from core.secrets import RedactSecrets
    from reports.build import Report
    from reports.settings import ReportSettings
    from storage import Store

log = logging.getLogger(__name__)


def last_period(every: str, now: datetime) -> tuple[datetime, datetime]:
    """The last complete calendar month, or ISO week (Monday to Monday), before `now` (UTC)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if every == "weekly":
        end = today - timedelta(days=today.weekday())
        return end - timedelta(days=7), end
    end = today.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    return start, end


def send_due_report(
    store: Store,
    sender: Sender,
    cfg: ReportSettings,
    configured: object,
    redactor: RedactSecrets,
    now: datetime | None = None,
) -> bool:
    """Post the last period's report if it is due and not sent yet; True when it went out.
    `configured` holds the `[[brands]]` entries (`.brands`) the report picks its brands from.

    Never raises: a Slack outage or a full disk is logged and retried at the next check.
    """
    if not cfg.slack_channel:
        return False
    now = now or datetime.now(UTC)
    start, end = last_period(cfg.every, now)
    if now < end + parse_duration(cfg.delay):  # just ended: the one before is the one due
        start, end = last_period(cfg.every, start)
    try:
        run = report_log.claim(store, cfg.slack_channel, f"report:{cfg.every}", start)
        if run.sent_at is not None:
            return False
        _send(store, sender, cfg, configured, run, start, end, now)
    except Exception as exc:
        log.error(
            "%s report for %s not sent (retried in an hour): %s",
            cfg.every,
            start.date(),
            redactor.redact(str(exc) or type(exc).__name__),
        )
        return False
    return True


def _send(
    store: Store,
    sender: Sender,
    cfg: ReportSettings,
    configured: object,
    run: report_log.ReportRun,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    from reports.build import build
    from reports.charts import charts
    from reports.html import write_html

    built = build(store, configured, start, end, cfg.brands or None)
    folder = Path(cfg.dir)
    stem = f"listenpost-{cfg.every}-{start:%Y-%m-%d}"
    html = folder / f"{stem}.html"
    drawn = charts(built)
    write_html(built, html, drawn)
    volume = next((c for c in drawn if c.name == "volume"), None)
    png = folder / f"{stem}-volume.png"
    if volume is not None:
        png.write_bytes(volume.png)
    channel_id, ts = run.channel_id, run.ts
    if ts is None:
        text, blocks = summary(built, cfg.every)
        delivery = sender.send(cfg.slack_channel, text, blocks)
        channel_id, ts = delivery.channel_id, delivery.ts
        report_log.posted(store, run.id, channel_id, ts)
    target = channel_id or cfg.slack_channel  # files are shared by channel id where Slack gave one
    title = f"listenpost {cfg.every} report {start:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d}"
    sender.upload_file(target, html, title, None, ts)
    if volume is not None:
        sender.upload_file(target, png, "Mentions over time", None, ts)
    report_log.sent(store, run.id, now)
    log.info("%s report for %s posted to %s", cfg.every, start.date(), cfg.slack_channel)


def summary(report: Report, every: str) -> tuple[str, list[dict[str, object]]]:
    """The message the files hang under: the headline numbers, Slack-escaped."""
    from alerts.render import escape
    from reports.build import duration, percent

    totals = report.totals.values()
    mentions = sum(t.total for t in totals)
    negative = sum(t.negative for t in totals)
    own = sum(r.share for r in report.share if r.brand in report.brands)
    who = escape(", ".join(report.brands) or "all brands")
    lines = [
        f"*{every.capitalize()} listening report: {who}*",
        f"{report.since:%Y-%m-%d} to {report.until - timedelta(days=1):%Y-%m-%d} (UTC)",
        f"• {mentions:,} mentions, {percent(negative, mentions)} negative",
    ]
    rivals = [b for b in report.compared if b not in report.brands]
    if rivals:
        lines.append(f"• share of voice {percent(own, 1)} against {escape(', '.join(rivals))}")
    lines.append(
        f"• {report.cases.opened:,} cases, median first response "
        f"{duration(report.cases.median_first_response)}, {report.cases.breached:,} SLA breaches"
    )
    text = "\n".join(lines)
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
