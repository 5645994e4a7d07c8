"""Logos found by their keypoints: every brand's logo descriptors in one FAISS index.

An embedding window says "this looks like brand X"; it is weak on small
logos and on the photos of a brand it has never seen. Local features are the
classic answer for planar marks: a logo printed on a product keeps its SIFT
keypoints under scale, rotation, perspective and lighting. So:

1. every logo reference (the files, not their augmented views) is described by
   SIFT keypoints once, and all descriptors of all brands go into one FAISS
   index (exact below ``APPROX_MIN_DESCRIPTORS``, else IVF);
2. a listing photo's descriptors look up their ``k`` nearest logo
   descriptors; a correspondence is kept when it is clearly closer than the
   nearest descriptor of *another* brand (Lowe's ratio test across brands, so
   a brand's many near-identical logo files do not cancel each other out);
3. the correspondences are grouped per logo file and each group is verified
   with a RANSAC homography whose projected outline must be a sane
   quadrilateral (``geometry.sane_quad``); inliers are counted by distinct
   points on both sides.

A brand is *found* when one of its logo files has at least ``min_inliers``
inliers spread over at least ``LOGO_MIN_COVER`` of the file's area; the projected
outline is the box a reviewer sees. The spread is what makes the outline true: a
logo holding its name ("KORVEX" above a mark) matches the same word in a banner
with plenty of inliers, all in a sliver of the logo, and the homography then
projects the logo's outline onto whatever lies around the banner (on the sample
catalogue such false finds spanned 2-7% of the logo, true ones 40-57%). Constants (RootSIFT,
ratio 0.85, 6 inliers) chosen on FlickrLogos-27 (``benchmarks/eval_logos.py``
splits, seeds 0 and 1): this verifies 0.59 / 0.55 of the photos with a
catalogue logo at 0 / 0.7% false alarms on photos without one, against 0.40
for per-brand verification of the embedding's top candidates only; with the
simulated slanted views of ``LOGO_VIEWS`` 0.65 on seed 0, still at 0 false alarms.

Describing a logo file (SIFT on the file and on its ``LOGO_VIEWS``) costs ~0.1 s,
so the descriptors are kept beside the reference index (``LOGO_KEYPOINTS_FILE``,
see ``LogoKeypointIndex.save``), keyed per logo file by its catalogue-relative path
and content digest, with the settings that produced them: a file made with other
settings is refused by ``load``. ``KeypointCache`` is that cache, for the logo files
and (``photo_reuse``) for the reference photos alike: it is *written* only when the
index is written (``index.onboarding.save_index``); scoring only reads it and
describes what it lacks in memory.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from counterfeit_vision._atomic import atomic_write
from counterfeit_vision.image.geometry import Features, KeypointVerifier, distinct_points, sane_quad
from counterfeit_vision.image.regions import Box

__all__ = ["APPROX_MIN_DESCRIPTORS", "CacheItem", "KEYPOINTS_FORMAT", "KeypointCache", "LOGO_KEYPOINTS_FILE",
           "LOGO_MAX_SIDE", "LOGO_MIN_COVER", "LOGO_MIN_INLIERS", "LOGO_MIN_SIDE", "LOGO_VIEWS", "LogoKeypointIndex",
           "LogoKeypointMatch", "LogoKeypointsFileError",
           "file_key", "logo_feature_settings", "read_saved", "root_sift"]

log = logging.getLogger(__name__)

# below this many descriptors the search is exact (a few ms per photo); above, IVF
APPROX_MIN_DESCRIPTORS = 50_000
# inliers for a verified logo: on FlickrLogos-27 photos without a catalogue logo, 6 is
# reached by <= 0.7% of photos (seeds 0, 1), while 0.55-0.59 of the photos with one reach it
LOGO_MIN_INLIERS = 6
LOGO_MIN_COVER = 0.2   # the inliers' bounding box must span this share of the logo file (see above)
# viewpoints simulated for each logo file (tilt, direction in degrees; ASIFT): logos on
# bottles, shirts and signs are slanted. On FlickrLogos-27 (seed 0) these eight views
# verify 0.654 of the photos with a catalogue logo instead of 0.590, at 0 false alarms;
# the four tilt-2 views alone reach 0.61.
LOGO_VIEWS: tuple[tuple[float, float], ...] = tuple((t, d) for t in (2 ** 0.5, 2.0) for d in (0, 45, 90, 135))
# logo files are described at this size (short side upsampled to at least, long side at most)
LOGO_MIN_SIDE, LOGO_MAX_SIDE = 160, 1024

# the saved keypoints, beside the reference index's manifest
LOGO_KEYPOINTS_FILE = "logo_keypoints.npz"
KEYPOINTS_FORMAT = 1
_ARRAYS = ("ref_ids", "brand_ids", "sizes", "keys", "offsets", "descriptors", "points", "empty_keys")


class LogoKeypointsFileError(RuntimeError):
    """A saved keypoint file is unreadable, inconsistent or made with other feature settings."""


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (resolved path, size, mtime) -> content digest, per process


def file_key(root: Path, path: str, box, *extra) -> str | None:
    """A described file's identity for reusing saved keypoints: its catalogue-relative
    ``path``, box, ``extra`` (e.g. the orientation), size and a digest of its bytes (so a
    replaced file is described again and a moved or copied catalogue keeps its cache);
    None when the file cannot be read."""
    try:
        file = (Path(root) / path).resolve()
        st = file.stat()
        stamp = (str(file), st.st_size, st.st_mtime_ns)
        if stamp not in _DIGESTS:
            _DIGESTS[stamp] = hashlib.sha1(file.read_bytes()).hexdigest()[:16]
    except (OSError, TypeError):
        return None
    return json.dumps([path, list(box) if box else None, *extra, st.st_size, _DIGESTS[stamp]])


def read_saved(file: Path | None, settings: dict, *, what: str = "logo keypoints",
               redo: str = "the logo files") -> "LogoKeypointIndex | None":
    """The keypoints saved in ``file`` if made with ``settings``; None (with a warning naming
    ``what`` and saying that ``redo`` will be described again) when absent, damaged or mismatched."""
    if file is None or not file.exists():
        return None
    try:
        return LogoKeypointIndex.load(file, expect=settings, what=what)
    except LogoKeypointsFileError as exc:
        log.warning("%s; describing %s again", exc, redo)
        return None


def logo_feature_settings(verifier: KeypointVerifier | None = None, *,
                          views: Sequence[tuple[float, float]] | None = None,
                          min_side: int = LOGO_MIN_SIDE, max_side: int = LOGO_MAX_SIDE) -> dict:
    """Everything that changes a logo file's descriptors; saved keypoints are used only when
    these are equal (``views`` defaults to ``LOGO_VIEWS``)."""
    import cv2

    verifier = verifier if verifier is not None else KeypointVerifier()
    views = LOGO_VIEWS if views is None else views
    return {"descriptor": "sift-uint8", "views": [[float(t), float(d)] for t, d in views],
            "min_side": int(min_side), "max_side": int(max_side), "max_features": int(verifier.max_features),
            "contrast_threshold": float(verifier.contrast_threshold), "opencv": cv2.__version__}


@dataclass(frozen=True)
class LogoKeypointMatch:
    """A brand's logo file located in a photo by a verified homography."""

    brand_id: str
    ref_id: int          # index entry of the logo file
    inliers: int
    box: Box             # the logo's projected outline, bounding box in photo pixels
    quad: np.ndarray     # (4, 2) projected corners
    ref_cover: float = 1.0  # share of the logo file's area the inliers' bounding box spans


