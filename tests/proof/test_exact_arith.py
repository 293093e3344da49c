"""The checker's exact arithmetic (issue 19), each piece against Python ints or Fractions: exact
float reading, the exact dot products (int64 limbs or Python ints, with a floor shift), the
rounding of a sum of two parts, the lower bound on a stored score distance, the windowed leakage
sum, the row-set containment, and the exponential table against rational bounds."""
from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest

from attncheck.constructions.precision import parse_format
from attncheck.verifiers.proofcheck import (Checker, claimed_rows, dot_exact, dyadic, exponent, rhe,
                                            round_sum, uncovered)


def _stub(F: int) -> Checker:
    c = Checker.__new__(Checker)
    c.F, c._E, c.floor = F, None, -(1 << 62)
    return c


def test_floats_are_read_exactly():
    rng = np.random.default_rng(19)
    xs = np.concatenate([rng.normal(size=500), rng.normal(size=50) * 1e-300, [0.0, -0.0, 5e-324, 1.5, -2.0 ** 60,
                         3 * 2.0 ** -1074, 1e308], np.round(rng.normal(size=50) * 2 ** 20) / 2 ** 20])
    e = exponent(xs)
    assert e == max(Fraction(float(x)).denominator.bit_length() - 1 for x in xs)
    assert all(Fraction(int(n), 1 << e) == Fraction(float(x)) for n, x in zip(dyadic(xs, e), xs))
    assert exponent(np.round(xs[:500] * 2 ** 10) / 2 ** 10) <= 10


@pytest.mark.parametrize("seed", range(4))
def test_dot_exact_is_python_int_arithmetic(seed):
    """floor(a @ b.T / 2^s) for magnitudes from a few bits to past int64 (the Python-int path)."""
    rng = random.Random(seed)
    for _ in range(60):
        ba, bb, k, s = rng.choice([0, 3, 20, 28, 35, 45, 62]), rng.choice([1, 10, 28, 35, 50, 70]), \
            rng.randint(1, 6), rng.choice([0, 0, 1, 3, 7, 20])
        a = np.array([[rng.randint(-(1 << ba), 1 << ba) for _ in range(k)] for _ in range(5)], dtype=object)
        b = np.array([[rng.randint(-(1 << bb), 1 << bb) for _ in range(k)] for _ in range(7)], dtype=object)
        ref = (a @ b.T) >> s
        for x, y in ((a, b), (a.astype(np.int64), b.astype(np.int64)) if max(ba, bb) < 63 else (a, b)):
            assert np.array_equal(np.asarray(dot_exact(x, y, s), dtype=object), ref), (ba, bb, k, s)


@pytest.mark.parametrize("s", [1, 2, 5, 30, 60, 61, 90])
def test_round_sum_is_the_rounding_of_the_sum(s):
    """Half-even rounding of a + b (broadcast) equals rhe of the Python-int sum, ties included."""
    rng = random.Random(s)
    for bits in (8, 40, 61, 63, 100):
        a = np.array([rng.randint(-(1 << bits), 1 << bits) for _ in range(6)], dtype=object).reshape(6, 1)
        b = np.array([rng.randint(-(1 << bits), 1 << bits) for _ in range(5)], dtype=object).reshape(1, 5)
        tie = np.array([(((x >> s) << s) + (1 << (s - 1))) - int(a[0, 0]) for x in b.ravel()], dtype=object)
        for bb in (b, tie.reshape(1, 5), (b >> s) << s):                # tie: a[0] + b is exactly half;
                                                                        # then b on the grid (no low part)
            assert np.array_equal(np.asarray(round_sum(a, bb, s), dtype=object), rhe(a + bb, s)), (s, bits)


@pytest.mark.parametrize("F,z", [(6, 2), (16, 2), (26, 2), (26, -3), (30, 0)])
def test_dist_lower_bounds_the_stored_distance(F, z):
    """For raw scores x* > x (scale 2^-z), q(cq x*) - q(cq x) >= dist_lower(x* - x), where q rounds
    half-even at 2^-(2F + z); and past zero_beyond the exponential bound is 0."""
    rng, c = random.Random(F * 7 + z), _stub(F)
    F2 = 2 * F + z
    for cq in (1, 3, (1 << F) + 5, 20040412 << F, (1 << 50) + 1):
        for _ in range(200):
            x = rng.randint(-(1 << 50), 1 << 50)
            d = rng.choice([1, 2, 3, rng.randint(1, 1 << 20), rng.randint(1, 1 << 45), rng.randint(1, 1 << 58)])
            exact = int(rhe((x + d) * cq, F2) - rhe(x * cq, F2))
            got = int(c.dist_lower(np.array([d], dtype=np.int64), cq, z)[0])
            assert got <= exact, (cq, x, d, got, exact)
            if exact > 0:
                assert int(c.expbound(np.array([max(got, 1)]))[0]) >= int(c.expbound(np.array([min(exact, 1 << 60)]))[0])
        cap = c.zero_beyond(cq, z)                                        # from here on the bound is 0
        for d in ([cap] if cap < 1 << 62 else []) + [cap + 5, 3 * cap]:
            delta = np.array([d], dtype=np.int64 if d < 1 << 62 else object)
            assert int(c.expbound(np.array([max(1, int(c.dist_lower(delta, cq, z)[0]))]))[0]) == 0, (cq, d)


