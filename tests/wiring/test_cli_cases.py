"""`listenpost cases` and `listenpost export --csv`: the case log as a manager reads it."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alerts import actions, render
from alerts.sla import check_slas
from listenpost.cli import app
from storage import Store, cases, people
from tests.alerts.factories import triage
from tests.alerts.queueing import mention
from tests.wiring.conftest import settings_text

runner = CliRunner()
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    """Three alerted mentions: one open past its SLA, one assigned, one resolved."""
    db = tmp_path / "lp.db"
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(db, {}))
    store = Store(f"sqlite:///{db}")
    posts = [
        mention(1, text='=HYPERLINK("http://evil","click") Acme stole my card', author="@mallory"),
        mention(2, text="Acme support, why is my invoice double? [bold]x[/bold]"),
        mention(3, text='Acme fixed it, thanks, "great" job,\nreally'),
    ]
    ids = store.save_page("Acme", "reddit", posts, None, now=NOW)
    store.save_triage([(i, triage()) for i in ids])
    opened = NOW - timedelta(hours=2)
    for i in ids:
        cases.open_case(store, i, "support", opened, sla_due_at=opened + timedelta(minutes=30))
    cases.mark_breached(store, ids[0], opened + timedelta(minutes=31), escalated=True)
    cases.act(store, ids[1], "assign", "U0BO", assignee="U0BO", at=opened + timedelta(minutes=5))
    cases.act(store, ids[2], "resolve", "U0ANN", at=opened + timedelta(minutes=20))
    store.close()
    return path


def run(settings: Path, *args: str) -> str:
    result = runner.invoke(app, ["--settings", str(settings), *args], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    return result.output


def test_cases_lists_open_work_with_age_and_sla(settings: Path) -> None:
    out = run(settings, "cases")
    assert "2 case(s) (open)" in out
    # Breached 89 min before the fixture ran (NOW is taken at import: allow a slow suite).
    assert re.search(r"breached 1h[2-5]\dm ago", out) and "@mallory" in out
    assert "U0BO" in out and "assigned" in out
    assert "[bold]x[/bold]" in out  # post text is shown as written, never as markup
    assert "fixed it" not in out  # resolved: not open work


def test_cases_filters_and_json(settings: Path) -> None:
    breached = json.loads(run(settings, "cases", "--status", "breached", "--json"))
    assert [c["author"] for c in breached] == ["@mallory"]
    assert breached[0]["escalated_at"] is not None and breached[0]["status"] == "open"
    mine = json.loads(run(settings, "cases", "--status", "all", "--assignee", "U0BO", "--json"))
    assert [(c["status"], c["assignee"]) for c in mine] == [("assigned", "U0BO")]
    everything = json.loads(run(settings, "cases", "--status", "all", "--json"))
    assert [c["status"] for c in everything] == ["open", "assigned", "resolved"]
    assert everything[2]["resolved_at"] is not None


def test_an_escalated_unacknowledged_case_is_listed_as_breached(tmp_path: Path) -> None:
    """Pressing Escalate is not a first response: once the SLA check has run, the case is
    breached for `cases --status breached` and the report alike."""
    db = tmp_path / "lp.db"
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(db, {}))
    store = Store(f"sqlite:///{db}")
    (mid,) = store.save_page("Acme", "reddit", [mention(7, author="carol")], None, now=NOW)
    store.save_triage([(mid, triage())])
    opened = NOW - timedelta(hours=2)
    cases.open_case(store, mid, "support", opened, sla_due_at=opened + timedelta(minutes=30))
    escalate = actions.Click(render.ESCALATE, mid, "U0ANN")
    actions.apply(store, escalate, opened + timedelta(minutes=5))
    assert check_slas(store, [], now=NOW) == 1
    store.close()

    breached = json.loads(run(path, "cases", "--status", "breached", "--json"))
    assert [(c["mention_id"], c["status"]) for c in breached] == [(mid, "open")]
    assert breached[0]["breached_at"] is not None and breached[0]["escalated_at"] is not None
    out = tmp_path / "csv"
    since = (NOW - timedelta(days=1)).date().isoformat()
    run(path, "report", "--since", since, "--csv", str(out))
    rows = list(csv.DictReader(io.StringIO((out / "sla_breaches.csv").read_text("utf-8-sig"))))
    assert [r["mention_id"] for r in rows] == [str(mid)]


def test_the_case_log_names_people_and_keeps_notes_and_reasons(
    settings: Path, tmp_path: Path
) -> None:
    """Names from Slack's users.info (cached) beside the ids; notes and the not-relevant
    reason in `cases --json`, the table and the CSV (new columns at the end)."""
    store = Store(f"sqlite:///{settings.parent / 'lp.db'}")
    people.remember(store, "U0BO", "Bo Smith", NOW)
    people.remember(store, "U0ANN", "Ann Lee", NOW)
    bo, fixed = (c.mention_id for c in cases.list_cases(store)[1:3])
    cases.act(store, bo, "note", "U0BO", note="Refund sent, waiting for her answer", at=NOW)
    cases.act(store, fixed, "not_relevant", "U0ANN", note="Already handled", at=NOW)
    store.close()

    rows = {c["mention_id"]: c for c in json.loads(run(settings, "cases", "--status", "all",
                                                       "--json"))}
    assert (rows[bo]["assignee"], rows[bo]["assignee_name"]) == ("U0BO", "Bo Smith")
    assert [(n["by_name"], n["note"]) for n in rows[bo]["notes"]] == [
        ("Bo Smith", "Refund sent, waiting for her answer")
    ]
    assert rows[fixed]["not_relevant_reason"] == "Already handled"
    assert [h["action"] for h in rows[fixed]["history"]] == ["resolve", "not_relevant"]
    assert "Bo Smith (U0BO)" in run(settings, "cases")

    out = run(settings, "export", "--csv", "-")
    assert out.splitlines()[0].endswith(
        "url,assignee_name,not_relevant_reason,notes"
    )
    by_id = {int(r["mention_id"]): r for r in csv.DictReader(io.StringIO(out))}
    assert by_id[bo]["assignee"] == "U0BO" and by_id[bo]["assignee_name"] == "Bo Smith"
    assert by_id[bo]["notes"].endswith("Bo Smith (U0BO): Refund sent, waiting for her answer")
    assert by_id[fixed]["not_relevant_reason"] == "Already handled"


def test_unknown_status_is_a_clear_error(settings: Path) -> None:
    result = runner.invoke(app, ["--settings", str(settings), "cases", "--status", "late"])
    assert result.exit_code == 2
    assert "use one of open" in result.output


def test_export_csv_is_quoted_and_formula_safe(settings: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases.csv"
    run(settings, "export", "--csv", str(out))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["status"] for r in rows] == ["open", "assigned", "resolved"]
    first, second, third = rows
    assert first["text"].startswith("'=HYPERLINK(")  # would run as a formula otherwise
    assert first["author"] == "'@mallory"
    assert third["text"] == 'Acme fixed it, thanks, "great" job,\nreally'  # quoted, intact
    assert second["assignee"] == "U0BO" and second["first_response_utc"].endswith("Z")
    assert third["resolved_at_utc"] and first["resolved_at_utc"] == ""
    assert first["category"] == "outage" and first["network"] == "reddit"


def test_export_to_stdout(settings: Path) -> None:
    out = run(settings, "export", "--csv", "-")
    header = out.splitlines()[0]
    assert header.startswith("date_utc,mention_id,author,network,text,category,status,assignee")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 and rows[2]["text"].endswith("job,\nreally")
