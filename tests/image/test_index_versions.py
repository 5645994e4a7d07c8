"""An index save killed between any two file writes leaves the old version or the new one, never a mix."""

from __future__ import annotations

import os
import shutil

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
