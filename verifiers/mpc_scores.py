"""Fact 4 of the routing certificate: the scores of every receiver against every destination set.

Shape glossary: T tokens (receivers), q machines, s words (|S| <= s), dq code width, dk query/key
width, n_sets destination sets ``S subset [q]``, ``|S| <= s``.

For each receiver t and each destination set S a sender may have (every ``S subset [q]`` with
``|S| <= s``), the routing head scores ``c q_t . k_S`` with ``q_t = Q[t] A_q`` (Q the query codes,
``A_q = W_Q[qcode]``) and ``k_S = key(S) A_k`` (``A_k = W_K[kcode]``); the start row scores
``c q_t . k_0``.  ``lemma.sht24a.3_2`` needs, for every t: senders (t in S) tie, the start row
sits below them and every non-sender below the start row.  Two proofs, both from the numbers:

* **structured** (poly codes, any N) [R]: ``G = A_q A_k^T`` and ``w_t = Q[t] G`` are computed in
  exact integers; if every ``w_t`` is a moment vector ``(1, y_t, ..., y_t^{2s})`` (checked entry
  by entry), then ``q_t . k_S = w_t . key(S) = scale * prod_{l in S} (y_t - p_l)^2`` because
  ``key(S)`` holds the coefficients of ``scale * prod (x - p_l)^2``
  (:func:`~attncheck.constructions.mpc.routing.poly_key`, the key map the element-wise maps run:
  evaluating a product of polynomials is the product of the evaluations).  With
  ``E[l, t] = (y_t - p_l)^2`` (q x T integers): if ``scale < 0`` and ``E[t, t] = 0`` for every
  machine t, every sender scores exactly 0 and the largest non-sender score of receiver t is
  ``scale * min(1, min_{l != t} E[l, t])`` (the empty set, or a set holding a point equal to
  y_t).  That is every pair of the enumeration below in O(q T) work instead of
  ``O(T sum_k C(q, k))`` (87 million pairs at N = 64).  If the form does not hold (an edited
  query, a non-integer weight, random codes) the enumeration runs instead.
* **enumerated**: every pair, ``T * n_sets <= MAX_SCORE_PAIRS``.

Both report the arithmetic the runtime will use (:func:`attncheck.verifiers.mpc_attend.int_scores`):
``int_path`` when every query and key the head can see (token queries, every ``key(S)``, the
start row) is an integer of at most 2^53 and ``sum_d max|q_d| max|k_d| <= 2^60`` -- the runtime
then computes every batch's scores exactly in int64 (its own test, a float estimate below 2^61,
cannot fail on these numbers).  ``exact_order``: hardmax ties and order are exact (integers
with spread 0 and a positive gap, or the float64 condition of dyadic scores below 2^51).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

MAX_SCORE_PAIRS = 3_000_000
INT_PATH_BOUND = 2 ** 60        # exact bound here; the runtime tests a float estimate against 2^61
EXACT_CODE = 2 ** 53
EXACT_SUM = 2.0 ** 51           # float64 sums of dyadic products below this are exact in any order


def destination_sets(sim) -> list[tuple[int, ...]]:
    lim = sim.protocol.limits
    return [S for k in range(min(lim.s, lim.q) + 1) for S in itertools.combinations(range(lim.q), k)]


def count_sets(sim) -> int:
    lim = sim.protocol.limits
    return sum(math.comb(lim.q, k) for k in range(min(lim.s, lim.q) + 1))


def score_facts(sim, head) -> dict:
    """Fact 4 for one head: the structured proof when its form holds, else the enumeration
    (``checked: False`` when that is too large)."""
    structured = structured_scores(sim, head)
    if structured.get("form"):
        return structured
    enum = enumerated_scores(sim, head)
    if not enum.get("checked"):
        enum["structured"] = structured["why"]
    return enum


# --- exact integers ---------------------------------------------------------------------------------
def int_matrix(a: np.ndarray, limit: int = EXACT_CODE) -> list[list[int]] | None:
    """A float array of integers of magnitude <= limit as nested Python ints, else None."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    if not (np.all(np.isfinite(a)) and np.array_equal(a, np.rint(a)) and np.all(np.abs(a) <= limit)):
        return None
    return [[int(x) for x in row] for row in a]


def _matmul(A: list[list[int]], B: list[list[int]]) -> list[list[int]]:
    """Exact integer product of nested lists (A: n x m, B: m x k)."""
    cols = list(zip(*B)) if B else []
    return [[sum(x * y for x, y in zip(row, col)) for col in cols] for row in A]


def _fl(c: float, x: int) -> float:
    """The runtime's c-scaled score ``c * float(x)`` (what softmax exponentiates)."""
    return float(c * float(x))


