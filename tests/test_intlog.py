"""constructions/intlog.py: the one definition of ⌈log2 n⌉ and ⌊log2 n⌋ (STYLE.md practice 9)."""
import doctest

import pytest

from attncheck.bounds import intmath
from attncheck.constructions import intlog, pointer_programs

#: 2^m - 1, 2^m, 2^m + 1 up to far beyond float64's 53 bits, where math.log2 goes wrong.
GRID = sorted({v for m in range(0, 130) for v in (2 ** m - 1, 2 ** m, 2 ** m + 1) if v >= 1})


def test_docstring_examples():
    assert doctest.testmod(intlog).failed == 0


def test_ceil_and_floor_log2_are_the_least_and_greatest_powers():
    for n in GRID:
        c, f = intlog.ceil_log2(n), intlog.floor_log2(n)
        assert 2 ** c >= n and (c == 0 or 2 ** (c - 1) < n), n
        assert 2 ** f <= n < 2 ** (f + 1), n


def test_one_definition_checked_at_the_bounds_boundary():
    assert pointer_programs.ceil_log2 is intlog.ceil_log2 and pointer_programs.floor_log2 is intlog.floor_log2
    assert all(intmath.ceil_log2(n) == intlog.ceil_log2(n) and intmath.floor_log2(n) == intlog.floor_log2(n)
               for n in GRID)
    with pytest.raises(ValueError):
        intmath.ceil_log2(0)                     # the arithmetic takes n >= 1; intmath says so
    with pytest.raises(TypeError):
        intmath.floor_log2(4.0)
