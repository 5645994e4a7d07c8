"""The keypoint logo index: every brand's logo files searched at once, verified by homography."""

from __future__ import annotations

import numpy as np
from PIL import Image

from counterfeit_vision.geometry import KeypointVerifier
from counterfeit_vision.logo_keypoints import LOGO_MIN_INLIERS, LOGO_VIEWS, LogoKeypointIndex
from counterfeit_vision.regions import iou

from .conftest import make_logo, make_photo, paste


def _index(ver: KeypointVerifier, seeds=(101, 102, 103)) -> LogoKeypointIndex:
    # ref ids 10, 20, 30 for brands b101, b102, b103; brand b102 has a second, smaller file
    items = [(10 * (i + 1), f"b{s}", ver.features(make_logo(s))) for i, s in enumerate(seeds)]
    items.append((21, "b102", ver.features(make_logo(102).resize((60, 40)))))
    return LogoKeypointIndex.from_features(items)


def test_logo_found_among_brands_with_its_outline():
    ver = KeypointVerifier()
    kp = _index(ver)
    assert len(kp) == 4 and kp.n_descriptors > 100
    photo = paste(make_photo(3, (480, 360)), make_logo(102), (250, 180), 0.9)
    found = kp.match(ver.features(photo, min_side=600, max_side=1280))
    assert [m.brand_id for m in found][:1] == ["b102"]
    assert found[0].ref_id in (20, 21) and found[0].inliers >= kp.min_inliers
    assert iou(found[0].box, (250, 180, 250 + 108, 180 + 72)) > 0.6
    assert all(m.brand_id != "b101" and m.brand_id != "b103" for m in found)


def test_rotated_and_two_logos_in_one_photo():
    ver = KeypointVerifier()
    kp = _index(ver)
    photo = make_photo(4, (640, 480))
    photo.paste(make_logo(101).rotate(20, expand=True, fillcolor=(255, 255, 255)), (30, 40))
    photo = paste(photo, make_logo(103), (380, 300), 1.1)
    found = {m.brand_id: m for m in kp.match(ver.features(photo, min_side=600, max_side=1280))}
    assert set(found) == {"b101", "b103"}
    assert found["b103"].box[0] >= 360 and found["b101"].box[2] <= 240


def test_no_logo_no_match_and_empty_index():
    ver = KeypointVerifier()
    kp = _index(ver)
    photo = paste(make_photo(5, (480, 360)), make_logo(999), (100, 100), 1.0)  # a mark no brand registered
    assert kp.match(ver.features(photo, min_side=600, max_side=1280)) == []
    assert LogoKeypointIndex().match(ver.features(photo)) == []
    blank = Image.new("RGB", (300, 200), (128, 128, 128))
    assert kp.match(ver.features(blank)) == []


def test_uint8_storage_is_lossless():
    ver = KeypointVerifier()
    f = ver.features(make_logo(7))
    kp = LogoKeypointIndex.from_features([(1, "b", f)])
    assert np.array_equal(kp._desc[0].astype(np.float32), f.descriptors)


def test_approximate_search_above_the_size_limit(monkeypatch):
    import faiss

    from counterfeit_vision import logo_keypoints

    monkeypatch.setattr(logo_keypoints, "APPROX_MIN_DESCRIPTORS", 100)
    ver = KeypointVerifier()
    kp = _index(ver)
    photo = paste(make_photo(3, (480, 360)), make_logo(103), (60, 50), 1.0)
    found = kp.match(ver.features(photo, min_side=600, max_side=1280))
    assert isinstance(kp._faiss, faiss.IndexIVFFlat)
    assert found and found[0].brand_id == "b103"


def test_simulated_views_add_keypoints_in_the_logos_own_pixels():
    ver = KeypointVerifier()
    logo = make_logo(11, (240, 160))
    plain = ver.features(logo)
    viewed = ver.features(logo, views=LOGO_VIEWS)
    assert len(viewed) > 3 * len(plain)
    # the unslanted view comes first, unchanged; the others are mapped back into the logo
    assert np.array_equal(viewed.points[:len(plain)], plain.points)
    assert viewed.points.min() >= -2 and (viewed.points.max(axis=0) <= np.array(logo.size) + 2).all()


def _slant(img: Image.Image, tilt: float, direction: float) -> Image.Image:
    """The logo as seen on a surface turned away from the camera (affine tilt)."""
    import cv2

    arr = np.asarray(img)
    h, w = arr.shape[:2]
    A = cv2.getRotationMatrix2D((w / 2, h / 2), direction, 1.0)
    A = np.diag([1.0 / tilt, 1.0]) @ A
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64) @ A.T
    A[:, 2] -= corners.min(axis=0)
    size = tuple(int(np.ceil(v)) for v in np.ptp(corners, axis=0))
    return Image.fromarray(cv2.warpAffine(arr, A, size, borderValue=(255, 255, 255)))


def test_slanted_logo_needs_the_simulated_views():
    ver = KeypointVerifier()
    logos = {s: make_logo(s, (240, 160)) for s in (101, 102, 103)}
    photo = make_photo(6, (640, 480))
    photo.paste(_slant(logos[102], 3.0, 60), (200, 120))
    feats = ver.features(photo, min_side=600, max_side=1280)

    def inliers(views):
        kp = LogoKeypointIndex.from_features([(s, f"b{s}", ver.features(lg, views=views)) for s, lg in logos.items()])
        found = {m.brand_id: m.inliers for m in kp.match(feats)}
        assert set(found) <= {"b102"}
        return found.get("b102", 0)

    assert inliers(LOGO_VIEWS) >= max(LOGO_MIN_INLIERS, 2 * inliers(()))
