"""`listenpost cases` and `listenpost export --csv`: the case log outside Slack.

A manager asks "what is still open, who has it, what missed its SLA?" without scrolling a
channel, and exports the log for a spreadsheet. Post text and author names come from strangers:
the table prints them as plain text (never Rich markup) and the CSV defuses cells a
spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.tables import Column
from core.triage import category_label
from listenpost.cli import common

if TYPE_CHECKING:
    from storage import Store
    from storage.cases import Case, CaseEvent
    from storage.records import StoredMention

# --status: "open" is everything still being worked; "breached" any case that missed its SLA.
STATUS_FILTERS: dict[str, tuple[str, ...] | None] = {
    "open": ("open", "acknowledged", "assigned"),
    "acknowledged": ("acknowledged",),
    "assigned": ("assigned",),
    "resolved": ("resolved",),
    "not_relevant": ("not_relevant",),
    "breached": None,
    "all": None,
}
EXCERPT = 80
CSV_COLUMNS = (
    "date_utc",
    "mention_id",
    "author",
    "network",
    "text",
    "category",
    "status",
    "assignee",
    "first_response_utc",
    "resolved_at_utc",
    "sla_due_utc",
    "breached_at_utc",
    "url",
    # Appended (issue 16), so spreadsheets built on the columns above keep working.
    "assignee_name",
    "not_relevant_reason",
    "notes",
)


def register(app: typer.Typer) -> None:
    @app.command("cases")
    def cases_command(
        status: Annotated[
            str,
            typer.Option(
                help="open (default: open, acknowledged, assigned), assigned, "
                "acknowledged, resolved, not_relevant, breached or all."
            ),
        ] = "open",
        assignee: Annotated[
            str | None, typer.Option(help="Only cases assigned to this Slack user id.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    ) -> None:
        """Cases worked from Slack: who has what, how old it is, and its SLA."""
        if status not in STATUS_FILTERS:
            raise typer.BadParameter(
                f"{status!r}; use one of {', '.join(STATUS_FILTERS)}", param_hint="--status"
            )
        store = common.open_store(common.load_settings(), read_only=True)
        try:
            rows = _load(store, status, assignee)
        finally:
            store.close()
        now = datetime.now(UTC)
        if as_json:
            common.write_utf8(json.dumps([_as_json(r) for r in rows], indent=2) + "\n")
            return
        common.console.print(_table(rows, now, status))

    @app.command("export")
    def export_command(
        csv_out: Annotated[
            str,
            typer.Option(
                "--csv",
                metavar="FILE|-",
                help="Write the case log as CSV here (- for standard output).",
            ),
        ],
    ) -> None:
        """The whole case log as CSV: date, author, network, text, category, status, assignee,
        first response and resolution times."""
        store = common.open_store(common.load_settings(), read_only=True)
        try:
            rows = _load(store, "all", None)
        finally:
            store.close()
        text = to_csv(rows)
        if csv_out == "-":
            common.write_utf8(text)
            return
        try:
            # A byte-order mark: Excel then reads the UTF-8 names and posts correctly.
            Path(csv_out).write_text(text, encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise common.fail("cannot write", f"{csv_out}: {exc.strerror or exc}") from None
        common.err_console.print(f"wrote {len(rows)} case(s) to {csv_out}", highlight=False)


@dataclass(frozen=True, slots=True)
class Logged:
    """A case as the log shows it: the row, its post, its history and the people's names."""

    case: Case
    mention: StoredMention | None
    history: list[CaseEvent]
    names: dict[str, str]  # Slack id -> display name, for the ids storage/people.py knows

    def person(self, user_id: str | None) -> str | None:
        from storage.people import label

        return label(user_id, self.names)

    def json_history(self) -> list[dict[str, Any]]:
        return [
            {
                "at": _iso(e.at),
                "action": e.action,
                "by": e.actor,
                "by_name": self.names.get(e.actor),
                "note": e.note,
            }
            for e in self.history
            if e.action != "open"
        ]

    def notes_text(self) -> str:
        from storage.cases import notes

        return "\n".join(
            f"{_iso(e.at)} {self.person(e.actor)}: {e.note}" for e in notes(self.history)
        )


