"""Geometric verification: keypoints + RANSAC homography between a reference and a photo.

An embedding says "this window looks like brand X"; a homography with enough
inliers says "this reference logo is *here*, with this outline", which is the
box a reviewer sees and much stronger evidence. SIFT (OpenCV) with Lowe's
ratio test and a RANSAC homography; the model is rejected unless the projected
outline is a sane convex quadrilateral of plausible size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

__all__ = ["Features", "KeypointVerifier", "Verification", "verification_score"]


@dataclass(frozen=True)
class Features:
    """Keypoints (N, 2) in the original image's pixels and their descriptors (N, 128)."""

    points: np.ndarray
    descriptors: np.ndarray | None
    size: tuple[int, int]  # (w, h) of the original image

    def __len__(self) -> int:
        return 0 if self.descriptors is None else len(self.descriptors)


@dataclass(frozen=True)
class Verification:
    inliers: int
    matches: int
    box: tuple[int, int, int, int] | None    # reference outline projected into the photo
    quad: np.ndarray | None                  # (4, 2) projected corners
    ok: bool
    coverage: float = 0.0       # area of the inliers' bounding box / area of the photo
    ref_coverage: float = 0.0   # the same in the reference


def verification_score(inliers: int, min_inliers: int) -> float:
    """Evidence in [0, 1] from a verified homography's inlier count."""
    if inliers < min_inliers:
        return 0.0
    return float(min(0.99, 0.80 + 0.19 * (1.0 - np.exp(-(inliers - min_inliers) / 10.0))))


def _gray(img: Image.Image, min_side: int, max_side: int) -> tuple[np.ndarray, float]:
    w, h = img.size
    scale = 1.0
    if min(w, h) < min_side:
        scale = min_side / min(w, h)
    if max(w, h) * scale > max_side:
        scale = max_side / max(w, h)
    g = img.convert("L")
    if scale != 1.0:
        g = g.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BICUBIC)
    return np.asarray(g, dtype=np.uint8), scale


