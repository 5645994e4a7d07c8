"""The logo-tuned Lite0: training its tail, saving it, and loading it as ``efficientnet_lite0_logo``."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from counterfeit_vision.embedders import WeightsNotFoundError, create_embedder, efficientnet
from counterfeit_vision.image.regions import dense_capable
from training import logo_tuning
from training.logo_tuning import TuneConfig, save_tail, train_tail

from .conftest import make_logo, make_photo

TAIL = "efficientnet_lite0_logo_tail.pt"


def _canvases(model, n: int, marks: int, seed: int) -> list:
    """Front features of 448 x 448 canvases with one of ``marks`` synthetic marks pasted at a random spot."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        canvas = make_photo(seed * 100 + i, size=(448, 448))
        label = i % marks
        side = rng.randint(96, 160)
        x, y = rng.randint(0, 448 - side), rng.randint(0, 448 - side)
        canvas.paste(make_logo(500 + label).resize((side, side)), (x, y))
        t = torch.from_numpy(np.asarray(canvas, np.float32) / 255.0).permute(2, 0, 1)[None]
        with torch.inference_mode():
            front = logo_tuning._front(model, (t - 0.5) / 0.5)
        out.append((front[0].to(torch.float16).numpy(), [(label, (x, y, x + side, y + side))]))
    return out


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A tail trained briefly on a few synthetic marks, saved as a weights file."""
    torch.set_num_threads(2)
    lite0 = create_embedder("efficientnet_lite0", device="cpu", precision="fp32")
    before = {k: v.clone() for k, v in efficientnet.tail_of(lite0.model).state_dict().items()}
    data = _canvases(lite0.model, 40, marks=4, seed=1)
    cfg = TuneConfig(epochs=3, batch=4, val_canvases=8, lr=3e-4, classifier_lr=1e-2)
    history = train_tail(lite0.model, data, cfg)
    folder = tmp_path_factory.mktemp("weights")
    save_tail(lite0.model, folder / TAIL, {"history": history})
    return folder, history, before, lite0


def test_training_moves_the_tail_and_lowers_the_loss(tuned):
    _, history, before, lite0 = tuned
    after = efficientnet.tail_of(lite0.model).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert len(history["val_accuracy"]) == 4 and all(0 <= a <= 1 for a in history["val_accuracy"])


def test_the_tuned_tail_loads_as_its_own_embedder(tuned, monkeypatch):
    folder, _, _, lite0 = tuned
    monkeypatch.setattr(efficientnet, "WEIGHTS_DIR", folder)
    logo = create_embedder("efficientnet_lite0_logo", device="cpu", precision="fp32")
    base = create_embedder("efficientnet_lite0", device="cpu", precision="fp32")
    assert logo.info.name == "efficientnet_lite0_logo" and TAIL in logo.info.weights
    assert not logo.info.compatible_with(base.info) and dense_capable(logo)
    photo = make_photo(3)
    # the tail is the saved one (float16 on disk), the front is Lite0's
    x_logo, x_tuned, x_base = (e.embed_images([photo]) for e in (logo, lite0, base))
    assert float(x_logo[0] @ x_tuned[0]) > 0.999 and float(x_logo[0] @ x_base[0]) < 0.999
    assert torch.equal(logo.model.conv_stem.weight, base.model.conv_stem.weight)


def test_missing_or_wrong_tail_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(efficientnet, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(WeightsNotFoundError, match="training.logo_tuning"):
        create_embedder("efficientnet_lite0_logo", device="cpu")
    torch.save({"conv_head.weight": torch.zeros(3, 3)}, tmp_path / TAIL)
    with pytest.raises(WeightsNotFoundError, match="wrong file"):
        create_embedder("efficientnet_lite0_logo", device="cpu")


def test_evaluation_brands_are_never_tuning_marks(shared_data):
    icons = shared_data / "simple_icons"
    if not (icons / "icons").is_dir():
        pytest.skip("simple-icons not in the shared data")
    slugs = set(logo_tuning._slugs(icons, 10_000))
    assert len(slugs) > 3000
    assert not slugs & {"nike", "cocacola", "hp", "mini", "adidas", "google", "googlechrome", "starbucks", "bmw"}
    assert {"1and1", "github"} <= slugs
