"""The keypoint logo index: every brand's logo files searched at once, verified by homography."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from counterfeit_vision.image.geometry import KeypointVerifier
from counterfeit_vision.image.keypoint_index import LOGO_MIN_INLIERS, LOGO_VIEWS, LogoKeypointIndex
from counterfeit_vision.image.regions import iou

from .conftest import copy_catalog, make_logo, make_photo, paste


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

    from counterfeit_vision.image import keypoint_index as logo_keypoints

    monkeypatch.setattr(logo_keypoints, "APPROX_MIN_DESCRIPTORS", 100)
    ver = KeypointVerifier()
    kp = _index(ver)
    photo = paste(make_photo(3, (480, 360)), make_logo(103), (60, 50), 1.0)
    found = kp.match(ver.features(photo, min_side=600, max_side=1280))
    assert isinstance(kp._faiss, faiss.IndexIVFFlat)
    assert found and found[0].brand_id == "b103"


def test_compact_index_votes_for_the_file_a_photo_shares_keypoints_with(monkeypatch):
    """8-bit codes (4x less memory) still rank the right file first; votes count correspondences."""
    import faiss

    from counterfeit_vision.image import keypoint_index as logo_keypoints

    monkeypatch.setattr(logo_keypoints, "APPROX_MIN_DESCRIPTORS", 100)
    ver = KeypointVerifier()
    items = [(i, f"b{i}", ver.features(make_logo(200 + i))) for i in range(6)]
    kp = LogoKeypointIndex.from_features(items, k=4, nprobe=4, compact=True)
    photo = paste(make_photo(5, (480, 360)), make_logo(203), (100, 80), 1.3)
    votes = kp.votes(ver.features(photo, min_side=600, max_side=1280))
    assert isinstance(kp._faiss, faiss.IndexIVFScalarQuantizer)
    assert votes and votes[0][:2] == (3, "b3") and votes[0][2] >= 8
    assert all(n <= votes[0][2] for _, _, n in votes)
    assert kp.votes(ver.features(make_photo(6, (480, 360)))) == [] or \
        max(n for _, _, n in kp.votes(ver.features(make_photo(6, (480, 360))))) < votes[0][2] // 2


def test_released_descriptors_keep_votes_and_matches_and_halve_the_compact_memory(monkeypatch, tmp_path):
    """A search-only index holds each keypoint once (its 8-bit code), and says so when asked to save."""
    from counterfeit_vision.image import keypoint_index as logo_keypoints

    monkeypatch.setattr(logo_keypoints, "APPROX_MIN_DESCRIPTORS", 100)
    ver = KeypointVerifier()
    items = [(i, f"b{i}", ver.features(make_logo(200 + i))) for i in range(6)]
    kp = LogoKeypointIndex.from_features(items, k=4, nprobe=4, compact=True)
    photo = ver.features(paste(make_photo(5, (480, 360)), make_logo(203), (100, 80), 1.3), min_side=600, max_side=1280)
    votes, matches = kp.votes(photo), kp.match(photo)
    n, before = kp.n_descriptors, kp.held_bytes()
    kp.release_descriptors()
    assert kp.votes(photo) == votes and [(m.brand_id, m.inliers, m.box) for m in kp.match(photo)] == \
        [(m.brand_id, m.inliers, m.box) for m in matches]
    assert kp.n_descriptors == n and kp.held_bytes() <= before - 128 * n
    assert kp.held_bytes() < 0.6 * before
    for refused in (lambda: kp.save(tmp_path / "k.npz"), kp.files, lambda: kp.add(9, "b9", items[0][2])):
        with pytest.raises(RuntimeError, match="released its descriptors"):
            refused()
    assert not (tmp_path / "k.npz").exists()


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


# ------------------------------------------------------------------ persistence
def _match_summary(found):
    return [(m.brand_id, m.ref_id, m.inliers, m.box, np.round(m.quad, 3).tolist()) for m in found]


def test_save_load_round_trip_gives_identical_matches(tmp_path):
    from counterfeit_vision.image.keypoint_index import LogoKeypointsFileError, logo_feature_settings

    ver = KeypointVerifier()
    items = [(10 * (i + 1), f"b{s}", ver.features(make_logo(s), views=LOGO_VIEWS))
             for i, s in enumerate((101, 102, 103))]
    kp = LogoKeypointIndex(ratio=0.8, min_inliers=7)
    for ref_id, brand, f in items:
        kp.add(ref_id, brand, f, key=f"file{ref_id}")
    kp.add(99, "b104", ver.features(Image.new("RGB", (200, 100), (255, 255, 255))), key="blank")  # no keypoint
    kp.settings = logo_feature_settings(ver)
    path = kp.save(tmp_path / "kp.npz")
    loaded = LogoKeypointIndex.load(path, expect=logo_feature_settings(ver))
    assert (loaded.ratio, loaded.min_inliers) == (0.8, 7) and loaded.settings == kp.settings
    assert loaded._refs == kp._refs and loaded.files().keys() == {"file10", "file20", "file30", "blank"}
    assert loaded.files()["blank"] is None
    for a, b in zip(loaded._desc + loaded._pts, kp._desc + kp._pts):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    photos = [paste(make_photo(3, (480, 360)), make_logo(102), (250, 180), 0.9),
              paste(make_photo(4, (640, 480)), make_logo(101).rotate(15, expand=True), (60, 40), 1.2)]
    for photo in photos:
        feats = ver.features(photo, min_side=600, max_side=1280)
        found = kp.match(feats)
        assert found and _match_summary(loaded.match(feats)) == _match_summary(found)
    with pytest.raises(LogoKeypointsFileError, match="other settings"):
        LogoKeypointIndex.load(path, expect=logo_feature_settings(ver, views=LOGO_VIEWS[:4]))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "shapes"])
def test_damaged_file_is_refused(tmp_path, damage):
    from counterfeit_vision.image.keypoint_index import LogoKeypointsFileError

    ver = KeypointVerifier()
    kp = LogoKeypointIndex()
    kp.add(1, "b", ver.features(make_logo(5)), key="k1")
    kp.add(2, "c", ver.features(make_logo(6)), key="k2")
    path = kp.save(tmp_path / "kp.npz")
    data = bytearray(path.read_bytes())
    if damage == "garbage":
        data = bytearray(b"not a zip at all" * 10)
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped":  # inside the descriptors: only the zip CRC notices
        mid = data.find(b"descriptors.npy") + 400
        data[mid] ^= 0xFF
    path.write_bytes(bytes(data))
    if damage == "shapes":
        arrays = dict(np.load(path))
        arrays["offsets"] = arrays["offsets"][:-1]
        np.savez(path, **arrays)
    with pytest.raises(LogoKeypointsFileError):
        LogoKeypointIndex.load(path)


# ------------------------------------------------------- persistence in ImageMatcher
@pytest.fixture()
def count_logo_descriptions(monkeypatch):
    """Counts logo files described by SIFT (the calls with simulated views)."""
    calls: list[tuple[int, int]] = []
    features = KeypointVerifier.features

    def counting(self, img, **kwargs):
        if kwargs.get("views"):
            calls.append(img.size)
        return features(self, img, **kwargs)

    monkeypatch.setattr(KeypointVerifier, "features", counting)
    return calls


def _matcher(embedder, index):
    from counterfeit_vision.image.matcher import ImageMatcher

    return ImageMatcher(embedder, index, photo_matching=False)


def _verified(hits):
    return [(h.brand_id, h.ref_id, h.inliers, h.box) for hs in hits for h in hs if h.verified]


def _logo_paths(kp):
    import json

    return {json.loads(key)[0] for key in kp.files()}


def _files_in(folder):
    return sorted(p.name for p in folder.iterdir())


def test_save_index_writes_the_keypoint_cache_and_matching_only_reads_it(tiny_embedder, synthetic_catalog, tmp_path,
                                                                           count_logo_descriptions):
    from counterfeit_vision.image.keypoint_index import LOGO_KEYPOINTS_FILE
    from counterfeit_vision.index.onboarding import build_index, save_index
    from counterfeit_vision.index.reference import ReferenceIndex

    index = build_index(synthetic_catalog, tiny_embedder, adapt=False)
    index.save(tmp_path / "plain")
    photos = [paste(make_photo(99, (640, 480)), make_logo(101), (420, 300), 1.0),
              paste(make_photo(98, (640, 480)), make_logo(102), (60, 80), 1.3)]
    before = _files_in(tmp_path / "plain")
    fresh = _verified(_matcher(tiny_embedder, ReferenceIndex.load(tmp_path / "plain")).match(photos))
    assert {b for b, *_ in fresh} == {"brand1", "brand2"} and len(count_logo_descriptions) == 6
    assert _files_in(tmp_path / "plain") == before  # matching described in memory and wrote nothing

    count_logo_descriptions.clear()
    save_index(index, tmp_path / "ix", tiny_embedder)
    assert (tmp_path / "ix" / LOGO_KEYPOINTS_FILE).exists() and len(count_logo_descriptions) == 6
    count_logo_descriptions.clear()
    m = _matcher(tiny_embedder, ReferenceIndex.load(tmp_path / "ix"))
    assert _verified(m.match(photos)) == fresh
    assert count_logo_descriptions == []  # every logo file came from the saved keypoints
    assert len(m.logo_keypoints()) == 6


def test_moved_catalogue_and_index_keep_verification_and_the_cache(tiny_embedder, synthetic_catalog, tmp_path,
                                                                    count_logo_descriptions):
    import json
    import shutil

    from counterfeit_vision.index.onboarding import build_index, save_index
    from counterfeit_vision.index.reference import MANIFEST_NAME, ReferenceIndex

    home = tmp_path / "a"
    catalog = copy_catalog(synthetic_catalog, home / "catalog")
    save_index(build_index(catalog, tiny_embedder, adapt=False), home / "index", tiny_embedder)
    assert not Path(json.loads((home / "index" / MANIFEST_NAME).read_text())["reference_root"]).is_absolute()
    photos = [paste(make_photo(99, (640, 480)), make_logo(101), (420, 300), 1.0)]
    fresh = _verified(_matcher(tiny_embedder, ReferenceIndex.load(home / "index")).match(photos))
    assert fresh

    shutil.copytree(home, tmp_path / "b")  # copied elsewhere: new mtimes, new absolute paths
    shutil.rmtree(home)
    count_logo_descriptions.clear()
    moved = ReferenceIndex.load(tmp_path / "b" / "index")
    assert Path(moved.reference_root) == (tmp_path / "b" / "catalog").resolve()
    assert _verified(_matcher(tiny_embedder, moved).match(photos)) == fresh
    assert count_logo_descriptions == []  # keys are catalogue-relative paths and content digests


def test_damaged_or_mismatched_keypoint_file_is_ignored(tiny_embedder, synthetic_catalog, tmp_path,
                                                        count_logo_descriptions, monkeypatch, caplog):
    from counterfeit_vision.image import keypoint_index as logo_keypoints
    from counterfeit_vision.image.keypoint_index import LOGO_KEYPOINTS_FILE
    from counterfeit_vision.index.onboarding import build_index, save_index
    from counterfeit_vision.index.reference import ReferenceIndex

    index = build_index(synthetic_catalog, tiny_embedder, adapt=False)
    save_index(index, tmp_path / "ix", tiny_embedder)
    photos = [paste(make_photo(99, (640, 480)), make_logo(101), (420, 300), 1.0)]
    fresh = _verified(_matcher(tiny_embedder, index).match(photos))
    assert fresh
    file = tmp_path / "ix" / LOGO_KEYPOINTS_FILE
    damaged = file.read_bytes()[:-200]
    file.write_bytes(damaged)

    count_logo_descriptions.clear()
    with caplog.at_level("WARNING"):
        m = _matcher(tiny_embedder, ReferenceIndex.load(tmp_path / "ix"))
        assert _verified(m.match(photos)) == fresh
    assert "unreadable" in caplog.text and len(count_logo_descriptions) == 6
    assert file.read_bytes() == damaged  # scoring never writes; the next save_index replaces it
    save_index(ReferenceIndex.load(tmp_path / "ix"), tmp_path / "ix", tiny_embedder)
    assert len(LogoKeypointIndex.load(file)) == 6

    # another setting of the logo views: the saved descriptors are not used
    monkeypatch.setattr(logo_keypoints, "LOGO_VIEWS", LOGO_VIEWS[:2])
    count_logo_descriptions.clear()
    caplog.clear()
    with caplog.at_level("WARNING"):
        kp = _matcher(tiny_embedder, ReferenceIndex.load(tmp_path / "ix")).logo_keypoints()
    assert "other settings" in caplog.text and len(count_logo_descriptions) == 6
    assert kp.settings["views"] == [list(v) for v in LOGO_VIEWS[:2]]


def test_only_new_or_changed_logo_files_are_described(tiny_embedder, synthetic_catalog, tmp_path,
                                                      count_logo_descriptions):
    from counterfeit_vision.image.keypoint_index import LOGO_KEYPOINTS_FILE
    from counterfeit_vision.index.onboarding import add_brand, build_index, remove_brand, save_index
    from counterfeit_vision.index.reference import ReferenceIndex

    brands = list(synthetic_catalog)
    index = build_index(synthetic_catalog.without_brand("brand2"), tiny_embedder, adapt=False)
    save_index(index, tmp_path / "ix", tiny_embedder, reference_root=synthetic_catalog.root)
    assert len(count_logo_descriptions) == 4

    # a process adds brand2 and saves: brand2's two logo files are the only ones described
    loaded = ReferenceIndex.load(tmp_path / "ix")
    add_brand(loaded, brands[2], tiny_embedder, root=synthetic_catalog.root, adapt=False)
    count_logo_descriptions.clear()
    save_index(loaded, tmp_path / "ix", tiny_embedder)
    assert len(count_logo_descriptions) == 2
    count_logo_descriptions.clear()
    m = _matcher(tiny_embedder, ReferenceIndex.load(tmp_path / "ix"))
    kp = m.logo_keypoints()
    assert count_logo_descriptions == [] and len(kp) == 6
    photo = paste(make_photo(97, (640, 480)), make_logo(102), (300, 200), 1.0)
    assert "brand2" in {b for b, *_ in _verified(m.match([photo]))}
    assert len(LogoKeypointIndex.load(tmp_path / "ix" / LOGO_KEYPOINTS_FILE)) == 6

    # removing a brand describes nothing and drops its descriptors, in memory and on save
    count_logo_descriptions.clear()
    loaded = ReferenceIndex.load(tmp_path / "ix")
    remove_brand(loaded, "brand0")
    kp = _matcher(tiny_embedder, loaded).logo_keypoints()
    assert count_logo_descriptions == [] and len(kp) == 4
    assert all(loaded.entries[r].brand_id == b for r, b, _ in kp._refs)
    save_index(loaded, tmp_path / "ix", tiny_embedder)
    on_disk = _logo_paths(LogoKeypointIndex.load(tmp_path / "ix" / LOGO_KEYPOINTS_FILE))
    assert len(on_disk) == 4 and not any(p.startswith("brand0/") for p in on_disk)

    # a logo file whose content changed is described again, the others are reused
    make_logo(555).save(synthetic_catalog.root / "brand1" / "logos" / "logo_0.png")
    count_logo_descriptions.clear()
    _matcher(tiny_embedder, ReferenceIndex.load(tmp_path / "ix")).logo_keypoints()
    assert len(count_logo_descriptions) == 1


def test_trained_approximate_search_is_saved_and_reused_only_for_the_same_descriptors(tmp_path, monkeypatch):
    import faiss

    from counterfeit_vision.image import keypoint_index as logo_keypoints

    monkeypatch.setattr(logo_keypoints, "APPROX_MIN_DESCRIPTORS", 100)
    ver = KeypointVerifier()
    kp = _index(ver)
    photo = ver.features(paste(make_photo(3, (480, 360)), make_logo(103), (60, 50), 1.0), min_side=600, max_side=1280)
    found = _match_summary(kp.match(photo))
    assert found and found[0][0] == "b103" and isinstance(kp._faiss, faiss.IndexIVFFlat)
    loaded = LogoKeypointIndex.load(kp.save(tmp_path / "kp.npz"))

    def no_training(self, x):
        raise AssertionError("k-means trained again")

    monkeypatch.setattr(faiss.IndexIVFFlat, "train", no_training)
    assert _match_summary(loaded.match(photo)) == found  # the saved centroids, not a new k-means
    quantizer = faiss.downcast_index(loaded._faiss.quantizer)
    np.testing.assert_array_equal(faiss.rev_swig_ptr(quantizer.get_xb(), kp._ivf[1].size), kp._ivf[1].ravel())
    loaded.add(40, "b104", ver.features(make_logo(104)))  # other descriptors: the centroids do not apply
    with pytest.raises(AssertionError, match="trained again"):
        loaded.match(photo)


def test_compact_index_reuses_its_saved_centroids(tmp_path, monkeypatch):
    """The 8-bit index keeps its k-means centroids in the file too: a loaded copy searches with
    the saved centroids (only the code ranges are fitted again) and votes exactly as the original."""
    import faiss

    from counterfeit_vision.image import keypoint_index as logo_keypoints

    monkeypatch.setattr(logo_keypoints, "APPROX_MIN_DESCRIPTORS", 100)
    ver = KeypointVerifier()
    items = [(i, f"b{i}", ver.features(make_logo(200 + i))) for i in range(6)]
    kp = LogoKeypointIndex.from_features(items, k=4, nprobe=4, compact=True)
    photo = ver.features(paste(make_photo(5, (480, 360)), make_logo(203), (100, 80), 1.3), min_side=600, max_side=1280)
    votes = kp.votes(photo)
    assert votes and kp._ivf is not None
    file = kp.save(tmp_path / "kp.npz")
    assert LogoKeypointIndex.load(file).votes(photo) == votes

    def centroids(index):
        q = faiss.downcast_index(index._faiss.quantizer)
        return faiss.rev_swig_ptr(q.get_xb(), index._ivf[1].size).reshape(index._ivf[1].shape).copy()

    # centroids marked in the loaded copy are the ones its search uses: no k-means ran
    loaded = LogoKeypointIndex.load(file)
    marked = loaded._ivf[1] + 0.25
    loaded._ivf = (loaded._ivf[0], marked)
    loaded.votes(photo)
    assert isinstance(loaded._faiss, faiss.IndexIVFScalarQuantizer)
    np.testing.assert_array_equal(centroids(loaded), marked)
    loaded.add(40, "b104", ver.features(make_logo(104)))  # other descriptors: the centroids do not apply
    loaded.votes(photo)
    assert not np.array_equal(centroids(loaded), marked)
