"""The integer arithmetic of the emulator: every stored value of ``fixed:I.F`` as its exact grid integer.

Shape glossary: B batch, T positions (0 = start token), D residual width, k head width (dk or
dv), n codes of a codebook.  Row vectors, ``x @ W``.

A stored number is ``n * 2^-F``; this module computes n exactly as precision.py's rules define
it (one half-even rounding of the exact value, then saturation), for every width:

* **containers** -- formats up to :data:`FAST_BITS` bits hold grid integers in float64 arrays
  (exact below 2^53, and BLAS does the products); wider formats hold object arrays of Python
  ints throughout.
* **products of stored values** (scores ``c q.k``, the numerator ``e.v``, hardmax sums, the
  residual update) are exact integers: float64 where a bound on the operands' magnitudes keeps
  every partial sum below 2^53, int64 where it stays below 2^63 (the product with the
  temperature by :func:`round_mul_shift`), Python ints otherwise.
* **products with a float64 weight** (projections, ``W_O``, the embedding sum, distances to
  codes): the weight is the exact binary fraction it is.  In the fast container the product is
  computed in float64 with a proven error bound (``gamma_D sum |x w|``, any summation order,
  FMA or not), and its rounding is trusted only where that bound leaves a single candidate;
  every other entry is recomputed in Python integers.  When the bound shows the float64 sum is
  exact (integer-like weights), nothing is recomputed.
* **divisions** (``num / z``, hardmax averages) by :func:`~attncheck.constructions.gridmath.round_ratio_array`
  in int64 or Python ints; the exponential by :func:`~attncheck.constructions.gridmath.exp_ints`.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from attncheck.constructions.gridmath import (dyadic, exp_ints, exp_table, max_abs,
                                              round_ratio_array, round_shift, to_object)
from attncheck.constructions.precision import FixedPointOverflow, Format
from attncheck.constructions.spec import Head

FAST_BITS = 53
TWO53, TWO63 = 2.0 ** 53, 2.0 ** 63
U = 2.0 ** -53


@dataclass(frozen=True, eq=False)
class Weight:
    """A float64 weight (D, k) or index-specific (T, D, k), with its exact form ``M * 2^-e`` and
    the column sums the float64 error bounds need."""

    W: np.ndarray
    M: np.ndarray          # object ints
    e: int
    colsum: np.ndarray     # sum_d |W|: (k,) or (T, k)
    msum: int              # largest column sum of |M| (Python int)

    @property
    def gain(self) -> float:
        """Largest column sum of |W|: |x @ W| <= gain * max|x|."""
        return float(self.colsum.max()) if self.colsum.size else 0.0


    def at(self, sl) -> "Weight":
        """The rows ``sl`` of an index-specific weight (positions), itself for a (D, k) weight."""
        if self.W.ndim == 2:
            return self
        return Weight(self.W[sl], self.M[sl], self.e, self.colsum[sl], self.msum)


def joined(*ws: Weight) -> Weight:
    """Weights side by side (one product computes all their columns); a (D, k) weight beside an
    index-specific one is repeated at every position."""
    Ws = [w.W for w in ws]
    T = max((W.shape[0] for W in Ws if W.ndim == 3), default=None)
    if T is not None:
        Ws = [W if W.ndim == 3 else np.broadcast_to(W, (T,) + W.shape) for W in Ws]
    return weight(np.concatenate(Ws, axis=-1))


def weight(W: np.ndarray) -> Weight:
    M, e = dyadic(W)
    colsum = np.abs(W).sum(axis=-2)
    sums = np.abs(M).sum(axis=-2) if M.size else np.zeros(0, dtype=object)    # (k,) or (T, k)
    msum = int(max(sums.ravel().tolist(), default=0))
    return Weight(np.asarray(W, dtype=np.float64), M, e, colsum, msum)


@dataclass(frozen=True, eq=False)
class PreparedHead:
    W_Q: Weight
    W_K: Weight
    W_V: Weight
    W_O: Weight
    temperature: int       # grid integer of the stored temperature


_HEADS: "weakref.WeakKeyDictionary[Head, dict]" = weakref.WeakKeyDictionary()


class Grid:
    """The arithmetic of one fixed format on grid-integer arrays (fast or object container)."""

    def __init__(self, fmt: Format):
        if fmt.is_exact:
            raise ValueError("the grid arithmetic needs a fixed:I.F format")
        self.fmt = fmt
        self.F = fmt.frac_bits
        self.bits = fmt.int_bits + fmt.frac_bits
        self.fast = self.bits <= FAST_BITS
        self.lo, self.hi = fmt.int_lo, fmt.int_hi

    # -- containers ----------------------------------------------------------------------------
    def from_values(self, x, what: str = "value") -> np.ndarray:
        """float64 values -> grid integers of ``fmt.quantize(x)`` (exact), in this container."""
        n = self.fmt.quantize_ints(x, what)
        return n.astype(np.float64) if self.fast else n

    def to_values(self, n: np.ndarray) -> np.ndarray:
        """Grid integers -> float64 values (exact in the fast container)."""
        if self.fast:
            return n * 2.0 ** -self.F
        return self.fmt.from_ints(n)

    def zeros(self, shape) -> np.ndarray:
        if self.fast:
            return np.zeros(shape)
        out = np.empty(shape, dtype=object)
        out.fill(0)
        return out

    def saturate(self, n: np.ndarray, what: str) -> np.ndarray:
        """Clip to ``[int_lo, int_hi]`` (``saturate``) or raise (``raise``), in the container."""
        if n.size == 0:
            return n
        if n.dtype == object:
            lo_v, hi_v = min(n.ravel()), max(n.ravel())
        else:
            lo_v, hi_v = n.min(), n.max()
        if lo_v >= self.lo and hi_v <= self.hi:
            return n
        if self.fmt.overflow == "raise":
            worst = max(abs(int(lo_v)), abs(int(hi_v))) * 2.0 ** -self.F
            raise FixedPointOverflow(f"{what} = {worst:.6g} outside the range of {self.fmt}"
                                     f" [{self.fmt.lo:g}, {self.fmt.hi:g}]")
        if n.dtype == object:
            return np.clip(n, self.lo, self.hi)
        return np.clip(n, float(self.lo) if n.dtype.kind == "f" else self.lo,
                       float(self.hi) if n.dtype.kind == "f" else self.hi)

    def settle(self, n: np.ndarray, what: str, bound: int | None = None) -> np.ndarray:
        """An exact integer result (any container) -> saturated, in this format's container.
        ``bound``: a proven bound on |n| (Python int); when it lies inside the range nothing is
        checked."""
        if bound is None or bound > min(self.hi, -self.lo):
            n = self.saturate(n, what)
        if self.fast:
            return n.astype(np.float64) if n.dtype != np.float64 else n
        return n if n.dtype == object else to_object(n)

    def as_object(self, n: np.ndarray) -> np.ndarray:
        return n if n.dtype == object else to_object(n)

    # -- heads ---------------------------------------------------------------------------------
    def head(self, h: Head) -> PreparedHead:
        per = _HEADS.setdefault(h, {})
        key = str(self.fmt)
        if key not in per:
            base = per.get("weights") or tuple(weight(W) for W in (h.W_Q, h.W_K, h.W_V, h.W_O))
            per["weights"] = base
            c = int(self.fmt.quantize_ints(h.temperature, "temperature"))
            per[key] = PreparedHead(*base, c)
        return per[key]

    # -- products with a float64 weight --------------------------------------------------------
    def project(self, X: np.ndarray, w: Weight, what, xb: int | None = None) -> np.ndarray:
        """Stored ``X @ W``: X (B, T, D) or (R, D) grid integers, W (D, k) or (T, D, k) with X's
        positions on axis 1.  One rounding of the exact product, then saturation.  ``what`` names
        the quantity, or is a list of (name, width) naming consecutive column blocks (one
        product for a head's query, key and value).  ``xb``: a known bound on |X| (else the
        format's range, or X's own largest entry when that decides more)."""
        if not self.fast:
            return self._settle_cols(round_shift(self._exact_matmul(X, w), w.e), what)
        t = X @ w.W if w.W.ndim == 2 else np.einsum("btd,tdk->btk", X, w.W)
        if xb is None:
            xb = 2 ** (self.bits - 1)
            if xb * w.msum >= TWO53:
                xb = max_abs(X)
        rb = int(xb * w.gain * (1 + 2.0 ** -40)) + 2     # |result| <= rb: within range, no check
        if xb * w.msum < TWO53:                      # every partial sum is exact: t is the value
            return self._settle_cols(np.rint(t), what, rb)
        D = w.W.shape[-2]
        err = (D * U / (1 - D * U)) * float(xb) * w.colsum + D * 2.0 ** -1000   # (k,) or (T, k)
        if w.W.ndim == 3:
            err = err[None]
        n = np.rint(t)
        unsure = np.abs(t - n) >= 0.5 - err
        if np.any(unsure):
            n = self._redo(n, unsure, X, w)
        return self._settle_cols(n, what, rb)

    def _settle_cols(self, n: np.ndarray, what, bound: int | None = None) -> np.ndarray:
        if isinstance(what, str):
            return self.settle(n, what, bound)
        at = 0
        for name, width in what:
            view = n[..., at:at + width]
            done = self.settle(view, name, bound)
            if done is not view:                     # saturated: n is this call's own array
                n[..., at:at + width] = done
            at += width
        return n

    def _exact_matmul(self, X: np.ndarray, w: Weight) -> np.ndarray:
        Xo = self.as_object(X)
        if w.W.ndim == 2:
            return Xo @ w.M
        return np.stack([Xo[:, t] @ w.M[t] for t in range(Xo.shape[1])], axis=1)

    def _redo(self, n: np.ndarray, unsure: np.ndarray, X: np.ndarray, w: Weight) -> np.ndarray:
        """Recompute the ``unsure`` entries of a fast-path product exactly (Python ints)."""
        n = n.copy()
        for idx in zip(*np.nonzero(unsure)):
            row = X[idx[:-1]]
            col = w.M[:, idx[-1]] if w.W.ndim == 2 else w.M[idx[1], :, idx[-1]]
            p = sum(int(a) * int(b) for a, b in zip(row.tolist(), col.tolist()))
            n[idx] = float(int(round_shift(np.array([p], dtype=object), w.e)[0]))
        return n

    def add_exact_fraction(self, a: np.ndarray, b: np.ndarray, what: str) -> np.ndarray:
        """Stored ``a + b`` of two float64 arrays (the embedding): one rounding of the exact sum."""
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
        if not self.fast:
            Ma, ea = dyadic(a)
            Mb, eb = dyadic(b)
            e = max(ea, eb)
            S = Ma * (1 << (e - ea)) + Mb * (1 << (e - eb))
            n = round_shift(S, e - self.F) if e >= self.F else S * (1 << (self.F - e))
            return self.settle(n, what)
        s = a + b
        t = s * 2.0 ** self.F
        n = np.rint(t)
        unsure = np.abs(t - n) >= 0.5 - np.abs(t) * 2.0 ** -52
        for idx in zip(*np.nonzero(unsure)):
            v = (Fraction(float(a[idx])) + Fraction(float(b[idx]))) * (1 << self.F)
            n[idx] = float(_half_even(v))
        return self.settle(n, what)

    def nearest(self, X: np.ndarray, codes: np.ndarray, xb: int | None = None) -> np.ndarray:
        """Index of the L2-nearest code for each row (first on exact ties), decided exactly:
        X (..., w) grid integers, codes (n, w) float64 -> (...); ``xb`` a known bound on |X|."""
        flat = X.reshape(-1, X.shape[-1])
        if not self.fast:
            Mc, ec = dyadic(codes)
            sq = np.array([sum(int(v) * int(v) for v in row) for row in Mc], dtype=object)
            S = (self.as_object(flat) @ Mc.T) * (1 << (ec + 1)) - sq * (1 << self.F)
            return np.array([int(np.argmax(r)) for r in S], dtype=np.int64).reshape(X.shape[:-1])
        w = codes.shape[1]
        G = flat @ codes.T                                        # (R, n), scaled by 2^F
        h = 0.5 * np.sum(codes * codes, axis=1) * 2.0 ** self.F   # (n,)
        S = G - h
        if xb is None:                                           # the range, unless too coarse
            xb = 2 ** (self.bits - 1)
            if (w + 4) * 2.0 ** -52 * xb * float(np.abs(codes).sum(axis=1).max(initial=0.0)) > 2.0 ** -8:
                xb = max_abs(flat)
        err = float(((w + 4) * 2.0 ** -52 * (float(xb) * np.abs(codes).sum(axis=1) + np.abs(h))).max(initial=0.0))
        err += 2.0 ** -1000                                      # |S - exact| <= err for every code
        best = np.argmax(S, axis=1)
        if S.shape[1] > 1:                                       # another code within 2 err: unsure
            unsure = np.count_nonzero(S >= (S.max(axis=1) - 2 * err)[:, None], axis=1) > 1
        else:
            unsure = np.zeros(len(best), dtype=bool)
        for i in np.flatnonzero(unsure).tolist():
            best[i] = _nearest_exact(flat[i], codes, self.F)
        return best.reshape(X.shape[:-1])

    def argmax_affine(self, X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Column of the largest ``x @ W + b`` for each row (first on exact ties, as numpy's
        argmax), decided exactly: X (..., D) grid integers, W (D, n) and b (n,) float64 (exact
        binary fractions) -> (...).  The linear read-out of exchange models (docs/format.md)."""
        flat = X.reshape(-1, X.shape[-1])
        if not self.fast or flat.shape[0] == 0:
            return _argmax_affine_exact(flat, W, b, self.F).reshape(X.shape[:-1])
        S = flat @ W + b * 2.0 ** self.F                          # (R, n), scaled by 2^F
        D = W.shape[0]
        xb = float(max_abs(flat))
        err = float(((D + 4) * 2.0 ** -52 * (xb * np.abs(W).sum(axis=0) + np.abs(b) * 2.0 ** self.F)).max(initial=0.0))
        err += 2.0 ** -1000                                       # |S - exact| <= err per entry
        best = np.argmax(S, axis=1)
        if S.shape[1] > 1:
            unsure = np.count_nonzero(S >= (S.max(axis=1) - 2 * err)[:, None], axis=1) > 1
        else:
            unsure = np.zeros(len(best), dtype=bool)
        idx = np.flatnonzero(unsure)
        if idx.size:
            best[idx] = _argmax_affine_exact(flat[idx], W, b, self.F)
        return best.reshape(X.shape[:-1])

    # -- products of stored values ------------------------------------------------------------
    def scores(self, q: np.ndarray, k: np.ndarray, c: int) -> np.ndarray:
        """Stored ``c * (q . k)`` for every pair: q, k (B, T, dk) -> (B, T, T) (value scale 2^-3F,
        rounded once to 2^-F)."""
        pb = q.shape[-1] * max_abs(q) * max_abs(k)
        return self.scale_scores(self.exact_matmul(q, np.swapaxes(k, -1, -2), pb), c, pb)

    def scale_scores(self, P: np.ndarray, c: int, pb: int) -> np.ndarray:
        """Stored scores ``round(c P 2^-2F)`` from exact products ``P = q . k`` (grid integers of q
        and k; |P| <= pb): float64 when ``pb |c| < 2^53``, :func:`round_mul_shift` when P fits
        int64, Python ints beyond."""
        s2 = 2 * self.F
        bound = (pb * abs(c) >> s2) + 1
        if self.fast and pb * abs(c) < 2 ** 53:             # c P exact, then an exact power of 2
            return self.settle(np.rint(P * (float(c) * 2.0 ** -s2)), "score", bound)
        if self.fast and pb < 2 ** 63 and s2 <= 60:
            return self.settle(round_mul_shift(P, c, s2, self.lo, self.hi), "score", bound)
        return self.settle(round_shift(self.as_object(P) * c, s2), "score", bound)

    def exact_matmul(self, a: np.ndarray, b: np.ndarray, bound: int, rows: bool = False) -> np.ndarray:
        """The exact integer product ``a @ b`` of integer arrays, given a bound (Python int) on
        every |partial sum|: float64 below 2^53, int64 below 2^63, Python ints beyond.  ``rows``:
        a is (..., T) and b (..., T, k), one row each -> (..., k)."""
        if self.fast and bound < 2 ** 53:
            A, Bm = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
        elif self.fast and bound < 2 ** 63:
            A, Bm = a.astype(np.int64), b.astype(np.int64)
        else:
            A, Bm = self.as_object(a), self.as_object(b)
        return (A[..., None, :] @ Bm)[..., 0, :] if rows else A @ Bm

    def round_stored(self, P: np.ndarray, shift: int, what: str, bound: int | None = None) -> np.ndarray:
        """Store the exact integer P held at scale ``2^-(F + shift)``: one half-even rounding.
        ``bound``: a bound on |P| (skips the saturation check when the result must fit)."""
        b = None if bound is None else (bound >> shift) + 1
        if P.dtype == np.float64:
            return self.settle(np.rint(P * 2.0 ** -shift), what, b)
        return self.settle(round_shift(P, shift), what, b)

    def rowsum(self, e: np.ndarray, eb: int | None = None) -> np.ndarray:
        """Exact sums over the last axis, kept (..., 1); ``eb`` a known bound on the entries."""
        if e.dtype == np.float64 and e.shape[-1] * (max_abs(e) if eb is None else eb) >= 2 ** 53:
            return e.astype(np.int64).sum(axis=-1, keepdims=True)
        return e.sum(axis=-1, keepdims=True)

    def ratio(self, num: np.ndarray, den: np.ndarray, shift: int, what: str,
              nb: int | None = None, db: int | None = None) -> np.ndarray:
        """Stored ``num * 2^shift / den`` (den > 0): the head output of softmax and hardmax;
        ``nb``, ``db`` known bounds on |num| and den."""
        nb = max_abs(num) if nb is None else nb
        db = max_abs(den) if db is None else db
        if self.fast and (nb << shift) < 2 ** 62 and db < 2 ** 62:
            n = round_ratio_array(num.astype(np.int64) << shift, den.astype(np.int64))
        else:
            n = round_ratio_array(self.as_object(num) * (1 << shift), self.as_object(den))
        return self.settle(n, what)

    def total(self, parts: list, what: str, bound: int | None = None) -> np.ndarray:
        """Stored sum of stored values (the residual update): exact, then saturated; ``bound`` a
        known bound on |sum|."""
        if self.fast and len(parts) * 2.0 ** (self.bits - 1) < TWO53:
            out = parts[0]
            for p in parts[1:]:
                out = out + p
            return self.settle(out, what, bound)
        conv = (lambda p: p.astype(np.int64)) if self.fast and self.bits < 60 else self.as_object
        out = conv(parts[0])
        for p in parts[1:]:
            out = out + conv(p)
        return self.settle(out, what)

    def exp(self, d: np.ndarray) -> np.ndarray:
        """Stored max-subtracted exponentials for grid distances d >= 0 (inf: masked, 0)."""
        if self.fast and self.F <= 16 and d.dtype == np.float64:
            table = exp_table(self.F)
            near = d < len(table) - 1                      # beyond: 0 for certain
            e = np.zeros(d.shape)
            e[near] = table[d[near].astype(np.intp)]
            return e if self.fmt.int_bits >= 2 else self.saturate(e, "exponential")
        e = exp_ints(d, self.F)
        if self.fast:
            e = np.asarray(e, dtype=np.float64)
        elif e.dtype != object:
            e = to_object(e)
        if self.fmt.int_bits < 2:                      # exp(0) = 1 is above the range
            e = self.saturate(e, "exponential")
        return e


