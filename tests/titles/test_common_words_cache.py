"""The common-word sets are read from wordfreq once, then from a verified cache file."""

from __future__ import annotations

from counterfeit_vision.titles import lexicon


def test_cache_round_trip_and_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("CV_CACHE_DIR", str(tmp_path))
    lexicon.load_common_words.cache_clear()
    try:
        words, very = lexicon.load_common_words()
        (cache,) = tmp_path.glob("common-words-*.txt")
        assert "shoes" in words and "the" in very and very <= words | very
        lexicon.load_common_words.cache_clear()
        assert lexicon.load_common_words() == (words, very)  # read back from the file, the same sets
        data = cache.read_bytes()
        cache.write_bytes(data[:-40] + b"tampered" + data[-32:])
        lexicon.load_common_words.cache_clear()
        assert lexicon.load_common_words() == (words, very)  # digest mismatch: rebuilt from wordfreq
        assert cache.read_bytes() == data                    # and rewritten whole
    finally:
        lexicon.load_common_words.cache_clear()
