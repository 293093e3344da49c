"""Scores of the qSA head without a softmax (``sht23.thm2``, ``sht23.thm3``): the codes' own
scores for a width search, the weights' scores with a sound float64 slack for the certificate,
and the leakage bound that turns score margins into an attention error.

Shape glossary: N positions, q pointer-set size, m code width, dk query/key width, k a batch of
q-subsets (S (k, q), 0-indexed).
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions.qsa import QSAConstruction, least_squares_coefficients, moment_points
from attncheck.verifiers.qsa_proof import EXACT_INT, U64, HeadFacts, gamma, query_rows, score_slack


def moment_scores_exact(N: int, q: int, S: np.ndarray) -> np.ndarray:
    """(k, N) exact scores ``p_S(t_j) = 1 - prod_s (t_j - t_s)^2`` from the product form
    (independent of the coefficient expansion; int64, no cancellation)."""
    t = moment_points(N)
    diff = t[None, :, None] - t[S][:, None, :]                       # (k, N, q)
    return 1 - np.prod(diff * diff, axis=2)


def code_scores(c: QSAConstruction, S: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(k, N) code scores ``u_j . w_S`` and the norms ``||w_S||`` (random codes) -- the *codes*
    alone, for the width search (``sweep(..., "margin")``); no weight is read, so nothing here
    backs a verdict (the certificate uses :func:`certificate_scores`).

    Random codes go through the Gram matrix ``G = U U^T`` -- ``u_j . w_S = sum_s a_s G_js`` with
    ``G_SS a = 1`` and ``||w_S||^2 = a . 1`` -- so the cost is independent of m.  Moment codes use
    the exact integer product form."""
    if c.codes == "moment":
        return moment_scores_exact(c.N, c.q, S).astype(np.float64), None
    G = c.keys @ c.keys.T                                            # (N, N)
    GS = G[S]                                                        # (k, q, N)
    GSS = np.take_along_axis(GS, S[:, None, :], axis=2)              # (k, q, q)
    ones = np.ones(S.shape + (1,))
    try:
        a = np.linalg.solve(GSS, ones)[..., 0]                       # (k, q)
    except np.linalg.LinAlgError:
        a = (np.linalg.pinv(GSS) @ ones)[..., 0]
    return np.einsum("sq,sqn->sn", a, GS), np.sqrt(np.maximum(a.sum(axis=1), 0.0))


def certificate_scores(c: QSAConstruction, facts: HeadFacts, S: np.ndarray, gram: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled scores ``T q_i . k_j`` of a row pointing at each subset, read from the weights
    (``facts`` from :func:`attncheck.verifiers.qsa_proof.prove_head`), with a sound bound on
    their distance to real arithmetic.  -> (scores (k, N), slack (k, N), norms ``||w_S||`` (k,)).

    * Moment codes whose exactness is proved (``facts.moment_exact``): the integer product form
      ``1 - prod (t_j - t_s)^2``; slack = the float64 rounding of T p.
    * Random codes with ``W_Q[qry] = W_K[key] = I`` exactly (``facts.gram_path``) and ``gram`` =
      keys keys^T (N, N): the input MLP's own coefficients a (``least_squares_coefficients``)
      and ``q_i . k_j = sum_s a_s G_sj`` -- cost q N per subset, not m N; slack
      ``|T| gamma(2q + m + 4) (sum_s |a_s| ||u_s||) max_j ||u_j||`` covers forming w_S, G and the sum.
    * Otherwise the input MLP's query codes, ``q = w_S A_q``, ``k_j = u_j A_k`` in float64 with slack
      :func:`~attncheck.verifiers.qsa_proof.score_slack`."""
    T = c.head.temperature
    if facts.moment_exact:
        s = T * moment_scores_exact(c.N, c.q, S).astype(np.float64)   # (k, N)
        return s, 3 * U64 * np.abs(s), np.zeros(len(S))
    if facts.gram_path and gram is not None:
        a = least_squares_coefficients(c.keys, S)                     # (k, q)
        s = T * np.einsum("sq,sqn->sn", a, gram[S])                   # (k, N)
        un = np.linalg.norm(c.keys, axis=1)                           # (N,)
        weight = (np.abs(a) * un[S]).sum(axis=1)                      # (k,) sum_s |a_s| ||u_s||
        slack = abs(T) * gamma(2 * c.q + c.m + 4) * weight * un.max() * (1 + 1e-9)
        slack = slack[:, None] + 2 * U64 * np.abs(s)
        slack[~np.all(np.isfinite(a), axis=1)] = np.inf
        return s, slack, np.sqrt(np.maximum(a.sum(axis=1), 0.0))
    W = c.query_codes(S)                                             # (k, m)
    norms = np.linalg.norm(W, axis=1)                                # (k,)
    s = T * (query_rows(facts, W) @ facts.K.T)                       # (k, N)
    slack = np.broadcast_to(score_slack(c, facts, norms)[:, None], s.shape).copy()   # (k, N)
    slack[~np.all(np.isfinite(W), axis=1)] = np.inf
    return s, slack, norms


def int_exact(c: QSAConstruction, facts: HeadFacts, W: np.ndarray) -> bool:
    """True iff every ``q . k`` of these query codes W (k, m) is a sum of integers whose absolute
    values add up to < 2^51: then float64 forms it exactly in any order, and ``fl(T a)`` keeps
    the order of distinct integers a (hardmax ties are the real ones)."""
    mats = (W, c.keys, facts.A_q, facts.A_k)
    if not all(np.array_equal(a, np.round(a)) for a in mats):
        return False
    kabs = float((np.abs(c.keys) @ np.abs(facts.A_k) @ np.abs(facts.A_q).T).max(initial=0.0))
    return bool(np.abs(W).sum(axis=1).max(initial=0.0) * kabs < EXACT_INT)


def leakage_bound(scores: np.ndarray, slack: np.ndarray, inset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real-arithmetic l1 distance between softmax(scores) and uniform-on-S, per row, from the
    scaled scores widened by ``slack``: in-set range [lo, hi], off-set maximum o give
    ``2 (N-q)/q e^{o - lo} + (e^{hi - lo} - 1)`` (off-set mass M <= (N-q)/q e^{o-lo} counts twice;
    in-set weights within a factor e^{hi-lo} of each other are within e^{hi-lo} - 1 of uniform).
    Valid for any sign of the temperature (the scores are already scaled).  -> (bound, lo - o)."""
    N = scores.shape[1]
    q = int(inset[0].sum())
    lo = np.where(inset, scores - slack, np.inf).min(axis=1)
    hi = np.where(inset, scores + slack, -np.inf).max(axis=1)
    off = np.where(inset, -np.inf, scores + slack).max(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        b = 2.0 * (N - q) / q * np.exp(off - lo) + np.expm1(hi - lo)
    return np.where(np.isnan(b), np.inf, b) * (1 + 1e-12), lo - off
