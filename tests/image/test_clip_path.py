"""The CLIP path through OpenClipEmbedder(pretrained=<local file>) with a tiny random model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

open_clip = pytest.importorskip("open_clip")

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 1000, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from counterfeit_vision.embedders.clip import OpenClipEmbedder

    open_clip.add_model_config  # noqa: B018 (API present)
    open_clip.factory._MODEL_CONFIGS["cv-tiny-test"] = TINY
    torch.manual_seed(0)
    model = open_clip.create_model("cv-tiny-test", pretrained=None)
    path = tmp_path_factory.mktemp("clip") / "tiny.pt"
    torch.save(model.state_dict(), path)
    return OpenClipEmbedder("cv-tiny-test", str(path), device="cpu", precision="bf16")


def test_tiny_clip_embeds_normalised(tiny_clip):
    from .conftest import make_logo

    x = tiny_clip.embed_images([make_logo(1), make_logo(2)])
    assert x.shape == (2, 32) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert tiny_clip.info.name.startswith("open_clip:cv-tiny-test/")


def test_tiny_clip_index_heads_and_matching(tiny_clip, synthetic_catalog, tmp_path):
    from counterfeit_vision.image.matcher import ImageMatcher
    from counterfeit_vision.index.onboarding import build_index
    from counterfeit_vision.index.reference import ReferenceIndex

    from .conftest import make_logo, make_photo, paste

    index = build_index(synthetic_catalog, tiny_clip)
    assert index.dim == 32 and len(index.heads) == 3
    index.save(tmp_path / "ix")
    loaded = ReferenceIndex.load(tmp_path / "ix", expect=tiny_clip.info)
    m = ImageMatcher(tiny_clip, loaded)
    hits = m.match([paste(make_photo(5, (480, 360)), make_logo(102), (200, 150), 1.2)])[0]
    assert hits and all(0 <= h.score <= 1 for h in hits)
    verified = [h for h in hits if h.verified]
    assert verified and verified[0].brand_id == "brand2"  # keypoints verify whatever the tiny model says
