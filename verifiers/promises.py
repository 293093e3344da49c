"""Promise checks of the sequence-task certificate: score intervals, lookUp, lastOccurrence.

Shape glossary: T = N + 1 positions (0 = start), A query values, B key values, k head width.

Each check proves, per position with the causal mask, that a head's attention lands on its
promised target (docs/soundness.md rows 8-11): interval scores from
:func:`attncheck.verifiers.abstract.project`, strict gaps against every competitor an
adversary can place, and a softmax leakage bound by prefix/suffix log-sum-exps.  A failed
check raises :class:`~attncheck.verifiers.abstract.CertificateFailure` naming the position.

lookUp has two ways to the same proof.  The general one bounds every (position, pointer,
key) score: O(T^2) work.  The translation one (:mod:`attncheck.verifiers.translation`) first
proves from the numbers that queries and keys are rotations of one vector each, so every score
depends on the offset key - pointer only, up to a bound it computes; then one pass over the
2T - 1 offsets covers every position: O(T) work, which is what lets N reach 10^5 and beyond.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.spec import Head
from attncheck.verifiers.abstract import SLACK, CertificateFailure, Ctx, Proj, dot_slack, project
from attncheck.verifiers.rowsets import RowSets
from attncheck.verifiers.translation import offset_scores

NEG = -np.inf
CHUNK_ELEMS = 4_000_000    # score-tensor entries per chunk
#: Above this many (position x pointer x key) scores a lookUp tries the translation proof first.
GENERAL_LOOKUP_MAX = 1 << 22
#: ... and falls back to the general check, when the translation proof declines, up to this many.
GENERAL_FALLBACK_MAX = 1 << 28


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
def temperature(ctx: Ctx, head: Head) -> float:
    cq = float(ctx.fmt.quantize(head.temperature, "temperature"))
    if cq <= 0:
        raise CertificateFailure(f"temperature {head.temperature:g} rounds to {cq} in {ctx.fmt}")
    return cq


def scores(ctx: Ctx, head: Head, qlo, qhi, klo, khi):
    """Score intervals (I, A, T, B) after the temperature, rounded outward, from query bounds
    (I, A, k) and key bounds (T, B, k).

    Midpoint-radius interval products: for x in [m_x -+ r_x], y in [m_y -+ r_y],
    ``|xy - m_x m_y| <= |m_x| r_y + r_x |m_y| + r_x r_y``; each term is one matrix product."""
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
    mag = k * max(float(np.max(np.abs(qlo))), float(np.max(np.abs(qhi)))) * \
        max(float(np.max(np.abs(klo))), float(np.max(np.abs(khi))))
    rad += dot_slack(k, mag)                                          # float64 evaluation
    cq = temperature(ctx, head)
    lo = (cq * (centre - rad)).reshape(I, A, T, B)
    hi = (cq * (centre + rad)).reshape(I, A, T, B)
    ctx.rng("score", lo, hi)
    return ctx.outward(lo, hi)


def leak_bound(ctx: Ctx, lse, star, n_terms):
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


# --- lookUp --------------------------------------------------------------------------------------
def lookup_targets(ctx: Ctx, st: dict, head: Head) -> RowSets:
    """The pointers the query may hold at each position, after proving the lookUp's premises:
    every pointer is a position code p <= i (so its target is visible), and the key slot holds
    the code of its own position at every position."""
    p, T = head.promise, ctx.T
    key = st[p.key]
    if key.kind != "table" or key.rows is None or not np.array_equal(key.rows, np.arange(T)):
        raise CertificateFailure(f"hypothesis failed: lookup key slot {p.key!r} does not hold the code of"
                                 " its own position at every position")
    q = st[p.query]
    if q.kind == "codes":
        sets = q.allowed
    else:                                   # one pointer per position (its code's row, or none)
        sets = RowSets.single(np.full(T, -1) if q.rows is None else q.rows, T)
    top = sets.max_row()
    pos = np.arange(T)
    if q.kind == "table" and np.any(top[1:] < 0):
        t = int(np.flatnonzero(top[1:] < 0)[0]) + 1
        raise CertificateFailure(f"hypothesis failed: lookup query slot {p.query!r} holds no position code"
                                 f" at position {t}")
    if np.any(top[1:] > pos[1:]):
        t = int(np.flatnonzero(top[1:] > pos[1:])[0]) + 1
        raise CertificateFailure(f"hypothesis failed: at position {t} the lookup pointer may be"
                                 f" {int(top[t])} > {t}, a masked position")
    return sets


def check_lookup(ctx: Ctx, head: Head, st: dict, rep: HeadReport):
    """Promise ``lookup`` (Lemma D.1), proved at every position with the causal mask.

    Returns (worst leakage E, the pointers the query may hold at each position)."""
    p = head.promise
    Q = project(ctx, st, head.W_Q, p.query, "query")
    K = project(ctx, st, head.W_K, p.key, "key")
    targets = lookup_targets(ctx, st, head)
    T = ctx.T
    work = (2 if Q.compact else T) * Q.rows.shape[1] * T
    if work > GENERAL_LOOKUP_MAX:
        done, why = _lookup_by_offsets(ctx, head, Q, K, targets, rep)
        if done:
            return rep.leak, targets
        if work > GENERAL_FALLBACK_MAX:
            raise CertificateFailure(f"layer {rep.layer} lookup: {why}; the general check would bound"
                                     f" {work:.3g} scores")
    _lookup_general(ctx, head, Q, K, rep)
    return rep.leak, targets


def _lookup_general(ctx: Ctx, head: Head, Q: Proj, K: Proj, rep: HeadReport) -> None:
    """Every (position, pointer, key) score bounded; O(T^2 A) work in chunks.

    Shortcut: when each pointer value's query is the same at every position (``Q.compact``),
    the check at the last position with every position visible covers all positions (a pointer
    allowed at i is <= i, proved by :func:`lookup_targets`, and i's competitors are a subset)."""
    T = ctx.T
    klo, khi, _, _ = K.full()
    j = np.arange(T)
    pi = Q.compact
    blocks = [np.array([T - 1])] if pi else _chunks(T, Q.rows.shape[1] * T)
    for idx in blocks:
        ctx.tick(layer=rep.layer)
        qlo, qhi, ptr = Q.at(idx)
        lo, hi = scores(ctx, head, qlo, qhi, klo, khi)
        lo, hi = lo[..., 0], hi[..., 0]                                # (I, A, T)
        ok = Q.valid(np.arange(1, T)).any(axis=0)[None, :] if pi else Q.valid(idx)
        vis = np.ones((len(idx), T), bool) if pi else (j[None, :] <= idx[:, None])
        pc = np.clip(ptr, 0, T - 1)
        star = np.take_along_axis(lo, pc[..., None], axis=-1)[..., 0]
        comp = np.where((j[None, None, :] == pc[..., None]) | ~vis[:, None, :], NEG, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = star - comp.max(axis=-1)
            lse = np.logaddexp.reduce(comp, axis=-1)
        leak = leak_bound(ctx, lse, star, vis.sum(axis=1)[:, None])
        g, l = gap[ok], leak[ok]
        if g.size and not g.min() > 0:
            bad = np.argwhere(ok & ~(gap > 0))[0]
            where = "any position" if pi else f"position {idx[bad[0]]}"
            raise CertificateFailure(
                f"layer {rep.layer} lookup: at {where} the pointer {ptr[tuple(bad)]} does"
                f" not beat every other position (gap {gap[tuple(bad)]:.4g})")
        _note(rep, g, l, "lookup")


def _lookup_by_offsets(ctx: Ctx, head: Head, Q: Proj, K: Proj, targets: RowSets, rep: HeadReport):
    """The translation proof (module docstring).  Returns (True, "") when it closes, else
    (False, why) so the caller may fall back to the general check."""
    T = ctx.T
    ptr_of = targets.max_row() if targets.kind == "single" else None
    res = offset_scores(Q, K, T, ptr_of)
    if res is None:
        return False, "queries and keys are not proved to be rotations of one vector each"
    offsets, g, delta = res                                            # offsets d = key - pointer
    ctx.tick(layer=rep.layer)
    cq = temperature(ctx, head)
    mag = float(np.max(np.abs(g))) + delta
    ctx.rng("score", -cq * mag, cq * mag)
    lo = ctx.outward(cq * (g - delta), cq * (g - delta))[0]
    hi = ctx.outward(cq * (g + delta), cq * (g + delta))[1]
    zero = offsets == 0
    star = float(lo[zero][0])
    comp = np.where(zero, NEG, hi)
    gap = star - float(comp.max())
    if not gap > 0:
        d = int(offsets[np.argmax(comp)])
        return False, f"offset {d} scores within {gap:.4g} of the pointer (translation bound {delta:.3g})"
    with np.errstate(over="ignore", invalid="ignore"):
        lse = float(np.logaddexp.reduce(comp))
    leak = leak_bound(ctx, np.array(lse), np.array(star), T)
    _note(rep, np.array([gap]), np.atleast_1d(leak), "lookup (by offsets)")
    return True, ""


# --- lastOccurrence ------------------------------------------------------------------------------
def _match_tables(ctx: Ctx, head: Head, qlo, qhi, qr, klo, khi, krows, kvalid):
    """General form: from query bounds (I, A, k) and key bounds (T, B, k), per query value and
    key position, the best score of a non-matching key (U), of any key (W) and the worst score
    of a matching key (star), each (I, A, T); and the start token's score bounds (I, A)."""
    lo, hi = scores(ctx, head, qlo, qhi, klo, khi)                     # (I, A, T, B)
    match = (krows[None, None] == qr[:, :, None, None]) & kvalid[None, None] & (qr[:, :, None, None] >= 0)
    nonm = kvalid[None, None] & ~match
    U = np.where(nonm, hi, NEG).max(axis=-1)
    W = np.where(kvalid[None, None], hi, NEG).max(axis=-1)
    star = np.where(match, lo, np.inf).min(axis=-1)
    return U, W, star, lo[:, :, 0, 0], hi[:, :, 0, 0]


def _patterns(mask: np.ndarray):
    """The distinct rows of a (n, B) bool mask and each row's index among them (a sort of n
    integers instead of n rows)."""
    B = mask.shape[1]
    if B > 62:
        return np.unique(mask, axis=0, return_inverse=True)
    code = mask.astype(np.int64) @ (np.int64(1) << np.arange(B, dtype=np.int64))
    uniq, first, which = np.unique(code, return_index=True, return_inverse=True)
    return mask[first], which


def _match_tables_separable(ctx: Ctx, head: Head, Q: Proj, K: Proj):
    """The same tables for one query row (I = 1) in O(A T + A B patterns), from the key's
    separable form ``base[t] + y[b]`` (:class:`~attncheck.verifiers.abstract.Proj` ``parts``).

    Every score is inside ``c (F(a, t) + H(a, b))`` -+ its radius, where F is the query
    against the position-dependent part and H against the value part (interval products split
    by the triangle inequality), and the outward rounding is monotone, so the best (worst) key
    at t is the best (worst) H among the keys valid at t, added to F.  Positions with the same
    set of valid keys share that maximum."""
    T = ctx.T
    qlo, qhi, qr = Q.at(np.array([T - 1]))
    qm, qd = 0.5 * (qlo[0] + qhi[0]), 0.5 * (qhi[0] - qlo[0])          # (A, k)
    base_c, base_r, y, r, extra = K.parts
    bc = np.broadcast_to(base_c[1:2], (T - 1, base_c.shape[1])) if K.compact else base_c[1:]
    br = np.broadcast_to(base_r[1:2], (T - 1, base_r.shape[1])) if K.compact else base_r[1:]
    Fc = qm @ bc.T                                                     # (A, T-1)
    Fr = np.abs(qm) @ br.T + qd @ (np.abs(bc) + br).T
    rk = r + extra
    Hc = qm @ y.T                                                      # (A, B)
    Hr = (np.abs(qm) @ rk)[:, None] + qd @ (np.abs(y) + rk[None, :]).T
    cq = temperature(ctx, head)
    k = qm.shape[1]
    mag = (np.abs(qm) + qd).sum(axis=1).max() * (np.abs(bc).max() + br.max() + np.abs(y).max() + rk.max())
    fl = dot_slack(4 * k, k * mag)
    krows = K.rows[1]                                                  # (B,) key rows
    kv = K.valid(np.arange(1, T))                                      # (T-1, B)
    pats, which = _patterns(kv)
    A = qm.shape[0]
    match = (krows[None, :] == qr[0][:, None]) & (qr[0][:, None] >= 0)  # (A, B)
    Hhi, Hlo = Hc + Hr, Hc - Hr
    NM = np.stack([np.where(p[None, :] & ~match, Hhi, NEG).max(axis=1) for p in pats], axis=1)
    AL = np.stack([np.where(p[None, :], Hhi, NEG).max(axis=1) for p in pats], axis=1)
    MA = np.stack([np.where(p[None, :] & match, Hlo, np.inf).min(axis=1) for p in pats], axis=1)
    which = which.reshape(-1)

    def up(F, H):
        x = cq * (F + H) + fl
        return np.where(np.isfinite(x), ctx.outward(x, x)[1], x)

    def down(F, H):
        x = cq * (F + H) - fl
        return np.where(np.isfinite(x), ctx.outward(x, x)[0], x)

    with np.errstate(invalid="ignore", over="ignore"):
        U = up(Fc + Fr, NM[:, which])
        W = up(Fc + Fr, AL[:, which])
        star = down(Fc - Fr, MA[:, which])
    ctx.rng("score", np.where(np.isfinite(star), star, 0.0), np.where(np.isfinite(W), W, 0.0))
    pad = np.full((A, 1), NEG)
    U, W = np.concatenate([pad, U], axis=1)[None], np.concatenate([pad, W], axis=1)[None]
    star = np.concatenate([np.full((A, 1), np.inf), star], axis=1)[None]
    k0lo, k0hi = K.start_bounds()
    s0lo, s0hi = scores(ctx, head, qlo, qhi, k0lo[None, :1], k0hi[None, :1])
    return U, W, star, s0lo[:, :, 0, 0], s0hi[:, :, 0, 0], qr


def check_last_occurrence(ctx: Ctx, head: Head, st: dict, rep: HeadReport) -> float:
    """Promise ``last_occurrence`` (Lemma D.2); returns the worst leakage E.

    When the query is proved identical at every position (``Q.compact``), checking the last
    position with every position visible covers all positions: competitors there are a superset."""
    p, T = head.promise, ctx.T
    c = ctx.c
    qs, ks = c.layout[p.query], c.layout[p.key]
    if st[p.query].kind != "codes" or st[p.key].kind != "codes" or qs.codebook != ks.codebook:
        raise CertificateFailure(f"hypothesis failed: lastOccurrence query {p.query!r} and key {p.key!r}"
                                 " must both hold codes of one codebook")
    Q = project(ctx, st, head.W_Q, p.query, "query")
    K = project(ctx, st, head.W_K, p.key, "key")
    pi = Q.compact
    A = Q.rows.shape[1]
    j = np.arange(T)
    if pi and K.parts is not None:
        blocks = [None]
    else:
        klo, khi, krows, kvalid = K.full()                             # (T, B, k), (T, B)
        kvalid[0] = False                                              # the start is handled apart
        blocks = [np.array([T - 1])] if pi else _chunks(T, A * T * krows.shape[1])
    for idx in blocks:
        ctx.tick(layer=rep.layer)
        if idx is None:
            U, W, star, s0lo, s0hi, qr = _match_tables_separable(ctx, head, Q, K)
            idx = np.array([T - 1])
        else:
            qlo, qhi, qr = Q.at(idx)
            U, W, star, s0lo, s0hi = _match_tables(ctx, head, qlo, qhi, qr, klo, khi, krows, kvalid)
        qv = np.ones((1, A), bool) if pi else Q.valid(idx)
        vis = np.ones((len(idx), T), bool) if pi else (j[None, :] <= idx[:, None])
        vis = vis & (j[None, :] >= 1)
        hidden = ~vis[:, None, :]
        U = np.where(hidden, NEG, U)
        W = np.where(hidden, NEG, W)
        star = np.where(hidden, np.inf, star)
        n = (vis.sum(axis=1) + 1)[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            cmax = np.maximum(np.maximum(_suffix(U, np.maximum), _prefix(W, np.maximum)), s0hi[..., None])
            lse = np.logaddexp(np.logaddexp(_suffix(U, np.logaddexp), _prefix(W, np.logaddexp)),
                               s0hi[..., None])
            feas = np.isfinite(star) & qv[..., None]
            gap = np.where(feas, star - cmax, np.inf)
            leak = np.where(feas, leak_bound(ctx, lse, star, n), 0.0)
            gap0 = np.where(qv, s0lo - U.max(axis=-1), np.inf)         # target = start token
            leak0 = np.where(qv, leak_bound(ctx, np.logaddexp.reduce(U, axis=-1), s0lo, n[..., 0]), 0.0)
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
