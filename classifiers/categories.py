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

from classifiers.signals import Signal, word_pattern


@dataclass(frozen=True, slots=True)
class Hit:
    category: str
    reason: str  # "job post words: 'we're hiring'"


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
        "complaint", "complaint words", word_pattern(
            r"worst", r"terrible", r"awful", r"horrible", r"unacceptable", r"ridiculous",
            r"disappoint(?:ed|ing|ment)", r"frustrat(?:ed|ing)", r"fed up", r"useless",
            r"still waiting", r"no (?:one|response|reply|answer)", r"never again", r"rip-?off",
            r"scam(?:med|my)?", r"waste of (?:money|time)", r"poor (?:service|quality|support)",
            r"complain(?:t|ts|ing|ed)?", r"not happy", r"(?:so|very|really) (?:annoyed|angry)",
            r"sucks?", r"pathetic", r"garbage", r"trash", r"disgrace(?:ful)?", r"shameful",
            r"furious", r"livid", r"unreliable", r"wtf", r"on hold", r"do better",
            r"nobody (?:answers|replies|responds|cares|helps)", r"what a (?:joke|mess)",
            r"(?:hours|days|weeks) (?:later|waiting|and still)", r"(?:fix|sort) (?:this|it|your)",
            r"(?:i'?m|i am) (?:done|leaving)", r"(?:again|seriously)[?!]+",
        ),
    ),
    (
        "question", "question words", word_pattern(
            r"how (?:do|can|does|to|long|much|come) ?(?:i|we|you|one|it)?",
            r"(?:does|do) (?:anyone|anybody)", r"(?:anyone|anybody) (?:know|else|tried|using)",
            r"is there (?:a|any) way", r"can (?:someone|anyone|somebody)", r"should i",
            r"any (?:idea|ideas|tips|advice|update|updates|news|eta)",
            r"what(?:'s| is) the (?:best|difference)", r"wondering (?:if|whether|why|how|when)",
            r"(?:can|could) (?:you|someone|anyone) (?:help|tell|explain|check|confirm)",
            r"is it (?:possible|normal|just me)", r"need help", r"help me",
        ),
    ),
    (
        "outage", "bug words", word_pattern(
            r"bugs?", r"buggy", r"glitch(?:es|y)?", r"broken", r"error messages?",
            r"freez(?:es|ing)",
        ),
    ),
    (
        "security", "privacy words", word_pattern(
            r"privacy", r"gdpr", r"personal data", r"data (?:leak|breach|exposed|exposure)",
            r"suspicious (?:login|activity|email|text|link)s?", r"2fa", r"two[- ]factor",
            r"scam(?:mers?)? (?:email|text|call|site|link|page|account)s?", r"phishing",
            r"(?:logged|signed|got|broke) in(?:to)? my account", r"someone (?:logged|got) in",
            r"(?:codes?|reset|emails?|login) (?:i|that i) (?:didn'?t|never|did not)",
            r"didn'?t (?:request|ask for)", r"pretend(?:ing|s)? to be", r"impersonat\w*",
            r"fake (?:e-?mails?|texts?|sms|sites?|websites?|accounts?|pages?|stores?|shops?|apps?|"
            r"support|giveaways?)", r"(?:sold|selling|sells|shar(?:ed|ing|es)) (?:my|our|user|"
            r"customer|customers'?) (?:data|info|information)", r"tracking (?:me|us|users)",
            r"security (?:hole|flaw|bug|issue|breach|incident|team)", r"cve-\d+", r"idor",
            r"sim swap", r"identity theft", r"exposed", r"fraud(?:sters?|ulent)?",
            r"new (?:login|sign-?in|device) from", r"(?:did ?n[o']t|never) (?:authori[sz]e|"
            r"request(?:ed)?|approve)", r"password resets?", r"verify (?:your|my) (?:identity|"
            r"account|details)", r"(?:account|konto|cuenta|conta) (?:has been |was |wurde |"
            r"foi )?(?:limited|suspended|locked|gesperrt|suspendida|bloqueada)",
            r"(?:seed|wallet|recovery) phrases?", r"(?:card|bank|login) details",
            r"someone else'?s (?:\w+ ){0,2}(?:orders?|data|details|address|booking|account|"
            r"prescriptions?|information|info)", r"(?:phishing|scam|spoofed?) (?:emails?|texts?|"
            r"sms|sites?|links?|calls?)", r"rootkit", r"api keys?", r"leaked (?:keys?|"
            r"credentials|passwords?|data|emails?|database|details)", r"(?:contacts|location|"
            r"microphone|camera) (?:access|permission)s?", r"access to my (?:contacts|location|"
            r"camera|microphone|photos)", r"golpe", r"estafa", r"arnaque", r"betrug",
            r"(?:alguien|someone|somebody) (?:entr[óo]|logged|got) (?:en|in(?:to)?) (?:mi|my)",
        ),
    ),
    (
        "billing", "pricing words", word_pattern(
            r"pric(?:e|es|ing|ed)", r"(?:too )?expensive", r"overpriced",
            r"payments? (?:failed|declined|issue|problem)", r"subscriptions?", r"fees?",
            r"auto-?renew(?:al|ed)?", r"paid", r"paying", r"[$£€] ?\d+(?:[.,]\d+)?",
            r"\d+(?:[.,]\d+)? ?(?:€|eur|euros?|usd|gbp|dollars|bucks|quid)",
            r"(?:monthly|annual|yearly) (?:plan|fee|price|bill)", r"costs? (?:me|us)",
            r"took (?:money|\S+) (?:from|out of) my", r"debited", r"receipts?",
        ),
    ),
    (
        "availability", "availability words", word_pattern(
            r"out of stock", r"sold ?out", r"(?:back )?in stock", r"restock(?:ed|ing|s)?",
            r"(?:no|any|low) stock", r"(?:not|isn'?t|aren'?t|never) (?:available|offered|sold)",
            r"unavailable in", r"available (?:in|on|for|again)", r"(?:ship|ships|shipping|"
            r"deliver|delivers) to", r"pre-?orders?", r"wait ?list", r"back-?order(?:ed|s)?",
            r"(?:delivery|pickup|collection) slots?", r"no slots?",
            r"when (?:will|is) (?:it|this|the \w+) (?:be )?(?:available|released|launch)",
            r"(?:launch|launches|launching|coming|come) (?:to|in) (?!the\b)[a-z]+",
            r"region[- ]locked", r"(?:linux|mac|android|ios|windows) (?:app|version|client)",
            r"(?:uk|us|eu) only", r"lieferbar", r"agotado", r"esgotado", r"[ée]puis[ée]",
            r"(?:through|via) importers?", r"(?:drop|release) day",
        ),
    ),
    (
        "purchase_intent", "purchase intent words", word_pattern(
            r"(?:want|wanna|going|gonna|looking|planning|ready|about) to (?:buy|purchase|order|"
            r"upgrade|subscribe|get|sign up|switch)",
            r"(?:thinking|considering) (?:of |about )?(?:buying|getting|switching|upgrading|"
            r"ordering|subscribing|signing up)", r"pull(?:ing)? the trigger",
            r"should i (?:buy|get|upgrade|go for|switch)", r"where (?:can|do|should) (?:i|we) "
            r"(?:buy|get|order|find)", r"take my money", r"(?:need|want) (?:a|one|to get one)",
            r"free trial", r"(?:quote|pricing) for", r"worth (?:buying|it|the money|upgrading|"
            r"getting)", r"in the market for", r"(?:which|what) (?:plan|model|size|tier|version) "
            r"(?:should|to|is best)", r"(?:book|request|get) a demo", r"test drive",
            r"(?:considering|evaluating|comparing|tempted by|leaning towards?) \w+",
            r"(?:switch|switching|move|moving|migrat\w*) (?:\w+ ){0,3}to", r"upgrade to",
            r"(?:i|we)(?:'ll| will) buy", r"(?:gonna|going to|about to) (?:cop|grab|order|buy)",
            r"ordering (?:the|a|one)", r"(?:can|how do) i (?:buy|order|get)", r"\w+ vs\.? \w+",
            r"student discount", r"quero", r"pensando em", r"estoy pensando en", r"je compte",
            r"ich überlege", r"comprar", r"acheter", r"kaufen",
        ),
    ),
    (
        "job_post", "job post words", word_pattern(
            r"we'?re hiring", r"(?:now|is|are) hiring", r"#hiring", r"#jobs?", r"#nowhiring",
            r"job (?:opening|offer|alert|posting)s?", r"apply (?:now|here|today|at|via|by)",
            r"join our (?:team|crew)", r"open (?:role|position)s?", r"(?:remote|full-time|"
            r"part-time|hybrid) (?:job|role|position|opportunity)", r"careers? page",
            r"job description", r"vacanc(?:y|ies)", r"internships?", r"recruiting",
            r"(?:looking for|seeking) (?:a|an) (?:\w+ ){0,2}(?:engineer|developer|designer|"
            r"manager|analyst|intern|lead|specialist|agent|representative)s?", r"salary",
            r"hiring(?! freeze)", r"recruit(?:er|ers|s|e)", r"graduate (?:scheme|programme|"
            r"program)", r"(?:seasonal|new) staff", r"open for applications", r"vaga",
            r"oferta de empleo", r"stellenangebot", r"postulez", r"cdi", r"\(m/w/d\)",
            r"[$£€]\d+(?:k|/hr|/h| an hour| per hour)", r"looking for (?:a |an )?(?:freelance|"
            r"community|part-time|full-time|remote)",
        ),
    ),
    (
        "spam", "promo words", word_pattern(
            r"promo code", r"use (?:my )?code", r"discount code", r"coupon", r"\d{1,2} ?% off",
            r"giveaway", r"click (?:the |this )?link", r"link in (?:my )?bio",
            r"dm (?:me|us) (?:for|to)", r"follow (?:me|back|for follow)", r"free followers",
            r"airdrop", r"earn \$?\d+", r"make money (?:online|fast)", r"limited time offer",
            r"check out my", r"buy now", r"onlyfans", r"passive income", r"#crypto",
            r"(?:claim|grab) (?:yours|your \w+|it) (?:now|today|here)", r"bit\.ly",
            r"win (?:a|an|free) ", r"#ad", r"#giveaway", r"free (?:iphone|gift card|money)",
            r"guaranteed (?:returns|profit|followers)", r"investment opportunity",
            r"(?:dm|message|whatsapp|telegram) (?:me|us)", r"100% (?:legit|guaranteed)",
            r"no (?:survey|human verification|experience needed)",
            r"undetectable", r"backlinks?", r"seo (?:packages?|services?)", r"generator",
            r"replica", r"(?:gift card|free) codes?", r"sorteo", r"gagnez", r"ganhe", r"ganá",
            r"gewinnspiel", r"verdienen sie", r"check (?:my|our) (?:profile|page)", r"collab",
            r"ambassador program", r"(?:buy|cheap) (?:\w+ )?(?:reviews|followers|likes|coins)",
            r"\d+x (?:guaranteed|returns?|gains?)", r"presale", r"flash sale",
            r"congratulations", r"you'?ve been (?:selected|chosen)", r"claim (?:here|now|yours)",
            r"[a-z0-9]+-[a-z0-9-]+\.(?:shop|top|win|xyz|online|click|site|club|gg|buzz|live)",
            r"(?:rt|retweet) to win", r"must follow", r"work from home",
        ),
    ),
    (
        "praise", "praise words", word_pattern(
            r"love (?:it|this|that|the|how|my|you|your)", r"amazing", r"awesome",
            r"great (?:job|work|service|support|product|app|experience)", r"thank(?:s| you)",
            r"kudos", r"shout ?out", r"impressed", r"well done", r"game ?changer",
            r"highly recommend(?:ed)?", r"works (?:great|perfectly|flawlessly)", r"5 stars",
            r"best \w+ ever", r"10/10", r"chef'?s kiss", r"saved my (?:day|life|trip|weekend)",
            r"props to", r"hats off", r"nailed it", r"killing it", r"lifesaver", r"flawless(?:ly)?",
            r"superb", r"outstanding", r"excellent", r"fantastic", r"brilliant", r"legends?",
            r"respect", r"grateful", r"big ups", r"slaps", r"(?:is|so) (?:sick|clean|unreal)",
            r"just works", r"(?:is|was) the best", r"the best \w+", r"stunning", r"fire",
            r"clapping hands", r"nota 10", r"de diez", r"au top", r"der hammer", r"top notch",
            r"changed my life", r"sorted (?:in|within)", r"never had (?:a|an|one) (?:single )?"
            r"(?:issue|problem)",
        ),
    ),
)

# A sentence of three words or more that ends in a question mark ("seriously??" is not asked).
_SENTENCE_END = re.compile(r"(?<=[.!?])")
_WORD = re.compile(r"\w+")


def asks_a_question(text: str) -> bool:
    if "?" not in text:
        return False
    return any(
        part.rstrip().endswith("?") and len(_WORD.findall(part)) >= 3
        for part in _SENTENCE_END.split(text)
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
    if not any(h.category == "question" for h in hits) and asks_a_question(text):
        hits.append(Hit("question", "asks a question: '?'"))
    return hits
