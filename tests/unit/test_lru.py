"""The bounded mapping that keeps what a process remembers between requests."""

from umic.core.lru import LRU


def test_the_least_recently_used_entry_goes_first():
    kept: LRU[str] = LRU(2)
    kept.put("a", "1")
    kept.put("b", "2")
    assert kept.get("a") == "1"  # now "b" is the least recently used
    kept.put("c", "3")
    assert kept.get("b") is None
    assert (kept.get("a"), kept.get("c"), len(kept)) == ("1", "3", 2)


def test_putting_again_refreshes_and_clear_empties():
    kept: LRU[int] = LRU(2)
    kept.put("a", 1)
    kept.put("b", 2)
    kept.put("a", 10)
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b")) == (10, None)
    kept.clear()
    assert len(kept) == 0 and kept.get("a") is None
