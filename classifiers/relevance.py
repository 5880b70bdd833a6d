"""Per brand, posts like the ones the team marked *not relevant* are noise.

"Not relevant" in Slack (or `listenpost label --not-relevant`) says more than "not this post":
a job ad, a namesake ("Acme" the cartoon company), a giveaway bot keep coming back in the same
words. Each brand's labelled posts are kept as word vectors (the hashed words and word pairs of
classifiers/lexical.py, sublinear tf, unit length, the brand's own query words left out so
"acme" does not make every post look alike). A new post whose nearest labelled neighbour for
each of its brands is a not-relevant one, at cosine similarity `threshold` or more and clearly
closer than any post marked relevant, is marked `relevant=False` with the reason: stored and
counted as noise, never alerted.

Nearest neighbours need no training run: the index is rebuilt from the labels in a few
milliseconds whenever they change, so a click in Slack teaches the very next poll. Offline,
numpy-free, and linear in the words of the post.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from classifiers.lexical import BUCKETS, tokens

THRESHOLD = 0.5  # cosine similarity to a not-relevant post that makes a post noise
MARGIN = 0.1  # and by how much it must beat the nearest post marked relevant
_WORD = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class Example:
    """A post a person judged: `relevant` False means noise for `brand`."""

    mention_id: int
    brand: str
    text: str
    relevant: bool


@dataclass(frozen=True, slots=True)
class Noise:
    """Why a post looks like noise: the labelled post it is most like, and how much."""

    brand: str
    like: int  # mention id a person marked not relevant
    similarity: float

    @property
    def reason(self) -> str:
        return (
            f"like mention #{self.like} marked not relevant for {self.brand} "
            f"(similarity {self.similarity:.2f})"
        )


def vector(text: str, stop: Iterable[str] = ()) -> dict[int, float]:
    """Hashed words and word pairs (punctuation and `stop` words left out), unit length."""
    skip = set(re.findall(r"\w+", " ".join(stop).casefold()))
    words = [w for w in tokens(text) if _WORD.search(w) and w not in skip]
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    counts: dict[int, int] = defaultdict(int)
    for gram in grams:
        counts[zlib.crc32(gram.encode("utf-8")) % BUCKETS] += 1
    weights = {k: 1.0 + math.log(c) for k, c in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {k: w / norm for k, w in weights.items()} if norm else {}


class _BrandIndex:
    """An inverted index of one brand's labelled posts: bucket -> [(example, weight)]."""

    def __init__(self, examples: Sequence[Example], stop: Sequence[str]) -> None:
        self.examples = list(examples)
        self.stop = list(stop)
        self.postings: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for i, example in enumerate(self.examples):
            for bucket, weight in vector(example.text, stop).items():
                self.postings[bucket].append((i, weight))

    def nearest(self, text: str) -> tuple[tuple[float, int | None], float]:
        """((similarity, mention id) of the nearest noise post, similarity of the nearest
        relevant one)."""
        scores: dict[int, float] = defaultdict(float)
        for bucket, weight in vector(text, self.stop).items():
            for i, w in self.postings.get(bucket, ()):
                scores[i] += weight * w
        noise: tuple[float, int | None] = (0.0, None)
        relevant = 0.0
        for i, score in scores.items():
            example = self.examples[i]
            if example.relevant:
                relevant = max(relevant, score)
            elif score > noise[0]:
                noise = (score, example.mention_id)
        return noise, relevant


class RelevanceModel:
    """Noise look-alikes per brand, from the team's relevant / not-relevant labels."""

    def __init__(
        self,
        examples: Iterable[Example],
        brand_words: dict[str, Sequence[str]] | None = None,
        threshold: float = THRESHOLD,
        margin: float = MARGIN,
    ) -> None:
        by_brand: dict[str, list[Example]] = defaultdict(list)
        for example in examples:
            by_brand[example.brand].append(example)
        words = brand_words or {}
        # A brand nobody marked anything not relevant for has nothing to compare with.
        self.brands = {
            brand: _BrandIndex(found, [brand, *words.get(brand, ())])
            for brand, found in by_brand.items()
            if any(not e.relevant for e in found)
        }
        self.threshold = threshold
        self.margin = margin

    def __len__(self) -> int:
        return sum(sum(not e.relevant for e in b.examples) for b in self.brands.values())

    def noise(self, brands: Sequence[str], text: str) -> Noise | None:
        """Noise when, for every brand the post was found for, it is much like a post marked
        not relevant and not like one marked relevant; None otherwise."""
        found: list[Noise] = []
        for brand in dict.fromkeys(brands):
            index = self.brands.get(brand)
            if index is None:
                return None  # relevant to a brand that has no noise to compare with
            (similarity, like), relevant = index.nearest(text)
            if like is None or similarity < self.threshold or similarity < relevant + self.margin:
                return None
            found.append(Noise(brand, like, round(similarity, 4)))
        return max(found, key=lambda n: n.similarity) if found else None