def test_window_sum_is_the_sum_over_competitors():
    """window_sum (sorted values in a window) equals the direct sum of the exponential bound over
    every live competitor after (or before) each target."""
    rng = np.random.default_rng(3)
    c = _stub(12)
    for _ in range(30):
        n = int(rng.integers(5, 60))
        vals = rng.integers(-40000, 40000, n).astype(np.int64)
        vals[rng.random(n) < 0.2] = c.floor
        f = np.sort(rng.choice(n, size=int(rng.integers(1, n)), replace=False))
        star = rng.integers(40001, 90000, len(f)).astype(np.int64)
        g = star - np.where(vals == c.floor, -(1 << 40), vals).max() 
        g = np.maximum(np.minimum(g, 50), 1)
        for after in (True, False):
            got = c.window_sum(vals, after, star, g, f)
            for t, jj in enumerate(f):
                sel = [j for j in range(n) if vals[j] != c.floor and (j > jj if after else j < jj)]
                ref = sum(int(c.expbound(np.array([max(int(star[t] - vals[j]), int(g[t]))]))[0]) for j in sel)
                assert got[t] == ref


def test_row_set_containment():
    """A claimed set must contain the derived rows: single, upto and mask against single, upto, runs."""
    T, nb = 6, 6
    p = np.array([-1, 0, 1, 2, 3, 4])
    single, upto = ("single", p), ("upto", p)
    mask = ("mask", np.array([[0] * 6] + [[1, 1, 0, 0, 0, 0]] * 5, dtype=bool))
    assert not uncovered(single, claimed_rows({"single": p.tolist()}, T, nb), nb).size
    assert not uncovered(upto, claimed_rows({"upto": [-1, 1, 1, 2, 3, 5]}, T, nb), nb).size
    assert list(uncovered(upto, claimed_rows({"upto": [-1, 0, 1, 1, 3, 4]}, T, nb), nb)) == [2]
    assert list(uncovered(single, claimed_rows({"upto": [-1, 0, 1, 2, 2, 4]}, T, nb), nb)) == [3]
    runs = {"runs": [[1, 3, [0, 1]], [4, 5, [1]]]}
    assert list(uncovered(mask, claimed_rows(runs, T, nb), nb)) == [3, 4]
    assert list(uncovered(single, claimed_rows(runs, T, nb), nb)) == [2, 3, 4]
    assert list(uncovered(mask, claimed_rows({"single": [-1, 0, 0, 1, 1, 1]}, T, nb), nb)) == [0, 1, 2, 3, 4]
    assert not uncovered(mask, claimed_rows({"upto": [-1, 1, 1, 1, 1, 2]}, T, nb), nb).size


def test_rhe_is_half_even():
    xs = list(range(-40, 41))
    got = [int(v) for v in rhe(np.array(xs, dtype=object), 2)]
    assert got == [round(Fraction(v, 4)) for v in xs]             # Python rounds Fractions half-even


@pytest.mark.parametrize("fmt", ["fixed:4.6", "fixed:8.12", "fixed:16.20"])
def test_exp_table_bounds_the_stored_exponential(fmt):
    """E[j] >= round(2^F exp(-d 2^-F)) for every grid distance d in bucket j (checked at the
    bucket's smallest d, where the exponential is largest)."""
    f = parse_format(fmt)

    class Stub(Checker):
        def __init__(self):
            self.F, self._E = f.frac_bits, None
    E = Stub().exp_table()
    F, H = f.frac_bits, 8
    for j in range(len(E)):
        d = j << (F - H) if F >= H else -(-j >> (H - F))
        y = Fraction(1 << F) * Fraction(math.exp(-d / 2 ** F))       # float exp, 1e-15 relative
        assert E[j] >= round(y * (1 - Fraction(1, 10 ** 12)))
    d = len(E) << (F - H) if F >= H else len(E)
    assert round((1 << F) * math.exp(-d / 2 ** F) * (1 + 1e-12)) == 0   # beyond the table: 0
