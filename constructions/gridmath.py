"""Exact arithmetic on grid integers: precision.py's rounding rules on integer arrays.

A stored number of ``fixed:I.F`` is ``n * 2^-F`` with n an integer (the *grid integer*).  The
emulator (``verifiers/gridpass.py``) computes every stored value as the exact grid integer the
rules of :mod:`attncheck.constructions.precision` give; this module holds the pieces that do not
depend on a construction:

* :func:`round_shift` -- ``P * 2^-s`` rounded half-even, for integer arrays P (int64 or object);
  the rule of every product and sum stored at a coarser scale;
* :func:`round_ratio_array` -- ``num / den`` rounded half-even (``den > 0``), the rule of a
  division (hardmax average, softmax ``num / z``); floor division, never truncation;
* :func:`exp_ints` / :func:`exp_table` -- the max-subtracted exponential ``exp(-d 2^-F)`` for a
  grid distance ``d >= 0``, rounded once to the grid: float64 decides where its error bound
  leaves one candidate, interval arithmetic (mpmath, directed rounding) decides the rest.  A tie
  needs ``exp(-d 2^-F)`` rational, which (Lindemann) happens only at ``d = 0``, where it is 1;
* :func:`dyadic` -- a float64 array as exact integers times ``2^-e`` (weights are read as the
  exact binary fractions they are).

Containers: integer arrays are int64 when a bound shows no overflow and object arrays of Python
ints otherwise; float64 arrays holding integers (exact below 2^53) are the emulator's fast
container and are accepted where noted.
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

#: Relative error bound assumed for float64 ``numpy.exp`` (a few ulps in practice: 2^-40 is over
#: 4000 ulps, so the fast path never trusts a libm beyond what any implementation delivers).
EXP_REL_ERR = 2.0 ** -40
#: Largest table of exponentials kept per fraction width (entries; F <= 16 fits).
MAX_EXP_TABLE = 1 << 22
TWO53 = float(1 << 53)
#: Widest fraction for which every distance with a nonzero exponential is below 2^53
#: (``(F + 1) ln 2 * 2^F < 2^53``), so float64 holds the distances exactly.
FLOAT_EXP_BITS = 47


# --- rounding rules on integer arrays ---------------------------------------------------------
def round_shift(P: np.ndarray, s: int) -> np.ndarray:
    """Half-even rounding of ``P * 2^-s`` to an integer, for an integer array P (int64 or object)
    and ``s >= 0``: floor by an arithmetic shift, up when the remainder exceeds half, or equals
    half and the floor is odd (the z3 encoding's ``round_shift``)."""
    if s == 0:
        return P
    if P.dtype == object:
        return _object_map(lambda p: _round_shift_int(p, s), P)
    q = P >> s
    r = P - (q << s)
    half = 1 << (s - 1)
    return q + ((r > half) | ((r == half) & ((q & 1) == 1)))


def _round_shift_int(p: int, s: int) -> int:
    q = p >> s
    r = p - (q << s)
    half = 1 << (s - 1)
    return q + (r > half or (r == half and q & 1))


def round_ratio_array(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Half-even rounding of ``num / den`` (``den > 0``) elementwise, exact: int64 (when the
    operands fit) or object arrays; :func:`~attncheck.constructions.precision.round_ratio` per
    entry."""
    num, den = np.broadcast_arrays(num, den)
    if num.dtype == object or den.dtype == object:
        return _object_map2(_round_ratio_int, num, den)
    q, r = np.divmod(num, den)                       # floor division: num = q den + r, 0 <= r < den
    twice = 2 * r
    return q + ((twice > den) | ((twice == den) & ((q & 1) == 1)))


def _round_ratio_int(num: int, den: int) -> int:
    q, r = divmod(num, den)
    return q + (2 * r > den or (2 * r == den and q & 1))


def _object_map(fn, a: np.ndarray) -> np.ndarray:
    out = np.empty(a.size, dtype=object)
    out[:] = [fn(int(v)) for v in a.ravel()]
    return out.reshape(a.shape)


def _object_map2(fn, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(a.size, dtype=object)
    out[:] = [fn(int(x), int(y)) for x, y in zip(a.ravel(), b.ravel())]
    return out.reshape(a.shape)


def to_object(a: np.ndarray) -> np.ndarray:
    """Integer-valued array (int64, float64 below 2^53, object) -> object array of Python ints."""
    out = np.empty(a.size, dtype=object)
    out[:] = [int(v) for v in np.asarray(a).ravel()]
    return out.reshape(np.shape(a))


def max_abs(a: np.ndarray) -> int:
    """Largest |entry| of an array (rounded up to an integer), as a Python int (0 when empty)."""
    if a.size == 0:
        return 0
    if a.dtype == object:
        return max(abs(int(v)) for v in a.ravel())
    if a.dtype.kind == "f":                          # an upper bound (entries may be fractions)
        return math.ceil(max(abs(float(a.max())), abs(float(a.min()))))
    return max(abs(int(a.max())), abs(int(a.min())))


# --- float64 weights as exact binary fractions ------------------------------------------------
def dyadic(W) -> tuple[np.ndarray, int]:
    """``W = M * 2^-e`` exactly, with M an object array of Python ints and the smallest ``e >= 0``
    (every finite float64 is such a fraction)."""
    a = np.asarray(W, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("a weight is not finite")
    fr = [Fraction(v) for v in a.ravel().tolist()]
    e = max((f.denominator.bit_length() - 1 for f in fr), default=0)
    out = np.empty(len(fr), dtype=object)
    out[:] = [f.numerator * ((1 << e) // f.denominator) for f in fr]
    return out.reshape(a.shape), e


# --- the exponential ----------------------------------------------------------------------------
def zero_cutoff(F: int) -> float:
    """A float64 ``x0`` above which ``exp(-x) 2^F < 1/2`` for certain (so the grid value is 0):
    ``(F + 1) ln 2``, widened."""
    return (F + 1) * math.log(2.0) * (1.0 + 2.0 ** -40) + 1e-300


def exp_ints(d, F: int) -> np.ndarray:
    """Grid integers ``round_half_even(exp(-d 2^-F) 2^F)`` for integer distances ``d >= 0``
    (int64, object, or float64 holding integers; ``inf`` means a masked entry, value 0).
    Returns float64 holding integers when ``F <= FLOAT_EXP_BITS`` (every nonzero result then has
    ``d < 2^53`` and is below 2^53), else an object array.  Not saturated (``exp(0) = 2^F``
    needs ``I >= 2``)."""
    d = np.asarray(d)
    if F <= FLOAT_EXP_BITS:
        if d.dtype == object:
            d = np.array([float(v) if v < (1 << 53) else math.inf for v in d.ravel()]).reshape(d.shape)
        # a distance of 2^53 or more (possibly rounded to float64) is beyond the zero cutoff
        return _exp_float(d if d.dtype == np.float64 else d.astype(np.float64), F)
    out = np.empty(d.size, dtype=object)
    cache: dict[int, int] = {}
    cut = zero_cutoff(F)
    for i, v in enumerate(d.ravel().tolist()):
        if v == math.inf or float(v) * 2.0 ** -F > cut:
            out[i] = 0
            continue
        v = int(v)
        if v not in cache:
            cache[v] = exp_round(v, F)
        out[i] = cache[v]
    return out.reshape(d.shape)


def _exp_float(d: np.ndarray, F: int) -> np.ndarray:
    """float64 path of :func:`exp_ints` (``F <= FLOAT_EXP_BITS``, d < 2^53 or inf): the rounding of
    ``t = exp(-x) 2^F`` is trusted where ``t`` lies farther than its error bound from a
    half-integer; every other entry is decided by :func:`exp_round`."""
    if F <= 16:
        table = exp_table(F)
        return table[np.minimum(d, len(table) - 1).astype(np.intp)]
    x = d * 2.0 ** -F                                          # exact
    near = np.flatnonzero(x <= zero_cutoff(F))                 # the rest (and masked inf) are 0
    t = np.exp(-x.ravel()[near]) * 2.0 ** F
    m = np.rint(t)
    for j in np.flatnonzero(np.abs(t - m) >= 0.5 - (t * EXP_REL_ERR + 2.0 ** -1000)).tolist():
        m[j] = float(exp_round(int(d.ravel()[near[j]]), F))
    n = np.zeros(d.shape)
    n.ravel()[near] = m
    return n


@functools.lru_cache(maxsize=32)
def exp_table(F: int) -> np.ndarray:
    """Read-only float64 table of :func:`exp_ints` for d = 0, 1, ... up to the first distance
    where the value is 0 for certain (the last entry, 0): every larger d maps to 0."""
    D0 = int(math.ceil(zero_cutoff(F) * 2.0 ** F)) + 1
    if D0 > MAX_EXP_TABLE:
        raise ValueError(f"the exponential table of F = {F} would have {D0:,} entries")
    d = np.arange(D0 + 1, dtype=np.float64)
    x = d * 2.0 ** -F
    t = np.exp(-x) * 2.0 ** F
    n = np.rint(t)
    unsure = np.abs(t - n) >= 0.5 - (t * EXP_REL_ERR + 2.0 ** -1000)
    for i in np.flatnonzero(unsure).tolist():
        n[i] = float(exp_round(i, F))
    n[-1] = 0.0
    n.setflags(write=False)
    return n


def exp_round(d: int, F: int) -> int:
    """``round_half_even(exp(-d 2^-F) 2^F)`` decided in interval arithmetic: mpmath's ``mpf_exp``
    rounded toward -inf and +inf (what ``mpmath.iv`` uses), widened by 2^-(p-8) relative, at
    precision p doubling until the interval holds no half-integer."""
    from mpmath.libmp import from_man_exp, mpf_exp, round_ceiling, round_floor, to_man_exp
    if d < 0:
        raise ValueError(f"exp_round needs a distance d >= 0, got {d}")
    if d == 0:
        return 1 << F
    x = from_man_exp(-d, -F)                                   # exact: -d 2^-F
    prec = F + 64
    while True:
        lo = Fraction(*_ratio(to_man_exp(mpf_exp(x, prec, round_floor)))) * (1 << F)
        hi = Fraction(*_ratio(to_man_exp(mpf_exp(x, prec, round_ceiling)))) * (1 << F)
        slack = hi * Fraction(1, 1 << (prec - 8))
        lo, hi = lo - slack, hi + slack
        k_lo = math.floor(lo + Fraction(1, 2))
        k_hi = math.floor(hi + Fraction(1, 2))
        if k_lo == k_hi and lo + Fraction(1, 2) != k_lo:
            return k_lo
        prec *= 2
        if prec > 1 << 16:
            raise ArithmeticError(f"exp(-{d} 2^-{F}) could not be rounded (a tie is impossible)")


def _ratio(man_exp: tuple[int, int]) -> tuple[int, int]:
    man, e = man_exp
    return (man << e, 1) if e >= 0 else (man, 1 << -e)
