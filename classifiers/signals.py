"""Word rules for what makes a mention urgent, written so a person can read and argue with them.

Each rule is a regular expression over the lower-cased text with word boundaries, so "charger"
is not a billing word and "downtown" is not an outage. A rule that fires reports the words that
matched, which is what the alert shows as the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    label: str  # how the reason reads: "<label>: 'down'"
    severe: bool  # severe: harm to many people or the brand is at stake, not one order
    pattern: re.Pattern[str]  # matched against the lower-cased text
    exact: re.Pattern[str] | None = None  # case matters: "sued" is legal, "Sue" is a name


def word_pattern(*alternatives: str) -> re.Pattern[str]:
    """Any of the alternatives as whole words ("charger" is not "charge").

    Matched against lower-cased text: a case-insensitive pattern is several times slower.
    """
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alternatives)})(?![\w-])")


def _rule(
    category: str, label: str, severe: bool, *alternatives: str, exact: tuple[str, ...] = ()
) -> Rule:
    exact_pattern = word_pattern(*exact) if exact else None
    return Rule(category, label, severe, word_pattern(*alternatives), exact_pattern)


RULES: tuple[Rule, ...] = (
    _rule(
        "outage", "outage words", True,
        r"outages?", r"(?:is|are|was|were|went|been|still|site|app|servers?|service|website|"
        r"system|everything) down", r"down (?:again|right now|since)",
        r"down(?= *[?!])", r"down for (?:everyone|anyone|me)",
        r"not working", r"(?:does|do|did|is|are|was)(?:n'?t| not) (?:work|working|load|loading)",
        r"stopped working", r"won'?t (?:load|work|open|connect)", r"can'?t (?:log ?in|connect)",
        r"(?:error|http) ?50[0234]", r"50[0234] error", r"internal server error",
        r"service unavailable", r"crash(?:ed|es|ing)?", r"offline",
        r"won'?t (?:start|sync|play|update|let me (?:log ?in|sign ?in|pay|check ?out))",
        r"(?:keeps|kept) (?:crashing|logging me out|freezing|failing|buffering|disconnecting|"
        r"dropping)", r"(?:spinning|loading|buffering) forever", r"stuck (?:on|at) (?:the )?"
        r"(?:loading|login|splash|spinning)", r"blank (?:screen|page)", r"black screen",
        r"(?:can'?t|cannot|unable to) (?:sign ?in|access|load|pay|check ?out|stream|connect)",
        r"(?:no|lost) (?:signal|service|internet|connection|wi-?fi|power|network)",
        r"timed? ?out", r"(?:app|site|server|servers|service|website|api|payments?) (?:is |are )?"
        r"(?:failing|dead)", r"no funciona", r"ca[íi]d[oa]", r"(?:throwing|showing) "
        r"(?:an? )?(?:'?[\w ]{0,20}'? )?errors?", r"errors? (?:code )?\w*\d+\w*",
        r"(?:40[34]|50[0234])s", r"drops? (?:every|out|constantly)", r"froz(?:e|en)",
        r"won'?t (?:save|send|accept)", r"trouble (?:playing|loading|connecting)",
        r"kick(?:ing|s|ed)? me (?:out|back)", r"reboots? (?:itself|randomly)",
        r"temporarily unavailable", r"sin (?:servicio|datos|conexi[óo]n|internet|se[ñn]al)",
        r"plante", r"payments? (?:failing|failed|declined)", r"declined",
        r"ne (?:marche|fonctionne) (?:pas|plus)", r"en panne", r"funktioniert nicht",
        r"st[öo]rung", r"n[ãa]o funciona", r"fora do ar",
    ),
    _rule(
        "security", "security words", True,
        r"(?:data )?breach(?:ed|es)?", r"hack(?:ed|er|ers)?", r"phish(?:ing)?",
        r"(?:data|passwords?|credentials|keys?|emails?|details|info) (?:leak|leaks|leaked)",
        r"leak(?:ed|s|ing)? (?:my|our|your|user|customer|personal|private)\w*",
        r"compromised", r"ransomware", r"malware", r"vulnerabilit(?:y|ies)",
        r"stolen (?:data|passwords?|accounts?|cards?|identity)", r"account takeover",
        r"unauthori[sz]ed (?:access|login)",
    ),
    _rule(
        "legal", "legal words", True,
        r"lawsuits?", r"suing", r"lawyers?", r"attorneys?", r"class action",
        r"legal action", r"litigation", r"(?:see you|take (?:you|them|it)) (?:to|in) court",
        exact=(r"sue[ds]?",),
    ),
    _rule(
        "safety", "safety words", True,
        r"fire", r"caught fire", r"on fire", r"flames", r"injur(?:y|ies|ed)",
        r"(?:product|safety|voluntary|mass|massive) recalls?", r"recall notice",
        r"(?:is|are|was|were|been|being) recalled",
        r"explod(?:e|ed|es|ing)", r"explosion", r"burned (?:me|my)", r"burnt", r"food poisoning",
        r"poison(?:ed|ing)?", r"choking", r"electric shock", r"unsafe", r"hazard(?:ous)?",
        r"(?:sent|went|ended up) (?:me |us )?(?:to|in) (?:the )?hospital",
    ),
    _rule(
        "billing", "billing words", False,
        r"refunds?", r"refunded", r"overcharg(?:e|ed|ing)", r"double[- ]charged",
        r"charged (?:me|my|us|twice|again|for)", r"charged(?= [$£€\d])",
        r"(?:was|been|got|get) charged",
        r"(?:extra|hidden|unauthori[sz]ed|double|surprise) (?:charges?|fees?)",
        r"charge (?:me|my card|us)", r"billing", r"billed", r"invoice",
        r"chargeback", r"money back",
        exact=(r"bill",),
    ),
    _rule(
        "cancellation", "cancellation words", False,
        r"cancel(?:s|led|ed|ling|ing|lation)?", r"unsubscrib(?:e|ed|ing)",
        r"switch(?:ing|ed)? to", r"clos(?:e|ing) my account", r"delet(?:e|ing) my account",
    ),
)

SECOND_PERSON = re.compile(r"(?<![\w'])(?:you|your|yours|you'?re|u|ur|y'?all)(?![\w'])", re.I)


@dataclass(frozen=True, slots=True)
class Signal:
    category: str
    reason: str
    severe: bool


def _quote(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)


def word_signals(text: str) -> list[Signal]:
    """One signal per rule that fired, naming up to three distinct matched words."""
    signals: list[Signal] = []
    lowered = text.lower()
    for rule in RULES:
        found: list[str] = []
        matches = list(rule.pattern.finditer(lowered))
        if rule.exact is not None:
            matches += rule.exact.finditer(text)
        for match in matches:
            word = " ".join(match.group(0).lower().split())
            if word not in found:
                found.append(word)
        if found:
            signals.append(Signal(rule.category, f"{rule.label}: {_quote(found[:3])}", rule.severe))
    return signals


def brand_question(text: str, brand_terms: tuple[str, ...]) -> Signal | None:
    """A question that names the brand or says "you": someone is waiting for an answer."""
    if "?" not in text:
        return None
    lowered = text.lower()
    for term in sorted(brand_terms, key=len, reverse=True):  # "@acme" names more than "acme"
        t = term.strip().lower()
        if t and re.search(rf"(?<![\w]){re.escape(t)}(?![\w])", lowered):
            return Signal("question", f"question to the brand: '{t}'", False)
    if match := SECOND_PERSON.search(text):
        return Signal("question", f"question to the brand: '{match.group(0).lower()}'", False)
    return None
