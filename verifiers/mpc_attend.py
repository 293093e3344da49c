"""The arithmetic of one MPC routing head: selections by indexing, exact integer scores.

Shape glossary: B instances, T tokens (row 0 = start token), D residual width, dk query/key
width, dv value width.

``lemma.sht24a.3_2`` [P] routes with one sparse-propagation head whose matrices are 0/1
*selections* (``W_Q`` reads the query code, ``W_K`` the key code, ``W_V`` the packet slots,
``W_O`` writes them back), and whose poly codes are integers (``constructions/mpc/routing.py``).
This module runs such a head with the same arithmetic as :func:`attncheck.verifiers.emulator.attend`
(float64, ``exact`` format), doing less work where the numbers allow it [R]:

* **Selections by indexing.** :func:`as_selection` proves from the entries of a matrix W that
  it is a signed selection (entries in {-1, 0, 1}, at most one nonzero per column); then
  ``X @ W`` is ``sign * X[..., col] + 0.0`` column by column -- the same float64 numbers as the
  product (every other term is a signed zero; ``+ 0.0`` gives the +0 a BLAS sum gives), checked
  bit for bit in ``tests/mpc/test_mpc_attend.py``.  X must be finite (``inf * 0`` is NaN in the
  product); otherwise, or when W is not a selection, the dense product runs.
* **Exact integer scores.** When every query and key entry is an integer of at most 2^53 and
  ``sum_d max|q_d| max|k_d| < 2^62`` (:func:`int_scores`, checked on the batch's numbers), the
  scores ``q . k`` are computed in int64, exactly.  Hardmax then takes the argmax set of the
  exact integers (the temperature c > 0 does not move it: real-arithmetic hardmax), softmax
  uses ``c * float(q . k)``; float64 would round sums beyond 2^53 (poly codes at N = 64 reach
  2^57) and could merge a tie with its neighbour.  Where float64 is exact the two agree.
* **Sparse hardmax sums.** With integer values whose sums stay below 2^53, ``w @ v`` is the sum
  of the rows of the argmax set (exact in any order, so equal to the product).

Without exact integer scores the scores are the emulator's ``c * (q @ k^T)`` (on the same q and
k, so the same numbers); a fixed-point format, c <= 0 or index-specific weights run
:func:`attncheck.verifiers.emulator.attend` itself.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Head
from attncheck.verifiers import emulator

EXACT_CODE = 2.0 ** 53          # integers up to here are exact in float64
EXACT_INT_SUM = 2.0 ** 62       # int64 sums of products bounded by this cannot overflow
EXACT_FLOAT_SUM = 2.0 ** 53     # float64 sums of integers bounded by this are exact


@dataclass(frozen=True, eq=False)
class Selection:
    """``X @ W`` as indexing: output column j copies ``sign[j] * X[..., col[j]]`` (sign 0: a
    zero column, ``col`` then 0)."""

    col: np.ndarray            # (k,) int64
    sign: np.ndarray           # (k,) float64 in {-1, 0, 1}

    def reads(self) -> np.ndarray:
        """Input columns some output column copies."""
        return np.unique(self.col[self.sign != 0])


def as_selection(W: np.ndarray) -> Selection | None:
    """W (D, k) as a signed selection, proved from its entries, or None."""
    if W.ndim != 2 or not np.all((W == 0) | (W == 1) | (W == -1)):
        return None
    nz = W != 0
    if np.any(nz.sum(axis=0) > 1):
        return None
    col = nz.argmax(axis=0).astype(np.int64)
    sign = W[col, np.arange(W.shape[1])].astype(np.float64)
    return Selection(col, sign)


@dataclass(frozen=True, eq=False)
class HeadPlan:
    """What the numbers of one head allow: selections for W_Q, W_K, W_V, W_O (None = dense)."""

    q: Selection | None
    k: Selection | None
    v: Selection | None
    o: Selection | None
    temperature: float


_PLANS: "weakref.WeakKeyDictionary[Head, HeadPlan]" = weakref.WeakKeyDictionary()


def plan(head: Head) -> HeadPlan:
    """The selections of ``head`` (read-only arrays, so computed once per head object)."""
    p = _PLANS.get(head)
    if p is None:
        p = HeadPlan(as_selection(head.W_Q), as_selection(head.W_K), as_selection(head.W_V),
                     as_selection(head.W_O), float(head.temperature))
        _PLANS[head] = p
    return p


def project(X: np.ndarray, W: np.ndarray, sel: Selection | None, finite: bool) -> np.ndarray:
    """``X @ W`` (B, T, D) x (D, k) -> (B, T, k): by indexing when ``sel`` and X is finite."""
    if sel is None or not finite:
        return X @ W
    return X[..., sel.col] * sel.sign + 0.0


def int_scores(q: np.ndarray, k: np.ndarray) -> np.ndarray | None:
    """Exact ``q @ k^T`` (B, T, dk) x (B, T', dk) -> (B, T, T') int64, or None when an entry is
    not an integer of at most 2^53 or ``sum_d max|q_d| max|k_d|`` reaches 2^62."""
    if not (_integral(q) and _integral(k)):
        return None
    qa = np.abs(q).reshape(-1, q.shape[-1]).max(axis=0, initial=0.0)
    ka = np.abs(k).reshape(-1, k.shape[-1]).max(axis=0, initial=0.0)
    if float(np.dot(qa, ka)) >= EXACT_INT_SUM / 2:        # float bound, with room for its rounding
        return None
    return np.matmul(q.astype(np.int64), np.swapaxes(k.astype(np.int64), -1, -2))


def _integral(a: np.ndarray) -> bool:
    return bool(np.all(np.abs(a) <= EXACT_CODE) and np.array_equal(a, np.rint(a)))


def hardmax_sum(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``w @ v`` for 0/1 weights w (B, T, T'): the sum of the selected rows of v (B, T', dv),
    exact when v holds integers and every sum of at most T' of them stays below 2^53 (then it
    equals the product); else the product itself."""
    if not (_integral(v) and float(np.abs(v).max(initial=0.0)) * v.shape[1] < EXACT_FLOAT_SUM):
        return w @ v
    b, i, j = np.nonzero(w)                                            # sorted by (b, i)
    rows = v[b, j]                                                     # (nnz, dv)
    group = b * w.shape[1] + i
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    out = np.zeros((w.shape[0] * w.shape[1], v.shape[-1]))
    if rows.shape[0]:
        out[group[starts]] = np.add.reduceat(rows, starts, axis=0)
    return out.reshape(w.shape[0], w.shape[1], v.shape[-1])