class KeypointVerifier:
    """SIFT + ratio test + RANSAC homography.

    Args:
        min_inliers: inliers needed to call a match verified.
        ratio: Lowe's ratio test threshold.
        max_features: keypoints kept per image.
    """

    def __init__(self, *, min_inliers: int = 12, ratio: float = 0.8, max_features: int = 1500,
                 ransac_px: float = 5.0):
        import cv2

        self.cv2 = cv2
        self.min_inliers = min_inliers
        self.ratio = ratio
        self.ransac_px = ransac_px
        self._sift = cv2.SIFT_create(nfeatures=max_features)
        self._matcher = cv2.BFMatcher(cv2.NORM_L2)

    def features(self, img: Image.Image, *, min_side: int = 160, max_side: int = 1024) -> Features:
        """Keypoints of an image (small logos upsampled so they have some)."""
        arr, scale = _gray(img, min_side, max_side)
        kps, desc = self._sift.detectAndCompute(arr, None)
        pts = np.array([kp.pt for kp in kps], np.float32).reshape(-1, 2) / scale
        return Features(pts, desc, img.size)

    def verify(self, ref: Features, photo: Features, *, offset: tuple[int, int] = (0, 0)) -> Verification:
        """Find ``ref`` (e.g. a logo) in ``photo``; ``offset`` shifts the box if ``photo`` is a crop."""
        none = Verification(0, 0, None, None, False)
        if len(ref) < 4 or len(photo) < 4:
            return none
        cv2 = self.cv2
        pairs = self._matcher.knnMatch(ref.descriptors, photo.descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < self.ratio * p[1].distance]
        if len(good) < max(4, self.min_inliers // 2):
            return Verification(0, len(good), None, None, False)
        src = ref.points[[m.queryIdx for m in good]].reshape(-1, 1, 2)
        dst = photo.points[[m.trainIdx for m in good]].reshape(-1, 1, 2)
        H, mask = cv2.findHomography(src, dst, cv2.RANSAC, self.ransac_px)
        if H is None or mask is None:
            return Verification(0, len(good), None, None, False)
        # count inliers by distinct photo points (many-to-one matches do not count twice)
        inl = mask.ravel().astype(bool)
        inliers = len({tuple(np.round(p, 1)) for p in dst.reshape(-1, 2)[inl]})
        coverage = _bbox_frac(dst.reshape(-1, 2)[inl], photo.size)
        ref_coverage = _bbox_frac(src.reshape(-1, 2)[inl], ref.size)
        w, h = ref.size
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32).reshape(-1, 1, 2)
        quad = cv2.perspectiveTransform(corners, H).reshape(4, 2) + np.asarray(offset, np.float32)
        sane = _sane_quad(quad, (w, h), photo.size)
        x1, y1 = quad.min(axis=0)
        x2, y2 = quad.max(axis=0)
        pw, ph = photo.size
        box = (int(max(0, x1 + 0)), int(max(0, y1)), int(min(pw + offset[0], x2)), int(min(ph + offset[1], y2)))
        ok = sane and inliers >= self.min_inliers
        return Verification(inliers, len(good), box if sane else None, quad if sane else None, ok,
                            coverage, ref_coverage)

    def same_photo(self, ref: Features, photo: Features, *, min_inliers: int = 25, min_coverage: float = 0.15,
                   min_fraction: float = 0.25) -> Verification:
        """Is ``photo`` a (cropped, resized, recoloured, overlaid) copy of ``ref``?

        Needs many inliers, spread over a good part of both images, and a good share
        of all keypoints: two different photos of the same logo artwork match on the
        logo but not on the rest of the picture."""
        v = self.verify(ref, photo)
        fraction = v.inliers / max(1, min(len(ref), len(photo)))
        ok = (v.inliers >= min_inliers and v.coverage >= min_coverage and v.ref_coverage >= min_coverage
              and fraction >= min_fraction and v.box is not None)
        return Verification(v.inliers, v.matches, v.box, v.quad, ok, v.coverage, v.ref_coverage)

    def verify_any(self, refs: Sequence[Features], photo: Features, *,
                   offset: tuple[int, int] = (0, 0)) -> tuple[int, Verification]:
        """Best of several references; returns (position in ``refs``, verification)."""
        best, best_i = Verification(0, 0, None, None, False), -1
        for i, ref in enumerate(refs):
            v = self.verify(ref, photo, offset=offset)
            if (v.ok, v.inliers) > (best.ok, best.inliers):
                best, best_i = v, i
        return best_i, best


def _bbox_frac(pts: np.ndarray, size: tuple[int, int]) -> float:
    if len(pts) < 2:
        return 0.0
    w, h = size
    x1, y1 = np.clip(pts.min(axis=0), 0, [w, h])
    x2, y2 = np.clip(pts.max(axis=0), 0, [w, h])
    return float((x2 - x1) * (y2 - y1) / max(1.0, w * h))


def _sane_quad(quad: np.ndarray, ref_size: tuple[int, int], photo_size: tuple[int, int]) -> bool:
    """Convex, not collapsed, not absurdly stretched, and mostly inside the photo."""
    if not np.all(np.isfinite(quad)):
        return False
    # convex with consistent orientation
    cross = []
    for i in range(4):
        a, b, c = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        cross.append(float((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])))
    if not (all(c > 0 for c in cross) or all(c < 0 for c in cross)):
        return False
    x, y = quad[:, 0], quad[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
    pw, ph = photo_size
    if area < 100 or area > 4.0 * pw * ph:
        return False
    # aspect ratio of the outline should stay within 3x of the reference's
    sides = [float(np.linalg.norm(quad[(i + 1) % 4] - quad[i])) for i in range(4)]
    rw, rh = ref_size
    ar_q = (sides[0] + sides[2]) / max(1e-6, sides[1] + sides[3])
    ar_r = rw / max(1e-6, rh)
    if not (1 / 3 <= ar_q / ar_r <= 3):
        return False
    # opposite sides of similar length (no extreme perspective)
    if max(sides[0], sides[2]) > 3 * max(1e-6, min(sides[0], sides[2])) or \
            max(sides[1], sides[3]) > 3 * max(1e-6, min(sides[1], sides[3])):
        return False
    return True
