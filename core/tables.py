"""Tables that stay readable at any width.

At 80 columns, or piped to a file (where Rich assumes 80), a table with seven columns used to
squeeze its free-text column to a letter or two, so a post printed one letter per line. Here the
short columns keep their natural width and the free text gets what is left; when too little is
left, the short columns stack into one cell, line under line, and the text keeps a readable
measure, wrapped at words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

PLACEHOLDERS = {"", "-", "—"}  # "nothing here": stacked, they are left out
MIN_TEXT = 32  # below this many characters a post is hard to read: stack the other columns


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    wide: bool = False  # free text (a post, an error): takes the width left over
    justify: Literal["left", "right"] = "left"
    # Stacked, a bare "5m" or "at start" says nothing: such values are shown as "every: 5m".
    labelled: bool = False


Cell = str | Text


def fit(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int, title: str | None = None
) -> Table:
    """A table for a console `width` characters wide; cells are plain text or `Text`, never
    markup (post text and author names come from strangers)."""
    cells = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
    wide = next((i for i, c in enumerate(columns) if c.wide), None)
    natural = [_natural(c.header, [row[i] for row in cells]) for i, c in enumerate(columns)]
    if wide is None:
        wide = max(range(len(columns)), key=natural.__getitem__)
    narrow = [i for i in range(len(columns)) if i != wide]
    # Each column costs two characters of padding and one of border, plus the closing border.
    side = sum(natural[i] + 3 for i in narrow) + 4
    if width - side >= min(MIN_TEXT, natural[wide]):
        table = _table(title)
        for i, column in enumerate(columns):
            header = Text(column.header)  # a brand name as a header is data, not markup
            if i == wide:
                table.add_column(header, ratio=1, overflow="fold", justify=column.justify)
            else:
                table.add_column(header, no_wrap=True, justify=column.justify)
        for row in cells:
            table.add_row(*row)
        return table
    stacked = [
        [
            Text.assemble(f"{columns[i].header}: ", row[i]) if columns[i].labelled else row[i]
            for i in narrow
            if row[i].plain.strip() not in PLACEHOLDERS
        ]
        for row in cells
    ]
    # As wide as its longest value (the header, a list of the stacked names, wraps instead),
    # and never more than half the width: the text is what the reader came for. When that text
    # is short (a route's name beside its figures), the figures take what it leaves.
    longest = max((_natural("", values) for values in stacked), default=0)
    width_stacked = min(max(longest, 8), width // 2)
    # When the text is short (a route's name beside its figures), the figures take what it
    # leaves, several to a line.
    one_line = max((sum(cell_len(v.plain) + 3 for v in values) for values in stacked), default=0)
    width_stacked = max(width_stacked, min(one_line, width - natural[wide] - 7))
    table = _table(title)
    # The free text keeps its side: a row's name (first column) stays first, a post stays last.
    first = wide < narrow[0] if narrow else False
    names = Text(", ".join(columns[i].header for i in narrow))
    if first:
        table.add_column(Text(columns[wide].header), ratio=1, overflow="fold")
        table.add_column(names, width=width_stacked)
    else:
        table.add_column(names, width=width_stacked)
        table.add_column(Text(columns[wide].header), ratio=1, overflow="fold")
    for row, values in zip(cells, stacked, strict=True):
        pair = [_pack(values, width_stacked), row[wide]]
        table.add_row(*(reversed(pair) if first else pair))
    return table


def _pack(values: Sequence[Text], width: int) -> Text:
    """Short values joined with ' · ' on as few lines as fit `width` (a date stays whole)."""
    lines: list[Text] = []
    for value in values:
        if lines and cell_len(lines[-1].plain) + 3 + cell_len(value.plain) <= width:
            lines[-1] = Text.assemble(lines[-1], " · ", value)
        else:
            lines.append(value)
    return Text("\n").join(lines)


def _table(title: str | None) -> Table:
    return Table(title=title, title_justify="left", expand=True, show_lines=False)


def _natural(header: str, cells: Sequence[Text]) -> int:
    lines = [header, *(line for cell in cells for line in cell.plain.splitlines())]
    return max((cell_len(line) for line in lines), default=0)
