"""``embedder="auto"`` with a saved index starts the embedder that built it, without importing open_clip."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_auto_takes_the_index_embedder_without_importing_clip(repo_root, tmp_path):
    # The index is built here, in its own process, so the check below sees a saved manifest
    # (a clean clone holds no index) and a fresh interpreter with nothing imported yet.
    index_dir = tmp_path / "index"
    build = ("from counterfeit_vision.detector import Detector, DetectorConfig; "
             f"Detector.from_catalog('brand_catalog', index_dir={str(index_dir)!r}, "
             "config=DetectorConfig(device='cpu', use_ocr=False, embedder='efficientnet_lite0'))")
    built = _run(build, repo_root)
    assert built.returncode == 0, built.stderr[-2000:]

    check = ("import sys; from counterfeit_vision.detector import Detector, DetectorConfig; "
             f"d = Detector.from_catalog('brand_catalog', index_dir={str(index_dir)!r}, "
             "config=DetectorConfig(device='cpu', use_ocr=False)); "
             "print(d.model_info['embedder'], 'open_clip' in sys.modules)")
    out = _run(check, repo_root)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["efficientnet_lite0", "False"]
