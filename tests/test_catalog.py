"""The catalogue loader accepts the sample brands and reports every problem with file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from counterfeit_vision.catalog import CatalogError, load_brand, load_catalog


def write_brand(root: Path, brand_id: str, data: dict, logos: int = 1) -> Path:
    from PIL import Image

    folder = root / brand_id
    (folder / "logos").mkdir(parents=True)
    for i in range(logos):
        Image.new("RGB", (32, 32), (i * 40, 0, 0)).save(folder / "logos" / f"l{i}.png")
    (folder / "brand.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def test_sample_catalog_loads(sample_catalog_dir):
    catalog = load_catalog(sample_catalog_dir)
    assert set(catalog.brands) == {"velora", "korvex", "nimbly", "haldane"}
    velora = catalog["velora"]
    assert "ヴェローラ" in velora.names
    assert velora.price_floor.for_product_line("Aurora Tote") == 650
    assert velora.price_floor.for_product_line(None) == 400
    assert "velora-official" in velora.authorized_sellers
    assert len(velora.logos) == 3 and len(velora.references) == 3
    assert catalog["nimbly"].compatible_accessories  # true expands to the default accessory words


def test_every_problem_is_reported_with_file_and_field(tmp_path):
    write_brand(tmp_path, "acme", {
        "id": "acme", "name": "", "aliases": "Acme Corp",  # empty name, aliases not a list
        "price_floor": {"amount": -3, "currency": "dollars"},
        "thresholds": {"takedown": 0.2, "review": 0.9}, "colour": "red",
    })
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    fields = {p.field for p in err.value.problems}
    assert {"name", "aliases", "price_floor.amount", "price_floor.currency", "thresholds", "colour"} <= fields
    assert all(p.file.endswith("brand.yaml") for p in err.value.problems)
    assert "acme" in str(err.value)


def test_folder_name_must_match_id_and_yaml_must_parse(tmp_path):
    write_brand(tmp_path, "acme", {"id": "other", "name": "Acme"})
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "brand.yaml").write_text("id: [unclosed\n")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    messages = "\n".join(map(str, err.value.problems))
    assert "must equal the folder name" in messages
    assert "not valid YAML" in messages


def test_bad_images_in_a_brand_are_reported(tmp_path):
    folder = write_brand(tmp_path, "acme", {"id": "acme", "name": "Acme"})
    (folder / "logos" / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "logos" / "readme.txt").write_text("hello")
    with pytest.raises(CatalogError) as err:
        load_brand(folder)
    messages = "\n".join(map(str, err.value.problems))
    assert "broken.png" in messages and "readme.txt" in messages


def test_two_brands_may_share_a_name_and_are_warned_about(tmp_path):
    from counterfeit_vision.catalog_checks import catalog_warnings

    write_brand(tmp_path, "acme", {"id": "acme", "name": "Acme"})
    write_brand(tmp_path, "acme2", {"id": "acme2", "name": "Acme2", "aliases": ["ACME"]})
    write_brand(tmp_path, "red-tape", {"id": "red-tape", "name": "Red Tape"})
    write_brand(tmp_path, "redtape", {"id": "redtape", "name": "Redtape"})
    catalog = load_catalog(tmp_path)  # a trademark register holds one word for several owners
    assert len(catalog) == 4
    found = {(w.kind, w.brands) for w in catalog_warnings(catalog)}
    assert found == {("shared_name", ("acme", "acme2")), ("near_duplicate", ("red-tape", "redtape"))}


def test_ambiguous_names_override_is_checked(tmp_path):
    write_brand(tmp_path, "boss", {"id": "boss", "name": "Boss", "ambiguous_names": {"Boss": False, "Hugo": True}})
    with pytest.raises(CatalogError, match="ambiguous_names.Hugo"):
        load_brand(tmp_path / "boss")
    fixed = {"id": "boss", "name": "Boss", "ambiguous_names": {"boss": False}}
    (tmp_path / "boss" / "brand.yaml").write_text(yaml.safe_dump(fixed))
    assert load_brand(tmp_path / "boss").ambiguous_names == (("boss", False),)


def test_missing_catalogue_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "nope")


def test_price_floor_product_line_must_exist(sample_catalog_dir, tmp_path):
    shutil.copytree(sample_catalog_dir / "korvex", tmp_path / "korvex")
    data = yaml.safe_load((tmp_path / "korvex" / "brand.yaml").read_text())
    data["price_floor"]["product_lines"] = {"Ghost Line": 50}
    (tmp_path / "korvex" / "brand.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogError, match="Ghost Line"):
        load_brand(tmp_path / "korvex")
