"""Throughput path for embedding many image files: reduced-size decode, batched mixed-precision inference.

``embed_paths(embedder, paths)`` gives (nearly) the vectors that
``embedder.embed_images([load_rgb(p)])`` gives, several times faster on CPU:

- **decode**: JPEGs are decoded at 1/2 (1/4, 1/8 for bigger photos) by libjpeg's
  DCT scaling (``images.load_rgb_scaled``, the reduction the embedder allows:
  ``ImageEmbedder.decode_scale``), and the embedder's ``preprocess_scaled``
  rebuilds the full-decode input tensor from it on the same pixel grid with
  the same rounding (EfficientNet: cosine ~0.9994 to the full decode, where a
  plain pad-and-resize of the small decode gave ~0.994);
- **streams**: on CPU, one thread per core each decodes a batch and runs it
  through the model with one intra-op thread (Pillow, libjpeg and the
  TorchScript kernels release the GIL): no OpenMP barriers between cores,
  and decoding never waits for inference or the reverse;
- **model** (:func:`fast_model`): a copy of the network with BatchNorm folded
  into the convolutions, channels-last, in bf16 (CPUs with native bf16) or fp16
  (CUDA) except ``embedder.fp32_modules`` (the early layers whose rounding would
  dominate the error), and on CPU traced and frozen with TorchScript (fuses
  conv + activation, pre-packs weights) with oneDNN graph fusion. Each step is
  checked against the plain model once and dropped if it does not agree; the
  embedder's own ``embed_images``/``embed_tensors`` are untouched.

``prepare_for_cpu(embedder)`` (channels-last weights, used by the matcher) is
unchanged: embeddings equal up to float rounding.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from counterfeit_vision.embedders.base import ImageEmbedder, l2_normalize
from counterfeit_vision.image.decode import load_rgb, load_rgb_scaled

__all__ = ["FastModel", "embed_paths", "embed_pil", "fast_model", "fold_batchnorm", "load_tensor", "prepare_for_cpu",
           "threads_per_stream"]

log = logging.getLogger(__name__)

# checks on a photo-like batch: folding BatchNorm must not change fp32 outputs beyond float rounding;
# the traced model must agree with the eager one it traces (fused kernels round a little differently)
_EXACT = 0.9999
_AGREEMENT = 0.999


def prepare_for_cpu(embedder) -> None:
    """Channels-last layout for convolutional models on CPU (idempotent; no-op on GPU or for ViTs)."""
    if embedder.device.type != "cpu" or embedder.channels_last:
        return
    if _is_convnet(embedder.model):
        embedder.model = embedder.model.to(memory_format=torch.channels_last)
    embedder.channels_last = True


def _is_convnet(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.Conv2d) and m.kernel_size != m.stride for m in model.modules())


# ---------------------------------------------------------------------------------------------- model


def fold_batchnorm(model: torch.nn.Module) -> tuple[torch.nn.Module, int]:
    """A copy of ``model`` with each eval-mode BatchNorm that directly follows a convolution (consecutive
    children of one module, as in timm's blocks) folded into that convolution's weights and bias; the
    BatchNorm becomes an identity (its activation, e.g. timm's ``BatchNormAct2d``, stays). Returns the
    copy and the number folded. Registration order is taken as execution order: callers check the output."""
    model = copy.deepcopy(model).eval()
    folded = 0
    for parent in model.modules():
        children = list(parent.children())
        for conv, bn in zip(children, children[1:]):
            if not (isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d)
                    and bn.track_running_stats and bn.running_var is not None
                    and bn.num_features == conv.out_channels):
                continue
            with torch.no_grad():
                scale = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) \
                    / torch.sqrt(bn.running_var + bn.eps)
                shift = (bn.bias if bn.affine else torch.zeros_like(bn.running_mean)) - bn.running_mean * scale
                if conv.bias is not None:
                    shift = shift + conv.bias * scale
                conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
                conv.bias = torch.nn.Parameter(shift)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)  # var + eps == 1 exactly: BN is now the identity
                if bn.affine:
                    bn.weight.fill_(1.0)
                    bn.bias.zero_()
            folded += 1
    return model, folded


class _Float32(torch.nn.Module):
    """Runs its module in float32 with autocast off (inside a bf16/fp16 autocast region)."""

    def __init__(self, module: torch.nn.Module, device_type: str):
        super().__init__()
        self.module, self.device_type = module, device_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, enabled=False):
            return self.module(x.float())


class _Autocast(torch.nn.Module):
    """The network under autocast to ``dtype`` (convolutions and matmuls), float32 features out."""

    def __init__(self, module: torch.nn.Module, device_type: str, dtype: torch.dtype):
        super().__init__()
        self.module, self.device_type, self.dtype = module, device_type, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dtype is torch.float32:
            return self.module(x).float()
        with torch.autocast(self.device_type, dtype=self.dtype):
            return self.module(x).float()


class _OnednnFusion:
    """The JIT's oneDNN graph fusion switch (process-wide), on while any fused model runs in any thread
    and back to its previous state after the last one."""

    _lock = threading.Lock()
    _users = 0
    _previous = False

    def __enter__(self):
        with self._lock:
            if _OnednnFusion._users == 0:
                _OnednnFusion._previous = torch.jit.onednn_fusion_enabled()
                torch.jit.enable_onednn_fusion(True)
            _OnednnFusion._users += 1

    def __exit__(self, *exc):
        with self._lock:
            _OnednnFusion._users -= 1
            if _OnednnFusion._users == 0:
                torch.jit.enable_onednn_fusion(_OnednnFusion._previous)


class _Scripted:
    """A frozen TorchScript model, optionally run with oneDNN graph fusion.

    Fusion is switched on only around this model's calls (the JIT optimises
    a graph for each new input shape on its first calls). oneDNN compiles the
    fused kernels for the intra-op thread count of that moment, and running
    them with another count is several times slower (measured: 7x going from
    2 to 1 thread), so calls under a different count go to ``fallback()``
    (the graph traced again without fusion, on first need).
    """

    def __init__(self, module: torch.jit.ScriptModule, onednn_fusion: bool, fallback: Callable[[], Callable]):
        self.module, self.onednn_fusion = module, onednn_fusion
        self.threads = torch.get_num_threads()
        self._make_fallback, self._fallback = fallback, None
        self._lock = threading.Lock()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.onednn_fusion:
            return self.module(x)
        if torch.get_num_threads() != self.threads:
            with self._lock:
                if self._fallback is None:
                    log.info("fast_model: fused for %d threads, running with %d: using the unfused graph",
                             self.threads, torch.get_num_threads())
                    self._fallback = self._make_fallback()
            return self._fallback(x)
        with _OnednnFusion():
            return self.module(x)


@dataclass
class FastModel:
    """A (B, 3, H, W) batch -> (B, D) float32 features callable and how it was built."""

    forward: Callable[[torch.Tensor], torch.Tensor]
    dtype: torch.dtype
    fp32_modules: tuple[str, ...]
    bn_folded: int
    scripted: bool
    channels_last: bool
    agreement: float = 1.0  # min cosine to the unmodified fp32 network on the check batch
    batch_size: int = 4  # the batch shape it was traced and checked with (embed_paths pads to it)
    onednn_fusion: bool = False
    threads: int = 1  # torch intra-op threads it was built (and fused) for

    def describe(self) -> str:
        parts = [str(self.dtype).replace("torch.", "")]
        if self.fp32_modules and self.dtype is not torch.float32:
            parts[0] += f" (fp32: {', '.join(self.fp32_modules)})"
        if self.bn_folded:
            parts.append(f"{self.bn_folded} BatchNorms folded")
        if self.channels_last:
            parts.append("channels-last")
        if self.scripted:
            parts.append("TorchScript frozen" + (" + oneDNN fusion" if self.onednn_fusion else ""))
        return ", ".join(parts)


def _photo_like_batch(n: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """Smooth random images with edges, normalised like the embedders' inputs ([-1, 1]): a check input
    that exercises a network the way photos do (white noise does not)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 7, 7, generator=g)
    x = torch.nn.functional.interpolate(low, size=(height, width), mode="bicubic", align_corners=False)
    x = x + 0.25 * (torch.rand(n, 1, height, width, generator=g) > 0.97).float()  # some sharp specks
    return (x.clamp(0, 1) - 0.5) / 0.5


