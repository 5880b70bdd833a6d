"""`listenpost spikes`: the radar's findings in the terminal, and a check run by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from fakes.slack import FakeSlack
from listenpost.cli import app
from listenpost.cli.radar import table
from radar.detect import align
from storage import Store
from storage.spikes import ACTIVE, ENDED, SpikeRecord, Track, recent_spikes, save_spike
from tests.radar.test_watch import mention, store_posts, verdict

runner = CliRunner()
T = datetime(2026, 6, 3, 14, 0, tzinfo=UTC)
W = timedelta(minutes=15)


def settings(tmp_path: Path, extra: str = "", slack_url: str = "") -> Path:
    path = tmp_path / "settings.toml"
    text = (
        f'[storage]\nurl = "sqlite:///{tmp_path / "lp.db"}"\n\n'
        '[[brands]]\nname = "Acme"\nquery = "acme"\n\n[sources]\n\n'
        f'[alerts.slack]\nchannel = "#brand-alerts"\n'
    )
    if slack_url:
        text += f'base_url = "{slack_url}"\n'
    path.write_text(text + f"\n[radar]\n{extra}\n")
    return path


def test_spikes_lists_what_the_radar_found(tmp_path: Path) -> None:
    path = settings(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'lp.db'}")
    over = Track(ENDED, started_at=T, confirmed_at=T + W, ended_at=T + 9 * W, peak=8.4)
    lead = save_spike(
        store, SpikeRecord("Acme", "brand", "Acme", over, T, details={"posted": True})
    )
    going = Track(ACTIVE, started_at=T + W, confirmed_at=T + 2 * W, peak=3.2)
    save_spike(
        store,
        SpikeRecord("Acme", "term", "[red]#acmedown", going, T, details={"folded_into": lead.id}),
    )
    store.close()

    result = runner.invoke(app, ["--settings", str(path), "spikes"])
    assert result.exit_code == 0, result.output
    assert all(w in result.output for w in ("volume", "ended", "active", "posted"))
    console = Console(record=True, width=200)
    store = Store(f"sqlite:///{tmp_path / 'lp.db'}")
    console.print(table(recent_spikes(store, "Acme"), now=T + 3 * W, width=200))
    store.close()
    lines = console.export_text().splitlines()
    brand = next(line for line in lines if "volume" in line)
    assert "2026-06-03 14:00" in brand and "ended" in brand and "8.4x" in brand
    assert "2h 15m" in brand and "posted" in brand
    term = next(line for line in lines if "#acmedown" in line)
    assert "term [red]#acmedown" in term  # config text shown as written, not as markup
    assert "active" in term and f"in #{lead.id}'s thread" in term and "0h 30m so far" in term

    unknown = runner.invoke(app, ["--settings", str(path), "spikes", "--brand", "Globex"])
    assert unknown.exit_code != 0 and "no brand named Globex" in unknown.output


def test_spikes_check_runs_the_radar_once_and_alerts_slack(tmp_path: Path) -> None:
    with FakeSlack() as slack:
        path = settings(tmp_path, "history_weeks = 2\nconfirm = 1", slack.base_url)
        store = Store(f"sqlite:///{tmp_path / 'lp.db'}")
        now = datetime.now(UTC)
        latest = align(now - timedelta(minutes=5), W) - W  # the default lag
        hours = [
            latest - timedelta(weeks=2) + timedelta(minutes=20 * i) for i in range(3 * 14 * 24)
        ]
        calm = [mention(t, f"acme invoice question {t:%j%H%M}") for t in hours]
        store_posts(store, calm, "neutral", [])
        storm = [
            mention(
                latest + k * timedelta(seconds=45), f"acme is down for everyone, case {k + 100}"
            )
            for k in range(-20, 40)  # the window before, this one and the next: no boundary race
        ]
        ids = store.save_page("Acme", "x", storm, None)
        store.save_triage([(i, verdict("negative", ["outage"])) for i in ids])
        store.close()

        result = runner.invoke(
            app,
            ["--settings", str(path), "spikes", "--check"],
            env={"SLACK_BOT_TOKEN": slack.token},
        )
        assert result.exit_code == 0, result.output
        assert "1 new alert(s)" in result.output
        assert [m["text"].split(",")[0] for m in slack.messages if not m.get("thread_ts")] == [
            "📈 Spike: Acme"
        ]
        assert "volume" in result.output and "posted" in result.output
