"""OCR noise is not evasion: a near-miss of a brand name read in a photo is a sighting of the brand
(with the read's confidence), not misuse; misuse in photo text needs an indicator, a look-alike phrase
or a substitution OCR does not make (digits or symbols inside the letters)."""

from __future__ import annotations

import pytest
from PIL import Image

from counterfeit_vision.catalog import load_catalog
from counterfeit_vision.fusion.evidence import ListingInputs, build_cues, build_evidence
from counterfeit_vision.image.photo_brands import PhotoBrands, brands_in_photo
from counterfeit_vision.listing import Listing
from counterfeit_vision.ocr.base import TextBox
from counterfeit_vision.titles.matcher import TitleMatcher


@pytest.fixture(scope="module")
def catalog(sample_catalog_dir):
    return load_catalog(sample_catalog_dir)


@pytest.fixture(scope="module")
def matcher(catalog):
    return TitleMatcher.from_catalog(catalog)


@pytest.mark.parametrize("read, brand", [
    ("Velcra", "velora"), ("VELCRA", "velora"), ("KORVEK", "korvex"), ("Korvcx", "korvex"),
    ("Haidane", "haldane"), ("Nimbiy", "nimbly"), ("K O R V E X", "korvex"),
])
def test_a_misread_name_is_a_sighting_not_misuse(matcher, read, brand):
    (title_view,) = matcher.match(read)
    assert title_view.verdict == "misuse"              # in a title, the same spelling is an evasion
    (f,) = matcher.match_photo_text(read)
    assert (f.brand_id, f.verdict, f.reasons, f.score) == (brand, "mention", (), 0.0)
    assert "ocr_misread" in f.context


@pytest.mark.parametrize("read, reason", [
    ("V3L0RA", "leetspeak"), ("K0rvex", "leetspeak"), ("VELORA REPLICA", "indicator"),
    ("INSPIRED BY KORVEX", "lookalike_phrase"), ("Velcra replica", "indicator"),
])
def test_deliberate_misuse_in_photo_text_stays_misuse(matcher, read, reason):
    (f,) = matcher.match_photo_text(read)
    assert f.verdict == "misuse" and f.reasons == (reason,) and f.score >= 0.85
    assert "misspelling" not in f.reasons


def test_clean_reads_are_unchanged(matcher):
    assert matcher.match_photo_text("VELORA") == matcher.match("VELORA")
    assert matcher.match_photo_text("") == []


def _inputs(matcher, reads: list[tuple[str, float]]) -> ListingInputs:
    boxes = [(TextBox(text, conf, (10, 10 + 30 * k, 200, 36 + 30 * k)), matcher.match_photo_text(text))
             for k, (text, conf) in enumerate(reads)]
    seen = PhotoBrands(sightings=brands_in_photo([], boxes), reads=boxes)
    listing = Listing("l1", "Running sneakers men black", ("p.jpg",), 29.0, "USD", "s1")
    return ListingInputs(listing, photos=[("p.jpg", Image.new("RGB", (400, 300)))], seen=[seen])


def test_cues_and_evidence_of_a_misread(matcher, catalog):
    inp = _inputs(matcher, [("KORVEK", 0.71)])
    (cues,) = build_cues(inp, catalog)
    assert cues.brand_id == "korvex" and cues.ocr_misuse == 0.0
    assert cues.ocr_brand == pytest.approx(0.71)       # the sighting, as strong as the read
    ev = [e for e in build_evidence(inp, cues, catalog["korvex"]) if e.kind == "ocr_text"]
    assert ev[0].detail.startswith("name of Korvex read in photo 0, read confidence 0.71")
    assert ev[0].detail.endswith("(a misreading of the name: not counted as misuse)") and not ev[0].reasons


def test_cues_of_deliberate_photo_text(matcher, catalog):
    inp = _inputs(matcher, [("K0RVEX", 0.9), ("REPLICA", 0.9)])
    (cues,) = build_cues(inp, catalog)
    assert cues.ocr_misuse == pytest.approx(0.9)
    (ev,) = [e for e in build_evidence(inp, cues, catalog["korvex"]) if e.kind == "ocr_text"]
    assert ev.detail == "text in photo 0: misuse (leetspeak)"
