"""Number formats (constructions/precision.py): the one place rounding is defined."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attncheck.constructions.precision import (EXACT, FixedPointOverflow, fixed, int_bits_for,
                                           parse_format)
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


@pytest.mark.parametrize("text", ["fixed:8", "fixed:a.b", "fixed:0.4", "float", "fixed:40.40", "", "fixed:-1.2"])
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
