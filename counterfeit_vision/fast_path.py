"""CPU throughput helpers for the embedder: channels-last weights, decode overlapped with inference.

``prepare_for_cpu(embedder)`` switches a convolutional model to channels-last
memory layout (oneDNN's fast layout for bf16 convolutions on CPU; ~1.4x on
EfficientNet-Lite0 here); embeddings are unchanged up to float rounding.
``embed_paths`` decodes JPEGs at reduced size (Pillow ``draft``) in worker threads
while the previous batch runs through the model (Pillow releases the GIL while
decoding), so decoding hides behind inference.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from counterfeit_vision.images import load_rgb

__all__ = ["embed_paths", "prepare_for_cpu"]


def prepare_for_cpu(embedder) -> None:
    """Channels-last layout for convolutional models on CPU (idempotent; no-op on GPU or for ViTs)."""
    if embedder.device.type != "cpu" or getattr(embedder, "_channels_last", False):
        return
    if any(isinstance(m, torch.nn.Conv2d) and m.kernel_size != m.stride for m in embedder.model.modules()):
        embedder.model = embedder.model.to(memory_format=torch.channels_last)
    embedder._channels_last = True


def embed_paths(embedder, paths: Sequence[str | Path], *, batch_size: int = 16, draft_size: int | None = 320,
                workers: int = 2) -> np.ndarray:
    """Embed image files: reduced-size decode + preprocessing in threads, overlapped with batched inference."""
    prepare_for_cpu(embedder)

    def load(p):
        return embedder.preprocess(load_rgb(p, draft_size=draft_size))

    out = np.zeros((len(paths), embedder.dim), np.float32)
    batches = [list(paths[s:s + batch_size]) for s in range(0, len(paths), batch_size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = [pool.submit(load, p) for p in batches[0]] if batches else []
        for b, batch in enumerate(batches):
            tensors = [f.result() for f in pending]
            pending = [pool.submit(load, p) for p in batches[b + 1]] if b + 1 < len(batches) else []
            x = torch.stack(tensors).contiguous(memory_format=torch.channels_last)
            out[b * batch_size:b * batch_size + len(batch)] = embedder.embed_tensors(x)
    return out