def _load(store: Store, status: str, assignee: str | None) -> list[Logged]:
    from storage import cases, people

    found = cases.list_cases(
        store,
        statuses=STATUS_FILTERS[status],
        assignee=assignee,
        breached=True if status == "breached" else None,
    )
    histories = cases.histories(store, [c.mention_id for c in found])
    ids = {c.assignee for c in found if c.assignee}
    ids |= {e.actor for h in histories.values() for e in h}
    names = people.names(store, ids)
    return [
        Logged(c, store.get_mention(c.mention_id), histories[c.mention_id], names)
        for c in found
    ]


def to_csv(rows: list[Logged]) -> str:
    """RFC 4180 CSV (quoted where needed, CRLF rows) with formula-looking cells defused."""
    from reports.csv import safe
    from storage.cases import not_relevant_reason

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        case, m = row.case, row.mention
        writer.writerow(
            [
                safe(v)
                for v in (
                    case.opened_at,
                    case.mention_id,
                    m.author if m else None,
                    m.network if m else None,
                    m.text if m else None,
                    _category(m),
                    case.status,
                    case.assignee,
                    case.first_response_at,
                    case.resolved_at,
                    case.sla_due_at,
                    case.breached_at,
                    m.url if m else None,
                    row.names.get(case.assignee or ""),
                    not_relevant_reason(row.history),
                    row.notes_text() or None,
                )
            ]
        )
    return out.getvalue()


CASE_COLUMNS = (
    Column("id", justify="right"),
    Column("age"),
    Column("network"),
    Column("author"),
    Column("excerpt", wide=True),
    Column("category"),
    Column("status"),
    Column("assignee", labelled=True),
    Column("SLA"),
)


def _table(rows: list[Logged], now: datetime, status: str) -> Any:
    from rich.text import Text

    cells = []
    for row in rows:
        case, m = row.case, row.mention
        excerpt = " ".join((m.text if m else "(mention deleted)").split())
        if len(excerpt) > EXCERPT:
            excerpt = excerpt[: EXCERPT - 1] + "…"
        sla = _sla(case, now)
        cells.append(
            [
                str(case.mention_id),
                _age(now - case.opened_at),
                m.network if m else "-",
                m.author if m else "-",
                excerpt,
                category_label(_category(m) or "-"),
                case.status.replace("_", " "),
                row.person(case.assignee) or "-",
                Text(sla, style="bold red" if sla.startswith("breached") else ""),
            ]
        )
    return common.table(CASE_COLUMNS, cells, title=f"{len(rows)} case(s) ({status})")


def _sla(case: Case, now: datetime) -> str:
    if case.breached_at is not None:
        return f"breached {_age(now - case.breached_at)} ago"
    if case.sla_due_at is None:
        return "-"
    if case.status not in ("open",):
        return "met"
    left = case.sla_due_at - now
    return f"due in {_age(left)}" if left > timedelta(0) else f"overdue {_age(-left)}"


def _age(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h{minutes % 60:02d}m" if hours < 48 else f"{hours // 24}d"


def _category(m: StoredMention | None) -> str | None:
    if m is None or m.triage is None or not m.triage.categories:
        return None
    return ", ".join(m.triage.categories)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _as_json(row: Logged) -> dict[str, Any]:
    from storage.cases import not_relevant_reason, notes

    case, m = row.case, row.mention
    return {
        "mention_id": case.mention_id,
        "route": case.route,
        "status": case.status,
        "assignee": case.assignee,
        "assignee_name": row.names.get(case.assignee or ""),
        "opened_at": _iso(case.opened_at),
        "acknowledged_at": _iso(case.acknowledged_at),
        "first_response_at": _iso(case.first_response_at),
        "resolved_at": _iso(case.resolved_at),
        "sla_due_at": _iso(case.sla_due_at),
        "breached_at": _iso(case.breached_at),
        "escalated_at": _iso(case.escalated_at),
        "network": m.network if m else None,
        "author": m.author if m else None,
        "text": m.text if m else None,
        "url": m.url if m else None,
        "category": _category(m),
        "not_relevant_reason": not_relevant_reason(row.history),
        "notes": [
            {"at": _iso(e.at), "by": e.actor, "by_name": row.names.get(e.actor), "note": e.note}
            for e in notes(row.history)
        ],
        "history": row.json_history(),  # every step after the alert: who, what, when, why
    }
