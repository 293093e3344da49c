"""Reviewer R2: a training step whose attention cannot fit is one bad-input line (was exit 4,
torch asking for 5 TB at --N 100000)."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")


def test_huge_N_is_bad_input(cli, tmp_path):
    r = cli("train", "hop", "--out", tmp_path / "t", "--N", "100000", "--steps", "1", "--layers", "2")
    assert r.code == 2, (r.code, r.err)
    assert len(r.err.strip().splitlines()) == 1 and "GiB" in r.err


def test_paper_preset_sizes_pass_the_memory_check():
    from attncheck.cli.train import _hop_base
    from attncheck.constructions import training as tr
    base = _hop_base(tr, "paper", {}, 0, range(2, 7))
    assert base["N"] == 99
