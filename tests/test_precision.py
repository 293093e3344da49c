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
