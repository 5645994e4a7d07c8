"""Hostile brand folders: every one is a CatalogError naming the file and the rule, quickly, without
echoing the file's contents (exit 2 from the CLI), never a hang, a traceback or gigabytes."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from counterfeit_vision.catalog import CatalogError, load_brand

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))


def _brand(tmp_path, text=None):
    folder = tmp_path / "cat" / "acme"
    (folder / "logos").mkdir(parents=True)
    if text is not None:
        (folder / "brand.yaml").write_text(text)
    return folder


def _problem(folder) -> str:
    with pytest.raises(CatalogError) as info:
        load_brand(folder)
    message = str(info.value)
    assert "brand.yaml" in message and len(message) < 2000
    return message


def test_billion_laughs_is_refused_at_once(tmp_path):
    folder = _brand(tmp_path, "id: acme\nname: Acme\n" + LAUGHS + "aliases: *i\n")
    assert "aliases (*name) are not allowed" in _problem(folder)


@pytest.mark.parametrize("text, words", [
    ("id: acme\nname: Acme\naliases: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("id: acme\nname: Acme\nprice_floor: {amount: 1" + "0" * 5000 + ", currency: USD}\n", "too many digits"),
    ("id: acme\nname: Acme\naliases: [" + ", ".join(["x" * 100] * 5000) + "]\n", "limit"),
    ("id: acme\nname: Acme\naliases: [unclosed\n", "not valid YAML at line"),
])
def test_hostile_yaml_is_a_problem_not_a_traceback(tmp_path, text, words):
    message = _problem(_brand(tmp_path, text))
    assert words in message
    assert "x" * 200 not in message  # the contents are not echoed


def test_special_files_as_brand_yaml(tmp_path):
    folder = _brand(tmp_path)
    (folder / "brand.yaml").mkdir()
    assert "not a regular file" in _problem(folder)
    shutil.rmtree(folder / "brand.yaml")
    os.symlink("/dev/zero", folder / "brand.yaml")
    assert "outside the catalogue folder" in _problem(folder)
    (folder / "brand.yaml").unlink()
    os.mkfifo(folder / "brand.yaml")
    done = threading.Event()
    result = {}

    def load():
        try:
            result["message"] = _problem(folder)
        finally:
            done.set()

    threading.Thread(target=load, daemon=True).start()
    assert done.wait(10), "a FIFO as brand.yaml blocked the loader"
    assert "not a regular file" in result["message"]


def test_image_links_outside_the_catalogue_are_refused(tmp_path):
    folder = _brand(tmp_path, "id: acme\nname: Acme\n")
    os.symlink("/etc/hostname", folder / "logos" / "logo.png")
    assert "outside the catalogue folder" in _problem(folder)


def test_cli_brand_check_exits_2(tmp_path):
    from counterfeit_vision.cli.main import main

    assert main(["brand", "check", str(_brand(tmp_path, "id: acme\nname: Acme\n" + LAUGHS + "aliases: *i\n"))]) == 2


def test_brand_check_decodes_every_image_as_onboarding_will(tmp_path, capsys):
    import io

    from PIL import Image

    from counterfeit_vision.cli.main import main
    from counterfeit_vision.image.decode import probe_image

    folder = _brand(tmp_path, "id: acme\nname: Acme\n")
    buf = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buf, "JPEG", quality=90)
    (folder / "logos" / "logo.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])  # truncated
    probe_image(folder / "logos" / "logo.jpg")  # the header check alone lets it through
    assert main(["brand", "check", str(folder)]) == 2
    assert "logo.jpg" in capsys.readouterr().err


def _yaml_values():
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    return st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c,
                                                                                      max_size=4), max_leaves=15)


def test_fuzz_brand_yaml_is_a_brand_or_a_catalog_error(tmp_path_factory):
    import yaml
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    fields = st.fixed_dictionaries({"id": st.just("acme"), "name": st.just("Acme")}, optional={
        k: _yaml_values() for k in ("aliases", "abbreviations", "product_lines", "categories", "ambiguous",
                                    "negative_context", "compatible_accessories", "authorized_sellers",
                                    "price_floor", "thresholds", "own_terms", "evasive_aliases", "extra")})

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(fields.map(lambda d: yaml.safe_dump(d, allow_unicode=True)), st.text(max_size=200)))
    def check(text):
        folder = _brand(tmp_path_factory.mktemp("fuzz"), text)
        try:
            load_brand(folder)
        except CatalogError as exc:
            assert len(str(exc)) < 20_000

    check()
