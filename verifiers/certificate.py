"""Sound certificates: a proof for all |Sigma|^N inputs without enumerating them.

Shape glossary: T = N + 1 positions (0 = start), A query values, B key values, k head width.

The argument (THEOREMS.md ARCHITECTURE "heads are primitives with a promise"):

1. *Abstract residual.*  Every slot at every position holds either an exact constant (position
   codes, the 1 and start flags, the scalar position), or ``code(a) + delta`` with ``a`` in a finite
   domain of codebook rows and ``|delta| <= r`` coordinate-wise (:class:`SlotState`), or zero.
   The start token row is exact.
2. *Scores.*  For each head, query and key vectors are interval vectors over (position, value)
   pairs -- the declared query/key slot contributes ``code @ W`` exactly, any other slot the
   weights read contributes its whole range -- rounded outward to the number format.  Their
   interval dot products, times the (rounded) temperature and rounded outward, bound every score
   any input can produce.
3. *Promise check.*  ``lookup``: the pointer's position beats every other visible position;
   ``last_occurrence``: for every query value and every feasible target j* (a match, or the
   start token), the target beats every competitor an adversary can place (later positions must
   mismatch, earlier ones are arbitrary).  Strict gaps make j* the unique argmax, so
   ``e_{j*} = 1`` and the softmax leakage is at most ``E = sum_j q(exp(S_hi(j) - S_lo(j*)))``
   (for fixed point ``q(x) <= min(2x, x + ulp/2)``), computed with prefix/suffix
   log-sum-exps.  Hardmax needs only the gaps.
4. *Error propagation.*  The written slot holds the target's code plus
   ``transfer + E/(1+E) * range + rounding``; the next heads read these radii.  Snap maps and
   the decoder must decode every ``code(a) + delta`` to ``a``:
   ``||c_a - c_b||^2 > 2 sum_d r_d |c_a,d - c_b,d|`` for all rows b != a.
5. *Composition* (:mod:`attncheck.verifiers.semantics`): the promises compose to the task.

If any gap, decode or range check fails, the verdict is UNKNOWN with the failing margin named
-- never VERIFIED.  Soundness rests on monotone outward rounding, which is why the emulator's
arithmetic (wide accumulator, one rounding per stored result) is the spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from attncheck.constructions.spec import Construction, Head, SnapMap
from attncheck.verifiers import semantics
from attncheck.verifiers.budget import UNLIMITED, Budget
from attncheck.verifiers.precision import Format
from attncheck.verifiers.verdict import BudgetExceeded, Method, Status, Verdict

NEG = -np.inf
EXACT_SLACK = 1e-9         # relative slack on float64 score intervals under the exact format
CHUNK_ELEMS = 4_000_000    # score-tensor entries per chunk


class CertificateFailure(Exception):
    """A margin, decode or range condition failed; the message names it."""


@dataclass
class SlotState:
    """Abstract contents of one slot.  ``kind``: const / var / zero.
    const: ``values`` (T, w) exact; ``rows`` (T,) codebook row per position or -1.
    var: ``domain`` rows at positions 1..N, ``radius`` (w,) max |delta|; start content exact."""

    kind: str
    start: np.ndarray
    values: np.ndarray | None = None
    rows: np.ndarray | None = None
    domain: tuple[int, ...] = ()
    radius: np.ndarray | None = None
    start_row: int = -1


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


@dataclass
class _Ctx:
    c: Construction
    fmt: Format
    attention: str
    T: int
    budget: Budget | None = None
    reports: list = field(default_factory=list)
    max_mag: float = 0.0

    def rng(self, what: str, lo, hi) -> None:
        m = float(max(np.max(np.abs(lo)), np.max(np.abs(hi))))
        self.max_mag = max(self.max_mag, m)
        if not self.fmt.is_exact and m > self.fmt.hi:
            raise CertificateFailure(f"overflow possible: {what} reaches {m:.4g} > {self.fmt.hi:g}"
                                     f" (range of {self.fmt})")


def _row_of(vec: np.ndarray, codes: np.ndarray, tol: float) -> int:
    d = np.max(np.abs(codes - vec[None, :]), axis=1)
    i = int(np.argmin(d))
    return i if d[i] <= tol else -1


def _quant_err(fmt: Format, codes: np.ndarray) -> np.ndarray:
    return np.max(np.abs(fmt.quantize(codes) - codes), axis=0) if len(codes) else np.zeros(0)


def initial_state(ctx: _Ctx) -> dict[str, SlotState]:
    c, fmt = ctx.c, ctx.fmt
    pos = fmt.quantize(c.pos_embed)
    start = fmt.quantize(c.start_row)
    tol = fmt.max_rounding_error + 1e-12
    ctx.rng("embedding", pos, start)
    st: dict[str, SlotState] = {}
    for s in c.layout.slots:
        sv = start[s.sl]
        book = c.codebooks.get(s.codebook) if s.codebook else None
        srow = _row_of(sv, book, tol) if book is not None else -1
        if s.kind == "const":
            vals = pos[:, s.sl].copy()
            vals[0] = sv
            rows = None if book is None else np.array([_row_of(v, book, tol) for v in vals])
            st[s.name] = SlotState("const", sv, values=vals, rows=rows, start_row=srow)
        elif s.kind == "token":
            dom = tuple(sorted({_row_of(fmt.quantize(v), book, tol) for v in c.tok_embed[:, s.sl]}))
            if -1 in dom:
                raise CertificateFailure(f"token slot {s.name!r} holds a vector that is not a code of {s.codebook!r}")
            st[s.name] = SlotState("var", sv, domain=dom, radius=_quant_err(fmt, book[list(dom)]),
                                   start_row=srow)
        else:
            st[s.name] = SlotState("zero", sv, start_row=srow)
    return st


def check_embedding_semantics(ctx: _Ctx, st: dict) -> None:
    """The embedding agrees with the slot labels that the composition step relies on:
    token slots hold X[i] and nothing else writes them; constant pointer slots labelled
    ``pos[i+d]`` hold the code of position max(0, i+d) (and position 0 at the start)."""
    c = ctx.c
    tok_cols = np.zeros(c.width, bool)
    for s in c.layout.slots:
        if s.kind == "token":
            tok_cols[s.sl] = True
            if s.label is not None and (s.label.base != "X" or s.label.ops):
                raise CertificateFailure(f"token slot {s.name!r} is labelled {s.label}, not X[i]")
    if np.any(c.tok_embed[:, ~tok_cols]):
        raise CertificateFailure("the token embedding writes outside the token slots")
    if np.any(c.pos_embed[1:, tok_cols]):
        raise CertificateFailure("the position embedding writes into a token slot")
    for s in c.layout.slots:
        if s.kind == "written" and np.any(c.pos_embed[1:, s.sl]):
            raise CertificateFailure(f"the position embedding writes into slot {s.name!r}, which heads write")
        if s.kind != "const" or s.label is None:
            continue
        if s.label.base != "pos" or any(op != "shift" for op, _ in s.label.ops):
            raise CertificateFailure(f"constant slot {s.name!r} is labelled {s.label}")
        shift = sum(d for _, d in s.label.ops)
        want = np.maximum(0, np.arange(ctx.T) + shift)
        want[0] = 0
        rows = st[s.name].rows
        if rows is None or not np.array_equal(rows, want):
            bad = int(np.flatnonzero(rows != want)[0]) if rows is not None else 0
            raise CertificateFailure(f"slot {s.name!r} is labelled {s.label} but at position {bad} holds the"
                                     f" code of position {None if rows is None else int(rows[bad])}")


def _start_row_ok(ctx: _Ctx, st: dict, slot: str, row: int) -> bool:
    """What a copy from the start token must yield: pointer 0, or the none (bottom) token code."""
    label = ctx.c.layout[slot].label
    if label is None:
        return False
    if label.base == "pos":
        return row == 0
    none = st["tok"].start_row if "tok" in st else -1
    return row == none and none >= 0


def _W(W: np.ndarray, t: int, sl: slice) -> np.ndarray:
    return W[sl] if W.ndim == 2 else W[t, sl]


def project(ctx: _Ctx, st: dict, W: np.ndarray, decl: str):
    """Interval projection ``x @ W`` per (position, value of slot ``decl``).

    Returns lo, hi (T, A, k), rows (T, A) (codebook row of ``decl``; -1 none), valid (T, A)."""
    c, T = ctx.c, ctx.T
    k = W.shape[-1]
    d = st[decl]
    book = c.codebooks.get(c.layout[decl].codebook) if c.layout[decl].codebook else None
    A = 1 if d.kind in ("const", "zero") else len(d.domain)
    center = np.zeros((T, A, k))
    rad = np.zeros((T, A, k))
    rows = np.full((T, A), -1)
    valid = np.zeros((T, A), bool)
    dsl = c.layout[decl].sl
    dvals = book[list(d.domain)] if d.kind == "var" else None
    # Position-independent weights (W.ndim == 2): the terms of var slots are the same at every
    # position, so they are computed once (the same operations, hence the same numbers).
    static = W.ndim == 2
    readers = [s for s in c.layout.slots if s.name != decl and np.any(W[s.sl])] if static else None
    memo: dict = {}
    for t in range(T):
        if t == 0:
            center[0, 0] = ctx.fmt.quantize(c.start_row) @ _W(W, 0, slice(None))
            rows[0, 0] = d.start_row
            valid[0, 0] = True
            continue
        Wd = _W(W, t, dsl)
        if d.kind == "const":
            center[t, 0] = d.values[t] @ Wd
            rows[t, 0] = -1 if d.rows is None else d.rows[t]
        elif d.kind == "var":
            if not static or "decl" not in memo:
                memo["decl"] = (dvals @ Wd, d.radius @ np.abs(Wd))
            center[t], rad[t] = memo["decl"]
            rows[t] = d.domain
        valid[t] = True
        for s in readers if static else c.layout.slots:
            if s.name == decl:
                continue
            Ws = _W(W, t, s.sl)
            if not static and not np.any(Ws):
                continue
            o = st[s.name]
            if o.kind == "const":
                center[t] += o.values[t] @ Ws
            elif o.kind == "var":
                if not static or s.name not in memo:
                    ob = c.codebooks[s.codebook][list(o.domain)] @ Ws        # (n, k)
                    lo, hi = ob.min(axis=0), ob.max(axis=0)
                    memo[s.name] = (0.5 * (lo + hi), 0.5 * (hi - lo) + o.radius @ np.abs(Ws))
                center[t] += memo[s.name][0]
                rad[t] += memo[s.name][1]
    ctx.rng("query/key/value", center - rad, center + rad)
    lo = ctx.fmt.quantize(center - rad)          # quantize is monotone: the stored value of any
    hi = ctx.fmt.quantize(center + rad)          # x in [lo, hi] lies in [q(lo), q(hi)]
    return lo, hi, rows, valid


def interval_dot(alo, ahi, blo, bhi):
    """Sum over the last axis of interval products; broadcasting shapes."""
    p1, p2, p3, p4 = alo * blo, alo * bhi, ahi * blo, ahi * bhi      # no stacked copy
    return (np.minimum(np.minimum(p1, p2), np.minimum(p3, p4)).sum(axis=-1),
            np.maximum(np.maximum(p1, p2), np.maximum(p3, p4)).sum(axis=-1))


def scores(ctx: _Ctx, head: Head, Q, K, i_idx: np.ndarray):
    """Score intervals (len(i_idx), A, T, B) after temperature and outward rounding."""
    qlo, qhi = Q[0][i_idx], Q[1][i_idx]                    # (I, A, k)
    klo, khi = K[0], K[1]                                  # (T, B, k)
    lo, hi = interval_dot(qlo[:, :, None, None, :], qhi[:, :, None, None, :],
                          klo[None, None], khi[None, None])
    cq = float(ctx.fmt.quantize(head.temperature))
    if cq <= 0:
        raise CertificateFailure(f"temperature {head.temperature:g} rounds to {cq} in {ctx.fmt}")
    lo, hi = cq * lo, cq * hi
    if ctx.fmt.is_exact:
        lo = lo - EXACT_SLACK * np.maximum(1.0, np.abs(lo))
        hi = hi + EXACT_SLACK * np.maximum(1.0, np.abs(hi))
    ctx.rng("score", lo[np.isfinite(lo)], hi[np.isfinite(hi)])
    lo, hi = ctx.fmt.quantize(lo), ctx.fmt.quantize(hi)
    return lo, hi


def _leak_from_lse(ctx: _Ctx, lse, star, n_terms):
    """Upper bound on sum_j q(exp(x_j)) given log sum_j exp(x_j) = lse - star."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.exp(lse - star)
    if ctx.fmt.is_exact or ctx.attention == "hardmax":
        return s
    return np.minimum(2 * s, s + n_terms * ctx.fmt.max_rounding_error)


