"""The detector's photo side: brand names read in photos become confidence-weighted cues."""

from __future__ import annotations

import pytest

from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.ocr import TextBox

from .conftest import make_photo


class ScriptedReader:
    """An OCR reader that 'reads' fixed text in each photo, recognising the photo by its width."""

    def __init__(self, by_width: dict[int, list[tuple[str, float]]]):
        self.by_width = by_width

    def read(self, image, *, image_index=0):
        return [TextBox(text, conf, (5 + 70 * k, 5, 60 + 70 * k, 20), image_index)
                for k, (text, conf) in enumerate(self.by_width.get(image.width, []))]


@pytest.fixture()
def detector(repo_root) -> Detector:
    det = Detector.from_catalog(repo_root / "brand_catalog", config=DetectorConfig(use_images=False, use_ocr=False))
    det.ocr = ScriptedReader({310: [("KORVEX", 0.6)],
                              320: [("korvex", 0.5), ("Case for Nimbly", 0.99)],
                              330: [("K0RVEX", 0.5), ("korvex", 0.5)]})
    return det


@pytest.fixture()
def photos(tmp_path) -> dict[int, str]:
    out = {}
    for width in (300, 310, 320, 330):
        path = tmp_path / f"photo{width}.jpg"
        make_photo(width, size=(width, 200)).save(path)
        out[width] = str(path)
    return out


def test_a_name_read_in_a_photo_counts_by_the_reads_confidence(detector, photos):
    one_read, two_reads = detector.score_batch([
        {"id": "one", "title": "Leather handbag", "images": [photos[300], photos[310]]},
        {"id": "two", "title": "Leather handbag", "images": [photos[320], photos[330]]},
    ])
    assert one_read.brand == two_reads.brand == "korvex"
    # one read at 0.6. Reads in one photo add up (noisy-or: photo 330 gives 0.75); across photos
    # the strongest photo counts, as for logos; the accessory mention of Nimbly is no sighting
    assert one_read.signals["ocr_brand"] == pytest.approx(0.6)
    assert two_reads.signals["ocr_brand"] == pytest.approx(1 - 0.5 * 0.5)
    assert "nimbly" not in {e.brand_id for e in two_reads.evidence if e.kind != "ocr_text"}
    # the title hides the brand the photo shows
    assert one_read.signals["hidden_brand"] == pytest.approx(0.6)


def test_reads_are_numbered_per_listing_and_point_at_their_own_photo(detector, photos):
    _, second = detector.score_batch([
        {"id": "first", "title": "Leather handbag", "images": [photos[300], photos[310]]},
        {"id": "second", "title": "Leather handbag", "images": [photos[300], photos[330]]},
    ])
    reads = [e for e in second.evidence if e.kind == "ocr_text"]
    assert {(e.image_index, e.image, e.text) for e in reads} == {(1, photos[330], "K0RVEX"), (1, photos[330], "korvex")}
    assert {e.box for e in reads} == {(5, 5, 60, 20), (75, 5, 130, 20)}


def test_a_photo_the_reader_fails_on_is_a_note_and_the_other_photos_still_count(detector, photos):
    class FailsOnWide(ScriptedReader):
        def read(self, image, *, image_index=0):
            if image.width == 300:
                raise RuntimeError("decoder exploded")
            return super().read(image, image_index=image_index)

    detector.ocr = FailsOnWide(detector.ocr.by_width)
    (result,) = detector.score_batch([{"id": "x", "title": "Leather handbag", "images": [photos[300], photos[310]]}])
    assert "OCR failed on image 0: decoder exploded" in result.notes
    assert result.brand == "korvex" and result.signals["ocr_brand"] == pytest.approx(0.6)