def round_mul_shift(P: np.ndarray, c: int, s: int, lo: int, hi: int) -> np.ndarray:
    """``round_half_even(c * P * 2^-s)`` saturated into ``[lo, hi]``, for an integer array P (int64,
    or float64 holding integers below 2^53) and a Python int c (the product may exceed 64 bits), exact for ``0 <= s <= 60`` and
    ``|lo|, |hi| <= 2^52``.  The float64 estimate ``est`` (relative error below 4u: P, c and the
    product each rounded once) decides every entry that lies farther than its error from a
    half-integer; the others get the exact remainder ``c P - n0 2^s`` computed modulo 2^64 (int64
    wraps), which is the true remainder since it is below ``6 * 2^60``.  Returns float64."""
    est = np.asarray(P, dtype=np.float64) * (float(c) * 2.0 ** -s)   # c 2^-s exact: error < 2u
    n = np.rint(est)
    top = max(-lo, hi) + 16.0                     # beyond it an entry saturates whatever its rounding
    unsure = np.abs(est - n) >= 0.5 - 4 * U * top
    if np.any(unsure):
        idx = np.nonzero(unsure)
        idx = tuple(a[np.abs(est[idx]) <= top] for a in idx)
        Pu, n0 = np.asarray(P[idx]).astype(np.int64), n[idx].astype(np.int64)
        cm = np.int64(((c + (1 << 63)) % (1 << 64)) - (1 << 63))   # c modulo 2^64, signed
        with np.errstate(over="ignore"):
            R = Pu * cm - (n0 << s)                                  # exact: |R| < 6 * 2^s
        if s == 0:
            exact = n0 + R
        else:
            q = R >> s
            r = R - (q << s)
            half = np.int64(1 << (s - 1))
            exact = n0 + q + ((r > half) | ((r == half) & (((n0 + q) & 1) == 1)))
        n[idx] = exact.astype(np.float64)
    return np.clip(n, lo, hi)