def _summary(c: float, int_path: bool, s_lo, s_hi, start: list[int], ns_hi, int_bound: int | None) -> dict:
    """Facts from exact integer extremes over every pair: senders' scores in [s_lo, s_hi] (None:
    no sender anywhere), the start row's score per receiver, the largest non-sender score ns_hi
    (None: none).  c-scaled values are the runtime's floats ``c * float(x)`` (monotone in x for
    c > 0, so extremes map to extremes); the integer facts decide hardmax."""
    c_ok = bool(math.isfinite(c) and c > 0)
    st_lo, st_hi = min(start), max(start)
    f_lo = _fl(c, s_lo) if s_lo is not None else math.inf
    f_spread = (_fl(c, s_hi) - f_lo) if s_lo is not None else 0.0
    f_out = _fl(c, ns_hi) if ns_hi is not None else -math.inf
    gap = min(f_lo - _fl(c, st_hi), _fl(c, st_lo) - f_out)
    gap_int = min((s_lo - st_hi) if s_lo is not None else math.inf,
                  (st_lo - ns_hi) if ns_hi is not None else math.inf)
    exact_order = bool(int_path and c_ok and (s_lo is None or s_hi == s_lo) and gap_int > 0)
    return {"int_path": bool(int_path), "int_bound": None if int_bound is None else float(int_bound),
            "min_sender": f_lo, "max_non_sender": f_out if ns_hi is not None else None,
            "start_score": _fl(c, st_hi), "spread": f_spread, "gap": gap,
            "ok": bool(c_ok and (gap > 0 or exact_order) and math.isfinite(f_spread)),
            "exact_order": exact_order}


