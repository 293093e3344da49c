"""Number formats (constructions/precision.py): the one place rounding is defined."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fractions import Fraction

from attncheck.constructions.precision import (EXACT, MAX_FIXED_BITS, MAX_FORMAT_BITS,
                                               FixedPointOverflow, fixed, int_bits_for, parse_format)
from attncheck.constructions.verdict import BadInput


def test_half_even_ties_and_grid():
    f = fixed(4, 2)                       # grid 0.25, range [-8, 7.75]
    assert f.ulp == 0.25 and f.hi == 7.75 and f.lo == -8
    assert f.quantize(0.125) == 0.0       # tie -> even (0)
    assert f.quantize(0.375) == 0.5       # tie -> even (2 * 0.25)
    assert f.quantize(-0.375) == -0.5
    assert f.quantize(0.3) == 0.25


def test_saturate_and_raise():
    assert fixed(4, 2).quantize(100.0) == 7.75
    assert fixed(4, 2).quantize(-100.0) == -8.0
    with pytest.raises(FixedPointOverflow, match="score"):
        fixed(4, 2, "raise").quantize(np.array([1.0, 9.0]), "score")


def test_exact_is_identity():
    x = np.array([1e-300, math.pi, -7.5])
    assert np.array_equal(EXACT.quantize(x), x)
    assert EXACT.ulp == 0 and EXACT.bits is None


@pytest.mark.parametrize("text", ["fixed:8", "fixed:a.b", "fixed:0.4", "float", "fixed:200.100", "fixed:129.128", "", "fixed:-1.2"])
def test_parse_rejects(text):
    with pytest.raises(BadInput):
        parse_format(text)


def test_parse_accepts():
    assert str(parse_format("fixed:16.12")) == "fixed:16.12"
    assert parse_format("exact").is_exact


@given(st.floats(-100, 100), st.integers(2, 10), st.integers(0, 16))
def test_quantize_properties(x, I, F):
    f = fixed(I, F)
    q = float(f.quantize(x))
    assert f.representable(q)
    assert float(f.quantize(q)) == q                       # idempotent
    if f.lo <= x <= f.hi:
        assert abs(q - x) <= f.max_rounding_error + 1e-15  # half an ulp inside the range
    assert float(f.round_down(x)) <= q <= float(f.round_up(x))


@given(st.floats(-50, 50), st.floats(-50, 50), st.integers(0, 12))
def test_quantize_is_monotone(a, b, F):
    f = fixed(8, F)
    if a <= b:
        assert f.quantize(a) <= f.quantize(b)


def test_int_bits_for():
    assert int_bits_for(0.5) == 1
    assert int_bits_for(1) == 2          # [-2, 2) holds 1
    assert int_bits_for(64) == 8         # [-128, 128)
    assert fixed(int_bits_for(1000), 0).hi >= 1000


def test_word_view_is_twos_complement_of_the_grid_integers():
    f = fixed(4, 2)                                        # grid integers -32 .. 31
    assert f.to_words([-0.25, 1.5, 0.0]).tolist() == [63, 6, 0]    # 6-bit words by default
    assert f.to_words(f.lo).tolist() == 32 and f.to_words(f.hi).tolist() == 31
    w = f.to_words(np.array([-3.75, 7.5]), bits=62)        # a wider word: headroom for sums
    assert w.tolist() == [(1 << 62) - 15, 30]
    assert f.from_words(w, bits=62).tolist() == [-3.75, 7.5]
    assert f.to_words(100.0, bits=62).tolist() == 400       # beyond the range, still on the grid
    with pytest.raises(ValueError, match="grid"):
        f.to_words(0.1)                                    # off the grid: quantize first
    with pytest.raises(ValueError, match="does not fit"):
        f.to_words(100.0)                                  # 400 needs more than 6 bits
    with pytest.raises(ValueError, match="word width"):
        f.to_words(1.0, bits=5)
    for bad in (64, -1):
        with pytest.raises(ValueError, match=r"\[0, 2\^6\)"):
            f.from_words([3, bad])
    with pytest.raises(ValueError, match="fixed"):
        EXACT.to_words(1.0)


@given(st.integers(-(1 << 51), (1 << 51) - 1), st.integers(0, 30), st.integers(52, 63))
def test_word_view_round_trips(n, F, bits):
    f = fixed(52 - F, F)
    x = f.from_ints(n)
    w = f.to_words(x, bits)
    assert 0 <= int(w) < (1 << bits) and (int(w) == n if n >= 0 else int(w) == n + (1 << bits))
    assert float(f.from_words(w, bits)) == float(x)


# --- formats beyond float64's 52 bits (issue 15): exact grids, float64 methods stay honest ---------
def half_even(v: Fraction) -> int:
    """Reference rounding of a rational to an integer, ties to even."""
    fl = v.numerator // v.denominator
    r = v - fl
    return fl + (r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2 == 1))


def test_wide_formats_are_accepted_up_to_the_limit():
    assert MAX_FORMAT_BITS >= 130 and MAX_FIXED_BITS == 52        # the old name keeps its meaning
    for I, F in [(27, 26), (34, 33), (67, 63), (66, 64), (130, 0), (1, 255), (128, 128)]:
        f = fixed(I, F)
        assert f.bits == I + F and str(parse_format(str(f))) == str(f)
    with pytest.raises(BadInput, match="at most 256"):
        fixed(200, 57)


@pytest.mark.parametrize("I,F", [(4, 2), (27, 26), (30, 24), (34, 33), (67, 63), (40, 90), (130, 0)])
def test_range_constants_of_wide_formats(I, F):
    f = fixed(I, F)
    assert f.ulp == 2.0 ** -F and f.max_rounding_error == 2.0 ** -(F + 1) and f.lo == -2.0 ** (I - 1)
    assert f.int_lo == -(1 << (I + F - 1)) and f.int_hi == (1 << (I + F - 1)) - 1
    top = Fraction(f.int_hi, 1 << F)                           # the exact top of the range
    hi = Fraction(f.hi)
    assert hi <= top and (hi * (1 << F)).denominator == 1     # below the top, on the grid
    assert math.nextafter(f.hi, math.inf) > top               # and the largest float64 that is
    assert f.quantize(1e300) == f.hi and f.quantize(-1e300) == f.lo
    assert f.quantize_ints(1e300).tolist() == f.int_hi         # the integer view saturates exactly


@given(st.floats(-1e6, 1e6, allow_subnormal=False),
       st.sampled_from([(8, 4), (20, 30), (27, 26), (34, 33), (40, 60), (67, 63), (12, 118)]))
def test_float_methods_are_exact_for_float64_inputs(x, IF):
    """quantize / round_down / round_up of a float64 pick the grid value the rule picks for that
    exact number (checked in Fractions), below and above 52 bits."""
    I, F = IF
    f = fixed(I, F)
    v = Fraction(x) * (1 << F)                                 # x in grid units, exactly
    lo, hi = f.int_lo, f.int_hi
    want = min(max(half_even(v), lo), hi)
    n = f.quantize_ints(x)
    assert int(n) == want and (n.dtype == object) == (I + F > 63)
    q = Fraction(float(f.quantize(x))) * (1 << F)
    if lo <= want <= hi - (1 << max(0, I + F - 54)):           # below the float64 top: exact
        assert q == want
        assert f.to_ints(f.quantize(x)).tolist() == want
    fl = v.numerator // v.denominator
    ce = -((-v.numerator) // v.denominator)
    if lo <= fl and ce <= hi - (1 << max(0, I + F - 54)):
        assert Fraction(float(f.round_down(x))) * (1 << F) == fl
        assert Fraction(float(f.round_up(x))) * (1 << F) == ce


def test_wide_integer_view_round_trips_and_word_view_refuses():
    f = fixed(67, 63)
    x = np.array([f.hi, f.lo, 1.0 / 3.0, -2.0 ** -63, 0.0])
    n = f.to_ints(x)
    assert n.dtype == object and all(isinstance(v, int) for v in n.tolist())
    assert [Fraction(v, 1 << 63) for v in n.tolist()] == [Fraction(float(v)) for v in x]
    assert np.array_equal(f.from_ints(n), x)                   # these are float64 grid values
    assert float(f.from_ints(np.array([f.int_hi], dtype=object))[0]) == 2.0 ** 66   # nearest float64
    with pytest.raises(ValueError, match="grid"):
        fixed(67, 10).to_ints(0.1)
    with pytest.raises(ValueError, match="63-bit"):
        f.to_words(1.0)
    assert fixed(40, 20).to_ints(1.5).dtype == np.int64


def test_wide_raise_policy_names_the_quantity():
    f = fixed(67, 63, "raise")
    assert f.quantize_ints(2.0 ** 65).tolist() == 1 << 128
    with pytest.raises(FixedPointOverflow, match="score"):
        f.quantize_ints(np.array([1.0, 2.0 ** 66]), "score")
    with pytest.raises(FixedPointOverflow, match="score"):
        f.quantize(np.array([2.0 ** 66]), "score")
