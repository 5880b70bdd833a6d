"""What a mention is about, from word rules a person can read: the half of the category call that
needs no model, and the half that explains itself in an alert.

The urgency signals (classifiers/signals.py) already find outages, security, billing and
questions to the brand; this module adds the topics that matter for routing rather than urgency
(a job post, a promo, a purchase intent) and maps the urgency topics onto the shared CATEGORIES.
Like the signals, every pattern is anchored on word boundaries and reports the words it matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifiers.signals import Signal


@dataclass(frozen=True, slots=True)
class Hit:
    category: str
    reason: str  # "job post words: 'we're hiring'"


def _words(*alternatives: str) -> re.Pattern[str]:
    # Matched against lower-cased text: case-insensitive regexes are several times slower.
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alternatives)})(?![\w-])")


# Urgency topics that are not categories of their own: a lawsuit, a fire or a cancellation is a
# complaint about the brand.
SIGNAL_CATEGORY = {
    "outage": "outage",
    "security": "security",
    "billing": "billing",
    "question": "question",
    "legal": "complaint",
    "safety": "complaint",
    "cancellation": "complaint",
}

RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "complaint", "complaint words", _words(
            r"worst", r"terrible", r"awful", r"horrible", r"unacceptable", r"ridiculous",
            r"disappoint(?:ed|ing|ment)", r"frustrat(?:ed|ing)", r"fed up", r"useless",
            r"still waiting", r"no (?:one|response|reply|answer)", r"never again", r"rip-?off",
            r"scam(?:med|my)?", r"waste of (?:money|time)", r"poor (?:service|quality|support)",
            r"complain(?:t|ts|ing|ed)?", r"not happy", r"(?:so|very|really) (?:annoyed|angry)",
        ),
    ),
    (
        "question", "question words", _words(
            r"how (?:do|can|does|to) (?:i|we|you|one)", r"(?:does|do) (?:anyone|anybody)",
            r"(?:anyone|anybody) (?:know|else|tried|using)", r"is there (?:a|any) way",
            r"can (?:someone|anyone|somebody)", r"any (?:idea|ideas|tips|advice)",
            r"what(?:'s| is) the (?:best|difference)", r"should i",
        ),
    ),
    (
        "outage", "bug words", _words(
            r"bugs?", r"buggy", r"glitch(?:es|y)?", r"broken", r"error messages?",
            r"freez(?:es|ing)",
        ),
    ),
    (
        "security", "privacy words", _words(
            r"privacy", r"gdpr", r"personal data", r"data (?:leak|breach)", r"suspicious login",
            r"2fa", r"two[- ]factor", r"scam (?:email|text|call)s?",
        ),
    ),
    (
        "billing", "pricing words", _words(
            r"pric(?:e|es|ing) (?:increase|hike|change)s?", r"pricing", r"too expensive",
            r"payment (?:failed|declined|issue)", r"subscription (?:fee|price|cost)",
            r"auto-?renew(?:al|ed)?",
        ),
    ),
    (
        "availability", "availability words", _words(
            r"out of stock", r"sold out", r"(?:back )?in stock", r"restock(?:ed|ing)?",
            r"(?:not|isn'?t|never) available (?:in|on|for)", r"unavailable in",
            r"(?:ship|shipping|deliver) to", r"pre-?orders?", r"wait ?list",
            r"when (?:will|is) (?:it|this|the \w+) (?:be )?(?:available|released|launch)",
        ),
    ),
    (
        "purchase_intent", "purchase intent words", _words(
            r"(?:want|going|looking|planning|ready) to (?:buy|purchase|order|upgrade|subscribe)",
            r"thinking (?:of|about) (?:buying|getting|switching|upgrading)",
            r"should i (?:buy|get|upgrade)", r"where (?:can|do) i (?:buy|get|order)",
            r"take my money", r"(?:need|want) (?:a|one|to get one)", r"free trial",
            r"(?:quote|pricing) for", r"worth (?:buying|it|the money)",
        ),
    ),
    (
        "job_post", "job post words", _words(
            r"we'?re hiring", r"(?:now|is|are) hiring", r"#hiring", r"#jobs?",
            r"job (?:opening|offer|alert|posting)s?", r"apply (?:now|here|today|at)",
            r"join our team", r"open (?:role|position)s?", r"(?:remote|full-time|part-time) "
            r"(?:job|role|position)", r"careers? page", r"job description",
        ),
    ),
    (
        "spam", "promo words", _words(
            r"promo code", r"use (?:my )?code", r"discount code", r"coupon", r"\d{1,2} ?% off",
            r"giveaway", r"click (?:the |this )?link", r"link in (?:my )?bio",
            r"dm (?:me|us) (?:for|to)", r"follow (?:me|back|for follow)", r"free followers",
            r"airdrop", r"earn \$?\d+", r"make money (?:online|fast)", r"limited time offer",
            r"check out my", r"buy now", r"onlyfans",
        ),
    ),
    (
        "praise", "praise words", _words(
            r"love (?:it|this|that|the|how|my|you|your)", r"amazing", r"awesome",
            r"great (?:job|work|service|support|product|app|experience)", r"thank(?:s| you)",
            r"kudos", r"shout ?out", r"impressed", r"well done", r"game ?changer",
            r"highly recommend(?:ed)?", r"works (?:great|perfectly|flawlessly)", r"5 stars",
            r"best \w+ ever",
        ),
    ),
)

def rule_hits(text: str, signals: list[Signal]) -> list[Hit]:
    """Every category a rule puts the text in, with the words that put it there."""
    hits = [
        Hit(SIGNAL_CATEGORY[s.category], s.reason) for s in signals if s.category in SIGNAL_CATEGORY
    ]
    lowered = text.lower()
    for category, label, pattern in RULES:
        found: list[str] = []
        for match in pattern.finditer(lowered):
            word = " ".join(match.group(0).lower().split())
            if word not in found:
                found.append(word)
        if found:
            quoted = ", ".join(f"'{w}'" for w in found[:3])
            hits.append(Hit(category, f"{label}: {quoted}"))
    return hits
