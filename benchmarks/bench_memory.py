"""Peak memory of one batch of huge listing photos: is the per-photo pixel budget holding?

    python benchmarks/bench_memory.py [--listings 16] [--photos 20] [--megapixels 40] [--ocr]

Writes one PNG of ``--megapixels`` (PNG: no draft decode, the worst case) and scores one batch
of ``--listings`` listings that each show it ``--photos`` times (every photo is decoded on its
own), with the sample catalogue and its index. Prints the process's peak resident memory
(``ru_maxrss``) after the models are loaded and after the batch, and the decoded size of one
photo under ``DetectorConfig.image_max_side``. OCR is off unless ``--ocr`` (it adds time, not
photo memory: it reads the same bounded photos).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listings", type=int, default=16)
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--megapixels", type=float, default=40)
    ap.add_argument("--ocr", action="store_true")
    args = ap.parse_args(argv)

    from counterfeit_vision.detector import Detector, DetectorConfig
    from counterfeit_vision.image.decode import load_rgb

    config = DetectorConfig(device="cpu", use_ocr=args.ocr)
    with tempfile.TemporaryDirectory(prefix="cv-bench-mem-") as tmp:
        w = int((args.megapixels * 1e6 * 1.5) ** 0.5)
        h = int(args.megapixels * 1e6 / w)
        # a gradient (small file, 120 MB decoded), made in uint8 so the generator adds no peak of its own
        pixels = np.empty((h, w, 3), np.uint8)
        pixels[..., 0] = (np.arange(w) * 255 // w).astype(np.uint8)[None, :]
        pixels[..., 1] = (np.arange(h) * 255 // h).astype(np.uint8)[:, None]
        pixels[..., 2] = 128
        photo = Path(tmp) / "huge.png"
        Image.fromarray(pixels).save(photo, compress_level=1)
        del pixels
        detector = Detector.from_catalog(REPO / "brand_catalog", index_dir=Path(tmp) / "index", config=config)
        # the worst case: every photo decoded and looked at on its own (the memo would look at this
        # one file once, since every photo of the batch is the same bytes)
        detector.photo_memo_size = 0
        one = load_rgb(photo, draft_size=config.image_draft_size, max_side=config.image_max_side)
        loaded = peak_mb()
        listings = [{"id": f"l{i}", "title": "tote bag", "images": [str(photo)] * args.photos}
                    for i in range(args.listings)]
        t0 = time.perf_counter()
        results = detector.score_batch(listings, batch_size=args.listings)
        took = time.perf_counter() - t0
    after = peak_mb()
    print(f"batch: {args.listings} listings x {args.photos} photos of {w}x{h} = {w * h / 1e6:.1f} MP (PNG), "
          f"OCR {'on' if args.ocr else 'off'}; scored in {took:.0f} s; {len(results)} results")
    print(f"one photo decoded under image_max_side={config.image_max_side}: {one.size[0]}x{one.size[1]} "
          f"({one.size[0] * one.size[1] * 3 / 1e6:.1f} MB)")
    print(f"peak RSS: {loaded:.0f} MB with the models loaded, {after:.0f} MB after the batch "
          f"(the batch added {after - loaded:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
