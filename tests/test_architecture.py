"""The layout's promises: scoring never needs training code, the CLI starts light, modules keep
to each other's public names, and usage errors exit 2 with a message."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "counterfeit_vision"
HEAVY = ("torch", "torchvision", "faiss", "cv2", "easyocr", "open_clip", "ray", "onnxruntime")


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          cwd=PACKAGE.parent)


def test_scoring_path_imports_without_the_training_package():
    # a None entry in sys.modules makes `import training` fail, as if the package were absent
    code = """
import sys
sys.modules["training"] = None
import counterfeit_vision.detector, counterfeit_vision.scan.runner, counterfeit_vision.index.onboarding
import counterfeit_vision.index.head_fitting, counterfeit_vision.fusion.learned, counterfeit_vision.cli.main
import counterfeit_vision.cli.feedback, counterfeit_vision.fusion.fitting
from counterfeit_vision.index.onboarding import build_index, add_brand
print("ok")
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_no_library_module_imports_training():
    offenders = []
    for f in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{f.relative_to(PACKAGE)}: {n}" for n in names if n.split(".")[0] == "training"]
    assert offenders == []


def _private_uses(tree: ast.AST, own: set[str]) -> list[str]:
    """``x._name`` on something other than self/cls for a name this module does not define, and
    ``from counterfeit_vision.a import _name`` (modules named ``_x`` are the package's shared privates)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("counterfeit_vision"):
            if not node.module.rsplit(".", 1)[-1].startswith("_"):
                out += [f"import {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if node.attr not in own:
                out.append(f".{node.attr} (line {node.lineno})")
    return out


def test_modules_use_only_each_others_public_names():
    third_party = {"_SubParsersAction", "_C", "_jit_set_autocast_mode", "_make"}  # argparse, torch, namedtuple
    offenders = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        own = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
        own |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                and n.value.id == "self" and isinstance(n.ctx, ast.Store)}
        own |= {t.id for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for a in c.body
                if isinstance(a, ast.Assign) for t in a.targets if isinstance(t, ast.Name)}  # class attributes
        found = [u for u in _private_uses(tree, own | third_party)]
        if found:
            offenders[str(f.relative_to(PACKAGE))] = found
    assert offenders == {}


def test_help_and_version_start_without_heavy_libraries():
    code = """
import sys
from counterfeit_vision.cli.main import main
for argv in (["--help"], ["scan", "--help"], ["index", "build", "--help"], ["--version"]):
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code in (0, None), (argv, exc.code)
print(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(","))))
"""
    done = _python(code, ",".join(HEAVY))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_version_and_python_dash_m():
    from counterfeit_vision import __version__

    done = subprocess.run([sys.executable, "-m", "counterfeit_vision", "--version"], capture_output=True, text=True,
                          timeout=120, cwd=PACKAGE.parent)
    assert done.returncode == 0 and __version__ in done.stdout


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "counterfeit_vision", *argv], capture_output=True, text=True,
                          timeout=300, cwd=PACKAGE.parent)


def test_titles_with_a_missing_input_exits_2(tmp_path):
    done = _cli("titles", str(tmp_path / "absent.jsonl"), "--catalog", "brand_catalog", "--out",
                str(tmp_path / "o.jsonl"))
    assert done.returncode == 2 and "absent.jsonl" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_cuda_on_a_machine_without_it_exits_2(tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = _cli("index", "build", "--catalog", "brand_catalog", "--index", str(tmp_path / "ix"), "--device", "cuda")
    assert done.returncode == 2 and "cuda" in done.stderr.lower() and "Traceback" not in done.stderr
    assert not (tmp_path / "ix").exists()


def test_brand_add_to_a_missing_index_exits_2_and_creates_nothing(tmp_path):
    done = _cli("brand", "add", "brand_catalog/velora", "--catalog", str(tmp_path / "cat"), "--index",
                str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "index build" in done.stderr
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "cat").exists()


def test_bad_faiss_factory_is_a_config_error():
    pytest.importorskip("faiss")
    from counterfeit_vision.embedders.base import EmbedderInfo
    from counterfeit_vision.errors import ConfigError
    from counterfeit_vision.index.reference import ReferenceIndex

    with pytest.raises(ConfigError, match="Bogus"):
        ReferenceIndex(EmbedderInfo("x", 8, "w", "d"), factory="Bogus,Flat")


def test_index_manifest_keeps_the_catalogue_relative(tmp_path):
    pytest.importorskip("faiss")
    import numpy as np

    from counterfeit_vision.embedders.base import EmbedderInfo
    from counterfeit_vision.index.reference import MANIFEST_NAME, ReferenceEntry, ReferenceIndex

    index = ReferenceIndex(EmbedderInfo("x", 8, "w", "d"))
    index.add(np.eye(8, dtype=np.float32)[:2], [ReferenceEntry("b", "logo", "b/logos/a.png")] * 2)
    index.reference_root = str(tmp_path / "shop" / "catalog")
    index.save(tmp_path / "shop" / "indexes" / "main")
    saved = json.loads((tmp_path / "shop" / "indexes" / "main" / MANIFEST_NAME).read_text())
    assert saved["reference_root"] == "../../catalog"
    (tmp_path / "shop").rename(tmp_path / "moved")
    loaded = ReferenceIndex.load(tmp_path / "moved" / "indexes" / "main")
    assert Path(loaded.reference_root) == (tmp_path / "moved" / "catalog").resolve()
    assert loaded.next_id == 2 and loaded.content_state == (2, 2)
