"""Keypoint verification locates a pasted logo and rejects unrelated photos."""

from __future__ import annotations

from counterfeit_vision.image.geometry import KeypointVerifier, verification_score
from counterfeit_vision.image.regions import iou, propose_regions, trim_uniform_border

from .conftest import make_logo, make_photo, paste


def test_pasted_logo_is_located():
    logo = make_logo(7)
    photo = paste(make_photo(1, (640, 480)), logo, (300, 200), scale=1.5)  # logo at 300..480 x 200..320
    ver = KeypointVerifier()
    v = ver.verify(ver.features(logo), ver.features(photo))
    assert v.ok and v.inliers >= ver.min_inliers
    assert iou(v.box, (300, 200, 480, 320)) > 0.7
    assert verification_score(v.inliers, ver.min_inliers) >= 0.8


def test_rotated_logo_is_located():
    logo = make_logo(8)
    rotated = logo.rotate(15, expand=True, fillcolor=(255, 255, 255))
    photo = paste(make_photo(2, (640, 480)), rotated, (100, 150), scale=1.3)
    ver = KeypointVerifier()
    v = ver.verify(ver.features(logo), ver.features(photo))
    assert v.ok
    cx, cy = (v.box[0] + v.box[2]) / 2, (v.box[1] + v.box[3]) / 2
    w, h = rotated.size
    assert abs(cx - (100 + w * 1.3 / 2)) < 20 and abs(cy - (150 + h * 1.3 / 2)) < 20


def test_other_logo_not_verified():
    ver = KeypointVerifier()
    photo = paste(make_photo(3, (640, 480)), make_logo(9), (200, 200), scale=1.5)
    v = ver.verify(ver.features(make_logo(10)), ver.features(photo))
    assert not v.ok


def test_regions_cover_photo_and_trim_border():
    boxes = propose_regions(500, 375)
    assert 10 <= len(boxes) <= 60
    assert all(0 <= x1 < x2 <= 500 and 0 <= y1 < y2 <= 375 for x1, y1, x2, y2 in boxes)
    # every point lies in some window of the finest scale
    assert all(any(b[0] <= x < b[2] and b[1] <= y < b[3] for b in boxes) for x in range(0, 500, 25)
               for y in range(0, 375, 25))
    from PIL import ImageOps

    framed = ImageOps.expand(make_photo(4, (200, 150)), border=30, fill=(255, 255, 255))
    assert trim_uniform_border(framed).size == (200, 150)