def _half_even(v: Fraction) -> int:
    fl = v.numerator // v.denominator
    r = v - fl
    return fl + (r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2 == 1))


def _nearest_exact(x: np.ndarray, codes: np.ndarray, F: int) -> int:
    xs = [Fraction(int(v), 1 << F) for v in x.tolist()]
    best, arg = None, 0
    for r, row in enumerate(codes.tolist()):
        cs = [Fraction(v) for v in row]
        s = sum(a * b for a, b in zip(xs, cs)) - sum(b * b for b in cs) / 2
        if best is None or s > best:
            best, arg = s, r
    return arg


def _argmax_affine_exact(flat: np.ndarray, W: np.ndarray, b: np.ndarray, F: int) -> np.ndarray:
    """Exact :meth:`Grid.argmax_affine` in Python integers: with ``x = n 2^-F``, ``W = M 2^-e``,
    ``b = m 2^-f``, the score times ``2^(F+e+f)`` is ``(n @ M) 2^f + m 2^(F+e)``."""
    M, e = dyadic(W)
    m, f = dyadic(b)
    n = to_object(np.asarray(flat)) if np.asarray(flat).dtype != object else flat
    if n.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    S = (n @ M) * (1 << f) + m * (1 << (F + e))
    return np.array([max(range(S.shape[1]), key=lambda j, r=r: (r[j], -j)) for r in S.tolist()],
                    dtype=np.int64)
