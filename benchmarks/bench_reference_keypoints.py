"""Cost of the stolen-photo keypoint proposals' index, built from scratch vs loaded from disk.

``photo_reuse.PhotoReuseMatcher`` proposes reference photos by the SIFT keypoints they
share with a listing photo. That index holds every reference photo's descriptors, as is
and mirrored; it is saved beside the reference index (``reference_keypoints.npz``) and
reused by the next process. This prints, in one run: the time to describe the
references and build the index, the time to load it in a fresh matcher instead, their
ratio, the file size per reference photo, and the memory the index holds per keypoint
(search-only, as the matcher keeps it, against the same index still holding its uint8
descriptors), on ``--refs`` photos of FlickrLogos-27 (``--data``, skipped when absent).

Usage::

    python benchmarks/bench_reference_keypoints.py [--refs 200] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("CV_SHARED_DATA", REPO.parent / "shared" / "data")))
    ap.add_argument("--refs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    folder = args.data / "flickr_logos_27_train" / "images"
    if not folder.is_dir():
        print(f"skip: FlickrLogos-27 not found at {folder} (pass --data DIR or set CV_SHARED_DATA)")
        return 0
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    from counterfeit_vision.catalog import Brand, Catalog
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.image.keypoint_index import LogoKeypointIndex
    from counterfeit_vision.image.photo_reuse import REFERENCE_KEYPOINTS_FILE, PhotoReuseMatcher
    from counterfeit_vision.index.onboarding import build_index
    from counterfeit_vision.index.reference import ReferenceIndex

    photos = sorted(folder.glob("*.jpg"))[:args.refs]
    catalog = Catalog.from_brands([Brand(id="brand", name="Brand", root=folder, references=tuple(photos))],
                                  root=folder.parent)
    embedder = create_embedder("efficientnet_lite0", device="cpu")
    with tempfile.TemporaryDirectory(prefix="cv-bench-refkp-") as tmp:
        index = build_index(catalog, embedder, adapt=False)
        index.save(tmp)
        t0 = time.perf_counter()
        matcher = PhotoReuseMatcher(index, reference_root=catalog.root)
        matcher.prepare_cache(tmp)  # what save_index does: describe every photo, write the cache
        built = matcher.vote_index()
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = PhotoReuseMatcher(ReferenceIndex.load(tmp), reference_root=catalog.root).vote_index()
        loaded.build_search()  # searchable, as the built one is after its save
        t_load = time.perf_counter() - t0
        size = (Path(tmp) / REFERENCE_KEYPOINTS_FILE).stat().st_size
        # the same index before release_descriptors(): descriptors beside the search
        full = LogoKeypointIndex.load(Path(tmp) / REFERENCE_KEYPOINTS_FILE)
        full.build_search()
    same = len(built) == len(loaded) == len(full) and built.n_descriptors == loaded.n_descriptors == full.n_descriptors
    print(f"{len(photos)} reference photos (as is + mirrored), {built.n_descriptors} descriptors; same content: {same}")
    print(f"describe + build + save: {t_build:.2f} s ({1000 * t_build / len(photos):.1f} ms per photo)")
    print(f"load in a new matcher:   {t_load:.2f} s ({1000 * t_load / len(photos):.1f} ms per photo)")
    print(f"ratio build / load: {t_build / max(t_load, 1e-9):.1f}x")
    print(f"{REFERENCE_KEYPOINTS_FILE}: {size / 1e6:.1f} MB ({size / len(photos) / 1e3:.0f} kB per reference photo)")
    n = built.n_descriptors
    print(f"held in memory per keypoint: search only {built.held_bytes() / n:.0f} B (as the matcher keeps it), "
          f"with the uint8 descriptors {full.held_bytes() / n:.0f} B; "
          f"ratio {full.held_bytes() / built.held_bytes():.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
