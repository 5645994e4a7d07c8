"""``embedder="auto"`` with a saved index starts the embedder that built it, without importing open_clip."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_auto_takes_the_index_embedder_without_importing_clip(repo_root):
    code = ("import sys; from counterfeit_vision.detector import Detector, DetectorConfig; "
            "d = Detector.from_catalog('brand_catalog', index_dir='indexes/sample', "
            "config=DetectorConfig(device='cpu', use_ocr=False)); "
            "print(d.model_info['embedder'], 'open_clip' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["efficientnet_lite0", "False"]
