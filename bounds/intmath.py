"""Exact integer and rational arithmetic for bound formulas (STYLE.md practice 9).

Every integer-valued quantity of a bound (depths ``⌊log2 k⌋ + 2`` and ``2 + ⌈log2 k⌉`` of
``sht24a.thm4_2``, tree depths ``⌈log_b N⌉`` of ``sht24a.thm3_4``, ``⌈12 b² ln n⌉`` of
``fact.sht24a.B2``, the head count ``⌈log2 log2 N⌉`` of ``sht24a.thm3_1``) is computed here
without floating point.  Floating point ``math.log2`` is wrong near powers of two once the
argument passes 2^53, and sympy's auto-evaluated ``ceiling(log(x, 2))`` is already wrong at
``x = 2^31 + 1``; the sympy forms in :mod:`attncheck.bounds.formulas` are for display and are
tested against these functions on grids that include ``2^m - 1, 2^m, 2^m + 1``.

Identities used (all for integers):

* ``⌈log2 n⌉ = (n - 1).bit_length()`` and ``⌊log2 n⌋ = n.bit_length() - 1`` for n >= 1 (the
  arithmetic is :mod:`attncheck.constructions.intlog`'s; this module adds the argument checks);
* ``⌈log2 log2 n⌉ = ⌈log2 ⌈log2 n⌉⌉`` for n >= 2, because ``2^t`` is an integer, so
  ``2^t >= log2 n`` iff ``2^t >= ⌈log2 n⌉``;
* ``⌈n^(a/b)⌉`` is the least integer x with ``x^b >= n^a`` (integer roots, no floats);
* ``⌈c·ln n⌉`` for rational c > 0 and integer n >= 2 is decided with 60-digit decimal
  logarithms: ``ln n`` is irrational, so ``c·ln n`` is never an integer and 60 digits leave a
  margin far beyond any argument this toolkit accepts.
"""
from __future__ import annotations

import decimal
import math
from fractions import Fraction

from attncheck.constructions import intlog

Number = int | Fraction

#: Decimal digits used for ``⌈c · ln n⌉``.
LN_DIGITS = 60


def ceil_log2(n: int) -> int:
    """``⌈log2 n⌉`` for an integer n >= 1 (TypeError / ValueError otherwise)."""
    _need_int(n, 1, "ceil_log2")
    return intlog.ceil_log2(n)


def floor_log2(n: int) -> int:
    """``⌊log2 n⌋`` for an integer n >= 1 (TypeError / ValueError otherwise)."""
    _need_int(n, 1, "floor_log2")
    return intlog.floor_log2(n)


def ceil_log2_log2(n: int) -> int:
    """``⌈log2 log2 n⌉`` for an integer n >= 2 (0 at n = 2, since log2 log2 2 = 0)."""
    _need_int(n, 2, "ceil_log2_log2")
    return ceil_log2(ceil_log2(n))


def ceil_log_base(n: int, b: int) -> int:
    """``⌈log_b n⌉``: the least D >= 0 with ``b^D >= n`` (n >= 1, b >= 2)."""
    _need_int(n, 1, "ceil_log_base")
    _need_int(b, 2, "ceil_log_base")
    d, power = 0, 1
    while power < n:
        power *= b
        d += 1
    return d


def iroot_floor(n: int, r: int) -> int:
    """``⌊n^(1/r)⌋`` for integers n >= 0, r >= 1 (Newton's method on integers)."""
    _need_int(n, 0, "iroot_floor")
    _need_int(r, 1, "iroot_floor")
    if n < 2 or r == 1:
        return n
    if r == 2:
        return math.isqrt(n)
    x = 1 << -(-n.bit_length() // r)          # 2^⌈bits/r⌉ >= n^(1/r): start above the root
    while True:
        y = ((r - 1) * x + n // x ** (r - 1)) // r
        if y >= x:
            break
        x = y
    while x ** r > n:                          # guard the last step both ways
        x -= 1
    while (x + 1) ** r <= n:
        x += 1
    return x


def iroot_ceil(n: int, r: int) -> int:
    """``⌈n^(1/r)⌉`` for integers n >= 0, r >= 1."""
    x = iroot_floor(n, r)
    return x if x ** r == n else x + 1


def ceil_pow(n: int, e: Fraction) -> int:
    """``⌈n^e⌉`` for an integer n >= 1 and a rational exponent e >= 0."""
    e = Fraction(e)
    if e < 0:
        raise ValueError(f"ceil_pow: exponent must be >= 0, got {e}")
    return iroot_ceil(n ** e.numerator, e.denominator)


def pow_at_least(x: int, e: Fraction, n: int) -> bool:
    """``x^e >= n`` decided exactly: ``x^(num) >= n^(den)`` for e = num/den > 0."""
    e = Fraction(e)
    return x ** e.numerator >= n ** e.denominator


def at_least_pow(x: int, n: int, e: Fraction) -> bool:
    """``x >= n^e`` decided exactly: ``x^(den) >= n^(num)``."""
    e = Fraction(e)
    return x ** e.denominator >= n ** e.numerator


def ceil_mul_ln(c: Number, n: int) -> int:
    """``⌈c · ln n⌉`` for rational c > 0 and integer n >= 2, with 60-digit logarithms."""
    c = Fraction(c)
    _need_int(n, 2, "ceil_mul_ln")
    if c <= 0:
        raise ValueError(f"ceil_mul_ln: c must be > 0, got {c}")
    with decimal.localcontext() as ctx:
        ctx.prec = LN_DIGITS
        value = decimal.Decimal(c.numerator) * decimal.Decimal(n).ln() / decimal.Decimal(c.denominator)
        return int(value.to_integral_value(rounding=decimal.ROUND_CEILING))


def log2_real(x: Number) -> float:
    """``log2 x`` of a positive int or Fraction, correct for ints far beyond 2^53."""
    x = Fraction(x)
    if x <= 0:
        raise ValueError(f"log2 of a non-positive number {x}")
    return _log2_int(x.numerator) - _log2_int(x.denominator)


def log2_log2_real(n: int) -> float:
    """``log2 log2 n`` for an integer n >= 2 (0 at n = 2)."""
    _need_int(n, 2, "log2_log2_real")
    return math.log2(log2_real(n))


def _log2_int(n: int) -> float:
    shift = max(n.bit_length() - 60, 0)        # keep 60 leading bits: relative error 2^-60
    return math.log2(n >> shift) + shift


def binary_entropy(eps: Fraction) -> float:
    """``H2(ε) = -ε log2 ε - (1-ε) log2 (1-ε)`` (0 at ε = 0)."""
    eps = Fraction(eps)
    out = 0.0
    for t in (eps, 1 - eps):
        if t > 0:
            out -= float(t) * log2_real(t)
    return out


def _need_int(n, minimum: int, where: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{where}: expected an int, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{where}: expected an integer >= {minimum}, got {n}")
