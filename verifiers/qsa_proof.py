"""What a qSA head provably computes, read from its arrays (``sht23.thm2``, ``sht23.thm3``; issue 12).

Shape glossary: N positions, q pointer-set size, m code width (``keys`` (N, m)), dk query/key
width, dv value width, d' output width (``d_prime``), D residual width, k a batch of q-subsets.

Every VERIFIED of :func:`attncheck.verifiers.qsa_check.check_qsa` rests on the facts below.  Each
is a *hypothesis proved from the numbers* of the construction (weights, keys, temperature,
layout offsets), never taken from its labels (``codes``, ``theta``) or from the builder's intent;
one that fails makes the verdict UNKNOWN naming it (a replayed counterexample may still refute).

* ``layout``: slots z, qry, key, out exist, are pairwise disjoint, have widths d', m, m, d' and
  the weights have D rows -- so the embedding puts ``z_i``, ``w_{y_i}``, ``u_i`` in disjoint places
  and the out slot is 0 before the head writes.
* ``finite``: keys, weights and temperature are finite numbers; keys are (N, m); W are 2-D.
* ``query``: rows of W_Q outside qry are 0, so ``q_i = w_{y_i} A_q`` depends on the pointer set
  y_i alone -- not on z, not on the position i.  One attention row per q-subset then covers every
  row of every input (the emulator sweep packs different subsets into different rows).
* ``key``: rows of W_K outside key are 0, so ``k_j = u_j A_k`` is independent of z and of the
  other rows' pointer sets.
* ``value``: rows of W_V outside z are 0, so the out slot receives ``sum_j a_ij z_j M`` with the
  copy map ``M = A_v B_o`` (``B_o = W_O[:, out]``); ``copy_error >= ||M - I||_2`` (rounding of the
  float64 product included) is added to the error bound, scaled by the attention mass.
* ``z range`` (fixed formats): the format holds every ``|z_k| <= 1`` (I >= 2), so the embedding
  only rounds z and the max-subtracted exponential at the maximum is exactly 1 (then the
  emulator's denominator is ``1 / max_j weight_j``).

Error bounds (:func:`value_path_slack`, :func:`attention_float_slack`) scale with the magnitudes
present: value entries, the denominator, the attention mass and the norms of A_v, B_o; every
stored quantity of the value path is range-checked against the format (saturation voids them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.qsa import QSAConstruction, moment_keys, moment_points
from attncheck.constructions.precision import Format

U64 = 2.0 ** -53                # unit roundoff of float64
EXACT_INT = 2.0 ** 51           # integer sums below this are exact, and fl(c * a) keeps their order


def gamma(n: int) -> float:
    """Higham's ``gamma_n = n u / (1 - n u)``: relative error of an n-term float64 dot product."""
    return n * U64 / (1.0 - n * U64)


def abs_norm(A: np.ndarray) -> float:
    """``sqrt(max column |.|-sum * max row |.|-sum)`` >= ``|| |A| ||_2`` >= ``||A||_2`` (0 for empty)."""
    if A.size == 0:
        return 0.0
    a = np.abs(A)
    return float(math.sqrt(a.sum(axis=0).max() * a.sum(axis=1).max()))


def is_signed_selection(A: np.ndarray) -> bool:
    """Entries in {-1, 0, 1}, at most one nonzero per column: ``x @ A`` copies grid values exactly."""
    return bool(np.all(np.isin(A, (-1.0, 0.0, 1.0))) and np.all((A != 0).sum(axis=0) <= 1))


