"""Device and precision selection on a CPU-only machine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from counterfeit_vision.embedders import create_embedder
from counterfeit_vision.embedders._device import resolve_device, resolve_dtype
from counterfeit_vision.errors import ConfigError


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_fp16_on_cpu_refused():
    with pytest.raises(ValueError, match="fp16"):
        resolve_dtype("fp16", torch.device("cpu"))


def test_bf16_output_is_float32_normalised_and_agrees_with_fp32():
    imgs = [Image.fromarray(np.random.default_rng(i).integers(0, 255, (96, 128, 3), dtype=np.uint8))
            for i in range(3)]
    bf = create_embedder("efficientnet_lite0", device="cpu", precision="bf16")
    fp = create_embedder("efficientnet_lite0", device="cpu", precision="fp32")
    a, b = bf.embed_images(imgs), fp.embed_images(imgs)
    assert a.dtype == np.float32 and a.shape == (3, 1280)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.98
