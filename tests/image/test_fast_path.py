"""The throughput path: reduced-size JPEG decode rebuilt on the full decode's grid, mixed-precision model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from counterfeit_vision.embedders.base import ImageEmbedder
from counterfeit_vision.embedders.efficientnet import square_reduce_factor, square_tensor, square_tensor_scaled
from counterfeit_vision.embedders.fast_path import embed_paths, fast_model, fold_batchnorm, load_tensor
from counterfeit_vision.image.decode import ImageError, load_rgb, load_rgb_scaled

from .conftest import TinyEmbedder, make_logo, make_photo, paste


def _listing_photo(seed: int, size: tuple[int, int]) -> Image.Image:
    return paste(make_photo(seed, size), make_logo(seed, (size[0] // 3, size[1] // 3)),
                 (size[0] // 4, size[1] // 3))


def _block_replicated(rng, size: tuple[int, int], scale: int) -> tuple[Image.Image, Image.Image]:
    """A random 1/scale image and the full-size photo whose every scale x scale block repeats one of its pixels."""
    w, h = size
    small = Image.fromarray(rng.integers(0, 256, (-(-h // scale), -(-w // scale), 3), dtype=np.uint8))
    big = small.resize((small.width * scale, small.height * scale), Image.Resampling.NEAREST).crop((0, 0, w, h))
    return small, big


# ------------------------------------------------------------------------------------------ decoding


def test_load_rgb_scaled_jpeg_png_and_callable(tmp_path):
    jpg, png = tmp_path / "a.jpg", tmp_path / "a.png"
    _listing_photo(0, (1001, 667)).save(jpg, quality=90)
    _listing_photo(0, (1001, 667)).save(png)
    half = load_rgb_scaled(jpg, 2)
    assert half.size == (501, 334)  # ceil(w / 2) x ceil(h / 2)
    assert half.info["original_size"] == (1001, 667) and half.info["draft_scale"] == 2
    assert load_rgb_scaled(jpg, 3).info["draft_scale"] == 2  # the largest power of two <= 3
    assert load_rgb_scaled(jpg, 100).info["draft_scale"] == 8
    assert load_rgb_scaled(jpg, lambda size: 4 if size == (1001, 667) else 1).info["draft_scale"] == 4
    full = load_rgb_scaled(png, 4)  # not a JPEG: decoded fully, and says so
    assert full.size == (1001, 667) and full.info["draft_scale"] == 1
    assert load_rgb(jpg).info["draft_scale"] == 1
    assert load_rgb(jpg, draft_size=300).info["draft_scale"] == 2  # short side 667 // 300 = 2
    np.testing.assert_array_equal(np.asarray(load_rgb_scaled(jpg, 1)), np.asarray(load_rgb(jpg)))
    with pytest.raises(ImageError, match="not found"):
        load_rgb_scaled(tmp_path / "missing.jpg", 2)


@pytest.mark.parametrize("size, scale", [
    ((1600, 1062), 2), ((1062, 1600), 2),   # landscape / portrait listing photos (reduce 3)
    ((1601, 587), 2), ((587, 1601), 2),     # odd sizes: a decoded pixel hangs over the photo's edge
    ((1200, 1199), 2), ((900, 1350), 2),    # reduce 2; nearly square
    ((2000, 1333), 4), ((3001, 1999), 8),   # bigger photos, coarser decodes
    ((1600, 1600), 2), ((1600, 1062), 4),   # no padding; a decode coarser than the reduce
    ((14000, 1001), 8),                      # a panorama: reduce 31, much coarser than the decode
])
def test_scaled_preprocess_is_bit_exact_on_block_replicated_photos(size, scale):
    """Padding, reduce and its rounding reproduced exactly: any difference left comes from the decode."""
    small, big = _block_replicated(np.random.default_rng(sum(size) + scale), size, scale)
    a = square_tensor_scaled(small, size, scale, 224)
    b = square_tensor(big, 224)
    assert a.shape == b.shape == (3, 224, 224)
    assert torch.equal(a, b)


def test_scaled_preprocess_refuses_a_mismatched_image_and_falls_back(effnet):
    img = _listing_photo(1, (800, 600))
    with pytest.raises(ValueError, match="not a 1/2 decode"):
        square_tensor_scaled(img, (1600, 1000), 2, 224)
    # preprocess_scaled: a full decode, or an image resized since loading, is simply preprocessed
    assert torch.equal(effnet.preprocess_scaled(img), effnet.preprocess(img))
    img.info.update(original_size=(1600, 1000), draft_scale=2)
    assert torch.equal(effnet.preprocess_scaled(img), effnet.preprocess(img))


def test_decode_scale_follows_the_reduce_of_the_full_path(effnet, tiny_embedder):
    assert square_reduce_factor((1600, 1062), 224) == 3
    assert effnet.decode_scale((1600, 1062)) == 2      # 1/2 <= reduce 3
    assert effnet.decode_scale((1062, 1600)) == 2
    assert effnet.decode_scale((800, 600)) == 1        # no reduce: full decode
    assert effnet.decode_scale((1800, 1200)) == 4
    assert effnet.decode_scale((6000, 4000)) == 8
    assert tiny_embedder.decode_scale((4000, 3000)) == 1  # backends that cannot compensate decode fully


def test_scaled_decode_embeds_like_the_full_decode(effnet, tmp_path):
    fp32 = type(effnet)(device="cpu", precision="fp32")
    paths = []
    for i, size in enumerate(((1600, 1062), (1062, 1600), (1401, 933))):
        p = tmp_path / f"p{i}.jpg"
        _listing_photo(10 + i, size).save(p, quality=88)
        paths.append(p)
    ref = np.vstack([fp32.embed_images([load_rgb(p)], batch_size=1) for p in paths])
    scaled = np.vstack([fp32.embed_tensors(load_tensor(fp32, p, "scaled")[None]) for p in paths])
    plain = np.vstack([fp32.embed_tensors(load_tensor(fp32, p, 448)[None]) for p in paths])
    assert (ref * scaled).sum(1).min() > 0.995
    assert (ref * scaled).sum(1).mean() >= (ref * plain).sum(1).mean()


# --------------------------------------------------------------------------------------------- model


def test_fold_batchnorm_keeps_outputs():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8),
                              torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1), torch.nn.BatchNorm2d(4))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.01, 2)
            m.weight.data.uniform_(0.5, 2)
            m.bias.data.uniform_(-1, 1)
    net.eval()
    folded, n = fold_batchnorm(net)
    x = torch.randn(2, 3, 16, 16)
    assert n == 2
    torch.testing.assert_close(folded(x), net(x), atol=1e-4, rtol=1e-4)
    assert net[0].bias is None  # the original is untouched


def test_fast_model_precision_follows_the_embedder(effnet, tiny_embedder):
    tiny = fast_model(tiny_embedder)  # fp32 embedder: fp32 model, nothing kept aside, traced on CPU
    assert tiny.dtype is torch.float32 and tiny.fp32_modules == () and tiny.scripted
    x = torch.stack([tiny_embedder.preprocess(make_photo(i)) for i in range(3)])
    with torch.inference_mode():
        got = torch.nn.functional.normalize(tiny.forward(x).float(), dim=1).numpy()
    np.testing.assert_allclose(got, tiny_embedder.embed_tensors(x), atol=1e-4)
    assert fast_model(tiny_embedder) is tiny  # cached

    m = fast_model(effnet)
    assert m.dtype is effnet.dtype
    if effnet.dtype is not torch.float32:  # bf16 on CPUs with native bf16
        assert m.fp32_modules == ("conv_stem", "bn1", "blocks.0")
    assert m.bn_folded > 0 and m.channels_last
    assert m.agreement > 0.995


def test_embedders_with_their_own_forward_use_embed_tensors(tiny_embedder):
    class Wrapped(TinyEmbedder):
        def forward(self, batch):
            return self.model(batch) * 2.0

    emb = Wrapped()
    m = fast_model(emb)
    assert not m.scripted and m.bn_folded == 0
    x = torch.stack([emb.preprocess(make_photo(1))])
    np.testing.assert_allclose(m.forward(x).numpy(), emb.embed_tensors(x), atol=1e-6)


# ---------------------------------------------------------------------------------------- embed_paths


@pytest.mark.parametrize("workers, batch_size", [(0, 3), (1, 2), (2, 8)])
def test_embed_paths_full_decode_matches_embed_images(tiny_embedder, tmp_path, workers, batch_size):
    paths = []
    for i in range(5):
        p = tmp_path / f"{i}.jpg"
        _listing_photo(i, (300, 200)).save(p, quality=90)
        paths.append(p)
    threads = torch.get_num_threads()
    got = embed_paths(tiny_embedder, paths, decode="full", workers=workers, batch_size=batch_size, threads=1)
    assert torch.get_num_threads() == threads  # restored
    want = tiny_embedder.embed_images([load_rgb(p) for p in paths])
    assert got.dtype == np.float32 and got.shape == (5, tiny_embedder.dim)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert embed_paths(tiny_embedder, []).shape == (0, tiny_embedder.dim)


def test_embed_paths_errors(tiny_embedder, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageError):
        embed_paths(tiny_embedder, [bad])
    with pytest.raises(ValueError, match="batch_size"):
        embed_paths(tiny_embedder, [bad], batch_size=0)
    with pytest.raises(ValueError, match="decode"):
        load_tensor(tiny_embedder, bad, "fast")


def test_embed_paths_agrees_with_the_naive_loop(effnet, tmp_path):
    """The benchmark's agreement target (min cosine >= 0.99) on synthetic listing photos."""
    fp32 = type(effnet)(device="cpu", precision="fp32")
    paths = []
    for i in range(6):
        p = tmp_path / f"{i}.jpg"
        _listing_photo(20 + i, (1600, 1067) if i % 2 else (1067, 1600)).save(p, quality=90)
        paths.append(p)
    naive = np.vstack([fp32.embed_images([load_rgb(p)], batch_size=1) for p in paths])
    fast = embed_paths(effnet, paths, batch_size=4)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (naive * fast).sum(1).min() >= 0.99