@dataclass(frozen=True)
class Hyp:
    """One hypothesis: ``name`` (what is claimed), ``ok`` (proved from the numbers), ``detail``."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, eq=False)
class HeadFacts:
    """Facts proved about one qSA head.  ``A_q`` (m, dk) = W_Q[qry], ``A_k`` (m, dk) = W_K[key],
    ``K`` (N, dk) = keys @ A_k, ``A_v`` (d', dv) = W_V[z], ``B_o`` (dv, d') = W_O[:, out];
    ``score_const`` = ``abs_norm(A_q) abs_norm(A_k) max_j ||u_j||`` (so ``|q_i . k_j| <=
    ||w|| score_const``); ``moment_exact``: real-arithmetic scores are the integers
    ``1 - prod (t_j - t_s)^2`` (:func:`moment_exact_hyp`); ``gram_path``: random (least-squares)
    codes with ``A_q = A_k = I`` exactly, so scores are ``sum_s a_s u_s . u_j``.  Arrays are None
    when ``layout`` or ``finite`` failed."""

    hyps: tuple[Hyp, ...]
    A_q: np.ndarray | None = None
    A_k: np.ndarray | None = None
    K: np.ndarray | None = None
    A_v: np.ndarray | None = None
    B_o: np.ndarray | None = None
    copy_error: float = math.inf
    score_const: float = math.inf
    q_identity: bool = False
    moment_exact: bool = False
    gram_path: bool = False

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.hyps)

    @property
    def failed(self) -> list[Hyp]:
        return [h for h in self.hyps if not h.ok]

    def reason(self) -> str:
        return "; ".join(f"{h.name}: {h.detail}" for h in self.failed)

    def to_json(self) -> dict:
        return {"hypotheses": [h.to_json() for h in self.hyps], "copy_error": self.copy_error,
                "moment_exact_scores": self.moment_exact}


# --- structure ------------------------------------------------------------------------------------
def _layout_hyp(c: QSAConstruction) -> Hyp:
    L, h = c.layout, c.head
    want = {"z": c.d_prime, "qry": c.m, "key": c.m, "out": c.d_prime}
    try:
        slots = {n: L[n] for n in want}
    except KeyError as e:
        return Hyp("layout", False, f"slot {e} missing")
    bad = [f"{n} has width {s.width}, the data needs {want[n]}" for n, s in slots.items() if s.width != want[n]]
    spans = sorted((s.start, s.stop, n) for n, s in slots.items())
    bad += [f"{a} and {b} overlap" for (_, e1, a), (s2, _, b) in zip(spans, spans[1:]) if s2 < e1]
    bad += [f"{n} starts below 0" for n, s in slots.items() if s.start < 0]
    D = L.width
    rows = {"W_Q": h.W_Q.shape[0], "W_K": h.W_K.shape[0], "W_V": h.W_V.shape[0], "W_O": h.W_O.shape[-1]}
    bad += [f"{n} has {r} residual coordinates, the layout {D}" for n, r in rows.items() if r != D]
    return Hyp("layout", not bad, "; ".join(bad) or "z, qry, key, out disjoint with widths d', m, m, d'")


def _finite_hyp(c: QSAConstruction) -> Hyp:
    h = c.head
    bad = []
    if c.keys.ndim != 2 or c.keys.shape[0] != c.N:
        bad.append(f"keys have shape {c.keys.shape}, not (N = {c.N}, m)")
    bad += [f"{n} is index-specific ({getattr(h, n).ndim}-D)" for n in ("W_Q", "W_K", "W_V", "W_O")
            if getattr(h, n).ndim != 2]
    bad += [f"{n} has a non-finite entry" for n, a in (("keys", c.keys), ("W_Q", h.W_Q), ("W_K", h.W_K),
                                                       ("W_V", h.W_V), ("W_O", h.W_O))
            if not np.all(np.isfinite(a))]
    if not math.isfinite(h.temperature):
        bad.append(f"temperature {h.temperature}")
    return Hyp("finite", not bad, "; ".join(bad) or "keys, weights and temperature finite")


def _reads_only(W: np.ndarray, sl: slice, what: str, slot: str) -> Hyp:
    """Hypothesis: rows of W outside ``sl`` are exactly zero (W reads only that slot)."""
    outside = np.ones(W.shape[0], dtype=bool)
    outside[sl] = False
    rows = np.flatnonzero(np.any(W[outside] != 0, axis=1))
    where = np.flatnonzero(outside)[rows]
    return Hyp(what, rows.size == 0,
               f"reads only {slot}" if rows.size == 0 else
               f"reads residual coordinate(s) {where[:5].tolist()} outside {slot}")


def _copy_error(A_v: np.ndarray, B_o: np.ndarray) -> float:
    """Upper bound on ``||A_v B_o - I||_2`` in real arithmetic: Frobenius norm of the float64
    product minus I, plus that product's rounding ``gamma(dv) || |A_v| |B_o| ||_F``."""
    M = A_v @ B_o
    err = np.linalg.norm(M - np.eye(M.shape[0]))
    return float(err + gamma(A_v.shape[1] + 1) * np.linalg.norm(np.abs(A_v) @ np.abs(B_o))) * (1 + 1e-12)


