"""Codebook rows: which code a stored vector names, quantization error, decode margins.

Shape glossary: n vectors, nb codebook rows, w code width.  Used by the certificate
(:mod:`attncheck.verifiers.certificate`) to name rows and to prove decoding; every numeric
check uses the values themselves, the rows are names.
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions.precision import Format
from attncheck.verifiers.emulator import nearest_rows


NEAREST_PAIRS = 1 << 24    # (missing value x code) pairs searched by distance at the most


def nearest_code_rows(vals: np.ndarray, book: np.ndarray, fmt: Format | None = None,
                      search: bool = True) -> np.ndarray:
    """(n, w) x (nb, w) -> (n,) index of the L2-nearest row.  Values equal to a (quantized)
    code are found by hashing in O(n); only the others are searched, in chunks (with
    ``search=False``, or beyond :data:`NEAREST_PAIRS`, they get -1)."""
    keyed = np.ascontiguousarray((book if fmt is None else fmt.quantize(book)) + 0.0)   # no -0.0
    vals = np.ascontiguousarray(vals, dtype=np.float64) + 0.0
    if 8 * len(vals) < len(book):                   # a few values: compare, do not hash the book
        exact = np.all(keyed[None, :, :] == vals[:, None, :], axis=2)
        first = np.where(exact.any(axis=1), np.argmax(exact, axis=1), -1)
        return np.where(first >= 0, first, nearest_rows(vals, book)).astype(np.int64)
    hb, hv = _row_hash(keyed), _row_hash(vals)
    order = np.argsort(hb, kind="stable")                 # equal hashes: the smallest row first
    at = np.minimum(np.searchsorted(hb[order], hv), len(order) - 1)
    cand = order[at]
    same = (hb[cand] == hv) & np.all(keyed[cand] == vals, axis=1)   # a hash collision is a miss
    rows = np.where(same, cand, -1).astype(np.int64)
    miss = np.flatnonzero(rows < 0)
    if not search or len(miss) * len(book) > NEAREST_PAIRS:
        return rows
    step = max(1, 4_000_000 // max(1, book.size))
    for a in range(0, len(miss), step):
        i = miss[a:a + step]
        rows[i] = nearest_rows(vals[i], book)
    return rows


def _row_hash(x: np.ndarray) -> np.ndarray:
    """(n, w) float64 -> (n,) uint64: a wrapping polynomial hash of each row's bits."""
    bits = x.view(np.uint64).reshape(len(x), -1)
    h = np.zeros(len(x), dtype=np.uint64)
    for i in range(bits.shape[1]):
        h = h * np.uint64(1_000_003) + bits[:, i]
    return h


def code_rows(vals: np.ndarray, book: np.ndarray, fmt: Format) -> np.ndarray:
    """Rows whose code lies within half an ulp (max-norm) of each stored value, else -1 (names
    only: every numeric check uses the values themselves)."""
    rows = nearest_code_rows(vals, book, fmt)
    far = (rows < 0) | (np.max(np.abs(book[rows] - vals), axis=1) > fmt.max_rounding_error + 1e-12)
    rows[far] = -1
    return rows


def quant_err(fmt: Format, codes: np.ndarray) -> np.ndarray:
    """(w,) largest |q(code) - code| over the given codes."""
    if not len(codes):
        return np.zeros(codes.shape[1])
    return np.max(np.abs(fmt.quantize(codes) - codes), axis=0)


# --- the initial state ---------------------------------------------------------------------


def decode_margin(book: np.ndarray, domain, radius: np.ndarray) -> tuple[float, float]:
    """(min over a in domain, b != a of ``||c_a - c_b||^2 - 2 sum_d r_d |c_a,d - c_b,d|``, the
    largest uniform radius that would still decode).  A positive margin proves that every
    ``c_a + delta`` with ``|delta| <= r`` has the unique nearest code ``c_a``."""
    worst, rmax = np.inf, np.inf
    nb = len(book)
    if nb < 2:
        return np.inf, np.inf
    step = max(1, 2_000_000 // max(1, nb * book.shape[1]))
    domain = np.asarray(domain)
    for a0 in range(0, len(domain), step):
        a = domain[a0:a0 + step]
        diff = book[a][:, None, :] - book[None, :, :]                 # (A, nb, w)
        sq = np.sum(diff * diff, axis=2)
        l1 = np.sum(np.abs(diff), axis=2)
        m = sq - 2.0 * (np.abs(diff) @ radius)
        m[np.arange(len(a)), a] = np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(l1 > 0, sq / (2.0 * l1), np.where(sq > 0, np.inf, 0.0))
        ratio[np.arange(len(a)), a] = np.inf
        worst = min(worst, float(m.min()))
        rmax = min(rmax, float(ratio.min()))
    return worst, rmax