def _min_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    a = torch.nn.functional.normalize(a.float(), dim=1)
    b = torch.nn.functional.normalize(b.float(), dim=1)
    return float((a * b).sum(1).min())


@contextmanager
def _quiet_jit():
    """TorchScript tracing under autocast, casts recorded in the graph (the JIT's own autocast pass off)."""
    previous = torch._C._jit_set_autocast_mode(False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript deprecation and tracer warnings
            yield
    finally:
        torch._C._jit_set_autocast_mode(previous)


def fast_model(embedder: ImageEmbedder, *, batch_size: int = 4, script: bool | None = None, fold: bool = True,
               keep_fp32: bool = True, onednn_fusion: bool | None = None) -> FastModel:
    """The fastest agreeing inference model for ``embedder`` (built once per setting, cached on it).

    Precision is the embedder's (``embedder.dtype``: bf16 on CPUs with native
    bf16, fp16 on CUDA, else fp32), except ``embedder.fp32_modules`` kept in
    fp32 (``keep_fp32``). Each further step is checked on a photo-like batch
    and dropped with a log message if it fails or disagrees: BatchNorm folding
    (``fold``; fp32 outputs must not change), TorchScript trace + freeze
    (``script``, default on CPU) and oneDNN graph fusion of the traced graph
    (``onednn_fusion``, default with scripting in bf16; ~10% here), both
    checked against the eager model they trace. The graph is traced and
    checked at ``batch_size`` and fused for the current torch thread count
    (build it under the count it will run with; it falls back to the unfused
    graph otherwise). Embedders that override ``forward`` (e.g. CLIP's
    ``encode_image``) get their own ``embed_tensors``.
    """
    threads = torch.get_num_threads()
    key = (embedder.dtype, str(embedder.device), batch_size, script, fold, keep_fp32, onednn_fusion, threads)
    cached = embedder.fast_models
    if key in cached:
        return cached[key]
    device, dtype = embedder.device, embedder.dtype

    if type(embedder).forward is not ImageEmbedder.forward:
        def plain(batch: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(embedder.embed_tensors(batch))

        built = FastModel(plain, dtype, (), 0, False, False, batch_size=batch_size, threads=threads)
        embedder.fast_models = {**cached, key: built}
        return built
    script = device.type == "cpu" if script is None else script
    if onednn_fusion is None:
        onednn_fusion = script and device.type == "cpu" and dtype is torch.bfloat16
    _, height, width = embedder.preprocess(Image.new("RGB", (64, 48), (128, 128, 128))).shape
    channels_last = _is_convnet(embedder.model)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    example = _photo_like_batch(batch_size, height, width).to(device).contiguous(memory_format=fmt)
    keep = tuple(embedder.fp32_modules) if keep_fp32 and dtype is not torch.float32 else ()

    with torch.inference_mode():
        reference = embedder.model(example).float()  # the unmodified network (kept in fp32)
        model, folded = fold_batchnorm(embedder.model) if fold else (copy.deepcopy(embedder.model).eval(), 0)
        if folded and _min_cosine(model(example), reference) < _EXACT:
            log.warning("fast_model: folding BatchNorm changes %s's output; not folding", embedder.info.name)
            model, folded = copy.deepcopy(embedder.model).eval(), 0
        for name in keep:
            model.set_submodule(name, _Float32(model.get_submodule(name), device.type))
        model = _Autocast(model.to(device=device, memory_format=fmt), device.type, dtype).eval()
        forward: Callable[[torch.Tensor], torch.Tensor] = model
        scripted = fused = False
        if script:
            eager = model(example)

            def trace() -> torch.jit.ScriptModule:
                with _quiet_jit():
                    return torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))

            def unfused() -> Callable:
                try:
                    return trace()
                except Exception:  # noqa: BLE001 - the eager model always works
                    return model

            for fusion in ((True, False) if onednn_fusion else (False,)):
                try:
                    candidate = _Scripted(trace(), fusion, unfused)
                    with _quiet_jit():
                        for _ in range(3):  # the profiling executor optimises on the first calls
                            out = candidate(example)
                except Exception as exc:  # tracing is best effort: any failure falls back
                    log.warning("fast_model: TorchScript%s failed (%s)", " with oneDNN fusion" * fusion, exc)
                    continue
                if _min_cosine(out, eager) >= _AGREEMENT:
                    forward, scripted, fused = candidate, True, fusion
                    break
                log.warning("fast_model: TorchScript%s disagrees with eager", " with oneDNN fusion" * fusion)
        agreement = _min_cosine(forward(example), reference)
    built = FastModel(forward, dtype, keep, folded, scripted, channels_last, agreement, batch_size, fused, threads)
    log.info("fast_model for %s: %s", embedder.info.name, built.describe())
    embedder.fast_models = {**cached, key: built}
    return built


