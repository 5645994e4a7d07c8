"""A phone photo's EXIF orientation is applied on decode, so the photo is matched and boxed upright."""

from __future__ import annotations

import pytest
from PIL import Image

from counterfeit_vision.image.decode import load_rgb


@pytest.mark.parametrize("orientation, size", [(1, (300, 200)), (3, (300, 200)), (6, (200, 300)), (8, (200, 300))])
def test_exif_orientation_is_applied(tmp_path, orientation, size):
    img = Image.new("RGB", (300, 200), "white")
    img.paste((255, 0, 0), (0, 0, 30, 30))  # a red corner, top-left as stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif, quality=95)
    out = load_rgb(path)
    assert out.size == size and out.info["original_size"] == size
    small = load_rgb(path, draft_size=100)  # a draft decode keeps the upright original size for the boxes
    assert small.size == (size[0] // 2, size[1] // 2) and small.info["original_size"] == size
    corner = {1: (5, 5), 3: (size[0] - 5, size[1] - 5), 6: (size[0] - 5, 5), 8: (5, size[1] - 5)}[orientation]
    r, g, b = out.getpixel(corner)
    assert r > 200 and g < 60 and b < 60  # the red corner where a viewer sees it


def test_a_broken_exif_block_does_not_lose_the_photo(tmp_path):
    path = tmp_path / "odd.jpg"
    Image.new("RGB", (64, 48), "white").save(path, exif=b"Exif\x00\x00garbage-not-a-tiff-header")
    assert load_rgb(path).size == (64, 48)
