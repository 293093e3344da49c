"""Promise checks of the sequence-task certificate: score intervals, lookUp, lastOccurrence.

Shape glossary: T = N + 1 positions (0 = start), A query values, B key values, k head width.

Each check proves, per position with the causal mask, that a head's attention lands on its
promised target (docs/soundness.md rows 8-11): interval scores from
:func:`attncheck.verifiers.abstract.project`, strict gaps against every competitor an
adversary can place, and a softmax leakage bound by prefix/suffix log-sum-exps.  A failed
check raises :class:`~attncheck.verifiers.abstract.CertificateFailure` naming the position.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.spec import Head
from attncheck.verifiers.abstract import SLACK, CertificateFailure, Ctx, dot_slack, project

NEG = -np.inf
CHUNK_ELEMS = 4_000_000    # score-tensor entries per chunk


@dataclass
class HeadReport:
    layer: int
    head: int
    promise: str
    min_gap: float = np.inf
    leak: float = 0.0
    out_error: float = 0.0
    ok: bool = True
    where: str = ""

    def to_json(self) -> dict:
        return {"layer": self.layer, "head": self.head, "promise": self.promise,
                "min_gap": float(self.min_gap), "leak": float(self.leak),
                "out_error": float(self.out_error), "ok": self.ok, "where": self.where}


# --- scores ------------------------------------------------------------------------------------
def scores(ctx: Ctx, head: Head, Q, K, i_idx: np.ndarray):
    """Score intervals (len(i_idx), A, T, B) after the temperature, rounded outward.

    Midpoint-radius interval products: for x in [m_x -+ r_x], y in [m_y -+ r_y],
    ``|xy - m_x m_y| <= |m_x| r_y + r_x |m_y| + r_x r_y``; each term is one matrix product."""
    qlo, qhi = Q[0][i_idx], Q[1][i_idx]                               # (I, A, k)
    klo, khi = K[0], K[1]                                             # (T, B, k)
    I, A, k = qlo.shape
    T, B, _ = klo.shape
    qm, qr = 0.5 * (qlo + qhi), 0.5 * (qhi - qlo)
    km, kr = 0.5 * (klo + khi), 0.5 * (khi - klo)
    qm2, km2 = qm.reshape(I * A, k), km.reshape(T * B, k).T
    centre = qm2 @ km2
    rad = np.zeros_like(centre)
    if np.any(kr):
        rad += np.abs(qm2) @ kr.reshape(T * B, k).T
    if np.any(qr):
        rad += qr.reshape(I * A, k) @ np.abs(km2)
        if np.any(kr):
            rad += qr.reshape(I * A, k) @ kr.reshape(T * B, k).T
    mag = k * max(float(np.max(np.abs(Q[0]))), float(np.max(np.abs(Q[1])))) * \
        max(float(np.max(np.abs(klo))), float(np.max(np.abs(khi))))
    rad += dot_slack(k, mag)                                          # float64 evaluation
    cq = float(ctx.fmt.quantize(head.temperature, "temperature"))
    if cq <= 0:
        raise CertificateFailure(f"temperature {head.temperature:g} rounds to {cq} in {ctx.fmt}")
    lo = (cq * (centre - rad)).reshape(I, A, T, B)
    hi = (cq * (centre + rad)).reshape(I, A, T, B)
    ctx.rng("score", lo, hi)
    return ctx.outward(lo, hi)


def _leak_from_lse(ctx: Ctx, lse, star, n_terms):
    """Upper bound on sum_j q(exp(x_j)) given log sum_j exp(x_j) = lse - star."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.exp(lse - star) * (1.0 + SLACK)
        if ctx.fmt.is_exact or ctx.attention == "hardmax":
            return s
        return np.minimum(2 * s, s + n_terms * ctx.u)


