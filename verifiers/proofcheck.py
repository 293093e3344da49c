"""The independent proof checker of the sequence-task certificate (issue 19): the trusted base.

Shape glossary: T = N + 1 positions (0 = start token), D residual width, w a slot's width, k a
head's width, A rows a slot may name, nb codebook rows.

A proof (written by :mod:`attncheck.verifiers.proof_emit`) is untrusted data: for the embedding
and after every layer and map, each slot's label (``X[i-1]``, ``pos[find^1(i)]``, none), the
codebook rows it may name at each position and a radius; for every head its score gap and
leakage; the decoder margin.  This module re-derives every one of those numbers from the
weights in exact arithmetic -- integers on the fixed-point grid (value = n 2^-F; int64 where a
bound checked first rules out overflow, else Python ints) and ``Fraction`` -- and accepts only
when each claim is implied by what it derived:

* a radius claim must be >= the checker's own bound, a row set must contain every row the
  label can name, a gap must be <= the checker's gap and > 0, a leakage >= the checker's,
  a margin <= the checker's and > 0; the claimed radii (with the rows the checker derives from
  the labels) are carried to the next layer, so a true claim too weak for the verdict fails
  further down;
* the arithmetic is the emulator's (constructions/precision.py): one half-even rounding of
  the exact value of every stored quantity; every stored interval is checked to fit the
  range, so saturation never happens; the exponential is bounded above by a table of
  rational bounds (``exp(-1/2^H)`` <= its alternating Taylor sum, powers rounded up);
* labels compose by the checker's own rules (lookup: target ``P(i)``; lastOccurrence:
  ``find^1(i)``), and the decoder slot must hold the task's label.

Floating point enters in one place, as a filter: a lookUp's (position x key) scores are first
bounded in float64 with a proved error (exact integer limb products, one rounded addition), and
every decision is then made on exact integers of the keys the filter cannot exclude.

The checker never imports the certificate, its interval code or the emulator; it reads the
weights through the loaders, and for an exchange export re-derives the exchange certificate's
premises (:func:`exchange_premises`) before checking the claims on its recorded hypotheses.
Anything it does not handle is rejected with "not supported by the checker: ...".
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from fractions import Fraction

import numpy as np

from attncheck.constructions.exchange import HYPOTHESES, hypotheses_construction, to_construction
from attncheck.constructions.precision import parse_format

FORMAT_TAG, VERSION = "attncheck-proof", 1
H = 8                                   # exp table step 2^-H (natural units)


class Reject(Exception):
    """The proof does not establish the verdict (the message is the first failing line)."""


class Malformed(Exception):
    """The proof file is not a proof of this format."""


def need(ok, msg: str) -> None:
    if not ok:
        raise Reject(msg)


# --- the weights: canonical digest, exact integers ----------------------------------------------
def weights_digest(c) -> str:
    """SHA-256 over the arrays in a canonical order (sorted names; float64 little-endian bytes
    after the shape; a linear read-out's W_U and b_U included) and the metadata that defines the computation (layout, maps, decoder)."""
    arrays = {"tok_embed": c.tok_embed, "pos_embed": c.pos_embed, "start_row": c.start_row}
    arrays.update({f"codebook/{k}": v for k, v in c.codebooks.items()})
    meta = {"layout": c.layout.to_json(), "mask": c.mask, "start": c.start, "n": c.n, "alphabet": c.alphabet,
            "maps": [], "decoder": None}
    for li, layer in enumerate(c.layers, 1):
        for hi, h in enumerate(layer.heads, 1):
            for w in ("W_Q", "W_K", "W_V", "W_O"):
                arrays[f"layer{li}/head{hi}/{w}"] = getattr(h, w)
            arrays[f"layer{li}/head{hi}/temperature"] = np.array([h.temperature])
        m = layer.map
        meta["maps"].append(None if m is None else {"moves": [list(x) for x in m.moves], "clears": list(m.clears)})
    d = c.decoder
    if d is not None and d.kind == "linear":                  # the exchange read-out: its weights too
        arrays.update({"decoder/W_U": d.W_U, "decoder/b_U": d.b_U})
    if d is not None:
        meta["decoder"] = {"kind": d.kind, "slot": d.slot, "codebook": d.codebook,
                           "symbols": [None if s is None else int(s) for s in d.symbols]}
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[name], dtype="<f8"))
        h.update(f"{name}:{list(a.shape)}\n".encode())
        h.update(a.tobytes())
    h.update(json.dumps(meta, sort_keys=True).encode())
    return h.hexdigest()


def mantissas(a):
    """float64 array -> (M, e) int64 arrays with ``a = M 2^-e`` exactly and e least (M odd, or
    M = e = 0): frexp gives a = m 2^x with 53-bit m, and the trailing zeros of m 2^53 are removed."""
    a = np.asarray(a, dtype=np.float64)
    need(np.all(np.isfinite(a)), "a weight is not finite")
    m, x = np.frexp(a)
    M = (m * float(1 << 53)).astype(np.int64)
    tz = np.where(M == 0, 0, np.frexp((M & -M).astype(np.float64))[1] - 1)
    return M >> tz, np.where(M == 0, 0, 53 - x - tz)


def dyadic(a, e: int) -> np.ndarray:
    """float64 array -> object array of ints n with a = n 2^-e exactly (reject if e too small)."""
    M, f = mantissas(a)
    if M.size and int(f.max()) > e:
        raise Reject(f"not supported by the checker: a weight is finer than 2^-{e}")
    return np.left_shift(M.astype(object), (e - f).astype(object))


def exponent(*arrays) -> int:
    """Smallest e >= 0 with every entry a multiple of 2^-e."""
    return max([0] + [int(mantissas(a)[1].max(initial=0)) for a in arrays])


def rhe(n, s: int):
    """Round-half-even of n / 2^s (n an int, or an int64 or object array of ints)."""
    if s <= 0:
        return (n.astype(object) if isinstance(n, np.ndarray) else n) * (1 << -s)
    q = n >> s
    r = n - (q << s)
    half = 1 << (s - 1)
    up = (r > half) | ((r == half) & (q % 2 == 1))
    return q + up if isinstance(n, int) else q + up.astype(q.dtype)


def as64(*arrays):
    """The arrays (ints) as int64 when the sum of their largest magnitudes is below 2^62 (so that
    adding or subtracting them stays exact), else as Python-int object arrays."""
    big = sum(int(np.max(np.abs(x), initial=0)) for x in arrays) >= 1 << 62
    return [np.asarray(x).astype(object if big else np.int64) for x in arrays]


def round_sum(a, b, s: int):
    """``rhe(a + b, s)`` for broadcasting arrays of ints a, b (the embedding is token + position,
    a projection is position part + row part), in int64 on the broadcast shape.  With t = s - 1,
    split ``x = h 2^t + l`` (0 <= l < 2^t): ``N = floor((a + b) / 2^t) = h_a + h_b + [l_a >= 2^t - l_b]``
    and the remainder below 2^t is 0 iff ``l_a = 2^t - l_b`` or both are 0; then the result is
    ``N >> 1``, plus 1 when the half bit ``N & 1`` is set and (the remainder is not 0 or ``N >> 1``
    is odd).  The comparisons of the (possibly huge) low parts are made on their ranks among all of
    them (equal values, equal ranks).  Python ints when the high parts reach 2^61, or when the
    sum has about as many entries as its parts."""
    a, b = np.atleast_1d(np.asarray(a, dtype=object)), np.atleast_1d(np.asarray(b, dtype=object))
    t = s - 1
    ha, hb = (a >> t, b >> t) if t >= 0 else (a, b)
    if t < 0 or int(np.max(np.abs(ha), initial=0)) + int(np.max(np.abs(hb), initial=0)) >= 1 << 61 \
            or np.broadcast(a, b).size <= 2 * (a.size + b.size):           # no real broadcast: directly
        return rhe(a + b, s)
    la, lb = a - (ha << t), b - (hb << t)
    if not (la.any() and lb.any()):                                     # one low part is 0: no carry
        n, zero = ha.astype(np.int64) + hb.astype(np.int64), (la == 0).astype(bool) & (lb == 0).astype(bool)
    else:
        _, rank = np.unique(np.concatenate([la.ravel(), ((1 << t) - lb).ravel()]), return_inverse=True)
        ra, rb = rank[:la.size].reshape(la.shape), rank[la.size:].reshape(lb.shape)
        n = ha.astype(np.int64) + hb.astype(np.int64) + (ra >= rb)
        zero = (ra == rb) | ((la == 0).astype(bool) & (lb == 0).astype(bool))
    q = n >> 1
    return q + ((n & 1 == 1) & (~zero | (q & 1 == 1)))


