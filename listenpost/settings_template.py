"""The settings.toml that `listenpost init` writes: the answers, with a comment on every key
saying what it does and what else the section can take, so the file teaches its own edits."""

from __future__ import annotations

import json
from collections.abc import Sequence

from listeners import registry

# Where each network's credentials come from (README, Networks). Required ones say so.
CREDENTIALS = {
    "reddit": "optional: REDDIT_CLIENT_ID + REDDIT_CLIENT_SECRET (OAuth, a higher rate limit)",
    "x": "required: X_BEARER_TOKEN (developer.x.com, a plan with search access)",
    "mastodon": "optional: MASTODON_ACCESS_TOKEN (read:search) for status search",
    "bluesky": "required: BLUESKY_HANDLE + BLUESKY_APP_PASSWORD (Settings > App passwords)",
    "stackexchange": "optional: STACKEXCHANGE_KEY (daily quota 300 -> 10,000)",
    "youtube": "required: YOUTUBE_API_KEY (YouTube Data API v3)",
}
DEFAULT_NETWORKS = ("hackernews", "reddit", "rss")


def needs_more(network: str) -> list[str]:
    """Keys a network's table cannot do without (a Page id, the sites to crawl): `init` cannot
    guess them, so such a network is added by hand."""
    fields = registry.load(network).Settings.model_fields
    return [name for name, field in fields.items() if field.is_required()]


def toml_string(text: str) -> str:
    """A literal string when it can be one ('no "escapes" needed'), else a basic string."""
    if "'" not in text and text.isprintable():
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


def render(brand: str, query: str, networks: Sequence[str], channel: str) -> str:
    lines = [
        "# listenpost settings, written by `listenpost init`. Edit freely: `listenpost doctor`",
        "# checks every key, and a mistake stops listenpost with the key and its fix.",
        "# Secrets (tokens, passwords) never go here: they come from the environment.",
        "",
        "[storage]",
        "# SQLite by default; PostgreSQL: postgresql+psycopg://user@host/listenpost",
        'url = "sqlite:///listenpost.db"',
        "",
        "[[brands]]",
        f"name = {toml_string(brand)}",
        "# Words (all must appear), \"phrases\", OR, (parentheses), #hashtags, @handles,",
        "# -exclusions or NOT, lang:xx. Re-checked locally on every post, exactly.",
        f"query = {toml_string(query)}",
        "# competitors = [\"Other\"]      # other [[brands]] entries, for share of voice",
        "# topics = { billing = \"invoice OR refund\" }",
        "",
        "# One table per network to listen on; `every` is how often it is polled.",
    ]
    for network in networks:
        lines.append(f"[sources.{network}]")
        lines.append('every = "5m"' if network != "rss" else 'every = "15m"')
        if network == "rss":
            lines.append("google_news = true   # a Google News search built from the query")
            lines.append('# feeds = ["https://example.com/blog/feed.xml"]')
        if network in CREDENTIALS:
            lines.append(f"# credentials, {CREDENTIALS[network]}")
        lines.append("")
    lines += [
        "[alerts]",
        '# Older posts are stored and triaged but alert nobody (first polls, backfills).',
        'max_age = "24h"',
        "",
        "[alerts.slack]",
        "# Needs SLACK_BOT_TOKEN in the environment; without it alerts print to the console.",
        f"channel = {toml_string(channel)}",
        "",
        "# Negative or high-urgency mentions go to the channel above. Routes send others",
        "# elsewhere, for example:",
        "# [[alerts.routes]]",
        '# name = "crisis"',
        '# channel = "#brand-crisis"',
        "# sentiments = []",
        '# min_urgency = "critical"',
        "",
    ]
    return "\n".join(lines)