# --- structured proof ----------------------------------------------------------------------------
def structured_scores(sim, head) -> dict:
    """The O(q T) proof for poly codes; ``form: False`` with ``why`` when it does not apply."""
    lim, lay, C = sim.protocol.limits, sim.layout, sim.codes
    q, s, T = lim.q, lim.s, sim.tokens

    def no(why: str) -> dict:
        return {"form": False, "why": f"structured proof does not apply: {why}"}

    if C.kind != "poly" or len(C.points) != T or C.width < 2 * s + 2:
        return no("not poly codes on one point per token")
    Aq = int_matrix(head.W_Q[lay["qcode"].sl], 2 ** 20)
    Ak = int_matrix(head.W_K[lay["kcode"].sl], 2 ** 20)
    Q = int_matrix(C.queries)
    st_q = int_matrix(sim.start_row[lay["qcode"].sl])
    st_k = int_matrix(sim.start_row[lay["kcode"].sl])
    if None in (Aq, Ak, Q, st_q, st_k):
        return no("weights, queries or the start row are not integers")
    G = _matmul(Aq, [list(r) for r in zip(*Ak)])                           # (dq, dq) = A_q A_k^T
    W = _matmul(Q, G)                                                      # (T, dq): w_t
    ys = [w[1] for w in W]
    if any(w[0] != 1 or any(w[e] != y ** e for e in range(2, 2 * s + 1)) for w, y in zip(W, ys)):
        return no("a query is not a moment vector (1, y, ..., y^2s) after the weights")
    pts, scale = [int(p) for p in C.points[:q]], int(C.scale)
    if scale >= 0:
        return no(f"key scale {scale} >= 0")
    if any(ys[t] != pts[t] for t in range(q)):
        return no("a machine's query point differs from its key point (E[t, t] != 0)")
    # E[l, t] = (y_t - p_l)^2 >= 0; non-sender max of receiver t: scale * (0 if some l != t has E = 0 else 1)
    y = np.array(ys, dtype=object)
    p = np.array(pts, dtype=object)
    E = (y[None, :] - p[:, None]) ** 2                                     # (q, T) Python ints
    zero = E == 0
    zero[np.arange(q), np.arange(q)] = False                              # l != t only
    hit = zero.any(axis=0)                                                 # (T,)
    non_sender = [scale * (0 if h else 1) for h in hit.tolist()]
    start = [_dot(w, st_k[0]) for w in W]                                  # q_t . k_0 = w_t . start key
    # the arithmetic the runtime will use: every query, every key(S) (|S| <= s), the start row
    q_rows = _matmul(Q + st_q, Aq)                                         # (T+1, dk)
    a = max((abs(x) for x in pts), default=0)
    key_bound = [abs(scale) * max(math.comb(2 * k, e) * a ** (2 * k - e) for k in range(e // 2 + (e % 2), s + 1))
                 for e in range(2 * s + 1)]                                # |coeff_e| over |S| = k <= s
    key_bound += [0] * (C.width - len(key_bound))                          # key(S) is 0 past 2s
    dk = len(Aq[0]) if Aq else 0
    kb = [max(sum(key_bound[e] * abs(Ak[e][d]) for e in range(C.width)),
              abs(_matmul(st_k, Ak)[0][d])) for d in range(dk)]
    qb = [max(abs(r[d]) for r in q_rows) for d in range(dk)]
    bound = sum(x * y_ for x, y_ in zip(qb, kb))
    int_path = bound <= INT_PATH_BOUND and max(qb + kb, default=0) <= EXACT_CODE
    # every sender scores scale * E[t, t] * ... = 0 exactly
    out = _summary(float(head.temperature), int_path, 0 if q else None, 0 if q else None, start,
                   max(non_sender), bound)
    n = count_sets(sim)
    return {"form": True, "checked": True, "how": "structured: moment queries, factored keys",
            "pairs": int(n * T), "sets": int(n), "integral": True, "abs_max": float(bound), **out}


def _dot(u, v) -> int:
    return sum(a * b for a, b in zip(u, v))


# --- enumeration -----------------------------------------------------------------------------------
def enumerated_scores(sim, head) -> dict:
    """Every (receiver, destination set) pair, computed as the runtime computes it."""
    lay, C = sim.layout, sim.codes
    T = sim.tokens
    n = count_sets(sim)
    if n * T > MAX_SCORE_PAIRS:
        return {"checked": False, "pairs": n * T, "limit": MAX_SCORE_PAIRS}
    sets = destination_sets(sim)
    Aq, Ak = head.W_Q[lay["qcode"].sl], head.W_K[lay["kcode"].sl]                # (dq, dk)
    keys = np.array([C.key(S) for S in sets])                                      # (n_sets, dq)
    st_q, st_k = sim.start_row[lay["qcode"].sl], sim.start_row[lay["kcode"].sl]
    qv = np.vstack([C.queries, st_q[None]]) @ Aq                                   # (T+1, dk)
    kv = np.vstack([keys, st_k[None]]) @ Ak                                        # (n_sets+1, dk)
    c = float(head.temperature)
    member = np.zeros((T, n), dtype=bool)
    for i, S in enumerate(sets):
        member[list(S), i] = True
    qi, ki = int_matrix(qv), int_matrix(kv)
    bound = None
    if qi is not None and ki is not None:
        qb = [max(abs(r[d]) for r in qi) for d in range(qv.shape[1])]
        kb = [max(abs(r[d]) for r in ki) for d in range(kv.shape[1])]
        bound = sum(x * y for x, y in zip(qb, kb))
    int_path = bound is not None and bound <= INT_PATH_BOUND
    if int_path:
        A = np.asarray(qv, dtype=np.int64)[:T] @ np.asarray(kv, dtype=np.int64).T   # (T, n_sets+1) exact
        scores, start = A[:, :n], A[:, n]
        in_s, out_s = scores[member], scores[~member]
        out = _summary(c, True, int(in_s.min()) if in_s.size else None, int(in_s.max()) if in_s.size else None,
                       [int(x) for x in start], int(out_s.max()) if out_s.size else None, bound)
    else:
        S_ = c * (qv[:T] @ kv.T)                                                      # float64, as the emulator
        scores, start = S_[:, :n], S_[:, n]
        in_s, out_s = scores[member], scores[~member]
        lo = float(in_s.min()) if in_s.size else math.inf
        spread = float(in_s.max() - in_s.min()) if in_s.size else 0.0
        gap = min(lo - float(start.max()), float(start.min() - out_s.max()) if out_s.size else math.inf)
        out = {"int_path": False, "int_bound": None if bound is None else float(bound),
               "min_sender": lo, "max_non_sender": float(out_s.max()) if out_s.size else None,
               "start_score": float(start.max()), "spread": spread, "gap": gap,
               "ok": bool(math.isfinite(c) and gap > 0 and np.isfinite(spread))}
    allk = np.vstack([keys, st_k[None]])
    scales = [dyadic_scale(x) for x in (C.queries, Aq, allk, Ak)]
    integral = all(x is not None for x in scales)
    abs_max = float((np.abs(C.queries) @ np.abs(Aq) @ (np.abs(allk) @ np.abs(Ak)).T).max())
    if integral:                                    # largest |integer| summed, after scaling to integers
        abs_max *= float(np.prod(scales))
    float_exact = bool(integral and abs_max < EXACT_SUM and out["spread"] == 0.0 and out["gap"] > 0)
    out["exact_order"] = bool(out.get("exact_order")) or (float_exact and not int_path)
    return {"checked": True, "how": "enumerated", "pairs": int(n * T), "sets": len(sets),
            "integral": bool(integral), "abs_max": abs_max, **out}


def dyadic_scale(a: np.ndarray, max_exp: int = 30) -> float | None:
    """Smallest ``2^e`` (e <= max_exp) with ``a 2^e`` all integers, or None (also for non-finite a)."""
    if not np.all(np.isfinite(a)):
        return None
    for e in range(max_exp + 1):
        b = a * 2.0 ** e
        if np.array_equal(b, np.round(b)):
            return 2.0 ** e
    return None
