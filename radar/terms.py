"""Which words and hashtags are driving a spike: the ones far more frequent now than usual.

"What is everyone suddenly saying?" is the first question in a storm. Frequent words alone
would answer "the", "acme" and "app"; comparing with the same hours of past weeks leaves the
words that are new: `outage`, `#acmedown`, `refund`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

_TOKEN = re.compile(r"#\w+|[^\W\d_][\w'-]{2,}")
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_STOPWORDS = """
    about above after again against all also and any are aren't because been before being
    below between both but can can't cannot could did didn't does doesn't doing don't since
    during each few for from further get got had hadn't has hasn't have haven't having her here
    hers herself him himself his how i'm i've into isn't it's its itself just let's more most
    much mustn't myself nor not now off once one only other ought our ours ourselves out over
    own same she she's should shouldn't some such than that that's the their theirs them
    themselves then there there's these they they're this those through too under until very
    was wasn't we're were weren't what what's when where which while who whom why will with
    won't would wouldn't you you're your yours yourself yourselves the and really still even
    like amp via today yet
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def tokens(text: str) -> set[str]:
    """The distinct words (3+ letters) and hashtags of one post, lowercased; each post counts
    once per word, so one long rant cannot make a word trend."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text.casefold()))
    return {t for t in _TOKEN.findall(text) if t not in STOPWORDS}


def over_represented(
    current: Iterable[str],
    baseline: Iterable[str],
    limit: int = 5,
    exclude: Iterable[str] = (),
    min_posts: int = 3,
) -> list[tuple[str, int]]:
    """(term, posts now) for the terms most over-represented in `current` posts compared with
    `baseline` posts, strongest first.

    The score is the log ratio of the shares of posts using the term, each smoothed by one post,
    so a term absent from the baseline does not score infinity and one that is everywhere in
    both scores nothing.
    """
    skip = {e.casefold().lstrip("#") for e in exclude}
    now: Counter[str] = Counter()
    usual: Counter[str] = Counter()
    n_now = n_usual = 0
    for text in current:
        now.update(tokens(text))
        n_now += 1
    for text in baseline:
        usual.update(tokens(text))
        n_usual += 1
    scored = []
    for term, count in now.items():
        if count < min_posts or term.lstrip("#") in skip:
            continue
        share_now = (count + 1) / (n_now + 2)
        share_usual = (usual[term] + 1) / (n_usual + 2)
        score = math.log(share_now / share_usual)
        if score > math.log(2):  # at least twice as common as usual
            scored.append((score * math.sqrt(count), term, count))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [(term, count) for _, term, count in scored[:limit]]
