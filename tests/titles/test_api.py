"""Public API contract: types, determinism, batch form, unrelated titles, import hygiene."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from counterfeit_vision.titles import TitleFinding, TitleMatcher


def test_finding_is_frozen_and_typed(matcher):
    finding = matcher.match("N1ke Air Max")[0]
    assert isinstance(finding, TitleFinding)
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.verdict = "mention"  # type: ignore[misc]
    assert isinstance(finding.reasons, tuple) and isinstance(finding.span, tuple)
    assert {f.name for f in dataclasses.fields(TitleFinding)} == {
        "brand_id", "verdict", "reasons", "span", "matched_text", "score", "context", "shared_with"}


def test_mention_has_zero_score_and_no_reasons(matcher):
    (finding,) = matcher.match("Nike Air Max 90")
    assert (finding.verdict, finding.reasons, finding.score, finding.span) == ("mention", (), 0.0, (0, 4))


@pytest.mark.parametrize("title", ["", "   ", "Stainless steel water bottle", "1:1 ratio frame", "!!!"])
def test_unrelated_titles_return_nothing(matcher, title):
    assert matcher.match(title) == []


def test_non_string_returns_nothing(matcher):
    assert matcher.match(None) == []  # type: ignore[arg-type]


def test_deterministic_across_matchers(catalog):
    titles = ["Replica Gucсi bag 1:1", "Nike Adidas Puma shoes", "LV Neverfull", "Guccci belt"]
    a = TitleMatcher.from_catalog(catalog).match_batch(titles)
    b = TitleMatcher.from_catalog(catalog).match_batch(titles)
    assert a == b


def test_batch_matches_single(matcher):
    titles = ["Gucci style belt", "Puma classic", "Case for iPhone"]
    cats = [None, "shoes", None]
    assert matcher.match_batch(titles, categories=cats) == [
        matcher.match(t, category=c) for t, c in zip(titles, cats)]
    with pytest.raises(ValueError):
        matcher.match_batch(titles, categories=[None])


def test_findings_ordered_by_position(matcher):
    found = matcher.match("Gucci Prada Chanel bag")
    assert [f.brand_id for f in found] == ["gucci", "prada", "chanel"]


def test_long_ocr_text_is_bounded(matcher):
    text = "word " * 10000 + "N1ke"
    assert matcher.match(text) == []  # cut at MAX_TITLE_CHARS, and no crash


def test_import_is_light():
    code = ("import sys, counterfeit_vision.titles; "
            "bad = [m for m in ('torch', 'wordfreq', 'numpy') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compatible_accessory_mention_carries_context(matcher):
    """'case for iPhone' names the brand as what the product fits: fusion must not compare its price."""
    (finding,) = [f for f in matcher.match("Silicone case for iPhone 15") if f.verdict == "mention"]
    assert finding.context == ("compatible_accessory",)
    (plain,) = matcher.match("Nike Air Max 90")
    assert plain.context == ()


@pytest.mark.parametrize("unit", ["Velora", "VeloraX", "VeloraBag", "V3l0ra", "velora"])
def test_glued_repeats_cost_linear_time(unit):
    """2,000 characters of a brand name glued to itself (OCR text can reach the cap) took 19-26 s
    when every deletion of the whole token was enumerated; best of five under 50 ms now."""
    import time
    from pathlib import Path

    from counterfeit_vision.catalog import load_catalog

    matcher = TitleMatcher.from_catalog(load_catalog(Path(__file__).resolve().parents[2] / "brand_catalog"))
    matcher.match("warm up")
    best = float("inf")
    for k in range(5):
        title = f"{(unit * 400)[:1996]} {k}"  # a new string each time: no cache answers it
        t0 = time.perf_counter()
        matcher.match(title)
        best = min(best, time.perf_counter() - t0)
    assert best < 0.05, f"{best:.3f} s for {unit!r} glued to 2,000 characters"
