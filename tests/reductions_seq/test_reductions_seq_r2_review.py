"""Reviewer R2: reduction collide --layers 0 is one bad-input line (0 was read as 'not given' and
the default k - 1 layers were built and refuted)."""
from __future__ import annotations


def test_collide_zero_layers_is_bad_input(cli):
    r = cli("reduction", "collide", "--layers", "0")
    assert r.code == 2, (r.code, r.err)
    assert len(r.err.strip().splitlines()) == 1 and "--layers" in r.err
