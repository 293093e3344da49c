"""RowSets (verifiers/rowsets.py) against the plain set definitions they compress.

Every form must describe a *superset* of the true sets (``upto`` may over-approximate) and the
two combinations a head performs -- cumulative union (lastOccurrence) and union over pointers
(lookUp) -- must contain what the definitions give, position by position."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from attncheck.verifiers.rowsets import DENSE_MAX, RowSets


def as_sets(rs: RowSets) -> list[set[int]]:
    T = rs.T
    if rs.kind == "single":
        return [{int(r)} if r >= 0 else set() for r in rs.rows]
    if rs.kind == "dense":
        return [set(np.flatnonzero(rs.mask[t]).tolist()) for t in range(T)]
    return [set(range(int(u) + 1)) for u in rs.ub]


def random_rowsets(rng, T: int, nb: int, kind: str) -> RowSets:
    if kind == "single":
        return RowSets.single(rng.integers(-1, nb, size=T), nb)
    if kind == "dense":
        return RowSets.dense(rng.random((T, nb)) < 0.3)
    return RowSets.upto(rng.integers(-1, nb, size=T), nb)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10 ** 6), T=st.integers(2, 9), nb=st.integers(1, 9),
       kind=st.sampled_from(["single", "dense", "upto"]), tkind=st.sampled_from(["single", "dense", "upto"]))
def test_combinations_contain_their_definitions(seed, T, nb, kind, tkind):
    rng = np.random.default_rng(seed)
    rs = random_rowsets(rng, T, nb, kind)
    sets = as_sets(rs)
    cum = as_sets(rs.cumulative())
    for i in range(T):
        assert set().union(*sets[:i + 1]) <= cum[i]
    targets = random_rowsets(rng, T, T, tkind)
    got = as_sets(rs.gather(targets))
    for i, ptrs in enumerate(as_sets(targets)):
        want = set().union(*(sets[p] for p in ptrs)) if ptrs else set()
        assert want <= got[i]
    assert set().union(*sets[1:]) == set(rs.domain().tolist())
    idx = np.arange(T)
    dom = np.arange(nb)
    mem = rs.members(idx, dom)
    for t in range(T):
        assert set(np.flatnonzero(mem[t]).tolist()) == sets[t]


def test_dense_forms_are_exact_and_large_codebooks_stay_compact():
    rs = RowSets.constant(5, [1, 3], 4)
    assert rs.kind == "dense" and as_sets(rs)[0] == set() and as_sets(rs)[2] == {1, 3}
    big = RowSets.constant(5, [1, 3], DENSE_MAX + 1, start_row=0)
    assert big.kind == "upto" and as_sets(big)[0] == {0} and {1, 3} <= as_sets(big)[2]
    pos = RowSets.single(np.arange(5), DENSE_MAX + 10)
    assert pos.cumulative().kind == "upto" and list(pos.cumulative().ub) == [0, 1, 2, 3, 4]
