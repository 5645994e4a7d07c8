"""An index save killed between any two file writes leaves the old version or the new one, never a mix."""

from __future__ import annotations

import os
import shutil

import pytest

from counterfeit_vision.index.onboarding import build_index
from counterfeit_vision.index.reference import ReferenceIndex


def _state(index: ReferenceIndex) -> tuple:
    heads = sorted(index.heads.brand_ids) if index.heads is not None else None
    return len(index), sorted(index.brands()), heads, index.next_id


def test_killed_saves_load_as_the_old_or_the_new_version(tiny_embedder, synthetic_catalog, tmp_path, monkeypatch):
    folder = tmp_path / "ix"
    old = build_index(synthetic_catalog.without_brand("brand2"), tiny_embedder)
    new = build_index(synthetic_catalog, tiny_embedder)
    old_state, new_state = _state(old), _state(new)
    assert old_state != new_state and new.heads is not None
    real = os.replace
    outcomes = []
    for k in range(1, 40):
        shutil.rmtree(folder, ignore_errors=True)
        old.save(folder)
        calls = []

        def killed_at_k(src, dst, _k=k, _calls=calls):
            _calls.append(dst)
            if len(_calls) == _k:
                raise OSError("killed")
            return real(src, dst)

        monkeypatch.setattr(os, "replace", killed_at_k)
        try:
            new.save(folder)
            finished = True
        except OSError:
            finished = False
        finally:
            monkeypatch.setattr(os, "replace", real)
        got = _state(ReferenceIndex.load(folder))
        assert got in (old_state, new_state), f"killed at write {k}: a mix {got}"
        outcomes.append(got == new_state)
        if finished:
            assert got == new_state
            break
    assert finished and outcomes.count(False) >= 3  # the kill landed before the manifest several times


def _on_disk(catalog_dir, index_dir) -> tuple[bool, bool]:
    """(brand 'haldane' in the catalogue, in the index) as a fresh process would load them."""
    from counterfeit_vision.catalog import load_catalog

    return "haldane" in load_catalog(catalog_dir).brands, "haldane" in ReferenceIndex.load(index_dir).brands()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["add", "remove"])
def test_killed_brand_add_and_remove_change_catalogue_and_index_together(command, tiny_embedder, sample_catalog_dir,
                                                                          tmp_path, monkeypatch):
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.index.onboarding import offboard_brand, onboard_brand_folder, save_index

    real_replace, real_rename = os.replace, os.rename
    before = (command == "remove", command == "remove")
    after = (not before[0], not before[1])
    for k in range(1, 60):
        work = tmp_path / f"k{k}"
        ignore = shutil.ignore_patterns("haldane") if command == "add" else None
        shutil.copytree(sample_catalog_dir, work / "catalog", ignore=ignore)
        catalog = load_catalog(work / "catalog")
        index = build_index(catalog, tiny_embedder, adapt=False)
        save_index(index, work / "index", tiny_embedder, reference_root=catalog.root)
        assert _on_disk(work / "catalog", work / "index") == before
        calls = []

        def fail_at_k(real, _calls=calls, _k=k):
            def call(src, dst, *a, **kw):
                _calls.append(dst)
                if len(_calls) == _k:
                    raise OSError("killed")
                return real(src, dst, *a, **kw)
            return call

        monkeypatch.setattr(os, "replace", fail_at_k(real_replace))
        monkeypatch.setattr(os, "rename", fail_at_k(real_rename))
        try:
            if command == "add":
                onboard_brand_folder(sample_catalog_dir / "haldane", catalog_dir=work / "catalog", index=index,
                                     index_dir=work / "index", embedder=tiny_embedder, adapt=False)
            else:
                offboard_brand("haldane", catalog_dir=work / "catalog", index=index, index_dir=work / "index",
                               embedder=tiny_embedder)
            finished = True
        except OSError:
            finished = False
        finally:
            monkeypatch.setattr(os, "replace", real_replace)
            monkeypatch.setattr(os, "rename", real_rename)
        state = _on_disk(work / "catalog", work / "index")
        assert state in (before, after), f"{command} killed at write {k}: catalogue/index {state}"
        if finished:
            assert state == after and k > 2
            break
    assert finished
