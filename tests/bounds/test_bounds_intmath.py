"""Exact integer arithmetic of bound formulas, checked against definitions (not formulas)."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attncheck.bounds import intmath as im

# 2^m - 1, 2^m, 2^m + 1 for m up to 130: far past float64's 2^53, where math.log2 rounds.
POW2_GRID = sorted({v for m in range(0, 131) for v in (2 ** m - 1, 2 ** m, 2 ** m + 1) if v >= 1})


def least_t(pred) -> int:
    t = 0
    while not pred(t):
        t += 1
    return t


def test_ceil_and_floor_log2_are_the_defining_least_and_greatest_powers():
    for n in POW2_GRID + list(range(1, 3000)):
        c, f = im.ceil_log2(n), im.floor_log2(n)
        assert c == least_t(lambda t: 2 ** t >= n), n
        assert 2 ** f <= n < 2 ** (f + 1), n
        assert c - f == (0 if n & (n - 1) == 0 else 1), n


def test_ceil_log2_log2_is_least_t_with_2_to_2_to_t_at_least_n():
    grid = [n for n in POW2_GRID if n >= 2] + [2 ** (2 ** t) + d for t in range(0, 8) for d in (-1, 0, 1)]
    for n in grid:
        if n >= 2:
            assert im.ceil_log2_log2(n) == least_t(lambda t: 2 ** (2 ** t) >= n), n
    assert im.ceil_log2_log2(2) == 0          # log2 log2 2 = 0
    assert im.ceil_log2_log2(5) == 2          # log2 log2 5 = 1.21...


@given(st.integers(1, 10 ** 40), st.integers(2, 1000))
def test_ceil_log_base_brackets_n(n, b):
    d = im.ceil_log_base(n, b)
    assert b ** d >= n and (d == 0 or b ** (d - 1) < n)


@given(st.integers(0, 10 ** 60), st.integers(1, 9))
def test_integer_roots_bracket_n(n, r):
    x = im.iroot_floor(n, r)
    assert x ** r <= n < (x + 1) ** r
    c = im.iroot_ceil(n, r)
    assert c ** r >= n and (c == 0 or (c - 1) ** r < n)


@pytest.mark.parametrize("n,e,want", [(64, Fraction(3, 4), 23), (4096, Fraction(3, 4), 512),
                                      (16, Fraction(1, 2), 4), (17, Fraction(1, 2), 5), (1, Fraction(5, 3), 1)])
def test_ceil_pow_small_cases(n, e, want):
    assert im.ceil_pow(n, e) == want


def test_exact_power_comparisons_at_the_boundary():
    # D >= N^eps with D = N^eps exactly must hold; one less must fail
    assert im.at_least_pow(4, 16, Fraction(1, 2)) and not im.at_least_pow(3, 16, Fraction(1, 2))
    assert im.at_least_pow(8, 4096, Fraction(1, 4)) and not im.at_least_pow(7, 4096, Fraction(1, 4))
    assert im.pow_at_least(4, Fraction(1, 2), 2) and not im.pow_at_least(3, Fraction(1, 2), 2)


def test_ceil_mul_ln_matches_high_precision_mpmath():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 80
    for c in (Fraction(1), Fraction(12), Fraction(12 * 16), Fraction(7, 3), Fraction(12 * 2 ** 20)):
        for n in (2, 3, 4, 1023, 1024, 1025, 2 ** 24, 2 ** 64 + 1):
            want = int(mpmath.ceil(mpmath.mpf(c.numerator) / c.denominator * mpmath.log(n)))
            assert im.ceil_mul_ln(c, n) == want, (c, n)


def test_log2_real_stays_accurate_beyond_float_range():
    assert im.log2_real(2 ** 200) == 200.0
    assert abs(im.log2_real(2 ** 2000 + 1) - 2000.0) < 1e-9      # math.log2(float) would overflow
    assert abs(im.log2_real(Fraction(1, 3)) + math.log2(3)) < 1e-12
    assert im.log2_log2_real(2) == 0.0 and im.log2_log2_real(16) == 2.0


def test_binary_entropy_endpoints_and_symmetry():
    assert im.binary_entropy(Fraction(0)) == 0.0
    assert im.binary_entropy(Fraction(1, 2)) == 1.0
    assert abs(im.binary_entropy(Fraction(1, 3)) - im.binary_entropy(Fraction(2, 3))) < 1e-15


@pytest.mark.parametrize("fn,args", [(im.ceil_log2, (0,)), (im.floor_log2, (-4,)), (im.ceil_log2_log2, (1,)),
                                     (im.ceil_log_base, (10, 1)), (im.iroot_floor, (-1, 2)),
                                     (im.ceil_mul_ln, (1, 1)), (im.ceil_mul_ln, (-1, 5)),
                                     (im.log2_real, (0,))])
def test_out_of_domain_arguments_raise(fn, args):
    with pytest.raises(ValueError):
        fn(*args)


def test_non_integers_are_rejected():
    with pytest.raises(TypeError):
        im.ceil_log2(8.0)
    with pytest.raises(TypeError):
        im.ceil_log2(True)