def show(x) -> str:
    """A proof's number for a message: ``%.6g``, or its power of two when no float holds it (a hand-edited
    claim of 1e400 must be rejected, not crash the message)."""
    try:
        return f"{float(x):.6g}"
    except OverflowError:
        x = Fraction(x)
        return f"{'-' if x < 0 else ''}~2^{abs(x.numerator).bit_length() - x.denominator.bit_length()}"


def fr(x) -> Fraction:
    try:
        return Fraction(str(x))
    except (ValueError, ZeroDivisionError) as e:
        raise Malformed(f"not a number: {x!r}") from e


# --- labels ----------------------------------------------------------------------------------------
def parse_label(text):
    """"X[find^1(i)]" -> ("X", (("find", 1),)); None stays None."""
    if text is None:
        return None
    m = re.fullmatch(r"(X|pos)\[(.*)\]", text)
    if not m:
        raise Malformed(f"bad label {text!r}")
    base, p, ops = m.group(1), m.group(2), []
    while p != "i":
        if f := re.fullmatch(r"find\^(\d+)\((.*)\)", p):
            ops.insert(0, ("find", int(f.group(1))))
            p = f.group(2)
        elif s := re.fullmatch(r"(.*)([+-]\d+)", p):
            ops.insert(0, ("shift", int(s.group(2))))
            p = s.group(1)
        else:
            raise Malformed(f"bad label {text!r}")
    return base, tuple(ops)


def then(first, label):
    """Label of reading slot ``label`` at position first(i): ops of first, then the slot's."""
    merged = []
    for op in tuple(first) + label[1]:
        if merged and op[0] == "find" and merged[-1][0] == "find":
            merged[-1] = ("find", merged[-1][1] + op[1])
        elif op != ("find", 0):
            merged.append(op)
    return label[0], tuple(merged)


def label_str(label) -> str | None:
    """("X", (("find", 1),)) -> "X[find^1(i)]" (the inverse of :func:`parse_label`)."""
    if label is None:
        return None
    p = "i"
    for name, arg in label[1]:
        p = f"{p}{arg:+d}" if name == "shift" else f"find^{arg}({p})"
    return f"{label[0]}[{p}]"


def positions(ops, T: int):
    """(kind, (T,) ints): the positions ops(t) may be -- 'single' p(t) or 'upto' 0..u(t)."""
    kind, p = "single", np.arange(T)
    for name, arg in ops:
        if name == "shift":
            need(arg <= 0, f"not supported by the checker: a label shifting forward ({arg:+d})")
            p = np.maximum(0, p + arg)
        else:
            kind = "upto"
    return kind, p


# --- row sets ------------------------------------------------------------------------------------
# The codebook rows a slot may name at each position t >= 1, derived from its label by the checker:
# ("single", p) the row p[t]; ("upto", p) the rows 0..p[t]; ("mask", M) the rows r with M[t, r]
# (X labels, on the decoder's small codebook).  Row 0 (the start) is never read through them.
def domain(R) -> np.ndarray:
    """Every row named at some position t >= 1, sorted."""
    kind, a = R
    if kind == "single":
        return np.unique(a[1:])
    return np.arange(int(a[1:].max()) + 1) if kind == "upto" else np.flatnonzero(a[1:].any(axis=0))


def member(R, dom) -> np.ndarray:
    """(T, len(dom)) bool: row dom[x] is named at position t."""
    kind, a = R
    if kind == "single":
        return a[:, None] == dom[None]
    return dom[None] <= a[:, None] if kind == "upto" else a[:, dom]


def minmax_rows(y, R):
    """(T-1, k) min and max of y[r] (y (nb, k)) over the rows of each position t >= 1."""
    kind, a = R
    if kind == "single":
        return y[a[1:]], y[a[1:]]
    if kind == "upto":
        return np.minimum.accumulate(y, axis=0)[a[1:]], np.maximum.accumulate(y, axis=0)[a[1:]]
    dom = domain(R)
    m, big = a[1:, dom, None], 1 << 1000
    return np.where(m, y[dom][None], big).min(axis=1), np.where(m, y[dom][None], -big).max(axis=1)


