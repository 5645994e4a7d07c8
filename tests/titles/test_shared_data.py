"""Checks on the real shared data; skipped when ../shared/data is absent."""

from __future__ import annotations

import csv
import sys

import pytest

from counterfeit_vision.titles import TitleMatcher

from .conftest import REPO, shared_data

DATA = shared_data()
pytestmark = pytest.mark.skipif(not (DATA / "titles" / "genuine_titles.csv").exists()
                                or not (DATA / "simple_icons" / "simple-icons.json").exists(),
                                reason="shared data not available")


@pytest.fixture(scope="module")
def big_matcher() -> TitleMatcher:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_titles import build_lexicon_catalog

    return TitleMatcher.from_catalog(build_lexicon_catalog(DATA))


def test_genuine_titles_misuse_rate_is_low(big_matcher):
    with open(DATA / "titles" / "genuine_titles.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    flagged = sum(any(f.verdict == "misuse" for f in big_matcher.match(r["title"])) for r in rows)
    assert flagged / len(rows) <= 0.005


def test_big_lexicon_still_finds_evasions(big_matcher):
    found = {f.brand_id: f.verdict for f in big_matcher.match("Replica Gucсi bag 1:1")}
    assert found.get("gucci") == "misuse"