def _chunks(T: int, per_i: int):
    step = max(1, CHUNK_ELEMS // max(per_i, 1))
    for a in range(1, T, step):
        yield np.arange(a, min(T, a + step))


def _suffix(x, op):
    """out[..., j] = op-reduce of x[..., j+1:] (identity -inf)."""
    acc = op.accumulate(x[..., ::-1], axis=-1)[..., ::-1]
    return np.concatenate([acc[..., 1:], np.full(x.shape[:-1] + (1,), NEG)], axis=-1)


def _prefix(x, op):
    """out[..., j] = op-reduce of x[..., :j] (identity -inf)."""
    acc = op.accumulate(x, axis=-1)
    return np.concatenate([np.full(x.shape[:-1] + (1,), NEG), acc[..., :-1]], axis=-1)


def _note(rep: HeadReport, gap, leak, where: str) -> None:
    if gap.size and float(gap.min()) < rep.min_gap:
        rep.min_gap = float(gap.min())
        rep.where = where
    if leak.size:
        rep.leak = max(rep.leak, float(np.max(leak)))


# --- promise checks ----------------------------------------------------------------------------
def check_lookup(ctx: Ctx, head: Head, st: dict, rep: HeadReport):
    """Promise ``lookup`` (Lemma D.1), proved at every position with the causal mask.

    Returns (worst leakage E, P (T, T) bool: pointer p may occur at position i)."""
    p, T = head.promise, ctx.T
    key = st[p.key]
    if key.kind != "table" or key.rows is None or not np.array_equal(key.rows, np.arange(T)):
        raise CertificateFailure(f"hypothesis failed: lookup key slot {p.key!r} does not hold the code of"
                                 " its own position at every position")
    Q = project(ctx, st, head.W_Q, p.query, "query")
    K = project(ctx, st, head.W_K, p.key, "key")
    ptr_all, qvalid = Q[2], Q[3]
    pos = np.arange(T)[:, None]
    live = qvalid.copy()
    live[0] = False
    if np.any(live & (ptr_all < 0)):
        t = int(np.argwhere(live & (ptr_all < 0))[0][0])
        raise CertificateFailure(f"hypothesis failed: lookup query slot {p.query!r} holds no position code"
                                 f" at position {t}")
    if np.any(live & (ptr_all > pos)):
        t, a = np.argwhere(live & (ptr_all > pos))[0]
        raise CertificateFailure(f"hypothesis failed: at position {t} the lookup pointer may be"
                                 f" {ptr_all[t, a]} > {t}, a masked position")
    # Shortcut: when each pointer value's query interval is the same at every position, the
    # check at the last position with every position visible covers all positions (a pointer
    # p allowed at i satisfies p <= i, proved above, and i's competitors are a subset).
    pi = bool(np.all(Q[0][1:] == Q[0][1:2]) and np.all(Q[1][1:] == Q[1][1:2])
              and np.all(ptr_all[1:] == ptr_all[1:2]))
    any_valid = live.any(axis=0)[None, :]                              # (1, A)
    j = np.arange(T)
    blocks = [np.array([T - 1])] if pi else _chunks(T, Q[0].shape[1] * T)
    for idx in blocks:
        ctx.tick(layer=rep.layer)
        lo, hi = scores(ctx, head, Q, K, idx)
        lo, hi = lo[..., 0], hi[..., 0]                                # (I, A, T)
        ptr, ok = ptr_all[idx], (any_valid if pi else qvalid[idx])
        vis = np.ones((len(idx), T), bool) if pi else (j[None, :] <= idx[:, None])
        pc = np.clip(ptr, 0, T - 1)
        star = np.take_along_axis(lo, pc[..., None], axis=-1)[..., 0]
        comp = np.where((j[None, None, :] == pc[..., None]) | ~vis[:, None, :], NEG, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = star - comp.max(axis=-1)
            lse = np.logaddexp.reduce(comp, axis=-1)
        leak = _leak_from_lse(ctx, lse, star, vis.sum(axis=1)[:, None])
        g, l = gap[ok], leak[ok]
        if g.size and not g.min() > 0:
            bad = np.argwhere(ok & ~(gap > 0))[0]
            where = "any position" if pi else f"position {idx[bad[0]]}"
            raise CertificateFailure(
                f"layer {rep.layer} lookup: at {where} the pointer {ptr[tuple(bad)]} does"
                f" not beat every other position (gap {gap[tuple(bad)]:.4g})")
        _note(rep, g, l, "lookup")
    P = np.zeros((T, T), bool)
    ii, aa = np.nonzero(live)
    P[ii, ptr_all[ii, aa]] = True
    return rep.leak, P


def _same_rows_everywhere(Q) -> bool:
    """The query intervals, values and validity are the same at every position 1..N."""
    lo, hi, rows, valid = Q
    return bool(np.all(lo[1:] == lo[1:2]) and np.all(hi[1:] == hi[1:2])
                and np.all(rows[1:] == rows[1:2]) and np.all(valid[1:] == valid[1:2]))


def check_last_occurrence(ctx: Ctx, head: Head, st: dict, rep: HeadReport) -> float:
    """Promise ``last_occurrence`` (Lemma D.2); returns the worst leakage E.

    When the query is proved identical at every position, checking the last position with
    every position visible covers all positions: competitors there are a superset."""
    p, T = head.promise, ctx.T
    c = ctx.c
    qs, ks = c.layout[p.query], c.layout[p.key]
    if st[p.query].kind != "codes" or st[p.key].kind != "codes" or qs.codebook != ks.codebook:
        raise CertificateFailure(f"hypothesis failed: lastOccurrence query {p.query!r} and key {p.key!r}"
                                 " must both hold codes of one codebook")
    Q = project(ctx, st, head.W_Q, p.query, "query")
    K = project(ctx, st, head.W_K, p.key, "key")
    krows, kvalid = K[2], K[3].copy()                                  # (T, B)
    kvalid[0] = False                                                  # the start is handled apart
    pi = _same_rows_everywhere(Q)
    A, B = Q[0].shape[1], K[0].shape[1]
    blocks = [np.array([T - 1])] if pi else _chunks(T, A * T * B)
    j = np.arange(T)
    for idx in blocks:
        ctx.tick(layer=rep.layer)
        lo, hi = scores(ctx, head, Q, K, idx)                          # (I, A, T, B)
        qr, qv = Q[2][idx], Q[3][idx]
        vis = np.ones((len(idx), T), bool) if pi else (j[None, :] <= idx[:, None])
        vis = vis & (j[None, :] >= 1)
        match = (krows[None, None] == qr[:, :, None, None]) & kvalid[None, None] & (qr[:, :, None, None] >= 0)
        nonm = kvalid[None, None] & ~match
        U = np.where(nonm, hi, NEG).max(axis=-1)                       # (I, A, T)
        W = np.where(kvalid[None, None], hi, NEG).max(axis=-1)
        star = np.where(match, lo, np.inf).min(axis=-1)
        hidden = ~vis[:, None, :]
        U = np.where(hidden, NEG, U)
        W = np.where(hidden, NEG, W)
        star = np.where(hidden, np.inf, star)
        s0lo, s0hi = lo[:, :, 0, 0], hi[:, :, 0, 0]                    # start token
        n = (vis.sum(axis=1) + 1)[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            cmax = np.maximum(np.maximum(_suffix(U, np.maximum), _prefix(W, np.maximum)), s0hi[..., None])
            lse = np.logaddexp(np.logaddexp(_suffix(U, np.logaddexp), _prefix(W, np.logaddexp)),
                               s0hi[..., None])
            feas = np.isfinite(star) & qv[..., None]
            gap = np.where(feas, star - cmax, np.inf)
            leak = np.where(feas, _leak_from_lse(ctx, lse, star, n), 0.0)
            gap0 = np.where(qv, s0lo - U.max(axis=-1), np.inf)         # target = start token
            leak0 = np.where(qv, _leak_from_lse(ctx, np.logaddexp.reduce(U, axis=-1), s0lo, n[..., 0]), 0.0)
        for g, l, what in ((gap, leak, "latest match"), (gap0, leak0, "start token (no match)")):
            if not np.min(g) > 0:
                bad = np.unravel_index(np.argmin(g), g.shape)
                where = "any position" if pi else f"position {idx[bad[0]]}"
                tgt = f", target j*={bad[2]}" if g.ndim == 3 else ""
                raise CertificateFailure(
                    f"layer {rep.layer} lastOccurrence: at {where}, query row {qr[bad[0], bad[1]]}{tgt}, the"
                    f" {what} does not beat every competitor (gap {float(np.min(g)):.4g})")
            fin = np.isfinite(g)
            _note(rep, g[fin], l[fin], what)
    return rep.leak