def attend(head: Head, X: np.ndarray, fmt: Format, attention: str) -> tuple[np.ndarray, np.ndarray]:
    """One unmasked head on X (B, T, D) -> (contribution (B, T, D), weights (B, T, T)), the
    numbers of ``emulator.attend`` (see the module docstring for where they are exact)."""
    p = plan(head)
    c = p.temperature
    if not fmt.is_exact or not (np.isfinite(c) and c > 0) or head.W_Q.ndim != 2 or head.W_V.ndim != 2:
        mask = np.ones((1, X.shape[1], X.shape[1]), dtype=bool)
        return emulator.attend(head, X, fmt, attention, mask)
    finite = bool(np.all(np.isfinite(X)))
    q = project(X, head.W_Q, p.q, finite)                                # (B, T, dk)
    k = project(X, head.W_K, p.k, finite)                                # (B, T, dk)
    v = project(X, head.W_V, p.v, finite)                                # (B, T, dv)
    a = int_scores(q, k)                                                 # (B, T, T) exact, or None
    s = c * (a.astype(np.float64) if a is not None else q @ np.swapaxes(k, 1, 2))   # the emulator's scores
    if attention == "hardmax":
        top = a if a is not None else s                                  # exact integers decide ties
        w = (top == top.max(axis=2, keepdims=True)).astype(np.float64)   # ties averaged
        z = w.sum(axis=2, keepdims=True)
        out = hardmax_sum(w, v) / z
        weights = w / z
    else:
        e = np.exp(s - s.max(axis=2, keepdims=True))
        z = e.sum(axis=2, keepdims=True)
        out = (e @ v) / z
        weights = e / z
    y = project(out, head.W_O, p.o, bool(np.all(np.isfinite(out))))      # (B, T, D)
    return y, weights
