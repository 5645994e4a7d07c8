"""Brands in a photo: logo hits and brand names read by OCR, combined per brand."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image, ImageDraw, ImageFont

from counterfeit_vision.catalog import Catalog, load_catalog
from counterfeit_vision.image.matcher import ImageHit, ImageMatcher
from counterfeit_vision.image.photo_brands import PhotoBrandFinder, brands_in_photo
from counterfeit_vision.index.onboarding import build_index
from counterfeit_vision.ocr import TextBox
from counterfeit_vision.titles.matcher import TitleMatcher

from .conftest import make_photo


@pytest.fixture(scope="module")
def titles(repo_root) -> TitleMatcher:
    return TitleMatcher.from_catalog(load_catalog(repo_root / "brand_catalog"))


def logo_hit(brand: str, score: float, kind: str = "logo") -> ImageHit:
    return ImageHit(brand, kind, similarity=score, ref_id=0, ref_path=f"{brand}/logos/a.png", image_index=0,
                    box=(10, 10, 50, 50), method="region", score=score)


def read(titles: TitleMatcher, text: str, confidence: float) -> tuple[TextBox, list]:
    box = TextBox(text, confidence, (100, 100, 160, 120))
    return box, titles.match(box.text)


def test_a_name_read_in_the_photo_outranks_a_stronger_logo_of_another_brand(titles):
    hits = [logo_hit("velora", 0.7), logo_hit("korvex", 0.6)]
    sightings = brands_in_photo(hits, [read(titles, "KORVEX", 0.5)])
    assert [s.brand_id for s in sightings] == ["korvex", "velora"]
    korvex = sightings[0]
    assert korvex.score == pytest.approx(1 - 0.4 * 0.5)   # noisy-or of logo 0.6 and text 0.5
    assert (korvex.logo, korvex.text) == (0.6, 0.5)
    assert korvex.logo_hit is hits[1] and [b.text for b in korvex.reads] == ["KORVEX"]
    assert sightings[1].score == pytest.approx(0.7) and sightings[1].reads == ()


def test_independent_reads_add_up_and_one_box_counts_once(titles):
    box, findings = read(titles, "Korvex Korvex", 0.5)
    reads = [read(titles, "Korvex", 0.5), read(titles, "K0RVEX", 0.5), (box, findings * 2)]
    (only,) = brands_in_photo([], reads)
    # a misspelt or look-alike read still shows the brand; a box naming it twice is one read
    assert only.brand_id == "korvex" and len(only.reads) == 3
    assert only.text == pytest.approx(1 - 0.5 ** 3) and only.logo == 0.0 and only.logo_hit is None


def test_names_read_as_what_a_product_fits_and_photo_reuse_hits_are_not_sightings(titles):
    reads = [read(titles, "Case for Nimbly", 0.99)]
    assert reads[0][1], "the matcher does find the name"
    assert brands_in_photo([logo_hit("velora", 0.9, kind="photo")], reads) == []


class BrokenReader:
    def read(self, image, *, image_index=0):
        raise RuntimeError("decoder exploded")


@pytest.fixture()
def named_catalog(synthetic_catalog) -> Catalog:
    """The synthetic logos under real words, so that OCR can read a brand's name."""
    names = {"brand0": "Korvex", "brand1": "Velora", "brand2": "Haldane"}
    return Catalog.from_brands([replace(b, name=names[b.id]) for b in synthetic_catalog],
                               root=synthetic_catalog.root)


def test_finder_keeps_logo_evidence_when_ocr_fails_on_a_photo(named_catalog, tiny_embedder):
    index = build_index(named_catalog, tiny_embedder, adapt=False)
    matcher = ImageMatcher(tiny_embedder, index, verify=False)
    logo_photo = Image.open(named_catalog["brand1"].references[0]).convert("RGB")
    finder = PhotoBrandFinder(matcher, TitleMatcher.from_catalog(named_catalog), ocr=BrokenReader())
    (found,) = finder.find([logo_photo])
    assert found.notes == ["OCR failed on image 0: decoder exploded"]
    assert found.hits and found.sightings
    top_logo = next(h for h in found.hits if h.kind == "logo")
    assert found.sightings[0].brand_id == top_logo.brand_id and found.sightings[0].text == 0.0


@pytest.mark.slow
def test_finder_reads_a_wordmark_with_the_real_reader(named_catalog, tiny_embedder):
    from counterfeit_vision.ocr import create_ocr

    index = build_index(named_catalog, tiny_embedder, adapt=False)
    finder = PhotoBrandFinder(ImageMatcher(tiny_embedder, index, verify=False),
                              TitleMatcher.from_catalog(named_catalog), ocr=create_ocr("easyocr", device="cpu"))
    photo = make_photo(7, size=(800, 400))
    ImageDraw.Draw(photo).text((250, 150), "HALDANE", fill="black", font=ImageFont.load_default(size=80))
    (found,) = finder.find([photo])
    haldane = next(s for s in found.sightings if s.brand_id == "brand2")
    assert haldane.text > 0.5 and haldane.score >= haldane.text
    x1, y1, x2, y2 = haldane.reads[0].box
    assert 230 <= x1 <= 270 and 130 <= y1 <= 190 and x2 > x1 + 200
