"""Number formats and rounding: the one place where arithmetic precision is defined.

Two formats (docs/theorems.md section 9.3):

* ``exact``     -- IEEE float64, no extra rounding.  Used to check "real arithmetic".
* ``fixed:I.F`` -- signed fixed point with ``I`` integer bits (the sign bit included) and ``F``
  fraction bits: the representable values are ``{n * 2^-F : -2^(I+F-1) <= n <= 2^(I+F-1) - 1}``,
  so the range is ``[-2^(I-1), 2^(I-1) - 2^-F]`` and the grid step (ulp) is ``2^-F``.

Semantics of the bounded-precision forward pass (shared by the numpy emulator, the
certificate's error bounds and the z3 encodings):

1. Every *stored* quantity is put into the format (:meth:`Format.quantize`'s rule): embeddings,
   the temperature, queries, keys, values, scores, max-subtracted exponentials, the softmax
   numerator and denominator, the division, the head output and the residual after each update.
2. Dot products and sums use a *wide accumulator*: products and partial sums are exact and the
   result is rounded once when it is stored (a fixed-point MAC unit with a double-width
   accumulator).  Weights are read as the exact binary fractions their float64 values are (they
   are never rounded); the temperature is a stored number.  The emulator computes every stored
   value as its exact grid integer at every width (``verifiers/gridpass.py``: float64 or int64
   where a bound shows they are exact, Python ints beyond), so the accumulator is exact whatever
   the width and the number of terms.  (:attr:`Format.exact_accumulator_terms` still says how
   many terms a float64 accumulator would hold exactly, for code that reasons about float64.)
3. Rounding is round-half-to-even on the grid (``numpy.rint``).  Note z3 bit-vector division
   truncates toward zero and numpy ``//`` floors: neither is used for rounding here.  The
   max-subtracted exponential is ``exp(-d 2^-F)`` for a grid distance ``d >= 0``, rounded once
   (:meth:`Format.exp_ints`): float64 decides where its error bound leaves one candidate,
   interval arithmetic (mpmath) decides the rest, so ties and grids finer than float64 are
   rounded exactly; the rules on integer arrays are in :mod:`attncheck.constructions.gridmath`.
4. Overflow policy: ``saturate`` clamps to the range (default), ``raise`` raises
   :class:`FixedPointOverflow` naming the quantity.

Widths: :func:`fixed` accepts ``I + F <= MAX_FORMAT_BITS`` (256).  Up to 52 bits every grid
value is a float64 and the float64 methods below are exact as before.  Beyond, float64 holds
only some grid values; what each float64 method then guarantees:

* :meth:`Format.quantize`, :meth:`Format.round_down`, :meth:`Format.round_up` of a float64 input
  are exact: the result is the grid value the rule picks for that float64 number, and it is itself
  a float64 (the scaling by ``2^F`` is exact, and a float64 of magnitude ``>= 2^(52-F)`` is already
  on the grid).  Only saturation is approximate: the top of the range ``2^(I-1) - 2^-F`` is not a
  float64, so values above it saturate to :attr:`Format.hi`, the largest float64 on the grid below
  it (``2^(I-1) - 2^(I-54)``); :attr:`Format.int_hi` is the exact top.
* :attr:`Format.ulp`, :attr:`Format.max_rounding_error` and :attr:`Format.lo` are exact powers of
  two; :meth:`Format.from_ints` rounds a grid integer beyond ``2^53`` to the nearest float64.
* :meth:`Format.to_ints` and :meth:`Format.quantize_ints` return int64 arrays up to 63 bits and
  object arrays of Python ints beyond (exact); the word view stays at most 63 bits.

Parsing: ``parse_format("fixed:12.10")``, ``parse_format("exact")``.  Bad strings raise
:class:`~attncheck.constructions.verdict.BadInput`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.gridmath import exp_ints, to_object
from attncheck.constructions.verdict import BadInput

#: Largest total width ``I + F`` that :func:`fixed` accepts (the emulator is exact at every width).
MAX_FORMAT_BITS = 256
#: Widest format whose every grid value is a float64 (float64 arithmetic on its grid values is
#: exact while sums stay below 2^53).
FLOAT64_FORMAT_BITS = 52
#: The limit before issue 15, kept under its old name for the callers that need float64-exact grid
#: values (the MPC word aggregates of ``sht24a.thm3_4``, the precision search's ceiling).
MAX_FIXED_BITS = FLOAT64_FORMAT_BITS
#: Widest grid integers held in int64 arrays; wider formats use object arrays of Python ints.
INT64_FORMAT_BITS = 63


class FixedPointOverflow(ArithmeticError):
    """A value left the range of a ``fixed:I.F`` format under the ``raise`` policy."""


@dataclass(frozen=True)
class Format:
    """A number format.  ``kind`` is ``"exact"`` or ``"fixed"``."""

    kind: str
    int_bits: int = 0
    frac_bits: int = 0
    overflow: str = "saturate"

    # -- description ------------------------------------------------------------------------
    @property
    def is_exact(self) -> bool:
        return self.kind == "exact"

    @property
    def bits(self) -> int | None:
        """Total bits per stored number (None for float64 'exact')."""
        return None if self.is_exact else self.int_bits + self.frac_bits

    @property
    def ulp(self) -> float:
        """Grid step ``2^-F`` (0.0 for exact)."""
        return 0.0 if self.is_exact else math.ldexp(1.0, -self.frac_bits)

    @property
    def max_rounding_error(self) -> float:
        """Largest |quantize(x) - x| for x inside the range: half an ulp (0 for exact)."""
        return 0.0 if self.is_exact else math.ldexp(1.0, -self.frac_bits - 1)

    @property
    def hi(self) -> float:
        """Top of the range ``2^(I-1) - 2^-F``; beyond 53 bits, where that is no float64, the
        largest float64 below it (a grid value; :attr:`int_hi` is exact)."""
        if self.is_exact:
            return math.inf
        top = math.ldexp(1.0, self.int_bits - 1)
        return top - self.ulp if self.int_bits + self.frac_bits <= 53 else math.nextafter(top, 0.0)

    @property
    def lo(self) -> float:
        return -math.inf if self.is_exact else -math.ldexp(1.0, self.int_bits - 1)

    @property
    def exact_accumulator_terms(self) -> int | None:
        """How many products a float64 accumulator sums exactly (None: not applicable)."""
        if self.is_exact:
            return None
        spare = 53 - 2 * (self.int_bits + self.frac_bits)
        return 0 if spare < 0 else 2 ** spare

    def __str__(self) -> str:
        return "exact" if self.is_exact else f"fixed:{self.int_bits}.{self.frac_bits}"

    def to_json(self) -> dict:
        return {"name": str(self), "kind": self.kind, "int_bits": self.int_bits,
                "frac_bits": self.frac_bits, "bits": self.bits, "overflow": self.overflow,
                "rounding": "half-even" if not self.is_exact else "float64",
                "accumulator": "wide (exact products, one rounding per stored result)"}

    # -- arithmetic ---------------------------------------------------------------------------
    def quantize(self, x, what: str = "value"):
        """Round ``x`` (array or scalar) to the grid with half-even ties and apply the overflow
        policy.  Identity (as float64) for ``exact``.  Exact for every float64 input at every
        width; above 53 bits saturation stops at :attr:`hi` (module docstring)."""
        a = np.asarray(x, dtype=np.float64)
        if self.is_exact:
            return a
        scale = math.ldexp(1.0, self.frac_bits)
        with np.errstate(over="ignore"):                   # beyond float64: inf, then saturated
            q = np.rint(a * scale) / scale
        if self.overflow == "raise":
            if np.any(q > self.hi) or np.any(q < self.lo):
                self._overflow(a, what)
            return q
        return np.clip(q, self.lo, self.hi)

    def round_down(self, x):
        """Largest grid value <= x (interval lower endpoints in certificates)."""
        a = np.asarray(x, dtype=np.float64)
        if self.is_exact:
            return a
        scale = math.ldexp(1.0, self.frac_bits)
        with np.errstate(over="ignore"):
            return np.clip(np.floor(a * scale) / scale, self.lo, self.hi)

    def round_up(self, x):
        """Smallest grid value >= x."""
        a = np.asarray(x, dtype=np.float64)
        if self.is_exact:
            return a
        scale = math.ldexp(1.0, self.frac_bits)
        with np.errstate(over="ignore"):
            return np.clip(np.ceil(a * scale) / scale, self.lo, self.hi)

    def exp_ints(self, d) -> np.ndarray:
        """Grid integers of the stored max-subtracted exponential ``quantize(exp(-d * 2^-F))`` for
        grid distances ``d >= 0`` (array of ints), rounded once and exactly
        (:func:`attncheck.constructions.gridmath.exp_ints`), then saturated: int64 up to 63 bits,
        else object.  The emulator and the z3 encoding both read it."""
        self._need_fixed("exp_ints")
        e = exp_ints(np.asarray(d), self.frac_bits)
        if e.dtype != object:
            e = e.astype(np.int64)
        e = np.minimum(e, self.int_hi)
        return e.astype(self.int_dtype) if self.int_dtype is np.int64 else to_object(e)

    def representable(self, x) -> bool:
        """True iff every entry of ``x`` is on the grid and inside the range."""
        a = np.asarray(x, dtype=np.float64)
        if self.is_exact:
            return bool(np.all(np.isfinite(a)))
        return bool(np.all(self.quantize(a) == a)) and bool(np.all((a <= self.hi) & (a >= self.lo)))

    def with_bits(self, int_bits: int, frac_bits: int) -> "Format":
        return fixed(int_bits, frac_bits, self.overflow)

    # -- integer view: grid value n * 2^-F held as the integer n (numpy and z3 callers) ---------
    @property
    def int_lo(self) -> int:
        """Smallest grid integer ``-2^(I+F-1)`` (fixed formats only)."""
        self._need_fixed("int_lo")
        return -(1 << (self.int_bits + self.frac_bits - 1))

    @property
    def int_hi(self) -> int:
        """Largest grid integer ``2^(I+F-1) - 1`` (fixed formats only)."""
        self._need_fixed("int_hi")
        return (1 << (self.int_bits + self.frac_bits - 1)) - 1

    @property
    def int_dtype(self):
        """dtype of this format's grid-integer arrays: int64 up to 63 bits, else object (Python ints)."""
        self._need_fixed("int_dtype")
        return np.int64 if self.int_bits + self.frac_bits <= INT64_FORMAT_BITS else object

    def to_ints(self, x) -> np.ndarray:
        """Grid values -> their integers n (value = n * 2^-F); off-grid input raises ValueError.
        int64 up to 63 bits, an object array of Python ints beyond (exact either way)."""
        self._need_fixed("to_ints")
        a = np.asarray(x, dtype=np.float64) * math.ldexp(1.0, self.frac_bits)
        n = np.rint(a)
        if np.any(n != a):
            raise ValueError(f"value not on the grid of {self}")
        return _float_ints(n, self.int_dtype)

    def from_ints(self, n) -> np.ndarray:
        """Integers n -> grid values ``n * 2^-F`` as float64: exact while ``|n| < 2^53`` (every
        format up to 52 bits), the nearest float64 beyond."""
        self._need_fixed("from_ints")
        a = np.asarray(n)
        if a.dtype == object:
            a = np.array([float(v) for v in a.ravel()], dtype=np.float64).reshape(a.shape)
        return np.asarray(a, dtype=np.float64) * math.ldexp(1.0, -self.frac_bits)

    def quantize_ints(self, x, what: str = "value") -> np.ndarray:
        """The grid integers of :meth:`quantize` of float64 ``x``, saturated (or raising) at the
        exact ``int_lo``/``int_hi``: exact at every width (int64 up to 63 bits, else object)."""
        self._need_fixed("quantize_ints")
        a = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore"):                   # exact; a float64 >= 2^52 is an integer
            n = np.rint(a * math.ldexp(1.0, self.frac_bits))
        bits = self.int_bits + self.frac_bits
        if bits <= 53:                                     # the range ends are float64: vectorised
            over = (n < self.int_lo) | (n > self.int_hi)
            if self.overflow == "raise" and np.any(over):
                self._overflow(a, what)
            return np.clip(n, self.int_lo, self.int_hi).astype(np.int64)
        big = math.ldexp(1.0, bits)                        # beyond the range either way
        vals = [int(v) for v in np.clip(n, -big, big).ravel()]
        if self.overflow == "raise" and any(v < self.int_lo or v > self.int_hi for v in vals):
            self._overflow(a, what)
        vals = [min(max(v, self.int_lo), self.int_hi) for v in vals]
        out = np.empty(len(vals), dtype=self.int_dtype)
        out[:] = vals
        return out.reshape(a.shape)

    def _overflow(self, a: np.ndarray, what: str):
        worst = float(np.max(np.abs(a)))
        raise FixedPointOverflow(f"{what} = {worst:.6g} outside the range of {self}"
                                 f" [{self.lo:g}, {self.hi:g}]")

    # -- word view: the grid integer n as an unsigned machine word (MPC protocols, sht24a.thm3_4) --
    def to_words(self, x, bits: int | None = None) -> np.ndarray:
        """Grid values -> unsigned ``bits``-bit words: the grid integer n of :meth:`to_ints` in
        two's complement, ``n mod 2^bits``, as int64 in ``[0, 2^bits)``.

        ``bits`` defaults to ``I + F`` and may be wider (up to 63), leaving headroom for sums of
        grid values beyond the format's range; nothing is rounded or saturated here (round with
        :meth:`quantize` first).  Off-grid input, or an n outside ``[-2^(bits-1), 2^(bits-1))``,
        raises ValueError.  Example: ``fixed(4, 2).to_words([-0.25, 1.5])`` is ``[63, 6]`` (6-bit words)."""
        bits = self._word_bits(bits)
        n = self.to_ints(x)
        if ((n + (1 << (bits - 1))) >> bits).any():      # n outside [-2^(bits-1), 2^(bits-1))
            worst = int(np.max(np.abs(n)))
            raise ValueError(f"grid integer {worst} of {self} does not fit a {bits}-bit word")
        return n & ((1 << bits) - 1)

    def from_words(self, w, bits: int | None = None) -> np.ndarray:
        """Unsigned ``bits``-bit words -> grid values ``n * 2^-F`` with n the two's-complement
        reading of the word (``n = w - 2^bits`` when ``w >= 2^(bits-1)``); the inverse of
        :meth:`to_words`, exact while ``|n| < 2^53``.  A word outside ``[0, 2^bits)`` raises
        ValueError."""
        bits = self._word_bits(bits)
        a = np.asarray(w, dtype=np.int64)
        if (a >> bits).any():                              # a word outside [0, 2^bits)
            bad = int(a[(a >> bits) != 0].flat[0])
            raise ValueError(f"a {bits}-bit word lies in [0, 2^{bits}), got {bad}")
        half = 1 << (bits - 1)
        return self.from_ints((a ^ half) - half)

    def _word_bits(self, bits: int | None) -> int:
        self._need_fixed("the word view")
        own = self.int_bits + self.frac_bits
        if own > INT64_FORMAT_BITS:
            raise ValueError(f"the word view holds at most {INT64_FORMAT_BITS}-bit words; {self} has {own} bits")
        if bits is None:
            return own
        if type(bits) is not int or not own <= bits <= 63:
            raise ValueError(f"word width must be an integer in [{self.bits}, 63] for {self}, got {bits!r}")
        return bits

    def _need_fixed(self, what: str) -> None:
        if self.is_exact:
            raise ValueError(f"{what} needs a fixed:I.F format, not exact")