class LogoKeypointIndex:
    """SIFT descriptors of logo references, searchable for a whole listing photo at once.

    Args:
        ratio: a correspondence must be closer than ``ratio`` x the distance to
            the nearest descriptor of another brand.
        k: neighbours fetched per photo descriptor.
        min_inliers: RANSAC inliers for a verified logo.
        ransac_px: RANSAC reprojection tolerance in photo pixels.
        nprobe: inverted lists probed when the index is approximate.
        compact: store the approximate index's vectors as 8-bit scalar-quantised codes
            (``IndexIVFScalarQuantizer``: 128 bytes per descriptor instead of 512), for large
            sets searched for proposals rather than verified matches.
    """

    def __init__(self, *, ratio: float = 0.85, k: int = 10, min_inliers: int = LOGO_MIN_INLIERS,
                 ransac_px: float = 5.0, nprobe: int = 16, compact: bool = False):
        self.ratio = ratio
        self.k = k
        self.min_inliers = min_inliers
        self.ransac_px = ransac_px
        self.nprobe = nprobe
        self.compact = compact
        self._refs: list[tuple[int, str, tuple[int, int]]] = []  # (ref_id, brand_id, logo size)
        self._desc: list[np.ndarray] = []
        self._pts: list[np.ndarray] = []
        self._keys: list[str] = []   # per logo file: its key ("" = not to be reused), see ``files``
        self._empty: list[str] = []  # keys of files described without any keypoint
        self.settings: dict | None = None  # ``logo_feature_settings`` of the descriptors, saved with them
        self._ivf: tuple[str, np.ndarray] | None = None  # (digest of the descriptors, trained IVF centroids)
        self._faiss = None
        self._released = False  # descriptors freed once the search was built (``release_descriptors``)

    def __len__(self) -> int:
        """Number of logo files described."""
        return len(self._refs)

    @property
    def n_descriptors(self) -> int:
        if self._released:
            return int(self._faiss.ntotal) if self._faiss is not None else 0
        return int(sum(len(d) for d in self._desc))

    def release_descriptors(self) -> None:
        """Build the search and free the uint8 descriptors and per-file points it no longer needs.

        A search-only index (the stolen-photo proposals, rebuilt from the saved file when the
        reference index changes) then holds each keypoint once, as its search code, instead of
        twice. ``save``, ``files`` and adding files refuse afterwards."""
        if self._refs:
            self.build_search()
        self._desc, self._pts, self._released = [], [], True

    def held_bytes(self) -> int:
        """Bytes of keypoint data held in memory: descriptors, points, owners and the search's
        codes and ids (what grows with the number of keypoints; Python objects not counted)."""
        arrays = [*self._desc, *self._pts] + [getattr(self, a) for a in ("_points", "_owner", "_brand_of")
                                              if getattr(self, a, None) is not None]
        held = sum(a.nbytes for a in arrays)
        index = self._faiss
        if index is not None:
            held += index.ntotal * (index.sa_code_size() + (8 if hasattr(index, "invlists") else 0))
        return int(held)

    def reuse_training_of(self, other: "LogoKeypointIndex | None") -> None:
        """Take ``other``'s trained IVF centroids; used only if the descriptors turn out identical."""
        self._ivf = other._ivf if other is not None else None

    def _refuse_if_released(self, what: str) -> None:
        if self._released:
            raise RuntimeError(f"cannot {what}: this keypoint index released its descriptors (search only)")

    def add(self, ref_id: int, brand_id: str, features: Features, *, key: str = "") -> None:
        """Describe one logo file (its keypoints in the logo's own pixels).

        ``key`` names the file's content (e.g. path, box, size and mtime) so that a
        saved index can hand the descriptors back for reuse (``files``)."""
        if len(features) == 0:
            if key:
                self._empty.append(key)
            return
        # OpenCV's SIFT descriptors are integers 0..255 stored as floats: uint8 loses nothing
        desc = np.asarray(features.descriptors, np.float32).round().clip(0, 255).astype(np.uint8)
        self._add_arrays(ref_id, brand_id, tuple(features.size), desc, features.points, key)

    def _add_arrays(self, ref_id: int, brand_id: str, size: tuple[int, int], desc: np.ndarray, pts: np.ndarray,
                    key: str = "") -> None:
        self._refuse_if_released("add a file")
        self._refs.append((int(ref_id), brand_id, (int(size[0]), int(size[1]))))
        self._desc.append(np.asarray(desc, np.uint8).reshape(-1, 128))
        self._pts.append(np.asarray(pts, np.float32).reshape(-1, 2))
        self._keys.append(key)
        self._faiss = None

    def files(self) -> dict[str, tuple[tuple[int, int], np.ndarray, np.ndarray] | None]:
        """Per keyed logo file: (logo size, uint8 descriptors, points), or None when the file
        has no keypoint. What ``add_file`` takes back, e.g. after ``load``."""
        self._refuse_if_released("hand back descriptors")
        out: dict[str, tuple[tuple[int, int], np.ndarray, np.ndarray] | None] = dict.fromkeys(self._empty)
        for key, (_, _, size), desc, pts in zip(self._keys, self._refs, self._desc, self._pts):
            if key:
                out[key] = (size, desc, pts)
        return out

    def add_file(self, ref_id: int, brand_id: str, key: str,
                 described: tuple[tuple[int, int], np.ndarray, np.ndarray] | None) -> None:
        """Add a logo file already described (a value of ``files``) under a (new) ref_id and brand."""
        if described is None:
            self._empty.append(key)
        else:
            self._add_arrays(ref_id, brand_id, *described, key=key)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write every logo file's descriptors, its key and the ``settings`` to one .npz, atomically."""
        self._refuse_if_released("save")
        path = Path(path)
        sizes = np.array([size for _, _, size in self._refs], np.int64).reshape(-1, 2)
        arrays = {
            "ref_ids": np.array([r for r, _, _ in self._refs], np.int64),
            "brand_ids": np.array([b for _, b, _ in self._refs], dtype=str),
            "sizes": sizes,
            "keys": np.array(self._keys, dtype=str),
            "offsets": np.concatenate([[0], np.cumsum([len(d) for d in self._desc], dtype=np.int64)]).astype(np.int64),
            "descriptors": np.vstack(self._desc) if self._desc else np.zeros((0, 128), np.uint8),
            "points": np.vstack(self._pts) if self._pts else np.zeros((0, 2), np.float32),
            "empty_keys": np.array(self._empty, dtype=str),
        }
        if self._ivf is not None:  # the trained approximate search, reused for the same descriptors
            arrays["ivf_centroids"] = self._ivf[1]
        meta = {"format_version": KEYPOINTS_FORMAT, "settings": self.settings,
                "ivf_digest": self._ivf[0] if self._ivf is not None else None,
                "search": {"ratio": self.ratio, "k": self.k, "min_inliers": self.min_inliers,
                           "ransac_px": self.ransac_px, "nprobe": self.nprobe,
                           "compact": self.compact}}
        with atomic_write(path, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, *, expect: dict | None = None, what: str = "logo keypoints") -> "LogoKeypointIndex":
        """Read a ``save``d index; with ``expect`` (``logo_feature_settings``), refuse one whose
        descriptors were made with other settings. Raises ``LogoKeypointsFileError`` for a file
        that is unreadable, inconsistent or mismatched (never returns partial data); ``what``
        names the file's content in its message."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"][()]))
                a = {name: z[name] for name in _ARRAYS}  # zip CRCs are checked as each array is read
                centroids = z["ivf_centroids"] if "ivf_centroids" in z.files else None
        except Exception as exc:  # noqa: BLE001 - any damage means "not usable"
            raise LogoKeypointsFileError(f"{what} {path} are unreadable ({type(exc).__name__}: {exc})") from exc
        if not isinstance(meta, dict) or meta.get("format_version") != KEYPOINTS_FORMAT:
            found = meta.get("format_version") if isinstance(meta, dict) else None
            raise LogoKeypointsFileError(f"{what} {path} have format {found}, this library reads {KEYPOINTS_FORMAT}")
        if expect is not None and meta.get("settings") != expect:
            raise LogoKeypointsFileError(f"{what} {path} were made with other settings "
                                         f"({meta.get('settings')}, expected {expect})")
        n, off, desc, pts = len(a["ref_ids"]), a["offsets"], a["descriptors"], a["points"]
        ok = (a["ref_ids"].ndim == 1 and a["brand_ids"].shape == (n,) and a["keys"].shape == (n,)
              and a["sizes"].shape == (n, 2) and off.shape == (n + 1,) and a["empty_keys"].ndim == 1
              and desc.dtype == np.uint8 and desc.ndim == 2 and desc.shape[1] == 128
              and pts.dtype == np.float32 and pts.shape == (len(desc), 2)
              and (n == 0 or (off[0] == 0 and off[-1] == len(desc) and bool(np.all(np.diff(off) > 0)))))
        if not ok or (n == 0 and len(desc)):
            raise LogoKeypointsFileError(f"{what} {path} are inconsistent (array shapes do not agree)")
        try:
            self = cls(**meta.get("search", {}))
        except TypeError as exc:
            raise LogoKeypointsFileError(f"{what} {path} have unknown search settings: {exc}") from exc
        self.settings = meta.get("settings")
        for i in range(n):
            lo, hi = int(off[i]), int(off[i + 1])
            self._add_arrays(int(a["ref_ids"][i]), str(a["brand_ids"][i]), tuple(int(v) for v in a["sizes"][i]),
                             desc[lo:hi], pts[lo:hi], str(a["keys"][i]))
        self._empty = [str(k) for k in a["empty_keys"]]
        if centroids is not None and isinstance(meta.get("ivf_digest"), str) and centroids.dtype == np.float32 \
                and centroids.ndim == 2:
            self._ivf = (meta["ivf_digest"], centroids)
        return self

    # ------------------------------------------------------------------ search
    def build_search(self):
        """Build (once) the FAISS search over the descriptors; a trained IVF is kept for ``save``."""
        if self._faiss is None:
            import faiss

            D = root_sift(np.vstack(self._desc))
            # int32: per descriptor, as the search's own codes are (millions of them at scale)
            self._owner = np.concatenate([np.full(len(d), i, np.int32) for i, d in enumerate(self._desc)])
            brands = sorted({b for _, b, _ in self._refs})
            code = np.array([{b: i for i, b in enumerate(brands)}[b] for _, b, _ in self._refs], np.int32)
            self._brand_of = code[self._owner]
            self._points = np.vstack(self._pts)
            if len(D) < APPROX_MIN_DESCRIPTORS:
                index = faiss.IndexFlatL2(D.shape[1])
            else:
                nlist = int(2 ** round(np.log2(np.sqrt(len(D)))))
                digest = _digest(self._desc)
                quantizer = faiss.IndexFlatL2(D.shape[1])
                reuse = self._ivf is not None and self._ivf[0] == digest and self._ivf[1].shape == (nlist, D.shape[1])
                if reuse:
                    quantizer.add(self._ivf[1])  # trained before on exactly these descriptors (k-means: seconds)
                if self.compact:  # with the centroids given, train() fits only the 8-bit code ranges
                    index = faiss.IndexIVFScalarQuantizer(quantizer, D.shape[1], nlist, faiss.ScalarQuantizer.QT_8bit)
                    index.train(D)
                else:
                    index = faiss.IndexIVFFlat(quantizer, D.shape[1], nlist)
                    if not reuse:
                        index.train(D)
                if not reuse:
                    self._ivf = (digest, faiss.rev_swig_ptr(quantizer.get_xb(), nlist * D.shape[1])
                                 .reshape(nlist, D.shape[1]).copy())
                index.nprobe = self.nprobe
            index.add(D)
            self._faiss = index
        return self._faiss

    def _correspondences(self, photo: Features) -> dict[int, list[tuple[int, int]]]:
        """Per logo file (position in ``_refs``): (photo keypoint, logo descriptor row) pairs."""
        index = self.build_search()
        k = min(self.k, index.ntotal)
        dist, nn = index.search(root_sift(photo.descriptors), k)
        out: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
        r2 = self.ratio ** 2  # FAISS returns squared L2 distances
        for q in range(len(nn)):
            row, d = nn[q], dist[q]
            valid = row >= 0
            if not valid[0]:
                continue
            brand = self._brand_of[row[0]]
            other = np.flatnonzero(valid & (self._brand_of[np.maximum(row, 0)] != brand))
            bound = r2 * d[other[0]] if len(other) else np.inf
            seen: set[int] = set()
            for j in range(k):
                if row[j] < 0 or self._brand_of[row[j]] != brand or d[j] >= bound:
                    break
                logo = int(self._owner[row[j]])
                if logo not in seen:  # one correspondence per (photo point, logo file)
                    seen.add(logo)
                    out[logo].append((q, int(row[j])))
        return out

    def votes(self, photo: Features) -> list[tuple[int, str, int]]:
        """(ref_id, brand_id, correspondences) per described file, most first: which files share
        many distinctive keypoints with ``photo``, before any geometry (a cheap proposal)."""
        if not self._refs or len(photo) < 1:
            return []
        out = [(self._refs[f][0], self._refs[f][1], len(pairs)) for f, pairs in self._correspondences(photo).items()]
        return sorted(out, key=lambda v: (-v[2], v[0]))

    def match(self, photo: Features) -> list[LogoKeypointMatch]:
        """The best verified logo file per brand found in ``photo``, most inliers first."""
        import cv2

        if not self._refs or len(photo) < 4:
            return []
        best: dict[str, LogoKeypointMatch] = {}
        for logo, pairs in self._correspondences(photo).items():
            if len(pairs) < max(5, self.min_inliers):
                continue
            ref_id, brand_id, (w, h) = self._refs[logo]
            src = self._points[[j for _, j in pairs]].reshape(-1, 1, 2)
            dst = photo.points[[q for q, _ in pairs]].reshape(-1, 1, 2)
            H, mask = cv2.findHomography(src, dst, cv2.RANSAC, self.ransac_px)
            if H is None or mask is None:
                continue
            inl = mask.ravel().astype(bool)
            inliers = min(len(distinct_points(dst.reshape(-1, 2)[inl])), len(distinct_points(src.reshape(-1, 2)[inl])))
            if inliers < self.min_inliers or (brand_id in best and best[brand_id].inliers >= inliers):
                continue
            corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32).reshape(-1, 1, 2)
            quad = cv2.perspectiveTransform(corners, H).reshape(4, 2)
            if not sane_quad(quad, (w, h), photo.size):
                continue
            pw, ph = photo.size
            x1, y1 = np.clip(quad.min(axis=0), 0, [pw, ph])
            x2, y2 = np.clip(quad.max(axis=0), 0, [pw, ph])
            src_in = src.reshape(-1, 2)[inl]
            span = src_in.max(axis=0) - src_in.min(axis=0)
            cover = float(span[0] * span[1] / max(1.0, float(w) * float(h)))
            if cover < LOGO_MIN_COVER:
                continue
            best[brand_id] = LogoKeypointMatch(brand_id, ref_id, inliers, (int(x1), int(y1), int(x2), int(y2)), quad,
                                               cover)
        return sorted(best.values(), key=lambda m: (-m.inliers, m.brand_id))

    @classmethod
    def from_features(cls, items: Sequence[tuple[int, str, Features]], **kwargs) -> "LogoKeypointIndex":
        self = cls(**kwargs)
        for ref_id, brand_id, feats in items:
            self.add(ref_id, brand_id, feats)
        return self


@dataclass(frozen=True)
class CacheItem:
    """One reference file to be in a ``KeypointCache``: searched as ``ref_key`` of ``brand_id``."""

    ref_key: int
    brand_id: str
    key: str | None                          # ``file_key`` (None: unreadable, never reused)
    describe: Callable[[], Features | None]  # its keypoints, when the cache lacks them


class KeypointCache:
    """The keypoints of a set of reference files, kept beside a saved index as ``file_name``.

    ``build`` reads the file from the index folder (when there is one), reuses the
    descriptors of every file whose key it holds and describes the others, in memory;
    ``save`` writes them. Scoring calls only ``build``; ``save`` is for the code that
    writes the index, so a scan never writes into an index folder.

    Args:
        file_name: the file's name in the index folder.
        settings: everything that changes the descriptors (``logo_feature_settings``);
            a file made with other settings is ignored with a warning.
        make: a new, empty ``LogoKeypointIndex`` with the search settings wanted.
        what, redo: name the content and the files in warnings.
    """

    def __init__(self, file_name: str, settings: dict, make: Callable[[], LogoKeypointIndex], *,
                 what: str = "logo keypoints", redo: str = "the logo files"):
        self.file_name, self.settings, self.make = file_name, settings, make
        self.what, self.redo = what, redo

    def path(self, folder: str | Path | None) -> Path | None:
        return Path(folder) / self.file_name if folder is not None else None

    def read(self, folder: str | Path | None) -> LogoKeypointIndex | None:
        return read_saved(self.path(folder), self.settings, what=self.what, redo=self.redo)

    def build(self, items: Iterable[CacheItem], folder: str | Path | None) -> tuple[LogoKeypointIndex, int]:
        """(the keypoint index of ``items``, how many files had to be described)."""
        saved = self.read(folder)
        known = saved.files() if saved is not None else {}
        kp = self.make()
        kp.settings = self.settings
        kp.reuse_training_of(saved)
        described = 0
        for item in items:
            if item.key is not None and item.key in known:
                kp.add_file(item.ref_key, item.brand_id, item.key, known[item.key])
                continue
            feats = item.describe()
            if feats is not None:
                kp.add(item.ref_key, item.brand_id, feats, key=item.key or "")
                described += 1
        return kp, described

    def save(self, kp: LogoKeypointIndex, folder: str | Path) -> Path:
        """Write ``kp`` (with its trained search, if approximate) into ``folder``, atomically."""
        if len(kp):
            kp.build_search()
        return kp.save(self.path(folder))


def root_sift(descriptors: np.ndarray) -> np.ndarray:
    """RootSIFT (Arandjelovic & Zisserman, 2012): L1-normalise, square-root. Euclidean distance
    between RootSIFT vectors is the Hellinger kernel between the SIFT histograms, which matches
    better: on FlickrLogos-27 it verifies 3-4 more photos in 100 at the same false alarms."""
    x = np.asarray(descriptors, np.float32)
    return np.sqrt(x / np.maximum(x.sum(axis=1, keepdims=True), 1e-6)) * 100.0  # x100: distances of SIFT's scale


def _digest(descriptors: Sequence[np.ndarray]) -> str:
    import hashlib

    h = hashlib.sha1()
    for d in descriptors:
        h.update(np.int64(len(d)).tobytes())
        h.update(np.ascontiguousarray(d).data)
    return h.hexdigest()

