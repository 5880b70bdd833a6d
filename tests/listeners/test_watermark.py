from __future__ import annotations

import time

from listeners.watermark import OVERLAP_SECONDS, Watermark


def test_a_post_dated_in_the_future_does_not_hide_the_posts_that_follow_it() -> None:
    now = int(time.time())
    year_ahead = now + 365 * 86400  # a server with a broken clock
    mark = Watermark().advance([("bogus", year_ahead), ("real", now - 60)], now=now)
    # The next genuine post, written a minute from now, is still new.
    assert mark.is_new("next", now + 60)
    assert not mark.is_new("bogus", now)  # and the odd one is not fetched twice


def test_the_window_re_reads_late_posts_but_skips_the_ids_it_holds() -> None:
    now = int(time.time())
    mark = Watermark().advance([("a", now - 10), ("b", now - 20)], now=now)
    assert not mark.is_new("a", now - 10)
    assert mark.is_new("late", now - OVERLAP_SECONDS + 30)  # indexed late, inside the overlap
    assert mark.is_old(now - OVERLAP_SECONDS - 30)
