"""The compiled lexicon on disk: same findings as a fresh compile, used only when current, verified on load."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import yaml

from counterfeit_vision.catalog import load_catalog
from counterfeit_vision.titles import TitleMatcher
from counterfeit_vision.titles.compiled import catalog_digest, lexicon_for_catalog, load_lexicon, save_lexicon
from counterfeit_vision.titles.lexicon import Lexicon

TITLES = ["Replica Gucсi bag 1:1", "Pra da nylon bag", "Nike x Off-White Air Max", "Terraform handbook",
          "Guccci belt", "charger for Samsung Galaxy S23", "10 HP motor", "black leather bag", "G U C C I"]


def _catalog(root):
    brands = [{"id": "gucci", "name": "Gucci", "categories": ["bags"], "abbreviations": ["GG"]},
              {"id": "prada", "name": "Prada", "categories": ["bags"]},
              {"id": "nike", "name": "Nike", "product_lines": ["Air Max"], "categories": ["shoes"],
               "authorized_sellers": ["nike-store"]},
              {"id": "off-white", "name": "Off-White", "categories": ["shoes"],
               "ambiguous_names": {"Off-White": False}},
              {"id": "black", "name": "Black", "categories": ["bags"]},
              {"id": "samsung", "name": "Samsung", "product_lines": ["Galaxy"], "compatible_accessories": True},
              {"id": "hp", "name": "HP", "categories": ["printers"]},
              {"id": "terraform", "name": "Terraform"},
              {"id": "opentofu", "name": "OpenTofu", "aliases": ["Terraform"]}]
    for raw in brands:
        (root / raw["id"]).mkdir(parents=True)
        (root / raw["id"] / "brand.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return root


def _findings(lex):
    m = TitleMatcher(lex)
    return [m.match(t) for t in TITLES]


def test_saved_lexicon_gives_the_same_findings(tmp_path):
    root = _catalog(tmp_path / "cat")
    fresh, loaded = lexicon_for_catalog(root, lexicon_dir=tmp_path / "lex")
    assert not loaded
    again, loaded = lexicon_for_catalog(root, lexicon_dir=tmp_path / "lex")
    assert loaded
    assert _findings(again) == _findings(fresh)
    assert again.marks == fresh.marks and again.shared == fresh.shared
    # the text fields come back; where the brand's files are is no part of a lexicon
    assert [b.brand for b in again.brands] == [replace(b.brand, root=None) for b in fresh.brands]


def test_a_changed_catalogue_is_compiled_afresh(tmp_path):
    root = _catalog(tmp_path / "cat")
    lexicon_for_catalog(root, lexicon_dir=tmp_path / "lex")
    (root / "prada" / "brand.yaml").write_text(yaml.safe_dump({"id": "prada", "name": "Prada", "aliases": ["Pradda"]}))
    lex, loaded = lexicon_for_catalog(root, lexicon_dir=tmp_path / "lex")
    assert not loaded and any(e.source == "Pradda" for e in lex.entries)
    assert lexicon_for_catalog(root, lexicon_dir=tmp_path / "lex")[1]  # and saved again


def test_a_damaged_file_is_refused_and_replaced(tmp_path, caplog):
    root = _catalog(tmp_path / "cat")
    folder = tmp_path / "lex"
    lexicon_for_catalog(root, lexicon_dir=folder)
    man = json.loads((folder / "manifest.json").read_text())
    data = folder / man["data"]
    data.write_bytes(data.read_bytes().replace(b"gucci", b"gucko", 1))
    with caplog.at_level(logging.WARNING):
        assert load_lexicon(folder, catalog_digest(root)) is None
    assert "damaged" in caplog.text
    lex, loaded = lexicon_for_catalog(root, lexicon_dir=folder)
    assert not loaded and lexicon_for_catalog(root, lexicon_dir=folder)[1]
    assert len(list(folder.glob("lexicon-*.json"))) == 1  # the old version removed once replaced


def test_a_lexicon_of_another_catalogue_is_not_used(tmp_path):
    root = _catalog(tmp_path / "cat")
    lex = Lexicon(load_catalog(root))
    save_lexicon(lex, tmp_path / "lex", "0" * 64)
    assert load_lexicon(tmp_path / "lex", catalog_digest(root)) is None


def test_titles_command_saves_then_loads(tmp_path, monkeypatch, caplog):
    import argparse

    from counterfeit_vision.cli.titles import register

    monkeypatch.setenv("CV_CACHE_DIR", str(tmp_path / "cache"))
    root = _catalog(tmp_path / "cat")
    src = tmp_path / "t.txt"
    src.write_text("\n".join(TITLES) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    outs = []
    for run in range(2):
        args = parser.parse_args(["titles", "--catalog", str(root), str(src), "--out", str(tmp_path / f"o{run}.jsonl")])
        with caplog.at_level(logging.INFO, logger="counterfeit_vision.cli.titles"):
            assert args.func(args) == 0
        outs.append((tmp_path / f"o{run}.jsonl").read_text())
    assert outs[0] == outs[1]
    assert "compiled" in caplog.records[0].getMessage() and "loaded" in caplog.records[-2].getMessage()
    assert list((tmp_path / "cache").glob("lexicon-*/manifest.json"))
