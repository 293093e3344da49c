"""z3 bit-vector arithmetic of the fixed-point formats of :mod:`attncheck.constructions.precision`.

Integer view (``Format.to_ints``): a stored number ``n * 2^-F`` of a ``fixed:I.F`` format is the
signed bit-vector ``n`` of exactly ``b = I + F`` bits, so every bit pattern is a stored number
and no range constraint is needed.  Exact intermediates (products, wide-accumulator sums,
numerators scaled by ``2^F``) get the width their magnitude needs: every operation here widens
its operands by sign extension first, so nothing wraps (two's complement would wrap silently,
STYLE.md practice 8), and narrow terms keep the bit-blasted formula small.

The rules are precision.py's, transcribed once:

* **quantize after a product or sum** -- the exact value is ``P * 2^-(F+s)`` (``P`` an integer at
  a finer scale); its grid integer is ``saturate(round_ratio(P, 2^s))``.  :meth:`Arith.round_shift`
  floors with an *arithmetic* shift and rounds up when the remainder exceeds half, or equals
  half and the floor is odd (ties to even).
* **quantize after a division** (hardmax average, softmax ``num / z``): saturated
  ``round_ratio(a, c)`` for ``c > 0`` (:meth:`Arith.round_div`: thresholds for small formats,
  an unsigned divider with a floor correction otherwise; bit-vector ``bvsdiv`` truncates toward
  zero and is never used).
* **saturate** clamps to ``[int_lo, int_hi]`` (the ``saturate`` overflow policy).

Hardmax (ties averaged) and p-bit softmax (exponentials from a table of
``quantize(exp(-d * ulp))``, numerator and denominator rounded, then the division) follow
:func:`attncheck.verifiers.emulator.attend` step by step.

z3 is imported inside the functions (never at import time of this module).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from attncheck.constructions.gridmath import zero_cutoff
from attncheck.constructions.precision import Format


#: Formats with at most this many stored values round divisions by thresholds (no divider).
THRESHOLD_GRID = 64


def z3mod():
    """The z3 module, imported on first use."""
    import z3
    return z3


_CTX: list = [None]


def ctx():
    """The z3 context of the query being built (None: z3's main context)."""
    return _CTX[0]


@contextlib.contextmanager
def fresh_context():
    """Build and solve one query in a context of its own, so that its answer, model and work
    count do not depend on what earlier queries of the same process created."""
    old = _CTX[0]
    _CTX[0] = z3mod().Context()
    try:
        yield _CTX[0]
    finally:
        _CTX[0] = old


def bits_for(n: int) -> int:
    """Signed width that holds the integer n."""
    n = int(n)
    return (n.bit_length() if n >= 0 else (-n - 1).bit_length()) + 1


def exp_table(fmt: Format) -> tuple[int, ...]:
    """Grid integers of ``quantize(exp(-d * ulp))`` for d = 0, 1, ... up to the span of the
    format, truncated after the last non-zero entry (the emulator's max-subtracted exponential,
    rounded once and exactly by :meth:`Format.exp_ints`)."""
    span = fmt.int_hi - fmt.int_lo
    last = min(span, int(zero_cutoff(fmt.frac_bits) * 2.0 ** fmt.frac_bits) + 1)   # 0 beyond
    e = fmt.exp_ints(np.arange(last + 1, dtype=np.int64))
    nz = np.flatnonzero(e)
    return tuple(int(v) for v in e[: int(nz[-1]) + 1]) if nz.size else (0,)


def ext(x, w: int):
    """Sign-extend bit-vector x to width w (no-op when it is already that wide)."""
    z3 = z3mod()
    return x if x.size() >= w else z3.SignExt(w - x.size(), x)


def const(n: int, w: int | None = None):
    return z3mod().BitVecVal(int(n), max(bits_for(n), w or 0), ctx())


def add(a, b):
    w = max(a.size(), b.size()) + 1
    return ext(a, w) + ext(b, w)


def total(xs: Sequence):
    """Exact sum, as a balanced tree of widening additions."""
    xs = list(xs)
    while len(xs) > 1:
        xs = [add(xs[i], xs[i + 1]) if i + 1 < len(xs) else xs[i] for i in range(0, len(xs), 2)]
    return xs[0]


def mul(a, b):
    w = a.size() + b.size()
    return ext(a, w) * ext(b, w)


def cmp_args(a, b):
    w = max(a.size(), b.size())
    return ext(a, w), ext(b, w)


def gt(a, b):
    a, b = cmp_args(a, b)
    return a > b


def eq(a, b):
    a, b = cmp_args(a, b)
    return a == b


def ite(c, a, b):
    a, b = cmp_args(a, b)
    return z3mod().If(c, a, b)


@dataclass(frozen=True)
class Arith:
    """Fixed-point arithmetic of ``fmt`` on signed bit-vectors (stored numbers: b bits)."""

    fmt: Format

    def __post_init__(self):
        if self.fmt.is_exact:
            raise ValueError("the z3 encoding needs a fixed:I.F format, not exact")

    @property
    def bits(self) -> int:
        return self.fmt.int_bits + self.fmt.frac_bits

    def var(self, name: str):
        """A free stored number: every b-bit pattern is one."""
        return z3mod().BitVec(name, self.bits, ctx())

    def stored(self, n: int):
        """A constant stored number (grid integer n, saturated as quantize would)."""
        return const(min(max(int(n), self.fmt.int_lo), self.fmt.int_hi), self.bits)

    # -- rounding (precision.round_ratio on bit-vectors) --------------------------------------
    def saturate(self, x):
        """Clamp to ``[int_lo, int_hi]`` and narrow to b bits."""
        z3 = z3mod()
        w = max(x.size(), self.bits)
        x = ext(x, w)
        lo, hi = const(self.fmt.int_lo, w), const(self.fmt.int_hi, w)
        y = z3.If(x > hi, hi, z3.If(x < lo, lo, x)) if w > self.bits else x
        return z3.Extract(self.bits - 1, 0, y)

    def round_shift(self, x, s: int):
        """``round_ratio(x, 2^s)``: floor by arithmetic shift, then ties to even."""
        z3 = z3mod()
        if s == 0:
            return x
        x = ext(x, s + 2)
        w = x.size()
        floor = x >> s                                   # arithmetic shift: floor
        rem = z3.Extract(s - 1, 0, x)                    # 0 <= rem < 2^s (unsigned)
        half = z3.BitVecVal(1 << (s - 1), s, ctx())
        odd = z3.Extract(0, 0, floor) == 1
        up = z3.Or(z3.UGT(rem, half), z3.And(rem == half, odd))
        return z3.If(up, floor + z3.BitVecVal(1, w, ctx()), floor)

    def round_div(self, a, c):
        """Saturated ``round_ratio(a, c)`` for ``c > 0`` (a, c bit-vectors), as b bits.

        Small formats (at most :data:`THRESHOLD_GRID` stored values) use a division-free
        threshold form: ``round_ratio(a, c) >= v`` iff ``2a > (2v-1)c``, or ``2a == (2v-1)c`` and v
        is even (a tie between v-1 and v goes to the even one); the result is the largest v whose
        threshold holds.  Wider formats divide magnitudes (``bvudiv``/``bvurem``), turn the
        truncated quotient into the floor and round the remainder half to even."""
        z3 = z3mod()
        lo, hi = self.fmt.int_lo, self.fmt.int_hi
        if hi - lo + 1 <= THRESHOLD_GRID:
            two_a = add(a, a)
            out = const(lo, self.bits)
            for v in range(lo + 1, hi + 1):
                edge = mul(c, const(2 * v - 1))
                ge = z3.Or(gt(two_a, edge), eq(two_a, edge)) if v % 2 == 0 else gt(two_a, edge)
                out = z3.If(ge, const(v, self.bits), out)
            return out
        w = max(a.size(), c.size()) + 2
        a, c = ext(a, w), ext(c, w)
        zero, one = z3.BitVecVal(0, w, ctx()), z3.BitVecVal(1, w, ctx())
        neg = a < zero
        mag = z3.If(neg, -a, a)
        q0, r0 = z3.UDiv(mag, c), z3.URem(mag, c)
        q = z3.If(neg, z3.If(r0 == zero, -q0, -q0 - one), q0)          # floor(a / c)
        r = z3.If(z3.And(neg, r0 != zero), c - r0, r0)                  # 0 <= r < c
        odd = z3.Extract(0, 0, q) == 1
        up = z3.Or(z3.UGT(r + r, c), z3.And(r + r == c, odd))
        return self.saturate(z3.If(up, q + one, q))

    def quantize_shift(self, x, s: int):
        """Store an exact value held at scale ``2^-(F+s)``."""
        return self.saturate(self.round_shift(x, s))

    # -- dot products and attention -------------------------------------------------------
    def dot(self, a: Sequence, b: Sequence):
        """Exact sum of products (scale ``2^-2F``)."""
        return total([mul(x, y) for x, y in zip(a, b)])

    def score(self, q: Sequence, k: Sequence, temperature: int | None = None):
        """Stored score ``quantize(c * (q . k))``; ``temperature`` is the grid integer of c (None:
        no temperature, the table model's convention)."""
        p = self.dot(q, k)
        if temperature is None:
            return self.quantize_shift(p, self.fmt.frac_bits)
        return self.quantize_shift(mul(p, const(temperature)), 2 * self.fmt.frac_bits)

    def maximum(self, xs: Sequence):
        z3 = z3mod()
        m = xs[0]
        for x in xs[1:]:
            m = z3.If(x > m, x, m)
        return m

    def hardmax(self, scores: Sequence, values: Sequence[Sequence]) -> list:
        """Average of the values whose score ties the maximum, rounded once per coordinate."""
        z3 = z3mod()
        m = self.maximum(scores)
        sel = [s == m for s in scores]
        cw = bits_for(len(scores))
        one, zero = const(1, cw), const(0, cw)
        count = total([z3.If(b, one, zero) for b in sel])
        out = []
        for d in range(len(values[0])):
            vz = const(0, self.bits)
            s = total([z3.If(b, v[d], vz) for b, v in zip(sel, values)])
            out.append(self.round_div(s, count))
        return out

    def softmax(self, scores: Sequence, values: Sequence[Sequence]) -> list:
        """p-bit softmax: e_j = table(max - s_j), z = q(sum e), num = q(sum e v), out = q(num/z)."""
        z3 = z3mod()
        F = self.fmt.frac_bits
        table = exp_table(self.fmt)
        if table[0] <= 0:
            raise ValueError(f"exp(0) rounds to 0 in {self.fmt}: softmax is undefined")
        m = self.maximum(scores)
        es = []
        for s in scores:
            d = add(m, -ext(s, s.size() + 1))                    # m - s >= 0
            e = const(0, self.bits)
            for i in range(len(table) - 1, -1, -1):
                e = z3.If(eq(d, const(i)), const(table[i], self.bits), e)
            es.append(e)
        z = self.saturate(total(es))
        out = []
        for dd in range(len(values[0])):
            num = self.quantize_shift(total([mul(e, v[dd]) for e, v in zip(es, values)]), F)
            scaled = z3.Concat(num, z3.BitVecVal(0, F, ctx())) if F else num       # num * 2^F
            out.append(self.round_div(scaled, z))
        return out

    def attend(self, attention: str, scores: Sequence, values: Sequence[Sequence]) -> list:
        if attention == "hardmax":
            return self.hardmax(scores, values)
        if attention == "softmax":
            return self.softmax(scores, values)
        raise ValueError(f"attention must be hardmax or softmax, got {attention!r}")


def model_value(model, x) -> int:
    """The signed integer a z3 model gives a bit-vector expression."""
    v = model.eval(x, model_completion=True)
    return int(v.as_signed_long())


def log2_ceil(n: int) -> int:
    """``ceil(log2 n)`` by integers (STYLE.md practice 9)."""
    return (int(n) - 1).bit_length() if n > 1 else 0
