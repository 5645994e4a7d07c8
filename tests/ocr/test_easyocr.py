"""OCR with the offline EasyOCR weights reads rendered text and reports its box."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from counterfeit_vision.embedders.base import WeightsNotFoundError
from counterfeit_vision.ocr import TextBox
from counterfeit_vision.ocr.easy import EasyOcrReader, default_model_dir, verify_weights


@pytest.fixture(scope="module")
def reader():
    return EasyOcrReader(device="cpu", gated=False)


@pytest.mark.slow
def test_reads_rendered_text_with_box(reader):
    img = Image.new("RGB", (800, 400), "white")
    ImageDraw.Draw(img).text((300, 250), "KORVEX", fill="black", font=ImageFont.load_default(size=60))
    boxes = reader.read(img, image_index=2)
    assert any(b.text.upper().replace(" ", "") == "KORVEX" for b in boxes)
    box = next(b for b in boxes if "KORV" in b.text.upper())
    x1, y1, x2, y2 = box.box
    assert 280 <= x1 <= 320 and 240 <= y1 <= 280 and x2 > x1 + 150 and box.image_index == 2


@pytest.mark.slow
def test_large_photo_boxes_are_in_original_pixels(reader):
    img = Image.new("RGB", (3000, 1500), "white")
    ImageDraw.Draw(img).text((1500, 900), "VELORA", fill="black", font=ImageFont.load_default(size=200))
    boxes = reader.read(img)
    box = next(b for b in boxes if "VELORA" in b.text.upper())
    assert box.box[0] > 1400 and box.box[1] > 850


def test_md5_mismatch_fails_loudly(tmp_path):
    for name in ("craft_mlt_25k.pth", "english_g2.pth"):
        (tmp_path / name).write_bytes(b"not the weights")
    with pytest.raises(WeightsNotFoundError, match="md5"):
        verify_weights(tmp_path)
    with pytest.raises(WeightsNotFoundError, match="missing"):
        verify_weights(tmp_path / "empty")
    verify_weights(default_model_dir())  # the shipped weights match EasyOCR's config


def test_textbox_from_easyocr_scales_back():
    raw = ([[10, 20], [110, 20], [110, 40], [10, 40]], "ABC", 0.87)
    tb = TextBox.from_easyocr(raw, scale=0.5, image_index=1)
    assert tb.box == (20, 40, 220, 80) and tb.text == "ABC" and tb.image_index == 1