def moment_exact_hyp(c: QSAConstruction, A_q: np.ndarray, A_k: np.ndarray) -> Hyp:
    """The exact-integer score path: keys equal the moment curve ``(1, t, .., t^2q)`` bit for bit,
    every power and every coefficient of ``1 - prod (t - t_s)^2`` is an integer below 2^53 (so
    float64 holds the query codes exactly), and ``A_q A_k^T = I`` exactly with integer entries.
    Then ``q_i . k_j = p_S(t_j)`` in real arithmetic."""
    if c.codes != "moment" or c.keys.shape[1] != 2 * c.q + 1:
        return Hyp("moment exact", False, "not moment-width codes")
    tmax = float(np.abs(moment_points(c.N)).max())
    if (1.0 + tmax) ** (2 * c.q) >= 2.0 ** 53:
        return Hyp("moment exact", False, f"coefficients reach {(1 + tmax) ** (2 * c.q):.3g} >= 2^53")
    if not np.array_equal(c.keys, moment_keys(c.N, c.q)):
        j = int(np.flatnonzero(np.any(c.keys != moment_keys(c.N, c.q), axis=1))[0])
        return Hyp("moment exact", False, f"key row {j + 1} is not the moment-curve point")
    ints = all(np.array_equal(A, np.round(A)) and np.abs(A).max(initial=0) < 2 ** 20 for A in (A_q, A_k))
    if not ints or not np.array_equal(A_q @ A_k.T, np.eye(A_q.shape[0])):
        return Hyp("moment exact", False, "W_Q[qry] W_K[key]^T is not exactly the identity")
    return Hyp("moment exact", True, "scores are the integers 1 - prod (t_j - t_s)^2")


def prove_head(c: QSAConstruction) -> HeadFacts:
    """Check every structural hypothesis on the arrays of ``c`` (see the module docstring)."""
    hyps = [_layout_hyp(c), _finite_hyp(c)]
    if not all(h.ok for h in hyps):
        return HeadFacts(tuple(hyps))
    L, h = c.layout, c.head
    hyps += [_reads_only(h.W_Q, L["qry"].sl, "query", "qry"), _reads_only(h.W_K, L["key"].sl, "key", "key"),
             _reads_only(h.W_V, L["z"].sl, "value", "z")]
    A_q, A_k = h.W_Q[L["qry"].sl], h.W_K[L["key"].sl]                   # (m, dk)
    A_v, B_o = h.W_V[L["z"].sl], h.W_O[:, L["out"].sl]                  # (d', dv), (dv, d')
    K = c.keys @ A_k                                                     # (N, dk)
    const = abs_norm(A_q) * abs_norm(A_k) * float(np.linalg.norm(c.keys, axis=1).max())
    mom = moment_exact_hyp(c, A_q, A_k)
    q_id = bool(A_q.shape[0] == A_q.shape[1] and np.array_equal(A_q, np.eye(A_q.shape[0])))
    k_id = bool(A_k.shape[0] == A_k.shape[1] and np.array_equal(A_k, np.eye(A_k.shape[0])))
    return HeadFacts(tuple(hyps), A_q, A_k, K, A_v, B_o, _copy_error(A_v, B_o), const, q_id, mom.ok,
                     c.codes == "random" and q_id and k_id)


# --- scores and their float64 error ---------------------------------------------------------------
def query_rows(facts: HeadFacts, W: np.ndarray) -> np.ndarray:
    """(k, m) query codes -> (k, dk) queries ``W A_q`` (no product when A_q is exactly I)."""
    return W if facts.q_identity else W @ facts.A_q


def score_slack(c: QSAConstruction, facts: HeadFacts, norms: np.ndarray) -> np.ndarray:
    """(k,) bound on ``|computed - real|`` of every scaled score ``T q_i . k_j`` of a row with
    query-code norm ``norms`` when q, k and the dot products are formed in float64 (any order):
    ``|T| gamma(2m + dk + 3) ||w|| score_const``."""
    m, dk = facts.A_q.shape
    return abs(c.head.temperature) * gamma(2 * m + dk + 3) * norms * facts.score_const * (1 + 1e-9)


def attention_float_slack(sigma: float, N: int) -> float:
    """l1 distance between a float64 softmax of scores within ``sigma`` of the real ones and the
    real softmax: ``e^{2 sigma} - 1`` from the scores, ``gamma(N + 8)`` for exp, sum and division."""
    if not math.isfinite(sigma) or sigma > 30:
        return math.inf
    g = math.exp(2.0 * sigma)
    return (g - 1.0) + gamma(N + 8) * g


# --- the value path: z -> v -> numerator -> division -> W_O -> residual -------------------------------
@dataclass(frozen=True)
class ValueStats:
    """What the emulator sweep measured over all subsets: largest attention mass ``sum_a``
    (= sum_j e_j / Z), smallest denominator ``Z``, largest exponential sum ``sum_e``, and the
    number of positions ``N`` each numerator sums."""

    sum_a: float
    min_Z: float
    sum_e: float
    N: int


