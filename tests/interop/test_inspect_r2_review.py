"""Reviewer R2: inspect --threshold nan is one bad-input line (click's FloatRange lets nan through;
before, every alignment compared False against it and the report claimed no role)."""
from __future__ import annotations


def test_threshold_nan_is_bad_input(cli):
    r = cli("inspect", "induction", "--N", "8", "--threshold", "nan")
    assert r.code == 2, (r.code, r.err)
    assert len(r.err.strip().splitlines()) == 1 and "--threshold" in r.err
