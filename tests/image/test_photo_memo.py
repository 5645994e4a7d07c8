"""A photo shown again (in another listing, under another name) is looked at once, and says the same."""

from __future__ import annotations

import shutil

import pytest

from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.ocr import TextBox

from .conftest import make_photo


class CountingReader:
    """'Reads' KORVEX on every photo 310 px wide; counts the photos it was given."""

    def __init__(self, fail_width: int | None = None):
        self.photos_read = 0
        self.fail_width = fail_width

    def read(self, image, *, image_index=0):
        self.photos_read += 1
        if image.width == self.fail_width:
            raise RuntimeError("reader crashed")
        return [TextBox("KORVEX", 0.9, (5, 5, 60, 20), image_index)] if image.width == 310 else []


def detector(repo_root, reader, **config) -> Detector:
    det = Detector.from_catalog(repo_root / "brand_catalog",
                                config=DetectorConfig(use_images=False, use_ocr=False, **config))
    det.ocr = reader
    return det


@pytest.fixture()
def photos(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    make_photo(1, size=(310, 200)).save(a)
    make_photo(2, size=(300, 200)).save(b)
    copy = tmp_path / "copy-of-a.jpg"
    shutil.copyfile(a, copy)
    return str(a), str(b), str(copy)


def listing(i, images):
    return {"id": f"L{i}", "title": "running shoes", "price": 50, "seller_id": "s", "images": list(images)}


def test_the_same_bytes_are_read_once_and_numbered_per_listing(repo_root, photos):
    a, b, copy = photos
    reader = CountingReader()
    det = detector(repo_root, reader)
    first, second = det.score_batch([listing(1, [a]), listing(2, [b, copy])])
    assert reader.photos_read == 3 - 1  # a and b; the copy of a (other name, same bytes) was remembered
    ev1 = next(e for e in first.evidence if e.kind == "ocr_text")
    ev2 = next(e for e in second.evidence if e.kind == "ocr_text")
    assert (ev1.image, ev1.image_index) == (a, 0)
    assert (ev2.image, ev2.image_index) == (copy, 1)  # this listing's name and position for the photo
    assert (first.brand, first.decision, first.confidence) == (second.brand, second.decision, second.confidence)
    third = det.score(listing(3, [copy, b]))
    assert reader.photos_read == 2 and third.confidence == first.confidence  # a later batch remembers too


def test_changed_bytes_are_read_again_and_failures_are_not_remembered(repo_root, photos, tmp_path):
    a, b, _ = photos
    reader = CountingReader(fail_width=300)
    det = detector(repo_root, reader)
    det.score_batch([listing(1, [a, b])])
    det.score_batch([listing(2, [a, b])])
    assert reader.photos_read == 2 + 1  # b failed the first time: read again; a was remembered
    make_photo(3, size=(310, 200)).save(a)  # new content under the same name
    det.score(listing(3, [a]))
    assert reader.photos_read == 4


def test_thorough_looks_at_every_photo(repo_root, photos):
    a, _, copy = photos
    reader = CountingReader()
    det = detector(repo_root, reader, thorough=True)
    det.score_batch([listing(1, [a]), listing(2, [copy, a])])
    assert reader.photos_read == 3


def test_a_group_the_reader_fails_on_is_read_photo_by_photo(repo_root, photos):
    """A reader whose batch call fails on one photo: the others keep their reads, that one gets a note."""
    a, b, _ = photos

    class GroupReader(CountingReader):
        def read_many(self, images, *, numbers=None):
            if any(im.width == 300 for im in images):
                raise RuntimeError("batch failed")
            return [self.read(im, image_index=n) for im, n in zip(images, numbers)]

    det = detector(repo_root, GroupReader(fail_width=300))
    ok, bad = det.score_batch([listing(1, [a]), listing(2, [b])])
    assert any(e.kind == "ocr_text" for e in ok.evidence)
    assert bad.notes == ("OCR failed on image 0: reader crashed",)


def test_results_carry_each_photos_content_hash_and_phash_repeats_included(repo_root, photos, tmp_path):
    """Seller networks are built from results files: every photo is listed in the listing's order, with
    the SHA-256 of its bytes and its pHash, also when its findings came from the memo."""
    import hashlib

    from PIL import Image

    from counterfeit_vision.image.phash import phash_hex

    a, b, copy = photos
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    det = detector(repo_root, CountingReader())
    first, second = det.score_batch([listing(1, [a]), listing(2, [b, copy, str(broken)])])
    sha = {p: hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (a, b)}
    assert [p.to_dict() for p in first.photos] == [{"path": a, "sha256": sha[a], "phash": phash_hex(Image.open(a))}]
    assert [p.path for p in second.photos] == [b, copy, str(broken)]
    assert second.photos[0].sha256 == sha[b]
    assert second.photos[1].sha256 == sha[a] and second.photos[1].phash == first.photos[0].phash  # from the memo
    assert second.photos[2].sha256 is None and second.photos[2].phash is None  # unreadable: no identity claimed
    assert second.to_dict()["photos"][1] == {"path": copy, "sha256": sha[a], "phash": first.photos[0].phash}
