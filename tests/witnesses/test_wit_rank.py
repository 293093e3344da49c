"""Ranks over Q and GF(2) against plain-Python elimination; fooling sets against an exact
search; broken fooling sets rejected."""
import itertools
from fractions import Fraction

import numpy as np
import pytest

from attncheck.bounds.witnesses import rank as rk
from attncheck.constructions.verdict import BadInput


def rank_fractions(mat):
    """Textbook Gaussian elimination over Q with Fractions (independent of rank.py)."""
    a = [[Fraction(int(v)) for v in row] for row in mat]
    r = 0
    for c in range(len(a[0]) if a else 0):
        p = next((i for i in range(r, len(a)) if a[i][c] != 0), None)
        if p is None:
            continue
        a[r], a[p] = a[p], a[r]
        for i in range(len(a)):
            if i != r and a[i][c] != 0:
                f = a[i][c] / a[r][c]
                a[i] = [x - f * y for x, y in zip(a[i], a[r])]
        r += 1
    return r


def rank_mod2_python(mat):
    rows = [int("".join(str(int(v) & 1) for v in row), 2) for row in mat]
    r = 0
    for bit in reversed(range(len(mat[0]))):
        p = next((i for i in range(r, len(rows)) if rows[i] >> bit & 1), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        rows = [x ^ rows[r] if i != r and x >> bit & 1 else x for i, x in enumerate(rows)]
        r += 1
    return r


def _random_matrices():
    rng = np.random.default_rng(7)
    for shape in [(5, 5), (8, 3), (3, 9), (12, 12), (40, 36), (30, 70)]:
        m = rng.integers(0, 2, size=shape).astype(np.int8)
        m[-1] = m[0] ^ m[1]                              # a GF(2) dependency
        m[-2] = m[0] | m[2]
        yield m


@pytest.mark.parametrize("mat", list(_random_matrices()), ids=lambda m: f"{m.shape}")
def test_ranks_match_plain_python(mat):
    assert rk.rank_gf2(mat) == rank_mod2_python(mat.tolist())
    r_q = rank_fractions(mat.tolist())
    assert rk.rank_bareiss(mat) == r_q
    assert rk.rank_mod_p(mat) == r_q                     # p = 2^31-1 divides no minor here


def test_fields_differ_where_they_should():
    m = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=np.int8)   # rows sum to 0 mod 2
    assert (rk.rank_gf2(m), rk.rank_bareiss(m), rank_fractions(m.tolist())) == (2, 3, 3)


@pytest.mark.parametrize("q", [1, 2, 3, 4, 5])
def test_disj_full_rank_by_two_methods(q):
    w = rk.rank_witness("disj", q)
    assert w.rank_q == rank_fractions(rk.disj_matrix(q).tolist()) == 2 ** q and w.rank_q_exact
    assert w.rank_gf2 == 2 ** q and w.fooling_size == w.fooling_upper == 2 ** q


def max_fooling_set(mat, value=1):
    """Exact maximum by branch and bound over the candidate entries (tiny matrices only)."""
    cands = [(r, c) for r in range(mat.shape[0]) for c in range(mat.shape[1]) if mat[r, c] == value]
    ok = lambda p, s: mat[p[0], s[1]] != value or mat[s[0], p[1]] != value   # noqa: E731
    best = 0

    def grow(i, chosen):
        nonlocal best
        best = max(best, len(chosen))
        if len(chosen) + len(cands) - i <= best:
            return
        for j in range(i, len(cands)):
            if all(ok(cands[j], s) for s in chosen):
                grow(j + 1, chosen + [cands[j]])
    grow(0, [])
    return best


@pytest.mark.parametrize("name,size", [("disj", 1), ("disj", 2), ("disj", 3), ("index", 2), ("index", 3)])
def test_greedy_fooling_set_is_maximum_on_tiny_matrices(name, size):
    mat = rk.disj_matrix(size) if name == "disj" else rk.index_matrix(size)
    fs = rk.greedy_fooling_set(mat)
    assert rk.is_fooling_set(mat, fs)
    assert len(fs) == max_fooling_set(mat)


def test_random_matrices_greedy_never_beats_the_exact_maximum():
    rng = np.random.default_rng(3)
    for _ in range(20):
        mat = rng.integers(0, 2, size=(5, 5)).astype(np.int8)
        fs = rk.greedy_fooling_set(mat)
        assert rk.is_fooling_set(mat, fs) and len(fs) <= max_fooling_set(mat)


def test_broken_fooling_sets_are_rejected():
    mat = rk.disj_matrix(3)
    good = [(s, 7 ^ s) for s in range(8)]                # (S, complement of S)
    assert rk.is_fooling_set(mat, good)
    assert not rk.is_fooling_set(mat, good + [(0, 1)])   # (0,1) clashes with (0,7) and (1,6)
    assert not rk.is_fooling_set(mat, [(1, 1)])          # DISJ(S, S) = 0 for S nonempty
    assert not rk.is_fooling_set(mat, [(0, 7), (0, 3)])  # same row


@pytest.mark.slow
def test_disj_twelve_is_certified():
    w = rk.rank_witness("disj", 12)
    assert (w.rank_q, w.rank_q_exact, w.rank_gf2, w.fooling_size) == (4096, True, 4096, 4096)


@pytest.mark.parametrize("args", [("disj", 0), ("disj", 13), ("index", 17), ("eq", 3)])
def test_bad_sizes_refused(args):
    with pytest.raises(BadInput):
        rk.rank_witness(*args)