def value_path_slack(facts: HeadFacts, fmt: Format, st: ValueStats) -> tuple[float, list[str]]:
    """Sound l2 bound on what rounding adds between ``sum_j a_j z_j M`` (the emulator's attention
    a, any ``||z_j|| <= 1``) and the out slot the head writes, and the range failures.

    With rho = half an ulp (0 for exact) and gamma terms for float64: the embedding rounds z
    (``sqrt(d') rho``), values ``Q(z A_v)`` (exact for a signed selection A_v), numerator
    ``Q(sum e_j v_j)`` (``sqrt(dv) rho``, divided by Z), division (``sqrt(dv) rho``), the write
    ``Q(out B_o)`` (exact for a signed selection B_o); propagated through ``||B_o||``.  Every
    stored quantity's largest magnitude is checked against the format's range."""
    if not (st.min_Z > 0 and math.isfinite(st.sum_e) and math.isfinite(st.sum_a)):
        return math.inf, ["attention weights: non-finite or zero denominator"]
    rho = fmt.max_rounding_error
    A, B = facts.A_v, facts.B_o
    dprime, dv = A.shape
    sel_v, sel_o = is_signed_selection(A), is_signed_selection(B)
    problems: list[str] = []
    if not fmt.is_exact and fmt.hi < 1.0:
        problems.append(f"z range: {fmt} cannot hold |z| = 1 (needs >= 2 integer bits)")
    e_z = math.sqrt(dprime) * rho                                        # embedding of z
    z_norm = 1.0 + e_z
    fl_v = 0.0 if sel_v else rho + gamma(dprime + 1) * z_norm * float(np.linalg.norm(A))
    e_v = abs_norm(A) * e_z + math.sqrt(dv) * fl_v
    V = float(np.linalg.norm(A, axis=0).max(initial=0.0)) * z_norm + fl_v   # largest |v_jk|
    num_max = st.sum_e * V * (1 + gamma(st.N + 1)) + rho
    O = num_max / st.min_Z                                               # largest |num / Z|
    e_o = math.sqrt(dv) * ((rho + gamma(st.N + 1) * st.sum_e * V) / st.min_Z + rho + U64 * O)
    out_norm = math.sqrt(dv) * (O + rho)
    e_w = 0.0 if sel_o else math.sqrt(dprime) * rho + gamma(dv + 1) * out_norm * float(np.linalg.norm(B))
    W_max = float(np.linalg.norm(B, axis=0).max(initial=0.0)) * out_norm + rho
    for what, x in (("value", V), ("numerator", num_max), ("head output", O + rho), ("head write", W_max)):
        if x > fmt.hi:
            problems.append(f"{what} range: up to {x:.4g} > {fmt.hi:g} in {fmt}")
    slack = abs_norm(B) * (st.sum_a * e_v + e_o) + e_w
    return slack * (1 + 1e-9), problems



# --- the bounds check_qsa compares with eps -------------------------------------------------------
def exhaustive_bound(c: QSAConstruction, facts: HeadFacts, r, fmt: Format, attention: str
                     ) -> tuple[float, dict, list[str]]:
    """Bound on the worst error from the emulator sweep ``r`` -> (bound, parts, problems).

    ``l1 (1 + gamma) + sum_a copy_error + value_path_slack`` and, in exact arithmetic, the float64
    distance of the emulator's attention from the real one (softmax: scores within
    :func:`score_slack`; hardmax: only when every score is an exact integer sum, else unproven)."""
    if not facts.ok:
        return math.inf, {}, [f"{h.name}: {h.detail}" for h in facts.failed]
    st = ValueStats(r.stats["sum_a"], r.stats["min_Z"], r.stats["sum_e"], c.N)
    value, problems = value_path_slack(facts, fmt, st)
    l1 = r.value * (1 + gamma(c.N + 2)) + gamma(c.N + 2) * (st.sum_a + 1)
    attn = 0.0
    if fmt.is_exact and attention == "softmax":
        sigma = float(score_slack(c, facts, np.array([r.stats["max_norm"]]))[0])
        attn = attention_float_slack(sigma, c.N)
        if not attn <= 1.0:
            problems.append(f"float64 scores: within {sigma:.3g} of real arithmetic only (products up to"
                            f" {r.stats['max_norm'] * facts.score_const:.3g}); use --mode certificate")
    elif fmt.is_exact and not r.stats["int_exact"]:
        problems.append("hardmax ties: float64 scores are not provably the real ones (non-integer codes or"
                        " integer sums >= 2^51)")
    copy = st.sum_a * facts.copy_error
    parts = {"attention_l1": r.value, "copy_error": copy, "value_rounding": value, "float64_attention": attn}
    return l1 + copy + value + attn, parts, problems


def certificate_bound(facts: HeadFacts, r) -> tuple[float, dict, list[str]]:
    """Real arithmetic: leakage bound of the widened scores + copy error (attention mass is 1)."""
    if not facts.ok:
        return math.inf, {}, [f"{h.name}: {h.detail}" for h in facts.failed]
    parts = {"leakage": r.value, "copy_error": facts.copy_error}
    return (r.value + facts.copy_error) * (1 + 1e-12), parts, []
