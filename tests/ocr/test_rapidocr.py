"""RapidOCR (PP-OCRv6 on onnxruntime) reads Latin and Chinese text on photos, offline, from verified files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from counterfeit_vision.catalog import Brand, Catalog
from counterfeit_vision.embedders.base import WeightsNotFoundError
from counterfeit_vision.ocr.rapid import RAPIDOCR_MODELS, RapidOcrReader, default_model_dir, verify_weights

LATIN_FONT = "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # Debian fonts-wqy-zenhei (`make fonts`)
SAMPLE_PHOTO = Path(__file__).resolve().parents[2] / "samples" / "images" / "korvex_resale.jpg"


@pytest.fixture(scope="module")
def reader():
    return RapidOcrReader(device="cpu")


def product_photo() -> Image.Image:
    return Image.open(SAMPLE_PHOTO).convert("RGB")


@pytest.mark.slow
@pytest.mark.parametrize("gated", [True, False])
def test_reads_a_banner_on_a_product_photo_with_its_box(gated):
    img = product_photo()
    font = ImageFont.truetype(LATIN_FONT, 48)
    ImageDraw.Draw(img).rectangle((30, 30, 560, 100), fill="white")
    ImageDraw.Draw(img).text((40, 40), "INSPIRED BY VELORA", fill="black", font=font)
    boxes = RapidOcrReader(device="cpu", gated=gated).read(img, image_index=3)
    box = next(b for b in boxes if "VELORA" in b.text.upper())
    x1, y1, x2, y2 = box.box
    assert 20 <= x1 <= 60 and 25 <= y1 <= 60 and 480 <= x2 <= 580 and box.image_index == 3


@pytest.mark.slow
def test_gated_reader_recognises_nothing_on_a_photo_without_text(reader, monkeypatch):
    calls = []
    real = reader.recognise
    monkeypatch.setattr(reader, "recognise", lambda photos: calls.append(len(photos)) or real(photos))
    blank = Image.new("RGB", (800, 600), (120, 160, 200))
    assert reader.read_many([blank, blank]) == [[], []]
    assert calls == [0]  # the batch held no photo: nothing was recognised


@pytest.mark.slow
@pytest.mark.skipif(not CJK_FONT.is_file(), reason="no CJK font to render Chinese (make fonts)")
def test_chinese_alias_on_a_photo_is_read_and_attributed_to_the_brand(tmp_path):
    """耐克 is how Nike is written in Chinese: a brand that registers it as an alias is found by it."""
    from counterfeit_vision.detector import Detector, DetectorConfig

    img = product_photo()
    ImageDraw.Draw(img).rectangle((30, 30, 330, 130), fill="white")
    ImageDraw.Draw(img).text((45, 35), "耐克", fill="black", font=ImageFont.truetype(str(CJK_FONT), 80))
    path = tmp_path / "listing.jpg"
    img.save(path, quality=92)
    catalog = Catalog.from_brands([Brand(id="strider", name="Strider", aliases=("耐克",)),
                                   Brand(id="velora", name="Velora")])
    det = Detector.from_catalog(catalog, config=DetectorConfig(device="cpu", use_images=False, ocr="rapidocr"))
    result = det.score({"id": "cn-1", "title": "running shoes, size 42", "price": 30, "seller_id": "s-1",
                        "images": [str(path)]})
    assert result.brand == "strider" and result.decision != "pass"
    assert result.signals["ocr_brand"] > 0.5
    assert any(e.kind == "ocr_text" and "耐克" in e.text and e.box for e in result.evidence)
    assert result.model["ocr"].startswith("rapidocr:PP-OCRv6")


def test_missing_or_altered_model_files_fail_loudly(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="missing"):
        verify_weights(tmp_path)
    for name in RAPIDOCR_MODELS.values():
        shutil.copyfile(default_model_dir() / name, tmp_path / name)
    verify_weights(tmp_path)  # a copy of the shipped files is fine
    (tmp_path / RAPIDOCR_MODELS["rec"]).write_bytes(b"not a model")
    with pytest.raises(WeightsNotFoundError, match="SHA-256"):
        RapidOcrReader(model_dir=tmp_path)


def test_cuda_is_refused_loudly_without_a_gpu(monkeypatch):
    """Device selection: an explicit CUDA request on a machine without one is an error, not a CPU run;
    with a GPU but CPU-only onnxruntime, the error names onnxruntime-gpu."""
    import torch

    from counterfeit_vision.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        RapidOcrReader(device="cuda")
    assert RapidOcrReader(device="auto").device.type == "cpu"  # auto without a GPU: the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(ConfigError, match="onnxruntime-gpu"):
        RapidOcrReader(device="cuda")
