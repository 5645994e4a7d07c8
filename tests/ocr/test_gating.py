"""The gated read (find text small, recognise only what was found) with a scripted backend."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from counterfeit_vision.ocr import MAX_SIDE, OcrReader, TextLine, create_ocr


def quad(x1, y1, x2, y2) -> np.ndarray:
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


class Scripted(OcrReader):
    """Finds a dark rectangle as 'text'; records what it was asked to do."""

    name = "scripted"

    def __init__(self, **kw):
        super().__init__(**kw)
        self.detected_sizes, self.recognised = [], []

    def detect(self, image):
        self.detected_sizes.append(image.shape[:2])
        ys, xs = np.nonzero(image[..., 0] < 50)
        return [TextLine(quad(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))] if len(xs) else []

    def recognise(self, photos):
        self.recognised.append(len(photos))
        return [[TextLine(ln.quad, f"TEXT{k}", 0.9) for ln in lines] for k, (_, lines) in enumerate(photos)]

    def read_lines(self, image):
        return [TextLine(ln.quad, "FULL", 0.9) for ln in self.detect(image)]


def photo(size, box=None) -> Image.Image:
    img = Image.new("RGB", size, "white")
    if box:
        img.paste((0, 0, 0), box)
    return img


def test_gated_read_detects_small_skips_blank_photos_and_recognises_in_one_batch():
    r = Scripted()
    blank, big = photo((2560, 1280)), photo((2560, 1280), (1000, 400, 1600, 600))
    out = r.read_many([blank, big, photo((300, 200), (10, 10, 100, 40))], numbers=[4, 5, 6])
    assert all(max(s) <= r.detect_side for s in r.detected_sizes)  # detection at the small canvas
    assert r.recognised == [2]                                       # one batch, blank photo left out
    assert out[0] == []
    (box,), (small,) = out[1], out[2]
    # boxes come back in the original photo's pixels, numbered as asked
    assert box.image_index == 5 and np.allclose(box.box, (1000, 400, 1600, 600), atol=8)
    assert small.box == (10, 10, 100, 40) and small.text == "TEXT1"


def test_exhaustive_read_works_at_full_canvas_without_the_gate():
    r = Scripted(gated=False)
    (box,), = r.read_many([photo((2560, 1280), (1000, 400, 1600, 600))])
    assert r.detected_sizes == [(MAX_SIDE // 2, MAX_SIDE)] and r.recognised == [] and box.text == "FULL"
    assert r.info == "scripted (exhaustive)" and Scripted().info == "scripted (gated)"


def test_gate_keeps_only_the_largest_lines():
    class Many(Scripted):
        def detect(self, image):
            return [TextLine(quad(0, 10 * k, 5 + k, 10 * k + 5)) for k in range(40)]

    r = Many(max_regions=3)
    (boxes,) = r.read_many([photo((400, 400))])
    assert sorted(b.box[2] for b in boxes) == [42, 43, 44]  # the three widest of 40


def test_low_confidence_and_empty_reads_are_dropped():
    class Weak(Scripted):
        def recognise(self, photos):
            return [[TextLine(ln.quad, t, c) for ln, (t, c) in zip(lines * 3, [("a", 0.1), (" ", 0.9), ("ok", 0.5)])]
                    for _, lines in photos]

    (boxes,) = Weak(min_confidence=0.3).read_many([photo((200, 200), (10, 10, 50, 30))])
    assert [b.text for b in boxes] == ["ok"]


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown OCR backend 'tesseract'"):
        create_ocr("tesseract")