# --------------------------------------------------------------------------------------------- images


def load_tensor(embedder: ImageEmbedder, path: str | Path, decode: str | int = "scaled") -> torch.Tensor:
    """One image file to the embedder's input tensor.

    ``decode``: ``"scaled"`` (JPEG decoded at the reduction the embedder allows,
    ``embedder.decode_scale``, and rebuilt by ``preprocess_scaled``), ``"full"``
    (``load_rgb`` + ``preprocess``, exactly ``embed_images``' input), or an int:
    plain Pillow draft to at least that short side + ``preprocess``
    (approximate; for comparison).
    """
    if decode == "scaled":
        return embedder.preprocess_scaled(load_rgb_scaled(path, embedder.decode_scale))
    if decode == "full":
        return embedder.preprocess(load_rgb(path))
    if isinstance(decode, int):
        return embedder.preprocess(load_rgb(path, draft_size=decode))
    raise ValueError(f"decode must be 'scaled', 'full' or a draft size, got {decode!r}")


def threads_per_stream(streams: int) -> int:
    """Torch intra-op threads for each of ``streams`` concurrent batch streams: the cores shared out (>= 1).
    Oversubscribing cores stalls OpenMP's barriers, which costs far more than the extra thread earns."""
    return max(1, (os.cpu_count() or 1) // max(1, streams))


@contextmanager
def _torch_threads(n: int | None):
    if not n or n == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def embed_paths(embedder: ImageEmbedder, paths: Sequence[str | Path], *, batch_size: int = 4,
                decode: str | int = "scaled", workers: int | str = "auto", threads: int | str | None = "auto",
                model: FastModel | None = None) -> np.ndarray:
    """Embed image files; returns (N, D) float32, rows L2-normalised, in ``paths`` order.

    Args:
        batch_size: images per forward pass. Small batches keep activations in
            cache on CPU: per image, 4 and 8 beat 1, 16 and 32 in one stream,
            and with two streams sharing the L3 cache 4 costs ~9% less CPU
            than 8 here. A last, smaller batch is padded to it for a
            TorchScript model (its graph is traced and checked for that shape).
        decode: see :func:`load_tensor`.
        workers: concurrent streams, each decoding a batch and running it
            through the model (0: one stream in the calling thread).
            ``"auto"``: one per core on CPU; 4 on GPU (decoding is then the work).
        threads: torch intra-op threads during the call (restored after);
            ``"auto"``: :func:`threads_per_stream` on CPU, unchanged on GPU;
            ``None``: unchanged.
        model: a :func:`fast_model` (default: built for the embedder at
            ``batch_size`` under these threads, and cached).

    Raises:
        ImageError: an unreadable image (the whole call fails, as with ``load_rgb``).
    """
    return _embed_streams(embedder, len(paths), lambda i: load_tensor(embedder, paths[i], decode),
                          batch_size=batch_size, workers=workers, threads=threads, model=model)


def embed_pil(embedder: ImageEmbedder, images: Sequence[Image.Image], *, batch_size: int = 4,
              workers: int | str = "auto", threads: int | str | None = "auto",
              model: FastModel | None = None) -> np.ndarray:
    """``embedder.embed_images(images)`` through the :func:`fast_model` in concurrent streams (see
    :func:`embed_paths` for the arguments): what onboarding uses to embed a brand's logo views and
    photos. Vectors agree with ``embed_images``' to the fast model's checked agreement (cosine >= 0.999)."""
    return _embed_streams(embedder, len(images), lambda i: embedder.preprocess(images[i]),
                          batch_size=batch_size, workers=workers, threads=threads, model=model)


def _embed_streams(embedder: ImageEmbedder, n_items: int, load: Callable[[int], torch.Tensor], *, batch_size: int,
                   workers: int | str, threads: int | str | None, model: FastModel | None) -> np.ndarray:
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    cuda = embedder.device.type == "cuda"
    if workers == "auto":
        workers = 4 if cuda else (os.cpu_count() or 1)
    if threads == "auto":
        threads = None if cuda else threads_per_stream(workers)
    out = np.zeros((n_items, embedder.dim), np.float32)
    starts = range(0, n_items, batch_size)
    if not n_items:
        return out

    with _torch_threads(threads):
        model = model or fast_model(embedder, batch_size=batch_size)
        fmt = torch.channels_last if model.channels_last else torch.contiguous_format

        def run(start: int) -> None:
            tensors = [load(i) for i in range(start, min(n_items, start + batch_size))]
            n = len(tensors)
            if model.scripted and n < model.batch_size:
                tensors = tensors + [tensors[-1]] * (model.batch_size - n)
            # (B, H, W, C) memory seen as (B, C, H, W): channels-last without another copy when the
            # preprocessed tensors are channel-last views already (``square_tensor``'s are)
            x = torch.stack([t.permute(1, 2, 0) for t in tensors]).permute(0, 3, 1, 2)
            if cuda:  # page-locked host memory: the copy overlaps with other streams' kernels
                x = x.pin_memory().to(embedder.device, non_blocking=True)
            x = x.contiguous(memory_format=fmt)
            with torch.inference_mode():
                feats = model.forward(x)[:n]
            out[start:start + n] = l2_normalize(feats.float().cpu().numpy())

        if workers < 2:
            for start in starts:
                run(start)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(run, start) for start in starts]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    return out
