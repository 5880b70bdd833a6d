"""A fetched page as rows: one row per post, a link per brand, copies grouped under the original.

Runs inside the caller's transaction (the one that also stores the cursor), so nothing here
commits. The grouping reads before it writes, hence `take_turns`: two polls ingesting the same
post at once would otherwise both insert it, or both think they hold the original.

A page is stored in a few set-based statements, not several per post: read what the database
already holds for the page (posts, this brand's links, the originals of the page's words), decide
in Python exactly what saving the posts one by one in page order would have done, then write
that: one INSERT of the new posts, one of the new links, and batched UPDATEs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Integer, bindparam, func, insert, select, update

from core.mention import Mention
from storage import db
from storage.dedup import dup_key
from storage.schema import mention_brands, mentions

# Most values one IN list binds (SQLite allows 32766 variables, but long lists plan worse).
CHUNK = 500
METRICS = ("likes", "reposts", "replies", "followers")


@dataclass(slots=True)
class _New:
    """A post this page inserts: its row, and the id the INSERT gives it."""

    row: dict[str, Any]
    id: int | None = None


@dataclass(slots=True)
class _Root:
    """The original of a group of copies as the page is walked: in the database or new."""

    created_at: datetime
    id: int | None = None  # in the database
    new: _New | None = None  # inserted by this page


def save_mentions(
    conn: Connection, brand: str, source: str, page: Sequence[Mention], now: datetime
) -> list[int]:
    """Upsert `page` and link it to `brand`; returns the ids that are new for this brand."""
    db.take_turns(conn, "ingest")
    if not page:
        return []

    # ---- read: what the database holds for this page -------------------------------------
    stored = _stored(conn, page)  # (network, native_id) -> row
    by_id = {r.id: r for r in stored.values()}
    already_linked = _linked(conn, brand, list(by_id))

    # ---- decide, in page order, what saving the posts one at a time would do -----------
    new: dict[tuple[str, str], _New] = {}
    fresh: dict[int, dict[str, int]] = {}  # stored id -> metrics this page reports
    linked: list[int | _New] = []  # in page order; a _New until its INSERT gives it an id
    reroute: list[int] = []
    for m in page:
        key = (m.network, m.native_id)
        reported = {k: v for k in METRICS if (v := getattr(m.metrics, k)) is not None}
        row = stored.get(key)
        if row is not None:
            # Reach changes as a post spreads; the text we triaged and alerted on stays.
            fresh.setdefault(row.id, {}).update(reported)
            if row.id not in already_linked:
                already_linked.add(row.id)
                linked.append(row.id)
                reroute.append(row.id)
        elif key in new:  # the same post twice in one page: the later reach wins
            new[key].row.update(reported)
        else:
            new[key] = _New(_row(m, now))
            linked.append(new[key])

    roots, routed = _roots(conn, {n.row["dup_key"] for n in new.values()} - {None})
    # `routed` is routed_at as the walk changes it: a re-linked post is routed again (below)
    # before any copy later in the page takes over its group and carries its routed_at on.
    takeovers: dict[str, _New] = {}  # dup_key -> the new post that became its original
    joins: list[tuple[_New, _New]] = []  # (copy, new original) with no takeover after
    for item in linked:
        if isinstance(item, int):
            routed[item] = None
            continue
        copy = item.row
        group = copy["dup_key"]
        if group is None:
            continue
        root = roots.get(group)
        if root is None:
            roots[group] = _Root(copy["created_at"], new=item)
        elif root.created_at <= copy["created_at"]:
            if root.new is None:
                copy["duplicate_of"] = root.id
            else:
                joins.append((item, root.new))
        else:
            # Networks are polled in any order: an older copy fetched later takes over the
            # group. The group's words were maybe already routed (and alerted) via the former
            # original: the new one carries that on.
            was = routed.get(root.id) if root.new is None else root.new.row["routed_at"]
            if was is not None:
                copy["routed_at"] = was
            roots[group] = _Root(copy["created_at"], new=item)
            takeovers[group] = item

    # ---- write ---------------------------------------------------------------------------
    if new:
        # Ids come back matched by (network, native_id), unique, so in whatever order the
        # driver returns them: asking for parameter order makes SQLite insert row by row.
        inserted = conn.execute(
            insert(mentions).returning(mentions.c.id, mentions.c.network, mentions.c.native_id),
            [n.row for n in new.values()],
        )
        for row in inserted:
            new[(row.network, row.native_id)].id = row.id
        if any(n.id is None for n in new.values()):
            raise RuntimeError("INSERT ... RETURNING gave back fewer ids than rows inserted")
    if takeovers:
        conn.execute(
            update(mentions)
            .where(mentions.c.dup_key == bindparam("k_key"), mentions.c.id != bindparam("k_id"))
            .values(duplicate_of=bindparam("k_id")),
            [{"k_key": group, "k_id": n.id} for group, n in takeovers.items()],
        )
    # Copies of a post this page inserted as the first of its words; where a later copy took
    # the group over, the UPDATE above already pointed them at it.
    joined = [{"j_id": c.id, "j_of": o.id} for c, o in joins if c.row["dup_key"] not in takeovers]
    if joined:
        conn.execute(
            update(mentions)
            .where(mentions.c.id == bindparam("j_id"))
            .values(duplicate_of=bindparam("j_of")),
            joined,
        )
    refresh = [
        {"r_id": mention_id, **{f"r_{k}": reported.get(k) for k in METRICS}}
        for mention_id, reported in fresh.items()
        if any(getattr(by_id[mention_id], k) != v for k, v in reported.items())
    ]
    if refresh:
        # COALESCE: a metric the page does not report keeps its stored value.
        conn.execute(
            update(mentions)
            .where(mentions.c.id == bindparam("r_id"))
            .values(
                {
                    k: func.coalesce(bindparam(f"r_{k}", type_=Integer), mentions.c[k])
                    for k in METRICS
                }
            ),
            refresh,
        )
    ids = [item if isinstance(item, int) else cast(int, item.id) for item in linked]
    if ids:
        conn.execute(
            insert(mention_brands),
            [{"mention_id": i, "brand": brand, "source": source, "linked_at": now} for i in ids],
        )
    # Routes can be limited to brands: routing again lets this brand's routes see a post it
    # newly links; alerts already queued are not queued twice (outbox is unique).
    for chunk in _chunks(reroute):
        conn.execute(update(mentions).where(mentions.c.id.in_(chunk)).values(routed_at=None))
    return ids


def _row(m: Mention, now: datetime) -> dict[str, Any]:
    created_at = m.created_at if m.created_at.tzinfo else m.created_at.replace(tzinfo=UTC)
    return {
        "network": m.network,
        "native_id": m.native_id,
        "url": m.url,
        "author": m.author,
        "title": m.title,
        "text": m.text,
        "lang": m.lang,
        "created_at": created_at,
        "fetched_at": now,
        "in_reply_to": m.in_reply_to,
        "raw": m.raw,
        "repost_of": m.repost_of,
        "dup_key": dup_key(
            m.author, m.text, m.title, network=m.network, url=m.url, repost_of=m.repost_of
        ),
        "duplicate_of": None,
        "routed_at": None,
        **{k: getattr(m.metrics, k) for k in METRICS},
    }


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _stored(conn: Connection, page: Sequence[Mention]) -> dict[tuple[str, str], Any]:
    """The page's posts already stored, by (network, native_id)."""
    by_network: dict[str, dict[str, None]] = {}
    for m in page:
        by_network.setdefault(m.network, {})[m.native_id] = None
    found: dict[tuple[str, str], Any] = {}
    for network, native_ids in by_network.items():
        for chunk in _chunks(native_ids):
            for row in conn.execute(
                select(
                    mentions.c.id, mentions.c.native_id, *(mentions.c[k] for k in METRICS)
                ).where(mentions.c.network == network, mentions.c.native_id.in_(chunk))
            ):
                found[(network, row.native_id)] = row
    return found


def _linked(conn: Connection, brand: str, ids: list[int]) -> set[int]:
    """Those of `ids` already linked to `brand`."""
    linked: set[int] = set()
    for chunk in _chunks(ids):
        linked.update(
            conn.scalars(
                select(mention_brands.c.mention_id).where(
                    mention_brands.c.brand == brand, mention_brands.c.mention_id.in_(chunk)
                )
            )
        )
    return linked


def _roots(conn: Connection, keys: set[str]) -> tuple[dict[str, _Root], dict[int, datetime | None]]:
    """The stored original of each group in `keys` (the earliest post no other points at),
    and the routed_at of each."""
    roots: dict[str, _Root] = {}
    routed: dict[int, datetime | None] = {}
    for chunk in _chunks(sorted(keys)):
        for row in conn.execute(
            select(mentions.c.id, mentions.c.dup_key, mentions.c.created_at, mentions.c.routed_at)
            .where(mentions.c.dup_key.in_(chunk), mentions.c.duplicate_of.is_(None))
            .order_by(mentions.c.created_at, mentions.c.id)
        ):
            if row.dup_key not in roots:
                roots[row.dup_key] = _Root(row.created_at, id=row.id)
                routed[row.id] = row.routed_at
    return roots, routed
