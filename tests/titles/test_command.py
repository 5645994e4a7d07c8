"""The ``titles`` CLI subcommand: inputs, outputs and bad rows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from counterfeit_vision.cli.titles import register


def _catalog(root: Path) -> Path:
    for brand in ({"id": "gucci", "name": "Gucci", "categories": ["bags"]},
                  {"id": "nike", "name": "Nike", "categories": ["shoes"]}):
        folder = root / "catalog" / brand["id"]
        folder.mkdir(parents=True)
        (folder / "brand.yaml").write_text(yaml.safe_dump(brand), encoding="utf-8")
    return root / "catalog"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="counterfeit-vision")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_text_input(tmp_path):
    catalog = _catalog(tmp_path)
    src = tmp_path / "titles.txt"
    src.write_text("Replica Gucci bag\nplain water bottle\n\nN1ke shoes\n", encoding="utf-8")
    out = tmp_path / "out" / "res.jsonl"
    assert _run(["titles", "--catalog", str(catalog), str(src), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["title"] for r in rows] == ["Replica Gucci bag", "plain water bottle", "N1ke shoes"]
    assert rows[0]["findings"][0]["brand_id"] == "gucci"
    assert rows[0]["findings"][0]["reasons"] == ["indicator"]
    assert set(rows[0]["findings"][0]) == {"brand_id", "verdict", "reasons", "span", "matched_text", "score", "context",
                                           "shared_with"}
    assert rows[1]["findings"] == [] and rows[1]["error"] is None
    assert rows[2]["findings"][0]["verdict"] == "misuse"


def test_jsonl_with_bad_rows(tmp_path):
    catalog = _catalog(tmp_path)
    lines = [
        json.dumps({"id": "a", "title": "Gucci style bag"}),
        "{not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "title": ""}),
        json.dumps({"id": "d", "title": 42}),
        json.dumps({"id": "e", "title": "x" * 5000}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "f", "title": "Nike Air"}),
    ]
    src = tmp_path / "listings.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "res.jsonl"
    assert _run(["titles", "--catalog", str(catalog), str(src), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 8
    assert rows[0]["id"] == "a" and rows[0]["error"] is None and rows[0]["findings"][0]["verdict"] == "misuse"
    assert "JSON" in rows[1]["error"]
    assert rows[2]["error"] == "missing title"
    assert rows[3]["error"] == "empty title"
    assert "string" in rows[4]["error"]
    assert "too long" in rows[5]["error"] and len(rows[5]["title"]) <= 2000
    assert "object" in rows[6]["error"]
    assert rows[7]["findings"][0]["verdict"] == "mention" and rows[7]["error"] is None


def test_cli_title_limit_matches_the_engine():
    from counterfeit_vision.cli import titles as cli
    from counterfeit_vision.titles.matcher import MAX_TITLE_CHARS

    assert cli.MAX_TITLE_CHARS == MAX_TITLE_CHARS
