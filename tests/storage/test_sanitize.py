"""Posts as users typed them must be storable: one odd character must never stall a source."""

from __future__ import annotations

from storage import Store
from tests.storage.factories import mention


def test_lone_surrogates_nul_and_long_keys_are_stored(store: Store) -> None:
    odd = mention(1, text="Acme \ud83d outage\x00 now")
    long_id = mention(2, text="Acme second post")
    object.__setattr__(long_id, "native_id", "g" * 400)
    object.__setattr__(long_id, "author", "a" * 300)
    assert len(store.save_page("Acme", "rss", [odd, long_id], "c1")) == 2
    texts = sorted(m.text for m in store.mentions())
    assert texts[0] == "Acme second post"
    assert texts[1] == "Acme \ufffd outage now"
    assert store.get_cursor("Acme", "rss") == "c1"
    # The same over-long id maps to the same stored key: saving again adds nothing.
    assert store.save_page("Acme", "rss", [long_id], None) == []
