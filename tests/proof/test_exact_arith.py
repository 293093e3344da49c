"""The checker's integer arithmetic (issue 19): the int64 digit path of ``q(c x)`` against Python
ints, ties included, and the exponential table against mpmath-free rational bounds."""
from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest

from attncheck.constructions.precision import parse_format
from attncheck.verifiers.proofcheck import Checker, mulshift64, rhe


def _ref(xs, cq, F2):
    return [int(v) for v in rhe(np.array([int(v) * cq for v in xs], dtype=object), F2)]


def test_mulshift64_is_python_int_rounding():
    rng = random.Random(19)
    n = 0
    for _ in range(3000):
        F2 = rng.choice([2, 8, 24, 30, 31, 44, 52, 60, 61, 90, 120])
        cq = rng.randrange(1, 1 << rng.randrange(1, 100))
        lim = min((1 << 62) - 1, ((1 << 61) << F2) // cq - 1)
        if lim < 1:
            continue
        xs = [rng.randrange(-lim, lim + 1) for _ in range(20)]
        xs += [v for v in (((rng.randrange(1, 50) << F2) + (1 << (F2 - 1))) // cq for _ in range(3)) if v <= lim]
        assert [int(v) for v in mulshift64(np.array(xs, dtype=np.int64), cq, F2)] == _ref(xs, cq, F2)
        n += 1
    assert n > 1000


@pytest.mark.parametrize("F2", [4, 30, 44, 60])
def test_mulshift64_ties_go_to_even(F2):
    for cq in (1, 3, 5, 1 << 20):
        xs = [((2 * k + 1) << (F2 - 1)) // cq for k in range(-40, 40) if ((2 * k + 1) << (F2 - 1)) % cq == 0
              and abs(((2 * k + 1) << (F2 - 1)) // cq) < 1 << 62]
        if xs:
            assert [int(v) for v in mulshift64(np.array(xs, dtype=np.int64), cq, F2)] == _ref(xs, cq, F2)


def test_mulshift64_refuses_what_it_cannot_hold():
    with pytest.raises(ValueError):
        mulshift64(np.array([1 << 40], dtype=np.int64), 1 << 40, 8)


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