def round_ratio(num: int, den: int) -> int:
    """Round the rational ``num / den`` (``den > 0``) to an integer, ties to even, in exact
    integer arithmetic.  This is :meth:`Format.quantize`'s rule on the integer view: for a value
    ``v = num / (den * 2^F)`` the grid integer of ``quantize(v)`` is ``round_ratio(num, den)``
    before saturation.  Floor division is used (Python ``//`` floors; z3 encodings must correct
    bit-vector division, which truncates toward zero)."""
    if den <= 0:
        raise ValueError(f"round_ratio needs a positive denominator, got {den}")
    q, r = divmod(num, den)            # num = q * den + r, 0 <= r < den
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q


def _float_ints(n: np.ndarray, dtype) -> np.ndarray:
    """Integer-valued float64 array -> int64 or an object array of Python ints (exact)."""
    if dtype is np.int64:
        return n.astype(np.int64)
    out = np.empty(n.size, dtype=object)
    out[:] = [int(v) for v in n.ravel()]
    return out.reshape(n.shape)


EXACT = Format("exact")


def fixed(int_bits: int, frac_bits: int, overflow: str = "saturate") -> Format:
    """A validated ``fixed:I.F`` format."""
    if int_bits < 1:
        raise BadInput(f"fixed-point format needs at least 1 integer bit (the sign), got I={int_bits}")
    if frac_bits < 0:
        raise BadInput(f"fixed-point fraction bits must be >= 0, got F={frac_bits}")
    if int_bits + frac_bits > MAX_FORMAT_BITS:
        raise BadInput(f"fixed:{int_bits}.{frac_bits} has {int_bits + frac_bits} bits;"
                       f" at most {MAX_FORMAT_BITS} are supported")
    if overflow not in ("saturate", "raise"):
        raise BadInput(f"overflow policy must be 'saturate' or 'raise', got {overflow!r}")
    return Format("fixed", int_bits, frac_bits, overflow)


_FIXED_RE = re.compile(r"^fixed:(\d+)\.(\d+)$")


def parse_format(text: str, overflow: str = "saturate") -> Format:
    """Parse ``exact`` or ``fixed:I.F`` (I, F decimal integers)."""
    t = text.strip().lower()
    if t in ("exact", "float64"):
        return EXACT
    m = _FIXED_RE.match(t)
    if not m:
        raise BadInput(f"precision {text!r} is not 'exact' or 'fixed:I.F' (e.g. fixed:16.12)")
    return fixed(int(m.group(1)), int(m.group(2)), overflow)


def int_bits_for(magnitude: float) -> int:
    """Integer bits (sign included) that hold every value of absolute size <= ``magnitude``."""
    if magnitude < 1:
        return 1
    return int(math.floor(math.log2(magnitude))) + 2
