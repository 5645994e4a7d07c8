"""Embedder and search speed, in one run.

1. Images/s of the offline embedder (EfficientNet-Lite0), decode included:
   - naive: one image at a time, full JPEG decode, fp32;
   - fast (``fast_path.embed_paths``): JPEG decoded at reduced size (Pillow
     ``draft``) in two threads overlapped with inference, batched, channels-last,
     bf16 when the CPU multiplies bf16 natively (else fp32);
   their ratio and the cosine agreement of the two embeddings of each image.
   Photos: FlickrLogos-27 images re-saved as 1600 px JPEGs (listing-photo size)
   in a temp folder, or synthetic JPEGs when the data is absent.
2. Search queries/s against ``--vectors`` (default 1,000,000) reference vectors
   of the embedder's dimension (clustered synthetic unit vectors), exact
   (``Flat``) and approximate (the index's ``approx_factory``), with the
   approximate index's recall@10 against exact search.

Usage::

    python benchmarks/bench_embed.py [--data DIR] [--images 48] [--vectors 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _photos(data: Path, n: int, out: Path) -> list[Path]:
    from PIL import Image

    folder = data / "flickr_logos_27_train" / "images"
    src = sorted(folder.glob("*.jpg"))[:n] if folder.is_dir() else []
    paths = []
    for i in range(n):
        if src:
            img = Image.open(src[i % len(src)]).convert("RGB")
        else:
            rng = np.random.default_rng(i)
            img = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).resize((400, 300))
        s = 1600 / max(img.size)
        img = img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.BICUBIC)
        p = out / f"photo_{i:03d}.jpg"
        img.save(p, quality=90)
        paths.append(p)
    return paths


def bench_embedder(paths: list[Path], batch_size: int, draft_size: int) -> None:
    import torch

    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.embedders._device import cpu_has_fast_bf16
    from counterfeit_vision.fast_path import embed_paths
    from counterfeit_vision.images import load_rgb

    naive = create_embedder("efficientnet_lite0", device="cpu", precision="fp32")
    fast = create_embedder("efficientnet_lite0", device="cpu", precision="auto")
    # warm-up both paths (first calls allocate and pick kernels)
    naive.embed_images([load_rgb(paths[0])], batch_size=1)

    t0 = time.perf_counter()
    xa = np.vstack([naive.embed_images([load_rgb(p)], batch_size=1) for p in paths])
    t_naive = time.perf_counter() - t0

    embed_paths(fast, paths[:batch_size], batch_size=batch_size, draft_size=draft_size)  # warm-up
    t0 = time.perf_counter()
    xb = embed_paths(fast, paths, batch_size=batch_size, draft_size=draft_size, workers=2)
    t_fast = time.perf_counter() - t0

    cos = (xa * xb).sum(axis=1)
    print(f"embedder efficientnet_lite0 on {len(paths)} JPEG photos of 1600 px, decode included "
          f"(torch threads {torch.get_num_threads()}, CPU native bf16: {cpu_has_fast_bf16()})")
    print(f"  naive  one-at-a-time fp32, full decode : {len(paths) / t_naive:7.1f} images/s")
    print(f"  fast   batch {batch_size} {str(fast.dtype).replace('torch.', '')} channels-last, draft decode to >= "
          f"{draft_size} px in 2 threads overlapped with inference: "
          f"{len(paths) / t_fast:7.1f} images/s")
    print(f"  speed-up: {t_naive / t_fast:.2f}x   cosine(naive, fast): min {cos.min():.4f}  mean {cos.mean():.4f}")


def _clustered(n: int, d: int, centres: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    x = centres[rng.integers(0, len(centres), n)] + spread * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bench_search(n: int, d: int, queries: int, nprobe: int) -> None:
    from counterfeit_vision.embedders.base import EmbedderInfo
    from counterfeit_vision.index import ReferenceEntry, ReferenceIndex, approx_factory

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((4096, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = 1.0 / np.sqrt(d)  # each vector ~ as far from its centre as the centre's norm: cos ~0.7
    info = EmbedderInfo(name="bench", dim=d, weights="synthetic", weights_digest="synthetic")
    entry = ReferenceEntry("bench", "logo", "synthetic")
    t0 = time.perf_counter()
    exact = ReferenceIndex(info, factory="Flat")
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        exact.add(_clustered(m, d, centres, rng, spread), [entry] * m)
    t_add = time.perf_counter() - t0
    xq = _clustered(queries, d, centres, rng, spread)

    exact.search(xq[:8], 10)
    t0 = time.perf_counter()
    _, I_exact = exact.search(xq, 10)
    qps_exact = queries / (time.perf_counter() - t0)

    factory = approx_factory(n)
    t0 = time.perf_counter()
    approx = ReferenceIndex(info, factory="auto", nprobe=nprobe)
    approx._index, approx.entries, approx._next_id = exact._index, exact.entries, exact._next_id
    exact = None  # the rebuild reuses the stored vectors; free the flat copy afterwards
    approx.rebuild(factory)
    t_build = time.perf_counter() - t0
    approx.search(xq[:8], 10)
    t0 = time.perf_counter()
    _, I_approx = approx.search(xq, 10)
    qps_approx = queries / (time.perf_counter() - t0)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(I_approx.tolist(), I_exact.tolist())])
    print(f"search: {n:,} reference vectors of dim {d} (clustered synthetic), {queries} queries, k=10, "
          f"batched")
    print(f"  exact  Flat                 : {qps_exact:9.1f} queries/s  (filled in {t_add:.0f}s)")
    print(f"  approx {factory:<20}: {qps_approx:9.1f} queries/s  nprobe {nprobe}, recall@10 {recall:.3f} "
          f"(built in {t_build:.0f}s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CV_SHARED_DATA", REPO.parent / "shared" / "data")))
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--draft-size", type=int, default=448, help="decode JPEGs at >= this short side")
    ap.add_argument("--vectors", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--nprobe", type=int, default=32)
    ap.add_argument("--skip-search", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="cv-bench-") as tmp:
        paths = _photos(args.data, args.images, Path(tmp))
        bench_embedder(paths, args.batch_size, args.draft_size)
    if not args.skip_search:
        from counterfeit_vision.embedders import create_embedder

        dim = create_embedder("efficientnet_lite0", device="cpu").dim
        bench_search(args.vectors, dim, args.queries, args.nprobe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