def claimed_rows(spec, T: int, nb: int):
    """A proof's row set (single / upto / runs) -> per position t an interval (lo, hi) (T,) each,
    or a (T, nb) mask for runs."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise Malformed("a row set must be one of single / upto / runs")
    (kind, data), = spec.items()
    if kind in ("single", "upto"):
        if not isinstance(data, list) or len(data) != T:
            raise Malformed(f"a {kind} row set needs {T} entries")
        r = np.asarray(data)
        if r.dtype.kind != "i":
            raise Malformed(f"a {kind} row set holds something other than integers")
        if np.any(r >= nb):
            raise Malformed("a row set names a row outside its codebook")
        return (np.where(r < 0, 1, r) if kind == "single" else np.where(r < 0, 1, 0)), r   # r < 0: empty
    if kind != "runs":
        raise Malformed(f"unknown row set kind {kind!r}")
    need(T * nb <= 1 << 26, "not supported by the checker: a runs row set this large")
    M = np.zeros((T, nb), dtype=bool)
    for t0, t1, rows in data:
        if not 0 <= int(t0) <= int(t1) < T or any(not 0 <= int(r) < nb for r in rows):
            raise Malformed(f"a run of positions {t0}..{t1} or its rows outside the codebook")
        M[int(t0):int(t1) + 1, [int(r) for r in rows]] = True
    return M


def uncovered(R, C, nb: int) -> np.ndarray:
    """Positions t >= 1 (offset by 1) where the claimed set C misses a row of R."""
    kind, a = R
    if isinstance(C, tuple):                                          # claimed intervals lo..hi
        lo, hi = C[0][1:], C[1][1:]
        if kind == "mask":
            m = a[1:]
            first, last = m.argmax(axis=1), nb - 1 - m[:, ::-1].argmax(axis=1)
            return np.flatnonzero(m.any(axis=1) & ((first < lo) | (last > hi)))
        return np.flatnonzero((hi < a[1:]) | (lo > (a[1:] if kind == "single" else 0)))
    C = C[1:]
    if kind == "mask":
        return np.flatnonzero((a[1:] & ~C).any(axis=1))
    if kind == "single":
        return np.flatnonzero(~C[np.arange(len(C)), a[1:]])
    return np.flatnonzero(np.cumsum(~C, axis=1)[np.arange(len(C)), a[1:]] > 0)


def dot_exact(a, b, s: int = 0) -> np.ndarray:
    """(n, k) and (m, k) grid ints -> (n, m) ``floor(a @ b.T / 2^s)``, exactly.  In int64 when ``9 k max|a| max|b| < 2^(62 + s)`` and L >= s: b is cut into L-bit
    limbs ``b = sum_i y_i 2^(iL)`` (the top one signed, |y_i| <= 2^L) with
    ``k max|a| 2^L <= 2^62``, so each ``a . y_i`` fits; the terms i >= 1 are multiples of 2^s, so
    ``floor(a.b / 2^s) = floor(a.y_0 / 2^s) + sum_{i>=1} (a.y_i) 2^(iL - s)``, and their absolute
    sum is at most k max|a| 3 max|b|.  Else in Python ints."""
    k = a.shape[-1]
    ma, mb = int(np.max(np.abs(a), initial=0)), int(np.max(np.abs(b), initial=0))
    L, n = 62 - k.bit_length() - ma.bit_length(), mb.bit_length()
    if 9 * k * ma * mb >= 1 << (62 + s) or L < max(s, 1):
        return (np.asarray(a, dtype=object) @ np.asarray(b, dtype=object).T) >> s
    a, b = np.asarray(a).astype(np.int64), np.asarray(b).astype(np.int64)
    out, part, tmp = (np.empty((len(a), len(b)), dtype=np.int64) for _ in range(3))
    for i in range(0, max(n, 1), L):
        y = b >> i if i + L >= n else (b >> i) & ((1 << L) - 1)
        acc = out if i == 0 else part
        np.multiply(a[:, None, 0], y[None, :, 0], out=acc)
        for d in range(1, k):
            acc += np.multiply(a[:, None, d], y[None, :, d], out=tmp)
        if i == 0 and s:
            np.right_shift(out, s, out=out)
        elif i:
            out += np.left_shift(part, i - s, out=part)
    return out


def score_terms(qlo, qhi, klo, khi):
    """Bounds on ``q . k`` (grid ints, before the temperature) for q in query boxes (n, k) and k in
    key boxes (m, k), as terms: ``|q.k 2^z - C| <= e1 + qr . kb`` with ``C = floor(qc . kc / 2^s)``
    (n, m), e1 (n,), qr (n, k), kb (m, k).  With doubled centres and radii (2c = lo + hi,
    2r = hi - lo): qc = 2c_q, kc = 2c_k, the error is |2c_q| . max_j 2r_k (the largest key radius:
    one term per query) plus 2r_q . (|2c_k| + 2r_k), at z = 2.  When that does not fit int64 all
    is divided by 2^s (C floored; e1 widened by 2, for its floor and C's, and qr . kb by 1 where
    it is used), z = 2 - s.  Returns qc, kc, e1, qr, kb, s."""
    qc, qr, kc, kr = qlo + qhi, qhi - qlo, klo + khi, khi - klo
    top = max(int(np.max(np.abs(x), initial=0)) for x in (qc, qr, kc, kr))
    s = max(0, (18 * qc.shape[-1] * top * top).bit_length() - 62)
    e1 = dot_exact(np.abs(qc), kr.max(axis=0, keepdims=True), s)[:, 0] + (2 if s else 0)
    return qc, kc, e1, qr, np.abs(kc) + kr, s


def raw_scores(qlo, qhi, klo, khi):
    """(lo, hi, z): ``lo 2^-z <= q . k <= hi 2^-z`` for every query box (n) and key box (m)."""
    qc, kc, e1, qr, kb, s = score_terms(qlo, qhi, klo, khi)
    e = e1[:, None] + ((dot_exact(qr, kb, s) + (1 if s else 0)) if np.any(qr) else 0)
    C = dot_exact(qc, kc, s)
    return C - e, C + e, 2 - s


def float_limbs(b, k: int, ma: int):
    """Keys b (m, k) as float64 limbs for exact products with queries below ma in magnitude:
    (L, h, l), h and l (k, m) C-ordered, ``b = h 2^L + l`` (0 <= l < 2^L), where ``k ma 2^L`` and
    ``k ma max|h|`` are below 2^52 -- so ``a.h`` and ``a.l`` are float64 matmuls of integers whose
    every partial sum is an integer below 2^53, exact in any order.  None when there is no such L."""
    L = 51 - k.bit_length() - ma.bit_length()
    mb = int(np.max(np.abs(b), initial=0))
    if L < 1 or k * max(ma, 1) * ((mb >> L) + 1) >= 1 << 52:
        return None
    b = np.asarray(b).astype(np.int64)
    h = b >> L
    return L, np.ascontiguousarray(h.T, dtype=np.float64), np.ascontiguousarray((b - (h << L)).T, dtype=np.float64)


def below(x) -> np.ndarray:
    """Float64 values <= the given ints (each rounded to nearest, then one step down if above)."""
    x = np.asarray(x, dtype=object)
    f = x.astype(np.float64)
    up = np.array([int(v) > int(w) for v, w in zip(f, x)], dtype=bool) if f.size else np.zeros(0, bool)
    return np.where(up, np.nextafter(f, -np.inf), f)


# --- the checker -----------------------------------------------------------------------------------
class Checker:
    """One proof against one model; :meth:`run` accepts or raises :class:`Reject`."""

    def __init__(self, c, proof: dict, tick=None, spread: Fraction = Fraction(0)):
        self.c, self.p, self.tick, self.spread = c, proof, tick or (lambda: None), spread
        self.fmt = parse_format(str(proof["number_format"]))
        if self.fmt.is_exact:
            raise Reject("not supported by the checker: the exact (float64) format; use a fixed:I.F format")
        need(self.fmt.bits <= 62, "not supported by the checker: formats wider than 62 bits")
        self.F, self.T = self.fmt.frac_bits, c.n + 1
        self.lo_i, self.hi_i = -(1 << (self.fmt.bits - 1)), (1 << (self.fmt.bits - 1)) - 1
        self.floor = self.lo_i - 1
        self.att = proof["attention"]
        need(self.att in ("softmax", "hardmax"), f"not supported by the checker: attention {self.att!r}")
        need(self.att == "hardmax" or self.hi_i >= 1 << self.F, f"{self.fmt} cannot hold exp(0) = 1")
        need(c.start == "constant", "not supported by the checker: exchange-format weights without their"
             " exchange model (check-proof --from DIR re-derives its premises)")
        need(c.mask == "causal" and c.decoder is not None and c.decoder.kind == "nearest",
             "not supported by the checker: a model without the causal mask, a constant start row and a"
             " nearest-code decoder")
        arrays = [c.tok_embed, c.pos_embed, c.start_row, *c.codebooks.values()] + [
            np.asarray(getattr(h, w), float) for l in c.layers for h in l.heads for w in ("W_Q", "W_K", "W_V", "W_O")]
        need(all(np.all(np.isfinite(a)) for a in arrays) and all(np.isfinite(h.temperature) for l in c.layers
                                                                  for h in l.heads), "a weight is not finite")
        need(all(h.W_Q.ndim == h.W_K.ndim == h.W_V.ndim == 2 for l in c.layers for h in l.heads),
             "not supported by the checker: index-specific projections")
        self.X = max(self.F, exponent(*c.codebooks.values())) + 8       # scale of residual quantities
        self.books, self._abs = {k: dyadic(v, self.X) for k, v in c.codebooks.items()}, {}
        self.slots = {s.name: s for s in c.layout.slots}
        owner = np.zeros(c.width, int)
        for s in c.layout.slots:
            owner[s.start:s.stop] += 1
        need(np.all(owner == 1), "the slots do not partition the residual")
        sym = list(c.decoder.symbols)
        need(all(sym.count(x) == 1 for x in range(c.alphabet)) and sym.count(None) == 1,
             "the decoder's table does not name each symbol and bottom exactly once")
        self.tok_book = c.decoder.codebook
        self.sigma, self.none = [sym.index(x) for x in range(c.alphabet)], sym.index(None)

    # -- grid helpers ----------------------------------------------------------------------------
    def rng(self, what: str, lo, hi) -> None:
        need(min(np.min(lo, initial=0), 0) >= self.lo_i and max(np.max(hi, initial=0), 0) <= self.hi_i,
             f"overflow possible: {what} leaves the range of {self.fmt}")

    def store(self, lo, hi, shift: int, what: str):
        """Stored values of exact values in [lo, hi] (2^-(F + shift)), each given as a broadcasting
        pair of parts: half-even, range-checked."""
        lo, hi = round_sum(*lo, shift), round_sum(*hi, shift)
        self.rng(what, lo, hi)
        return lo, hi

    def rad_int(self, r) -> np.ndarray:
        """Fractions -> ints at scale 2^-X, rounded up."""
        return np.array([-((-x.numerator << self.X) // x.denominator) for x in r], dtype=object)

    def temperature(self, h) -> int:
        t = np.array([h.temperature])
        e = max(exponent(t), self.F)
        cq = int(rhe(dyadic(t, e)[0], e - self.F))
        self.rng("the temperature", cq, cq)                                   # never saturated
        return cq

    # -- claims about slots ----------------------------------------------------------------------
    def rows(self, label, book: str):
        """The rows the label may name at each position (the row sets above)."""
        kind, p = positions(label[1], self.T)
        if label[0] == "pos":
            need(int(p.max()) < len(self.books[book]), f"a pos label on codebook {book!r} names a row beyond it")
            return kind, p
        need(book == self.tok_book, f"an X label on codebook {book!r}, not the decoder's {self.tok_book!r}")
        M = np.zeros((self.T, len(self.books[book])), dtype=bool)
        M[:, self.none] = (p == 0) | (kind == "upto")                   # the start token's bottom
        M[:, self.sigma] = (p >= 1)[:, None]                             # any symbol
        M[0] = False
        return "mask", M

    def read_state(self, entry: dict, where: str, labels: dict) -> dict:
        """The proof's slot claims after ``where``: {slot: (label, row sets, radius)}, each label
        the one the checker derived, each row set covering every row the label may name."""
        sl = entry.get("slots")
        if not isinstance(sl, dict) or set(sl) != set(self.slots):
            raise Reject(f"{where}: the proof does not list every slot exactly once")
        st = {}
        for name, s in self.slots.items():
            cl = sl[name]
            lab = parse_label(cl.get("label"))
            need(lab == labels[name], f"{where} slot {name}: label {cl.get('label')} is not the one proved"
                                      f" ({label_str(labels[name])})")
            rad = [fr(x) for x in cl["radius"]]
            need(len(rad) == s.width and all(x >= 0 for x in rad), f"{where} slot {name}: bad radius")
            sets = None
            if lab is not None:
                need(s.codebook is not None, f"{where} slot {name}: labelled but without a codebook")
                nb = len(self.books[s.codebook])
                sets = self.rows(lab, s.codebook)
                bad = uncovered(sets, claimed_rows(cl.get("rows"), self.T, nb), nb)
                need(not bad.size, f"{where} slot {name} position {bad[0] + 1 if bad.size else 0}: the row set"
                                   " misses a row its label may name")
            else:
                need(name in self.tables, f"{where} slot {name}: holds no label and no known content")
            st[name] = (lab, sets, rad)
        self.fits(st, where)
        return st

    def fits(self, st: dict, where: str) -> None:
        """Every stored residual coordinate (centre + radius) fits the format."""
        for name, (lab, sets, rad) in st.items():
            s = self.slots[name]
            if lab is None:
                m = np.abs(self.tables[name]).max(axis=0) * (1 << (self.X - self.F))
            else:
                m = self.absmax(s.codebook, domain(sets))
            top = max(Fraction(int(x), 1 << self.X) + r for x, r in zip(m, rad))
            need(top <= Fraction(self.hi_i, 1 << self.F), f"overflow possible: {where} slot {name}")

    def absmax(self, name: str, rows) -> np.ndarray:
        """max over the rows of |codebook| per coordinate (grid ints), once per row set."""
        key = (name, rows.tobytes())
        if key not in self._abs:
            self._abs[key] = np.abs(self.books[name][rows]).max(axis=0)
        return self._abs[key]

    def check_radii(self, st: dict, want: dict, where: str) -> None:
        for name, (lab, sets, rad) in st.items():
            for d, (a, b) in enumerate(zip(want[name], rad)):
                need(a <= b, f"{where} slot {name} coordinate {d}: claimed radius {show(b)} < proved"
                             f" {show(a)}")

    # -- the embedding ------------------------------------------------------------------------------
    def embedding(self) -> dict:
        c, X, F = self.c, self.X, self.F
        e = max(exponent(c.tok_embed, c.pos_embed, c.start_row), F)
        tok, pos = dyadic(c.tok_embed, e), dyadic(c.pos_embed[1:], e)
        self.start = rhe(dyadic(c.start_row, e), e - F)
        self.rng("the start row", self.start, self.start)
        labels, self.tables, want = {}, {}, {}
        ent = self.p["states"][0]
        need(ent.get("after") == "embedding", "the first state is not the embedding's")
        for name, s in self.slots.items():
            emb = round_sum(tok[:, None, s.start:s.stop], pos[None, :, s.start:s.stop], e - F)   # (V, T-1, w)
            self.rng(f"the embedding of slot {name}", emb, emb)
            lab = parse_label((ent.get("slots") or {}).get(name, {}).get("label"))
            labels[name] = lab
            if lab is None:
                self.tables[name] = np.concatenate([self.start[None, s.start:s.stop], emb[0].astype(object)])
                E, ref, sh = emb, emb[:1], X - F                        # deviation from symbol 0's row
            else:
                if lab[0] == "X":
                    need(lab[1] == () and s.codebook == self.tok_book,
                         f"embedding slot {name}: an X label other than X[i] on the decoder's codebook")
                    ref = self.books[s.codebook][self.sigma][:, None, :]
                else:
                    kind, p = positions(lab[1], self.T)
                    need(kind == "single", f"embedding slot {name}: {label_str(lab)} is not a fixed position")
                    ref = self.books[s.codebook][p[1:]][None]
                top = int(np.max(np.abs(emb), initial=0)) << (X - F)
                E, ref, sh = (emb << (X - F) if top < 1 << 61 else emb.astype(object) << (X - F)), ref, 0
            E, ref = as64(E, ref)
            dev = np.abs(E - ref).reshape(-1, s.width).max(axis=0)
            want[name] = [Fraction(int(x) << sh, 1 << X) for x in dev]
        st = self.read_state(ent, "embedding", labels)
        self.check_radii(st, want, "embedding")
        return st

    # -- projections ---------------------------------------------------------------------------------
    def project(self, st: dict, W, decl, what: str):
        """Stored ``q(x_t @ W)`` as boxes: lo, hi (T, A, k) grid ints and rows (T, A): the row of
        slot ``decl`` each box assumes (-1: not allowed at t; decl None or row 0: -1).  Row 0 is
        the start, exact.  Every other slot contributes its whole range at t.  When that range is
        the same at every t >= 1 and decl names several rows, lo and hi are (2, A, k): row 1
        stands for every position (``compact``)."""
        T, X, k = self.T, self.X, W.shape[1]
        eW = exponent(W)
        Wi = dyadic(W, eW)
        blo = np.zeros((T - 1, k), dtype=object)
        bhi = np.zeros((T - 1, k), dtype=object)
        for name, s in self.slots.items():
            Ws = Wi[s.start:s.stop]
            if name == decl or not np.any(Ws != 0):
                continue
            lab, sets, rad = st[name]
            r = self.rad_int(rad) @ np.abs(Ws)
            if lab is None:
                v = (self.tables[name][1:] * (1 << (X - self.F))) @ Ws
                blo, bhi = blo + v - r, bhi + v + r
            else:
                ylo, yhi = minmax_rows(self.books[s.codebook] @ Ws, sets)
                blo, bhi = blo + ylo - r, bhi + yhi + r
        sh = X + eW - self.F
        if decl is None:
            lo, hi = (blo[:, None, :], 0), (bhi[:, None, :], 0)
            rows = np.full((T, 1), -1)
        else:
            lab, sets, rad = st[decl]
            need(lab is not None, f"{what}: slot {decl} holds no label")
            s = self.slots[decl]
            Ws = Wi[s.start:s.stop]
            y = self.books[s.codebook] @ Ws
            r = self.rad_int(rad) @ np.abs(Ws)
            if sets[0] == "single":
                lo, hi = ((blo - r)[:, None, :], y[sets[1][1:]][:, None, :]), ((bhi + r)[:, None, :], y[sets[1][1:]][:, None, :])
                rows = sets[1][:, None].copy()
            else:
                dom = domain(sets)
                compact = T > 2 and (blo == blo[:1]).all() and (bhi == bhi[:1]).all()
                if compact:
                    blo, bhi = blo[:1], bhi[:1]            # compact: one box per row for every t >= 1
                else:
                    need(T * len(dom) <= 1 << 24, f"not supported by the checker: {what} over {len(dom)} rows"
                                                  f" at {T} positions, depending on the position")
                lo, hi = (blo[:, None, :], (y[dom] - r)[None]), (bhi[:, None, :], (y[dom] + r)[None])
                if compact and sets[0] == "upto":        # every row of dom, named at some t >= 1
                    rows = np.stack([np.full(len(dom), -1), dom]).astype(np.int32)
                else:
                    rows = np.where(member(sets, dom), dom[None].astype(np.int32), -1)
            rows[0] = -1
        lo, hi = self.store(lo, hi, sh, what)
        x0 = rhe((self.start * (1 << (X - self.F))) @ Wi, sh)
        self.rng(what, x0, x0)
        x0 = np.broadcast_to(np.asarray(x0).astype(lo.dtype), (1, lo.shape[1], k))
        return np.concatenate([x0, lo]), np.concatenate([x0, hi]), rows

    def stored(self, raw, cq: int, z: int):
        """The stored scores ``q(cq raw 2^-(2F + z))`` (grid ints, Python ints) of raw scores at
        scale 2^-z, range-checked.  Monotone in raw (cq > 0): the stored value of a bound is a
        bound of the stored value, and of a maximum, the maximum."""
        s = rhe(np.asarray(raw).astype(object) * cq, 2 * self.F + z)
        self.rng("a score", s, s)
        return s

    # -- the exponential -------------------------------------------------------------------------------
    def exp_table(self) -> np.ndarray:
        """E[j] >= the stored exp(-d 2^-F) (grid ints) for every grid distance d >= j 2^(F-H)."""
        if getattr(self, "_E", None) is None:
            F, P = self.F, self.F + 24
            x = Fraction(1, 1 << H)
            b = 1 - x + x * x / 2                                         # >= exp(-x) for 0 < x < 1
            cur, E = 1 << P, []                                             # cur >= exp(-j/2^H) 2^P
            while 2 * cur > 1 << (P - F):                                   # else 2^F exp <= 1/2: rounds to 0
                E.append((cur + (1 << (P - F - 1))) >> (P - F))             # round(y) <= floor(y + 1/2)
                cur = -((-cur * b.numerator) // b.denominator)
            E.append(0)
            self._E = np.array(E, dtype=np.int64)
        return self._E

    def expbound(self, d) -> np.ndarray:
        """Upper bounds (grid ints) on the stored exponentials of grid distances >= d (> 0)."""
        E = self.exp_table()
        d = np.asarray(d, dtype=np.int64)
        need(np.all(d > 0), "internal: a competitor at distance <= 0")
        j = d >> (self.F - H) if self.F >= H else np.minimum(d, len(E)) << (H - self.F)
        return E[np.minimum(j, len(E) - 1)]

    def zero_beyond(self, cq: int, z: int) -> int:
        """A raw score difference (scale 2^-z) from which on the stored distance passes the
        exponential table's end (the exponential stores as 0): ``floor(cq cap 2^-(2F+z)) - 1 >= dz``."""
        E, F2 = self.exp_table(), 2 * self.F + z
        need(F2 >= 0, "not supported by the checker: scores finer than the grid's square")
        dz = len(E) << (self.F - H) if self.F >= H else len(E)
        return ((dz + 2) << F2) // cq + 1

    def dist_lower(self, delta, cq: int, z: int) -> np.ndarray:
        """Lower bounds (int64 grid ints) on the stored distance ``q(cq s*) - q(cq s)`` for raw score
        differences ``delta = s* - s >= 1`` at scale 2^-z (int64 or Python ints).  Each rounding
        moves by at most 1/2, so the distance is >= ``floor(cq delta 2^-(2F+z)) - 1``; delta is
        first capped at :meth:`zero_beyond` (the bound stays past the table's end), then, in int64,
        delta and cq are truncated to 31 bits (``delta' 2^s1 <= delta``, ``cq' 2^s2 <= cq``), so the
        product only lowers the bound."""
        F2, cap = 2 * self.F + z, self.zero_beyond(cq, z)
        s1, s2 = max(0, cap.bit_length() - 31), max(0, cq.bit_length() - 31)
        if np.asarray(delta).dtype != np.int64 or cap >= 1 << 62 or s1 + s2 > F2:   # in Python ints
            return ((np.minimum(np.asarray(delta, dtype=object), cap) * cq) >> F2).astype(np.int64) - 1
        return (((np.minimum(delta, cap) >> s1) * (cq >> s2)) >> (F2 - s1 - s2)) - 1

    # -- heads -----------------------------------------------------------------------------------------
    def head(self, li: int, hi: int, h, claim: dict, st: dict):
        """Check one head's promise; returns (the target's pointer ops, the proved leakage, which
        the claim must bound; the copy error uses the proved one)."""
        where = f"layer {li} head {hi}"
        kind, q, k = claim["promise"], claim["query"], claim["key"]
        need(q in self.slots and k in self.slots, f"{where}: unknown query or key slot")
        cq = self.temperature(h)
        need(cq > 0, f"{where}: the temperature rounds to {cq} <= 0")
        gap_claim, leak_claim = fr(claim["gap"]), fr(claim["leak"])
        need(gap_claim > 0, f"{where}: claimed gap {show(gap_claim)} is not positive")
        need(leak_claim >= 0, f"{where}: claimed leakage {show(leak_claim)} is negative")
        ql, kl = st[q][0], st[k][0]
        if kind == "lookup":
            need(ql is not None and ql[0] == "pos" and kl == ("pos", ()),
                 f"{where}: lookup needs a query labelled pos[P(i)] and a key labelled pos[i]")
            need(np.all(st[q][1][1][1:] <= np.arange(1, self.T)),        # single p or upto p: max row p(t)
                 f"{where}: at some position the pointer may name a later position (masked)")
            Q = self.project(st, h.W_Q, q, f"{where} query")
            K = self.project(st, h.W_K, k, f"{where} key")
            gap, L = self.lookup(where, cq, Q, K)
            ops = ql[1]
        elif kind == "last_occurrence":
            need(ql == ("X", ()) and kl == ("X", (("shift", -1),)),
                 f"{where}: lastOccurrence needs a query labelled X[i] and a key labelled X[i-1]")
            Q = self.project(st, h.W_Q, q, f"{where} query")
            K = self.project(st, h.W_K, k, f"{where} key")
            gap, L = self.last_occurrence(where, cq, Q, K)
            ops = (("find", 1),)
        else:
            raise Reject(f"not supported by the checker: promise {kind!r}")
        gap = Fraction(gap, 1 << self.F)
        need(gap >= gap_claim, f"{where}: claimed gap {show(gap_claim)} > proved {show(gap)}")
        if self.att == "softmax":
            need(Fraction(L, 1 << self.F) <= leak_claim,
                 f"{where}: claimed leakage {show(leak_claim)} < proved {L / 2 ** self.F:.6g}")
        return ops, Fraction(L, 1 << self.F) if self.att == "softmax" else Fraction(0)

    def lookup(self, where: str, cq: int, Q, K):
        """Every position t and pointer p its query may name (p <= t): key p scores above every
        other visible key j <= t.  When the query boxes are the same at every t >= 1, the last
        position (every key visible) covers all.  Scores are compared raw (exact integers; the
        stored score is monotone in the raw one), so only the best competitor is rounded; the
        leakage sums the exponential bound over every competitor at a lower bound of its stored
        distance, and is skipped for a case whose nearest competitor's exponential stores as 0.
        Returns (gap, leakage) in grid units."""
        qlo, qhi, qrows = Q
        klo, khi, krows = K
        T = self.T
        need(krows.shape[1] == 1 and np.array_equal(krows[1:, 0], np.arange(1, T)),
             f"{where}: the key slot does not hold the code of its own position")
        kl, kh = klo[:, 0], khi[:, 0]
        same = len(qlo) == 2 or (np.all(qlo[2:] == qlo[1:2]) and np.all(qhi[2:] == qhi[1:2]))
        top = qrows[1:].max(axis=0)
        # the last position covers all only when each box names one pointer at every position (a
        # 'single' pointer p(t) with a query blind to it has one box but a pointer per position)
        same = same and bool(np.all((qrows[1:] == top[None]) | (qrows[1:] < 0)))
        if same:
            x = np.flatnonzero(top >= 0)
            qa, qb, ptr, vis = qlo[1][x], qhi[1][x], top[x], np.full(len(x), T - 1)
        else:
            tt, x = np.nonzero(qrows[1:] >= 0)
            qa, qb, ptr, vis = qlo[tt + 1, x], qhi[tt + 1, x], qrows[tt + 1, x], tt + 1
        gap, L = None, 0
        qc, kc, e1s, qr, kb, s = score_terms(qa, qb, kl, kh)              # |raw 2^z - C| <= e1 + qr.kb
        z, k = 2 - s, qc.shape[-1]
        ma, mb = int(np.max(np.abs(qc), initial=0)), int(np.max(np.abs(kc), initial=0))
        M = ((k * ma * mb) >> (52 + s)) + 2                                 # |C - Cf| <= M, Cf below
        limbs = float_limbs(kc, k, ma)
        wide = 9 * k * ma * mb >= 1 << 62 or k * max(ma, 1) * max(int(np.max(qr, initial=0)), 1) * max(int(np.max(kb, initial=0)), 1) >= 1 << 61
        qf = np.asarray(qc).astype(np.float64)
        qc, kc, qr, kb = (np.asarray(x).astype(object if wide else np.int64) for x in (qc, kc, qr, kb))

        def exact(r, j):                                                 # C and qr.kb at the pairs (r, j)
            r = r + b0                                                  # of the chunk at b0
            return ((qc[r] * kc[j]).sum(axis=-1) >> s,
                    ((qr[r] * kb[j]).sum(axis=-1) >> s) + (1 if s else 0))
        emaxs = e1s + ((qr * kb.max(axis=0)).sum(axis=1) >> s) + (1 if s else 0)
        step = max(1, (1 << 18) // T)
        work, flags = np.empty((2, step * T)), np.empty(step * T, dtype=bool)   # reused by every chunk
        for b0 in range(0, len(ptr), step):
            self.tick()
            c = slice(b0, b0 + step)
            p, v, m = ptr[c], vis[c], int(vis[c].max()) + 1
            e1, emax, i = e1s[c], emaxs[c], np.arange(len(p))
            Cf, tmp = (w[:len(p) * m].reshape(len(p), m) for w in work)   # float64 Cf: |C - Cf| <= M, where
            if limbs:                                                   # C = floor(qc.kc / 2^s): the limb
                sh, h, l = limbs                                        # products exact, one rounding in +
                np.matmul(qf[c], h[:, :m], out=Cf)
                Cf *= float(1 << sh)
                Cf += np.matmul(qf[c], l[:, :m], out=tmp)
                if s:
                    Cf *= 2.0 ** -s                                     # exact; the floor moves < 1
            else:                                                       # the exact C, rounded once
                Cf[...] = np.asarray(dot_exact(qc[c], kc[:m], s)).astype(np.float64)
            Cp, ep = exact(i, p)
            star = Cp - e1 - ep                                         # the pointer's lower bound
            low = int(np.floor(Cf.min())) - M - int(emax.max())         # below every score of the chunk
            Cf[i, p] = -np.inf
            if not same:                                                # keys after the position: masked
                np.copyto(Cf, -np.inf, where=np.greater(np.arange(m)[None, :], v[:, None], out=flags[:Cf.size].reshape(Cf.shape)))
            top = np.floor(Cf.max(axis=1))                              # the best competitor, within M
            floor_best = np.array([int(x) for x in top], dtype=object) - M + e1   # <= its upper bound
            self.stored([low, int(top.max()) + 1 + M + int(emax.max()), int((Cp + e1 + ep).max())], cq, z)  # all fit
            if self.att == "hardmax":                                   # no leakage: only the best matters
                reach = floor_best
            else:
                reach = np.minimum(floor_best, np.asarray(star, dtype=object) - self.zero_beyond(cq, z))
            r, j = np.nonzero(np.greater_equal(Cf, below(reach - emax - M)[:, None], out=flags[:Cf.size].reshape(Cf.shape)))   # only these can be the best or leak
            Cr, er = exact(r, j)
            hi = Cr + e1[r] + er
            best = np.full(len(i), -(1 << 999), dtype=object)
            np.maximum.at(best, r, hi.astype(object))
            g = np.asarray(self.stored(star, cq, z) - self.stored(best, cq, z), dtype=np.int64)
            bad = int(np.argmin(g))
            need(g[bad] > 0, f"{where} position {int(v[bad])}: pointer {int(p[bad])} does not beat key"
                             f" {int(j[r == bad][np.argmax(hi[r == bad])])} (score gap {int(g[bad])} grid units)")
            gap = int(g.min()) if gap is None else min(gap, int(g.min()))
            if self.att == "softmax" and len(r):
                leak = np.zeros(len(i), dtype=np.int64)
                np.add.at(leak, r, self.expbound(np.maximum(self.dist_lower(star[r] - hi, cq, z), g[r])))
                L = max(L, int(leak.max()))
        return gap, L

    def last_occurrence(self, where: str, cq: int, Q, K):
        """For every query row a and feasible target j* (a key of row a, or the start), the target
        beats every later non-matching key, every earlier key and the start.  The queries must be
        the same at every position t >= 1, so the last position (every key visible) covers all.
        Scores are compared raw; only each position's best is rounded (monotone rounding)."""
        qlo, qhi, qrows = Q
        klo, khi, krows = K
        T, floor = self.T, self.floor
        need(len(qlo) == 2 or (np.all(qlo[2:] == qlo[1:2]) and np.all(qhi[2:] == qhi[1:2])),
             f"not supported by the checker: {where} queries that depend on the position")
        if len(klo) == 2:                                                  # compact keys: one row stands for all
            klo, khi = (np.concatenate([x[:1], np.broadcast_to(x[1:], (T - 1,) + x.shape[1:])]) for x in (klo, khi))
        avals = np.flatnonzero((qrows[1:] >= 0).any(axis=0))
        B, k = klo.shape[1], klo.shape[2]
        qa, qb = qlo[1][avals], qhi[1][avals]
        lo, hi, z = raw_scores(qa, qb, klo[1:].reshape(-1, k), khi[1:].reshape(-1, k))   # (A, (T-1) B)
        lo, hi = lo.reshape(len(avals), T - 1, B), hi.reshape(len(avals), T - 1, B)
        kv = (krows[1:] >= 0)[None]
        rows = qrows[1:, avals].max(axis=0)
        match = krows[1:][None] == rows[:, None, None]                     # (A, T-1, B)
        low, top = (-(1 << 63), (1 << 63) - 1) if hi.dtype == np.int64 else (-(1 << 999), 1 << 999)
        self.stored([int(np.where(kv, lo, top).min()), int(np.where(kv, hi, low).max())], cq, z)   # fits

        def best(x, sel, red, none):                                       # stored best per (row, position)
            x = red(np.where(sel, x, none), axis=2)
            out = np.full(x.shape, self.floor if none == low else self.hi_i + 1, dtype=np.int64)
            out[x != none] = np.asarray(self.stored(x[x != none], cq, z), dtype=np.int64)
            return out
        Us = best(hi, kv & ~match, np.max, low)                            # a later key must not match
        Ws = best(hi, kv, np.max, low)                                     # an earlier key may be anything
        stars = best(lo, match, np.min, top)
        l0, h0, z0 = raw_scores(qa, qb, klo[0, :1], khi[0, :1])            # the start's key
        s0lo, s0hi = self.stored(l0[:, 0], cq, z0), self.stored(h0[:, 0], cq, z0)
        gap, L = None, 0
        for i, a in enumerate(avals):
            self.tick()
            row, U, Wm, star = int(rows[i]), Us[i], Ws[i], stars[i]
            match = krows[1:] == row
            feas = match.any(axis=1)
            sufU = np.concatenate([np.maximum.accumulate(U[::-1])[::-1][1:], [floor]])
            preW = np.concatenate([[floor], np.maximum.accumulate(Wm)[:-1]])
            cm = np.maximum(np.maximum(sufU, preW), int(s0hi[i]))
            g = np.where(feas, star - cm, self.hi_i)
            bad = int(np.argmin(g))
            need(g[bad] > 0, f"{where}: query row {row}, target position {bad + 1}: score gap {int(g[bad])} <= 0")
            g0 = int(s0lo[i]) - int(U.max())
            need(g0 > 0, f"{where}: query row {row}, no match: the start's score gap {g0} <= 0")
            gap = min(int(g.min()), g0, gap if gap is not None else g0)
            if self.att == "softmax":
                f = np.flatnonzero(feas)
                e = self.expbound(star[f] - int(s0hi[i]))                   # the start
                for vals, after in ((U, True), (Wm, False)):                # later keys, earlier keys
                    e = e + self.window_sum(vals, after, star[f], g[f], f)
                L = max(L, int(e.max(initial=0)), int(self.expbound(int(s0lo[i]) - U[U != floor]).sum()))
        return gap, L

    def window_sum(self, vals, after: bool, star, g, f) -> np.ndarray:
        """For each target f (positions j* - 1, star its score), the exact sum of the exponential
        bound over the live competitors (``vals != floor``) strictly after (or before) it, at
        distance ``max(star - vals[j], g)``.  A competitor at distance >= dz bounds to 0 (the table's
        end), so only the values in (star - dz, star) are visited, found by sorting."""
        E = self.exp_table()
        dz = (len(E) - 1) << (self.F - H) if self.F >= H else -(-(len(E) - 1) >> (H - self.F))
        dz = min(dz, 1 << 62)               # stored scores are within 2^61 of 0: the same window, in int64
        pos = np.flatnonzero(vals != self.floor)
        o = np.argsort(vals[pos], kind="stable")
        sv, sp = vals[pos][o], pos[o]
        lo, hi = np.searchsorted(sv, star - dz, "right"), np.searchsorted(sv, star, "left")
        n = hi - lo
        need(int(n.sum()) <= 1 << 25, "not supported by the checker: more than 2^25 softmax terms above 0")
        t = np.repeat(np.arange(len(f)), n)
        k = lo[t] + np.arange(len(t)) - np.repeat(np.cumsum(n) - n, n)
        ok = sp[k] > f[t] if after else sp[k] < f[t]
        out = np.zeros(len(f), dtype=np.int64)
        np.add.at(out, t[ok], self.expbound(np.maximum(star[t[ok]] - sv[k[ok]], g[t[ok]])))
        return out

    # -- writes ----------------------------------------------------------------------------------------
    def writes(self, li: int, h, claim: dict, leak: Fraction, st: dict, labels: dict, ops, want: dict) -> None:
        """Declared copies v -> w (the target's code plus an error bound) and every other column
        of W_O (what it may add), accumulated into ``want`` (radius each slot needs)."""
        where, X, F = f"layer {li}", self.X, self.F
        u = Fraction(1, 1 << (F + 1))
        need(all(x in self.slots for x in claim["values"] + claim["writes"]), f"{where}: unknown slot")
        decl = next((v for v in claim["values"] if st[v][0] is not None), None)
        V = self.project(st, h.W_V, decl, f"{where} value")              # boxes per (position, row of decl)
        ok = V[2][1:] >= 0 if decl is not None else np.ones(V[2][1:].shape, dtype=bool)
        ok = ok.any(axis=0)[None] if len(V[0]) == 2 else ok              # compact: any position
        vlo, vhi = V[0][0, 0], V[1][0, 0]                                 # the start's value, exact
        vmin = np.minimum(vlo, V[0][1:][ok].min(axis=0))                  # over every position and row (the
        vmax = np.maximum(vhi, V[1][1:][ok].max(axis=0))                  # rounding is monotone: as if ranged)
        vabs = int(np.maximum(np.abs(vmin), np.abs(vmax)).max())
        if self.att == "softmax":
            need(1 + leak <= Fraction(self.hi_i, 1 << F), f"{where}: the softmax denominator may overflow")
            top = ((1 + leak) * vabs).__ceil__() + 1
            self.rng(f"{where} softmax numerator", -top, top)
            mix = [leak / (1 + leak) * Fraction(int(b - a), 1 << F) + 2 * u for a, b in zip(vmin, vmax)]
        else:
            mix = [Fraction(0)] * len(vmin)
        s = F + 1                                                          # out boxes at 2^-(F+1)
        mixi = np.array([-((-m.numerator << s) // m.denominator) for m in mix], dtype=object)
        eO = exponent(h.W_O)
        Wo = dyadic(h.W_O, eO)

        def through(lo, hi, cols):
            """Exact range (2^-(s + eO)) of out @ W_O[:, cols] for out in [2lo - mix, 2hi + mix]."""
            P, N = np.where(Wo[:, cols] > 0, Wo[:, cols], 0), np.where(Wo[:, cols] < 0, Wo[:, cols], 0)
            a, b = lo * 2 - mixi, hi * 2 + mixi
            ylo, yhi = a @ P + b @ N, b @ P + a @ N
            self.rng(f"{where} head write", rhe(ylo, s + eO - F), rhe(yhi, s + eO - F))
            return ylo, yhi

        sc = 1 << (s + eO)
        for v, w in zip(claim["values"], claim["writes"]):
            need(v in self.slots and w in self.slots, f"{where}: unknown slot {v!r} or {w!r}")
            sv, sw = self.slots[v], self.slots[w]
            lv = st[v][0]
            need(lv is not None and sv.codebook == sw.codebook and sv.width == sw.width,
                 f"{where}: copies {v}, which holds no label, or into {w} of another codebook")
            need(labels[w] is None and w in self.tables and not np.any(self.tables[w][1:]),
                 f"{where}: writes into slot {w}, which is not empty")
            book, cols = self.books[sv.codebook], slice(sw.start, sw.stop)
            blo, bhi, brows = V if v == decl else self.project(st, h.W_V, v, f"{where} value")
            if len(blo) == 2:                                                 # compact: the same boxes at every t
                top = brows[1:].max(axis=0)
                a = np.flatnonzero(top >= 0)
                clo, chi, rows = blo[1, a], bhi[1, a], top[a]
            else:
                t, a = np.nonzero(brows[1:] >= 0)
                clo, chi, rows = blo[t + 1, a], bhi[t + 1, a], brows[t + 1, a]
            clo, chi = np.concatenate([vlo[None], clo]), np.concatenate([vhi[None], chi])   # and the start
            rows = np.concatenate([[0 if lv[0] == "pos" else self.none], rows]).astype(np.int64)
            ylo, yhi = through(clo, chi, cols)                             # target holds row's code
            S = max(s + eO, X)
            ref = book[rows] << (S - X)
            dev = np.maximum(np.abs((ylo << (S - s - eO)) - ref), np.abs((yhi << (S - s - eO)) - ref))
            worst = [Fraction(int(x), 1 << S) for x in dev.max(axis=0)]
            want[w] = [x + m + u for x, m in zip(want[w], worst)]
            labels[w] = then(ops, lv)
        for name, sl in self.slots.items():                                # every other column
            if name in claim["writes"] or not np.any(Wo[:, sl.start:sl.stop] != 0):
                continue
            ylo, yhi = through(vmin, vmax, slice(sl.start, sl.stop))
            want[name] = [x + Fraction(max(abs(int(a)), abs(int(b))), sc) + u
                          for x, a, b in zip(want[name], ylo, yhi)]

    # -- maps and the decoder -----------------------------------------------------------------------
    def margin(self, book: str, dom, rad, where: str) -> Fraction:
        """min over a in dom, b != a of ``||c_a - c_b||^2 - 2 sum_d r_d |c_a,d - c_b,d|``, which
        must be > 0: then every ``c_a + delta`` with ``|delta| <= r`` has the unique nearest code a."""
        B = self.books[book]
        need(len(dom) * len(B) <= 1 << 16, f"not supported by the checker: decoding {len(dom)} x {len(B)} code pairs")
        best = None
        for a in dom:
            for b in range(len(B)):
                if b != a:
                    diff = [int(x) - int(y) for x, y in zip(B[a], B[b])]
                    m = Fraction(sum(x * x for x in diff), 1 << (2 * self.X)) - 2 * sum(
                        r * Fraction(abs(x), 1 << self.X) for r, x in zip(rad, diff))
                    best = m if best is None else min(best, m)
        best = Fraction(1) if best is None else best
        need(best > 0, f"{where}: a value within the radius may decode to another code (margin {show(best)})")
        return best

    def apply_map(self, li: int, smap, st: dict, labels: dict) -> dict:
        want = {n: list(v[2]) for n, v in st.items()}
        for src, dst in smap.moves:
            lab, sets, rad = st[src]
            need(lab is not None, f"map {li}: moves {src}, which holds no label")
            s, d = self.slots[src], self.slots[dst]
            need(s.codebook == d.codebook and s.width == d.width, f"map {li}: {src} -> {dst} changes codebook")
            dom = domain(sets)
            self.margin(s.codebook, dom, rad, f"map {li} slot {src}")
            sh = self.X - self.F
            qb = rhe(self.books[s.codebook][dom], sh)
            self.rng(f"map {li} output", qb, qb)
            want[dst] = [Fraction(int(x), 1 << self.X)
                         for x in np.abs(qb * (1 << sh) - self.books[s.codebook][dom]).max(axis=0)]
            labels[dst] = lab
            self.tables.pop(dst, None)
        for n in smap.clears:
            s = self.slots[n]
            labels[n], want[n] = None, [Fraction(0)] * s.width
            self.tables[n] = np.zeros((self.T, s.width), dtype=object)
            self.tables[n][0] = self.start[s.start:s.stop]
        return want

    # -- the whole proof -------------------------------------------------------------------------------
    def run(self) -> str:
        c, p = self.c, self.p
        need(p["task"] in ("induction", "hop"), f"not supported by the checker: task {p['task']!r}")
        states = p["states"]
        st = self.embedding()
        labels = {n: v[0] for n, v in st.items()}
        k = 1
        for li, layer in enumerate(c.layers, 1):
            need(k < len(states) and states[k].get("after") == f"layer {li}", f"layer {li}: no claim in the proof")
            claims = states[k].get("heads") or []
            need(len(claims) == len(layer.heads), f"layer {li}: the proof lists {len(claims)} heads, the model"
                                                   f" has {len(layer.heads)}")
            written = [w for cl in claims for w in cl["writes"]]
            need(len(written) == len(set(written)), f"layer {li}: two heads write one slot")
            want = {n: list(v[2]) for n, v in st.items()}
            new = dict(labels)
            for hi, (h, cl) in enumerate(zip(layer.heads, claims), 1):
                need(len(cl["values"]) == len(cl["writes"]), f"layer {li} head {hi}: values and writes differ")
                ops, L = self.head(li, hi, h, cl, st)
                self.writes(li, h, cl, L, st, new, ops, want)
            for n in written:
                self.tables.pop(n, None)
            st, labels = self.read_state(states[k], f"layer {li}", new), new
            self.check_radii(st, want, f"layer {li}")
            k += 1
            if layer.map is not None:
                need(k < len(states) and states[k].get("after") == f"map {li}", f"map {li}: no claim in the proof")
                want = self.apply_map(li, layer.map, st, labels)
                st = self.read_state(states[k], f"map {li}", labels)
                self.check_radii(st, want, f"map {li}")
                k += 1
        need(k == len(states), "the proof lists more states than the model has layers and maps")
        dec = c.decoder
        lab, sets, rad = st[dec.slot]
        need(self.slots[dec.slot].codebook == dec.codebook, "the decoder reads a slot of another codebook")
        kk = 1 if p["task"] == "induction" else int(c.params["k"])      # check(): the proof's k is the weights
        want = ("X", (("find", kk),) if kk else ())
        need(lab == want, f"decoder: slot {dec.slot} holds {label_str(lab)}, the task needs {label_str(want)}")
        m = self.margin(dec.codebook, domain(sets), rad, "decoder")
        claim = fr(p["decoder"]["margin"])
        need(0 < claim <= m, f"decoder: claimed margin {show(claim)} is not in (0, {show(m)}]")
        need(m > 2 * self.spread, f"decoder: margin {show(m)} does not cover the read-out bias offsets"
                                  f" (2 x {show(self.spread)})")
        task = p["task"] + (f" (k = {kk})" if p["task"] == "hop" else "")
        return (f"accepted: {task} holds for all {c.alphabet}^{c.n} inputs in {self.fmt} with {self.att}"
                f" (decoder margin >= {float(claim):.4g})")


def load_proof(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        p = json.loads(raw)
    except (OSError, ValueError, EOFError) as e:
        raise Malformed(f"cannot read the proof {path}: {e}") from e
    if not isinstance(p, dict) or p.get("format") != FORMAT_TAG or p.get("version") != VERSION:
        raise Malformed(f"{path} is not an {FORMAT_TAG} version {VERSION} file")
    for key in ("weights_sha256", "number_format", "attention", "task", "params", "states", "decoder"):
        if key not in p:
            raise Malformed(f"the proof has no {key!r}")
    return p


def row0_fixed(c, fmt, attention: str) -> None:
    """Exchange premise 1: the pass on row 0 alone (it sees only itself: softmax weight exp(0) = 1,
    so every head outputs its value) returns the stored start row after every layer."""
    F, hi = fmt.frac_bits, (1 << (fmt.bits - 1)) - 1
    need(attention == "hardmax" or hi >= 1 << F, f"{fmt} cannot hold exp(0) = 1")
    e = max(exponent(c.start_row), F)
    x0 = rhe(dyadic(c.start_row, e), e - F)

    def stored(x, W, what):
        eW = exponent(W)
        y = rhe(x @ dyadic(W, eW), eW)
        need(np.all(np.abs(y) <= hi), f"overflow possible: row 0's {what}")
        return y
    need(np.all(np.abs(x0) <= hi), "overflow possible: the start row")
    for li, layer in enumerate(c.layers, 1):
        x = x0.copy()
        for h in layer.heads:
            v = stored(x0, h.W_V, "value")
            x = x + stored(v, h.W_O, "head write")
        need(np.all(np.abs(x) <= hi), f"overflow possible: row 0 after layer {li}")
        need(np.array_equal(x, x0), f"exchange premise: row 0 is not a fixed point of layer {li}")


def exchange_premises(m, c, proof: dict):
    """The exchange certificate's premises, re-derived exactly (docs/soundness.md, issue 16): row 0
    is fixed, the start keeper heads write exactly 0 at every token row, the read-out is the nearest
    code of the recorded codebook up to bias offsets, no other biases.  Returns (the construction
    with row 0 held constant and the keepers removed, the offsets' spread)."""
    fmt = parse_format(str(proof["number_format"]))
    need(not fmt.is_exact and fmt.bits <= 62, "not supported by the checker: exchange weights outside fixed:I.F")
    try:
        ch = hypotheses_construction(m, c)
    except ValueError as e:                                               # the loader's BadInput
        raise Reject(f"exchange premise: the recorded hypotheses are malformed: {e}") from e
    hyp = m.source[HYPOTHESES]
    keepers = {(int(a), int(b)) for a, b in hyp["keepers"]}
    need(m.start is not None, "exchange premise: the model has no start token")
    for l, b in enumerate(m.blocks):
        need(not np.any(b.b_O), f"exchange premise: layer {l + 1} has a nonzero b_O")
        for h in range(b.n_heads):
            need((l, h) in keepers or not (np.any(b.b_Q[h]) or np.any(b.b_K[h]) or np.any(b.b_V[h])),
                 f"exchange premise: layer {l + 1} head {h + 1} has q/k/v biases")
    row0_fixed(c, fmt, proof["attention"])
    F, D = fmt.frac_bits, m.d_model
    if keepers:
        flag = hyp["flag"]
        need(c.width > D, "exchange premise: keepers without a constant coordinate for their query")
        need(flag is not None and not np.any(c.tok_embed[:, flag]) and not np.any(c.pos_embed[1:, flag])
             and not any(np.any(h.W_O[:, flag]) for layer in c.layers for h in layer.heads),
             "exchange premise: the flag coordinate is not 0 at every token row")
        e = max(exponent(c.start_row), F)
        x0 = rhe(dyadic(c.start_row, e), e - F)
        chk = Checker.__new__(Checker)
        chk.F, chk._E = F, None
        lo, hi = -(1 << (fmt.bits - 1)), (1 << (fmt.bits - 1)) - 1

        def sat(n):                                                     # the format's saturation
            return np.minimum(np.maximum(n, lo), hi) if isinstance(n, np.ndarray) else min(max(n, lo), hi)
        for l, h in sorted(keepers):
            need(0 <= l < len(m.blocks) and 0 <= h < m.blocks[l].n_heads, f"keeper {l + 1}.{h + 1} does not exist")
            hd = c.layers[l].heads[h]
            other = [i for i in range(c.width) if i != flag]
            need(not np.any(np.delete(hd.W_Q, D, axis=0)) and not np.any(hd.W_K[other])
                 and not np.any(hd.W_V[other]), f"exchange premise: layer {l + 1} head {h + 1} is not a start keeper")
            one = np.zeros(c.width, dtype=object)
            one[D] = sat(1 << F)
            eQ, eK = exponent(hd.W_Q), exponent(hd.W_K)
            # the keeper is not range-checked like the claims' heads, so its stored numbers saturate
            # as the emulator's do: a score clamped at the bottom of a narrow range (fixed:4.11: -8)
            # has an exponential that does not store as 0
            q = sat(rhe(one @ dyadic(hd.W_Q, eQ), eQ))                  # every token row: the constant query
            k0 = sat(rhe(x0 @ dyadic(hd.W_K, eK), eK))
            t = np.array([hd.temperature])
            et = max(exponent(t), F)
            cq = sat(int(rhe(dyadic(t, et)[0], et - F)))
            s0 = sat(int(rhe(cq * int(q @ k0), 2 * F)))
            need(s0 < 0, f"exchange premise: keeper {l + 1}.{h + 1} scores row 0 at {s0} >= 0")
            need(proof["attention"] == "hardmax" or int(chk.expbound(np.array([-s0]))[0]) == 0,
                 f"exchange premise: keeper {l + 1}.{h + 1}: exp of row 0's score does not store as 0")
    dec, sym = ch.decoder, list(c.decoder.symbols)
    book, sl = ch.codebooks[dec.codebook], ch.layout[dec.slot]
    W = c.decoder.W_U
    need(not np.any(np.delete(W, np.arange(sl.start, sl.stop), axis=0)),
         "exchange premise: W_U reads coordinates outside the decoder's slot")
    ids = [m.bottom if x is None else m.symbols[x] if 0 <= x < m.alphabet else None for x in dec.symbols]
    need(None not in ids and len(set(ids)) == len(ids) == W.shape[1], "exchange premise: the read-out columns"
         " are not one per code")
    deltas = []
    for r, col in enumerate(ids):
        need(np.array_equal(W[sl.start:sl.stop, col], book[r]) and sym[col] == dec.symbols[r],
             f"exchange premise: W_U column {col} is not the code of row {r}, or reads out another symbol")
        deltas.append(Fraction(float(c.decoder.b_U[col])) + sum(Fraction(float(v)) ** 2 for v in book[r]) / 2)
    return ch, max(deltas) - min(deltas)


def check(proof: dict, c, tick=None, exchange=None) -> str:
    """Accept (return a one-line summary) or raise Reject naming the first failing line.
    ``tick``: called now and then (a budget's check; it may raise).  ``exchange``: the exchange
    model ``c`` was made from (its premises are re-derived first)."""
    need(proof["weights_sha256"] == weights_digest(c), "the weights' SHA-256 differs from the proof's")
    need(c.task == proof["task"], f"the weights hold a {c.task!r} model, the proof is about {proof['task']!r}")
    try:
        if c.task == "hop":                  # the task is the weights' own: hop's k is part of it
            k = c.params.get("k")
            need(proof["params"].get("k") == k, f"the weights declare hop k = {k}, the proof is about"
                                                 f" k = {proof['params'].get('k')!r}")
        if exchange is not None:
            need(HYPOTHESES in exchange.source, "not supported by the checker: exchange weights without recorded"
                                                " hypotheses")
            need(weights_digest(to_construction(exchange)) == proof["weights_sha256"],
                 "the weights given are not the exchange model's")             # c is read from exchange
            ch, spread = exchange_premises(exchange, c, proof)
            return Checker(ch, proof, tick, spread).run()
        return Checker(c, proof, tick).run()
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as e:
        raise Malformed(f"the proof is missing or misuses a field: {e!r}") from e