def test_base_embedder_defaults(tiny_embedder):
    img = make_photo(3)
    assert isinstance(tiny_embedder, ImageEmbedder) and tiny_embedder.fp32_modules == ()
    assert torch.equal(tiny_embedder.preprocess_scaled(img), tiny_embedder.preprocess(img))


def test_fused_model_runs_unfused_under_another_thread_count(tiny_embedder):
    """oneDNN fuses for the build's thread count; another count must not run those kernels (7x slower)."""
    x = torch.stack([tiny_embedder.preprocess(make_photo(i)) for i in range(8)])
    want = tiny_embedder.embed_tensors(x)
    before, fusion_before = torch.get_num_threads(), torch.jit.onednn_fusion_enabled()
    try:
        torch.set_num_threads(1)
        m = fast_model(tiny_embedder, onednn_fusion=True)
        assert m.threads == 1
        torch.set_num_threads(2)
        with torch.inference_mode():
            got = torch.nn.functional.normalize(m.forward(x).float(), dim=1).numpy()
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert torch.jit.onednn_fusion_enabled() == fusion_before  # the global switch is left as it was


def test_streams_share_out_the_cores(monkeypatch):
    from counterfeit_vision.embedders import fast_path

    monkeypatch.setattr(fast_path.os, "cpu_count", lambda: 8)
    assert fast_path.threads_per_stream(8) == 1
    assert fast_path.threads_per_stream(2) == 4
    assert fast_path.threads_per_stream(0) == 8
    assert fast_path.threads_per_stream(16) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_embed_paths_on_cuda_agrees_with_the_naive_loop(tmp_path):
    from counterfeit_vision.embedders import create_embedder

    gpu = create_embedder("efficientnet_lite0", device="cuda", precision="auto")
    cpu = create_embedder("efficientnet_lite0", device="cpu", precision="fp32")
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.jpg"
        _listing_photo(40 + i, (1600, 1067)).save(p, quality=90)
        paths.append(p)
    m = fast_model(gpu)
    assert m.dtype is torch.float16 and not m.scripted
    naive = np.vstack([cpu.embed_images([load_rgb(p)], batch_size=1) for p in paths])
    assert (naive * embed_paths(gpu, paths, batch_size=2)).sum(1).min() >= 0.99