def _position_independent(Q) -> bool:
    lo, hi = Q[0], Q[1]
    return bool(np.all(lo[1:] == lo[1:2]) and np.all(hi[1:] == hi[1:2]))


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


def check_lookup(ctx: _Ctx, head: Head, st: dict, rep: HeadReport) -> float:
    """Promise ``lookup``: returns the worst leakage E."""
    p, T = head.promise, ctx.T
    key = st[p.key]
    if key.kind != "const" or key.rows is None:
        raise CertificateFailure(f"lookup key slot {p.key!r} must hold the code of its own position")
    if not np.array_equal(key.rows, np.arange(T)):
        t = int(np.flatnonzero(key.rows != np.arange(T))[0])
        raise CertificateFailure(f"lookup key slot {p.key!r}: the code of position {t} equals the code of"
                                 f" position {key.rows[t]} (positions alias)")
    Q = project(ctx, st, head.W_Q, p.query)
    K = project(ctx, st, head.W_K, p.key)
    pi = _position_independent(Q)
    blocks = [np.array([T - 1])] if pi else _chunks(T, Q[0].shape[1] * T)
    j = np.arange(T)
    for idx in blocks:
        if ctx.budget is not None:
            ctx.budget.check(layer=rep.layer)
        lo, hi = scores(ctx, head, Q, K, idx)
        lo, hi = lo[..., 0], hi[..., 0]                                # (I, A, T)
        ptr = Q[2][idx]                                                # (I, A)
        ok = Q[3][idx]
        if np.any(ok & (ptr < 0)):
            raise CertificateFailure(f"lookup query slot {p.query!r} holds a non-position code")
        vis = np.ones((len(idx), T), bool) if pi else (j[None, :] <= idx[:, None])
        ok = ok & (pi | (ptr <= idx[:, None]))
        pc = np.clip(ptr, 0, T - 1)
        star = np.take_along_axis(lo, pc[..., None], axis=-1)[..., 0]
        comp = np.where((j[None, None, :] == pc[..., None]) | ~vis[:, None, :], NEG, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = star - comp.max(axis=-1)
            lse = np.logaddexp.reduce(comp, axis=-1)
        n = vis.sum(axis=1)[:, None]
        leak = _leak_from_lse(ctx, lse, star, n)
        g, l = gap[ok], leak[ok]
        if g.size and g.min() <= 0:
            bad = np.argwhere(ok & (gap <= 0))[0]
            raise CertificateFailure(
                f"layer {rep.layer} lookup: at position {idx[bad[0]] if not pi else 'any'} the pointer"
                f" {ptr[tuple(bad)]} does not beat every other position (gap {gap[tuple(bad)]:.4g})")
        _note(rep, g, l, "lookup")
    return rep.leak


def check_last_occurrence(ctx: _Ctx, head: Head, st: dict, rep: HeadReport) -> float:
    """Promise ``last_occurrence``: returns the worst leakage E."""
    p, T = head.promise, ctx.T
    Q = project(ctx, st, head.W_Q, p.query)
    K = project(ctx, st, head.W_K, p.key)
    krows, kvalid = K[2], K[3]                                         # (T, B)
    pi = _position_independent(Q)
    A, B = Q[0].shape[1], K[0].shape[1]
    blocks = [np.array([T - 1])] if pi else _chunks(T, A * T * B)
    j = np.arange(T)
    for idx in blocks:
        if ctx.budget is not None:
            ctx.budget.check(layer=rep.layer)
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
            if np.min(g) <= 0:
                bad = np.unravel_index(np.argmin(g), g.shape)
                pos = "any position" if pi else f"position {idx[bad[0]]}"
                tgt = f", target j*={bad[2]}" if g.ndim == 3 else ""
                raise CertificateFailure(
                    f"layer {rep.layer} lastOccurrence: at {pos}, query row {qr[bad[0], bad[1]]}{tgt}, the"
                    f" {what} does not beat every competitor (gap {float(np.min(g)):.4g})")
            fin = np.isfinite(g)
            _note(rep, g[fin], l[fin], what)
    return rep.leak


def _content_range(ctx: _Ctx, st: dict, name: str, M: np.ndarray):
    """(lo, hi) over all positions and values of ``content(slot) @ M`` (M: (w, w'))."""
    d, s = st[name], ctx.c.layout[name]
    if d.kind == "const":
        y = d.values @ M
        return y.min(axis=0), y.max(axis=0)
    if d.kind == "zero":
        z = d.start @ M
        return np.minimum(z, 0), np.maximum(z, 0)
    y = np.vstack([ctx.c.codebooks[s.codebook][list(d.domain)] @ M, d.start[None] @ M])
    r = d.radius @ np.abs(M)
    return y.min(axis=0) - r, y.max(axis=0) + r


def write_state(ctx: _Ctx, head: Head, st: dict, leak: float) -> dict[str, SlotState]:
    """States of the slots this head writes: target code + transfer + leakage + rounding."""
    c, p, fmt = ctx.c, head.promise, ctx.fmt
    if head.W_V.ndim != 2:
        raise CertificateFailure("index-specific value maps are not covered by the certificate")
    M = head.W_V @ head.W_O                                           # (D, D): effective OV map
    colsum = np.abs(head.W_O).sum(axis=0)
    soft = ctx.attention == "softmax"
    out = {}
    for v, w in zip(p.values, p.writes):
        sv, sw = c.layout[v], c.layout[w]
        if st[w].kind != "zero":
            raise CertificateFailure(f"layer {head_layer(ctx)} writes into slot {w!r}, which is not empty")
        d = st[v]
        book = c.codebooks[sv.codebook]
        Mvw = M[sv.sl, sw.sl]
        start_row = d.rows[0] if d.kind == "const" and d.rows is not None else d.start_row
        if not _start_row_ok(ctx, st, v, start_row):
            raise CertificateFailure(f"the start token's slot {v!r} (copied on a miss) does not hold the"
                                     f" code of position 0 / bottom")
        if d.kind == "const":
            rows = d.rows
            if rows is None or np.any(rows < 0):
                raise CertificateFailure(f"value slot {v!r} does not hold codes")
            transfer = np.max(np.abs(d.values @ Mvw - book[rows]), axis=0)
            domain = tuple(sorted(set(rows.tolist())))
        else:
            if d.start_row < 0:
                raise CertificateFailure(f"the start token's slot {v!r} holds no code of {sv.codebook!r}")
            domain = tuple(sorted(set(d.domain) | {d.start_row}))
            transfer = np.max(np.abs(book[list(domain)] @ Mvw - book[list(domain)]), axis=0) \
                + d.radius @ np.abs(Mvw)
        lo, hi = _content_range(ctx, st, v, Mvw)
        for o in c.layout.slots:
            if o.name == v or not np.any(M[o.sl, sw.sl]):
                continue
            olo, ohi = _content_range(ctx, st, o.name, M[o.sl, sw.sl])
            transfer = transfer + np.maximum(np.abs(olo), np.abs(ohi))
            lo, hi = lo + olo, hi + ohi
        ctx.rng("head output", lo, hi)
        mix = (leak / (1.0 + leak)) * (hi - lo) if soft else 0.0
        rnd = fmt.max_rounding_error * (colsum[sw.sl] * (3.0 if soft else 1.0) + 1.0)
        rad = transfer + mix + rnd
        out[w] = SlotState("var", st[w].start, domain=domain, radius=rad, start_row=st[w].start_row)
    return out


def head_layer(ctx: _Ctx) -> int:
    return ctx.reports[-1].layer if ctx.reports else 0


def decode_margin(book: np.ndarray, domain, radius: np.ndarray) -> tuple[float, float]:
    """(min over a in domain, b != a of ||c_a-c_b||^2 - 2 sum r|c_a-c_b|, the largest uniform r
    that would still decode)."""
    worst, rmax = np.inf, np.inf
    for a in domain:
        diff = book[a][None, :] - book
        diff = np.delete(diff, a, axis=0)
        sq = np.sum(diff * diff, axis=1)
        l1 = np.sum(np.abs(diff), axis=1)
        worst = min(worst, float(np.min(sq - 2 * np.abs(diff) @ radius)))
        rmax = min(rmax, float(np.min(sq / (2 * l1))))
    return worst, rmax


def apply_snap(ctx: _Ctx, smap: SnapMap, st: dict, li: int) -> dict:
    new = dict(st)
    for src, dst in smap.moves:
        d = st[src]
        book = ctx.c.codebooks[ctx.c.layout[src].codebook]
        if d.kind != "var":
            raise CertificateFailure(f"layer {li} map moves {src!r}, which holds no decodable value")
        m, _ = decode_margin(book, d.domain, d.radius)
        if m <= 0:
            raise CertificateFailure(f"layer {li} map: slot {src!r} may decode wrongly (margin {m:.4g})")
        new[dst] = SlotState("var", st[dst].start, domain=d.domain,
                             radius=_quant_err(ctx.fmt, book[list(d.domain)]), start_row=st[dst].start_row)
    for name in smap.clears:
        new[name] = SlotState("zero", st[name].start, start_row=st[name].start_row)
    return new


def certify(c: Construction, task: str, params: dict, fmt: Format, attention: str = "softmax",
            budget: Budget = UNLIMITED) -> Verdict:
    """Prove ``decode(T(X)) = task(X)`` for all X in Sigma^N, or return UNKNOWN naming the gap
    (or the layer at which ``budget`` ran out)."""
    claim = f"{c.name} computes {task} for all {c.alphabet}^{c.n} inputs in {fmt} with {attention}"
    cases = f"{c.alphabet}^{c.n}"
    ctx = _Ctx(c, fmt, attention, c.n + 1, budget)
    evidence: dict = {"format": str(fmt), "attention": attention}
    try:
        evidence["composition"] = semantics.check_composition(c, task, params)
    except semantics.CompositionError as e:
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases,
                       reason=f"promises do not compose to the task: {e}", evidence=evidence)
    try:
        st = initial_state(ctx)
        check_embedding_semantics(ctx, st)
        for li, layer in enumerate(c.layers, start=1):
            new = dict(st)
            for hi, head in enumerate(layer.heads, start=1):
                rep = HeadReport(li, hi, head.promise.describe())
                ctx.reports.append(rep)
                check = check_lookup if head.promise.kind == "lookup" else check_last_occurrence
                leak = check(ctx, head, st, rep)
                if ctx.attention == "softmax" and 1.0 + leak > fmt.hi:
                    raise CertificateFailure(f"overflow possible: softmax denominator up to {1 + leak:.4g}"
                                             f" > {fmt.hi:g} (range of {fmt})")
                written = write_state(ctx, head, st, leak)
                rep.out_error = float(max(np.max(s.radius) for s in written.values()))
                new.update(written)
            st = apply_snap(ctx, layer.map, new, li) if layer.map is not None else new
        dec = c.decoder
        d = st[dec.slot]
        book = c.codebooks[dec.codebook]
        if d.kind != "var":
            raise CertificateFailure(f"decoder slot {dec.slot!r} is never written")
        m, rmax = decode_margin(book, d.domain, d.radius)
        evidence["decode"] = {"error": float(np.max(d.radius)), "radius": rmax, "margin": m, "ok": m > 0}
        if m <= 0:
            raise CertificateFailure(f"decoder: slot {dec.slot!r} error {np.max(d.radius):.4g} exceeds"
                                     f" the decoding radius {rmax:.4g}")
        _check_symbols(c, fmt)
    except BudgetExceeded as e:
        evidence["heads"] = [r.to_json() for r in ctx.reports]
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases,
                       reason=f"{e} while certifying layer {e.progress.get('layer', '?')}", evidence=evidence)
    except CertificateFailure as e:
        if ctx.reports and str(e).startswith("layer"):
            ctx.reports[-1].ok = False
        evidence["heads"] = [r.to_json() for r in ctx.reports]
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases,
                       reason=f"certificate does not close: {e}", evidence=evidence)
    evidence["heads"] = [r.to_json() for r in ctx.reports]
    evidence["max_magnitude"] = ctx.max_mag
    worst = min(r.min_gap for r in ctx.reports)
    return Verdict(Status.VERIFIED, Method.CERTIFICATE, claim, cases,
                   reason=f"every head's promise holds with score gap >= {worst:.4g}; outputs decode"
                          f" within radius (error {evidence['decode']['error']:.3g} < {evidence['decode']['radius']:.3g})",
                   evidence=evidence)


def _check_symbols(c: Construction, fmt: Format) -> None:
    """The decoder maps each symbol's own code back to that symbol and the none code to bottom."""
    dec = c.decoder
    book = c.codebooks[dec.codebook]
    tok = c.layout["tok"] if "tok" in c.layout.names() else None
    if tok is None or c.layout[dec.slot].codebook != tok.codebook:
        raise CertificateFailure("decoder codebook differs from the token codebook")
    tol = fmt.max_rounding_error + 1e-12
    for x in range(c.alphabet):
        r = _row_of(fmt.quantize(c.tok_embed[x, tok.sl]), book, tol)
        if r < 0 or dec.symbols[r] != x:
            raise CertificateFailure(f"decoder maps the code of symbol {x} to {dec.symbols[r] if r >= 0 else '?'}")
    r0 = _row_of(fmt.quantize(c.start_row[tok.sl]), book, tol)
    if r0 < 0 or dec.symbols[r0] is not None:
        raise CertificateFailure("decoder does not map the start token's code to bottom")
