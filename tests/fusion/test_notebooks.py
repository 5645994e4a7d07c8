"""The notebooks execute on the sample data (slow: the onboarding one embeds the catalogue)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _run(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def _outputs(nb) -> str:
    return "\n".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_notebooks_are_in_sync_with_their_generator(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, cells in (("fusion_retraining.ipynb", mod.RETRAINING), ("brand_onboarding.ipynb", mod.ONBOARDING)):
        committed = nbformat.read(str(NOTEBOOKS / name), as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in cells], f"rerun make_notebooks.py ({name})"


@pytest.mark.slow
def test_retraining_notebook_runs():
    nb = _run("fusion_retraining.ipynb")
    text = _outputs(nb)
    assert "0 added" in text and "activated" in text
    assert any(o.get("data", {}).get("image/png") for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.slow
def test_onboarding_notebook_runs():
    nb = _run("brand_onboarding.ipynb")
    assert "onboarded Velora" in _outputs(nb)
    assert any(o.get("data", {}).get("image/png") for c in nb.cells for o in c.get("outputs", []))
