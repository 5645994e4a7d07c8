"""Safe image loading: each bad file fails alone with a clear ImageError."""

from __future__ import annotations

import pytest
from PIL import Image

from counterfeit_vision.image.decode import ImageError, load_rgb, probe_image


def test_good_image_loads_as_rgb(tmp_path):
    p = tmp_path / "a.png"
    Image.new("L", (40, 30), 128).save(p)
    img = load_rgb(p)
    assert img.mode == "RGB" and img.size == (40, 30)


def test_jpeg_draft_decodes_at_reduced_size(tmp_path):
    p = tmp_path / "big.jpg"
    Image.new("RGB", (2400, 1600), (10, 20, 30)).save(p)
    assert max(load_rgb(p, draft_size=300).size) < 2400
    assert min(load_rgb(p, draft_size=300).size) >= 300


@pytest.mark.parametrize("name, content, message", [
    ("missing.jpg", None, "not found"),
    ("text.jpg", b"just text", "not a readable image"),
    ("trunc.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50, "image"),
])
def test_bad_files(tmp_path, name, content, message):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        load_rgb(p)


def test_decompression_bomb_is_refused_without_decoding(sample_listings):
    bomb = sample_listings.parent / "images" / "bomb.png"
    with pytest.raises(ImageError, match="too large"):
        probe_image(bomb)
    with pytest.raises(ImageError, match="too large"):
        load_rgb(bomb)
