"""Sound certificates: a proof for all |Sigma|^N inputs without enumerating them.

Shape glossary: T = N + 1 positions (0 = start), A query values, B key values, k head width,
nb codebook rows.

The argument (docs/soundness.md has the full list of hypotheses and how each is discharged):

1. *Abstract residual* (:mod:`attncheck.verifiers.abstract`).  Every coordinate of every
   position carries a bound, read off the arrays: a centre (an exact per-position value, or a
   codebook row from a per-position set) plus ``|delta| <= radius``.
2. *Scores.*  For each head, query and key intervals over (position, value) pairs cover every
   slot the weights read; their products, times the rounded temperature, rounded outward,
   bound every score any input can produce.
3. *Promise check* -- a hypothesis proved per position, causal mask included.  ``lookup``:
   the query slot holds a position code p <= i at every position i, the key slot holds the
   code of its own position, and position p beats every other visible position.
   ``last_occurrence``: query and key hold codes of one codebook; for every query value and
   every feasible target j* (a match, or the start token), the target beats every competitor
   an adversary can place (later positions must mismatch, earlier ones are arbitrary).  Strict
   gaps make j* the unique argmax, so ``e_{j*} = 1`` and the softmax leakage is at most
   ``E = sum_j q(exp(S_hi(j) - S_lo(j*)))`` (``q(x) <= min(2x, x + ulp/2)``).
4. *Writes* -- every column of every ``W_O``.  A declared copy ``v -> w`` leaves
   ``code(target's v) + delta`` in ``w`` with
   ``|delta| <= transfer + E/(1+E-u) (range + 2u|W_O|) + rounding``, where the rounding bound
   scales with the largest value magnitude; every other column gets the interval of
   ``out @ W_O`` with ``out`` in the hull of all values, added to that slot's radius.  Heads of
   one layer add; two heads declaring one slot, or a write into a slot that is not empty, is
   UNKNOWN.  Every stored intermediate is range-checked.
5. *Decoding*: snap maps and the decoder decode every ``code(a) + delta`` to ``a``:
   ``||c_a - c_b||^2 > 2 sum_d r_d |c_a,d - c_b,d|`` for all rows b != a.
6. *Composition* (:mod:`attncheck.verifiers.semantics`): labels, verified on the embedding
   and carried by the proved promises, compose to the task.

Any failed hypothesis, gap, decode or range check gives UNKNOWN naming it -- never VERIFIED.
Soundness rests on monotone outward rounding of the emulator's own arithmetic (wide
accumulator, one rounding per stored result) plus a float64 slack.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import FixedPointOverflow, Format
from attncheck.constructions.spec import Construction, Head, Label, Layer, SnapMap
from attncheck.constructions.verdict import BudgetExceeded, Method, Status, Verdict
from attncheck.verifiers import semantics
from attncheck.verifiers.abstract import (SLACK, CertificateFailure, Ctx, SlotState,
                                          check_layout, check_residual_range, content_range,
                                          dot_slack, hull, initial_state, slack, slot_range)
from attncheck.verifiers.codes import code_rows, decode_margin, quant_err
from attncheck.verifiers.promises import HeadReport, check_last_occurrence, check_lookup
from attncheck.verifiers.translation import min_code_distance

PAIRWISE_DECODE_MAX = 1 << 24     # (domain x codebook) pairs checked one by one

__all__ = ["certify", "CertificateFailure", "HeadReport"]


@dataclass
class _Run:
    """Everything the layer loop threads through: context, token facts, reports."""

    ctx: Ctx
    sigma: np.ndarray | None
    tok_book: str | None
    none_row: int
    reports: list


# --- writes ------------------------------------------------------------------------------------
def _value_bounds(ctx: Ctx, head: Head, st: dict, leak: float):
    """Hull [vlo, vhi] (dv,) of every stored value vector, and eta (dv,): how far the stored
    head output ``q(num / z)`` may leave that hull by rounding (softmax: numerator, denominator
    and quotient roundings, the denominator's relative to |value|; hardmax: the quotient)."""
    vlo, vhi = hull(ctx, st, head.W_V, "value")
    vmax = np.maximum(np.abs(vlo), np.abs(vhi))
    u = ctx.u
    if ctx.attention == "softmax":
        ctx.rng("softmax numerator", -(1.0 + leak) * vmax, (1.0 + leak) * vmax)
        eta = u * (2.0 + vmax)
    else:
        eta = np.full_like(vmax, u)
    # float64 sums of the T weighted values and weights (numerator, denominator), then a division
    fl = dot_slack(ctx.T, (1.0 + leak) * (1.0 + vmax)) + slack(vmax)
    return vlo, vhi, vmax, eta + fl


def stray_writes(ctx: Ctx, head: Head, vb, skip: set) -> dict[str, np.ndarray]:
    """Bounds (per slot, (w,)) on what the head adds to every column outside its declared
    writes ``skip``: ``|q(out @ W_O)|`` with ``out`` in the value hull ``vb`` (from
    :func:`_value_bounds`) widened by eta."""
    vlo, vhi, _, eta = vb
    olo, ohi = vlo - eta, vhi + eta
    ctx.rng("head output", olo, ohi)
    W = head.W_O                                                      # (dv, D)
    ylo = np.minimum(olo[:, None] * W, ohi[:, None] * W).sum(axis=0)
    yhi = np.maximum(olo[:, None] * W, ohi[:, None] * W).sum(axis=0)
    fl = dot_slack(W.shape[0], np.maximum(np.abs(olo), np.abs(ohi)) @ np.abs(W))     # float64: out W_O
    ylo, yhi = ylo - fl, yhi + fl
    ctx.rng("head write", ylo, yhi)
    bound = np.where(np.any(W != 0, axis=0), np.maximum(np.abs(ylo), np.abs(yhi)) + ctx.u + slack(yhi), 0.0)
    out = {}
    for s in ctx.c.layout.slots:
        if s.name not in skip and np.any(bound[s.sl]):
            out[s.name] = bound[s.sl]
    return out


def _start_row_ok(run: _Run, label: Label | None, book: str | None, row: int) -> bool:
    """What a copy from the start token must yield: pointer 0, or the token codebook's none row."""
    if label is None:
        return False
    if label.base == "pos":
        return row == 0
    return book == run.tok_book and row == run.none_row and row >= 0


def declared_write(run: _Run, head: Head, st: dict, leak: float, eta, v: str, w: str, targets,
                   label: Label | None) -> SlotState:
    """State of slot ``w`` after the head copies slot ``v`` from its proved target.

    ``targets``: the pointers the lookup's query may hold at each position (a
    :class:`~attncheck.verifiers.rowsets.RowSets`), or None (lastOccurrence: any j <= i, start
    included)."""
    ctx = run.ctx
    c, u = ctx.c, ctx.u
    sv, sw = c.layout[v], c.layout[w]
    if sv.codebook is None or sv.codebook != sw.codebook or sv.width != sw.width:
        raise CertificateFailure(f"hypothesis failed: slot {v!r} is copied into {w!r}, which holds another"
                                 " codebook or width")
    if not st[w].is_empty():
        raise CertificateFailure(f"layer {head_layer(run)} writes into slot {w!r}, which is not empty")
    book = c.codebooks[sv.codebook]
    d = st[v]
    R = d.row_sets(len(book))
    start_row = int(d.rows[0]) if d.kind == "table" else d.start_row
    if not _start_row_ok(run, label, sv.codebook, start_row):
        raise CertificateFailure(f"hypothesis failed: the start token's slot {v!r} (copied on a miss or at"
                                 " pointer 0) does not hold the code of position 0 / bottom")
    Mw = head.W_V @ head.W_O[:, sw.sl]                                 # (D, w)
    Mvw = Mw[sv.sl]
    if d.kind == "table":
        transfer = np.max(np.abs(d.values @ Mvw - book[d.rows]), axis=0)
    else:
        used = d.domain
        transfer = np.maximum(np.max(np.abs(book[used] @ Mvw - book[used]), axis=0, initial=0.0),
                              np.abs(d.start @ Mvw - book[start_row]))
    transfer = transfer + d.radius @ np.abs(Mvw)
    for o in c.layout.slots:
        if o.name == v or not np.any(Mw[o.sl]):
            continue
        olo, ohi = slot_range(ctx, st, o.name, Mw[o.sl])
        transfer = transfer + np.maximum(np.abs(olo), np.abs(ohi))
    Wo = np.abs(head.W_O[:, sw.sl])                                    # (dv, w)
    colsum = Wo.sum(axis=0)
    if ctx.attention == "softmax":
        ylo, yhi = content_range(ctx, st, Mw)
        mix = (leak / (1.0 + leak - u)) * ((yhi - ylo) + 2.0 * u * colsum)
        rnd = u * colsum + eta @ Wo + u
    else:
        mix = 0.0
        rnd = u * colsum + u
    xabs = ctx.abs_hull(st)
    fl = dot_slack(len(xabs) * head.W_V.shape[1], (xabs @ np.abs(head.W_V)) @ Wo)   # float64: x W_V W_O
    rad = transfer + mix + rnd + fl + slack(np.max(np.abs(book), axis=0)) + st[w].radius
    if not np.all(np.isfinite(rad)):
        raise CertificateFailure(f"layer {head_layer(run)}: the error of slot {w!r} is not bounded")
    allowed = (R.cumulative() if targets is None else R.gather(targets)).at_start(-1).compact()
    srow = int(code_rows(st[w].start[None], book, ctx.fmt)[0])
    return SlotState("codes", st[w].start, rad, allowed=allowed, start_row=srow)


def proved_decode_margin(book: np.ndarray, domain: np.ndarray, radius: np.ndarray) -> tuple[float, float]:
    """:func:`~attncheck.verifiers.codes.decode_margin`, pair by pair while that is affordable;
    for a large codebook of rotation codes the same proof from the smallest code distance d
    (proved in O(nb) by :func:`~attncheck.verifiers.translation.min_code_distance`): every pair
    is at least d apart, so ``||c_a - c_b||^2 - 2 sum r|c_a - c_b| >= d (d - 2 |r|_2)``."""
    if len(domain) * len(book) <= PAIRWISE_DECODE_MAX:
        return decode_margin(book, domain, radius)
    d = min_code_distance(book)
    if d is None:
        raise CertificateFailure(f"a {len(book)}-row codebook is too large to check decoding pair by pair"
                                 " and its codes are not proved rotations")
    r = float(np.linalg.norm(radius))
    return d * (d - 2.0 * r), d / (2.0 * np.sqrt(book.shape[1]))


def head_layer(run: _Run) -> int:
    return run.reports[-1].layer if run.reports else 0


def apply_layer(run: _Run, li: int, layer: Layer, st: dict, labels: dict) -> dict:
    """State after layer ``li``: every head checked against ``st``, all writes summed."""
    ctx = run.ctx
    declared: dict[str, int] = {}
    for hi, head in enumerate(layer.heads, start=1):
        if head.promise is None:
            raise CertificateFailure(f"layer {li} head {hi} has no promise")
        for w in head.promise.writes:
            if w in declared:
                raise CertificateFailure(f"hypothesis failed: layer {li} heads {declared[w]} and {hi} both"
                                         f" write slot {w!r} (their outputs add)")
            declared[w] = hi
        if len(head.promise.values) != len(head.promise.writes):
            raise CertificateFailure(f"layer {li} head {hi} copies {len(head.promise.values)} slots into"
                                     f" {len(head.promise.writes)}")
    new = dict(st)
    stray: dict[str, np.ndarray] = {}
    for hi, head in enumerate(layer.heads, start=1):
        p = head.promise
        rep = HeadReport(li, hi, p.describe())
        run.reports.append(rep)
        if p.kind == "lookup":
            leak, targets = check_lookup(ctx, head, st, rep)
        elif p.kind == "last_occurrence":
            leak, targets = check_last_occurrence(ctx, head, st, rep), None
        else:
            raise CertificateFailure(f"layer {li} head {hi}: unknown promise kind {p.kind!r}")
        if ctx.attention == "softmax" and 1.0 + leak > ctx.fmt.hi:
            raise CertificateFailure(f"overflow possible: softmax denominator up to {1 + leak:.4g}"
                                     f" > {ctx.fmt.hi:g} (range of {ctx.fmt})")
        ctx.tick(layer=li)
        vb = _value_bounds(ctx, head, st, leak)                        # shared by both kinds of write
        for v, w in zip(p.values, p.writes):
            new[w] = declared_write(run, head, st, leak, vb[3], v, w, targets, labels.get(v))
        rep.out_error = float(max((np.max(new[w].radius) for w in p.writes), default=0.0))
        for name, r in stray_writes(ctx, head, vb, set(p.writes)).items():
            stray[name] = stray.get(name, 0.0) + r
    for name, r in stray.items():
        if not np.all(np.isfinite(r)):
            raise CertificateFailure(f"layer {li}: what the heads add to slot {name!r} is not bounded")
        new[name] = new[name].widen(r)
    check_residual_range(ctx, new, f"after layer {li}")
    return new


def apply_snap(ctx: Ctx, smap: SnapMap, st: dict, li: int) -> dict:
    """The element-wise map after layer ``li``: each move decodes ``src`` (proved to decode
    uniquely) and writes the exact code into ``dst``; clears zero their slots."""
    c = ctx.c
    new = dict(st)
    for src, dst in smap.moves:
        d, s, t = st[src], c.layout[src], c.layout[dst]
        if d.kind != "codes":
            raise CertificateFailure(f"layer {li} map moves {src!r}, which holds no decodable value")
        if t.codebook != s.codebook or t.width != s.width:
            raise CertificateFailure(f"layer {li} map moves {src!r} into {dst!r} of another codebook")
        book = c.codebooks[s.codebook]
        m, _ = proved_decode_margin(book, d.domain, d.radius)
        if not m > SLACK * (1.0 + float(np.max(book * book, initial=0.0)) * book.shape[1]):
            raise CertificateFailure(f"layer {li} map: slot {src!r} may decode wrongly (margin {m:.4g})")
        srow = int(code_rows(st[dst].start[None], book, ctx.fmt)[0])
        new[dst] = SlotState("codes", st[dst].start, quant_err(ctx.fmt, book[d.domain]),
                             allowed=d.allowed, start_row=srow)
    for name in smap.clears:
        s = c.layout[name]
        values = np.zeros((ctx.T, s.width))
        values[0] = st[name].start
        rows = None if s.codebook is None else code_rows(values, c.codebooks[s.codebook], ctx.fmt)
        new[name] = SlotState("table", st[name].start, np.zeros(s.width), values=values, rows=rows,
                              start_row=st[name].start_row)
    check_residual_range(ctx, new, f"after the map of layer {li}")
    return new


def check_embedding_semantics(ctx: Ctx, st: dict) -> None:
    """The labels the composition starts from hold on the embedding: token slots are labelled
    ``X[i]``; a constant slot labelled ``pos[i+d]`` holds the code of position max(0, i+d) at
    every position (position 0 at the start)."""
    for s in ctx.c.layout.slots:
        if s.label is None or s.kind == "written":
            continue
        if s.kind == "token":
            if s.label.base != "X" or s.label.ops:
                raise CertificateFailure(f"token slot {s.name!r} is labelled {s.label}, not X[i]")
            continue
        if s.label.base != "pos" or any(op != "shift" for op, _ in s.label.ops):
            raise CertificateFailure(f"constant slot {s.name!r} is labelled {s.label}")
        shift = sum(d for _, d in s.label.ops)
        want = np.maximum(0, np.arange(ctx.T) + shift)
        want[0] = 0
        rows = st[s.name].rows
        if rows is None or not np.array_equal(rows, want):
            bad = int(np.flatnonzero(rows != want)[0]) if rows is not None else 0
            raise CertificateFailure(f"hypothesis failed: slot {s.name!r} is labelled {s.label} but at position"
                                     f" {bad} holds the code of position {None if rows is None else int(rows[bad])}")


def _token_facts(c: Construction, st: dict) -> tuple[str | None, int]:
    """(token codebook, none row = the start token's row in it)."""
    toks = [s for s in c.layout.slots if s.kind == "token"]
    if not toks:
        return None, -1
    books = {s.codebook for s in toks}
    if len(books) != 1:
        raise CertificateFailure("token slots use different codebooks")
    rows = {st[s.name].start_row for s in toks}
    return toks[0].codebook, (rows.pop() if len(rows) == 1 else -1)


def check_symbols(c: Construction, run: _Run) -> None:
    """The decoder maps each symbol's own code back to that symbol and the none code to bottom."""
    dec = c.decoder
    if run.sigma is None or dec.codebook != run.tok_book:
        raise CertificateFailure("decoder codebook differs from the token codebook")
    for x, r in enumerate(run.sigma):
        if dec.symbols[r] != x:
            raise CertificateFailure(f"decoder maps the code of symbol {x} to {dec.symbols[r]}")
    if run.none_row < 0 or dec.symbols[run.none_row] is not None:
        raise CertificateFailure("decoder does not map the start token's code to bottom")


def outside_hypotheses(c: Construction) -> str:
    """Why the certificate cannot be tried on ``c`` (empty when it can): weights read from the
    exchange format (docs/format.md) update row 0 by the pass, may hide the start token, and read
    out by argmax over the whole residual; they carry no promises or slot layout either -- all
    hypotheses the certificate needs and does not prove from the weights."""
    gaps = []
    if c.start != "constant":
        gaps.append("a constant start row (this model's layers update row 0)")
    if c.mask == "causal-nostart":
        gaps.append("a start token every position attends to (this model has none)")
    if c.decoder is not None and c.decoder.kind != "nearest":
        gaps.append("a nearest-code decoder on one slot (this model reads out by argmax of x W_U + b_U)")
    if not gaps:
        return ""
    if not any(h.promise is not None for l in c.layers for h in l.heads):
        gaps.insert(0, "each head's promise and a slot layout (this model has none)")
    return "the certificate needs " + "; ".join(gaps) + ": use --mode exhaustive or sample"


def certify(c: Construction, task: str, params: dict, fmt: Format, attention: str = "softmax",
            budget: Budget = UNLIMITED, record: dict | None = None) -> Verdict:
    """Prove ``decode(T(X)) = task(X)`` for all X in Sigma^N, or return UNKNOWN naming the gap
    (or the layer at which ``budget`` ran out).  ``record``: a dict that receives the slot states
    after the embedding and every layer and map (``states``), the head reports (``heads``) and
    the decoder margin (``margin``), for :mod:`attncheck.verifiers.proof_emit`; it never changes
    the verdict."""
    rec = (lambda where, st: record.setdefault("states", []).append((where, dict(st)))) \
        if record is not None else (lambda where, st: None)
    claim = f"{c.name} computes {task} for all {c.alphabet}^{c.n} inputs in {fmt} with {attention}"
    cases = f"{c.alphabet}^{c.n}"
    missing = outside_hypotheses(c)
    if missing:                                   # weights from the exchange format (issue 16)
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases, reason=missing,
                       evidence={"format": str(fmt), "attention": attention})
    ctx = Ctx(c, fmt, attention, budget)
    run = _Run(ctx, None, None, -1, [])
    evidence: dict = {"format": str(fmt), "attention": attention}
    history: list = []
    try:
        check_layout(c)
        evidence["composition"] = semantics.check_composition(c, task, params)
        semantics.compose(c, history=history)
    except semantics.CompositionError as e:
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases,
                       reason=f"promises do not compose to the task: {e}", evidence=evidence)
    except CertificateFailure as e:
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases,
                       reason=f"certificate does not close: {e}", evidence=evidence)
    try:
        if attention == "softmax" and not fmt.is_exact and fmt.hi < 1.0:
            raise CertificateFailure(f"{fmt} cannot hold exp(0) = 1 (softmax weights)")
        st, sigma = initial_state(ctx)
        tok_book, none_row = _token_facts(c, st)
        run = _Run(ctx, sigma, tok_book, none_row, [])
        check_embedding_semantics(ctx, st)
        check_residual_range(ctx, st, "after the embedding")
        rec("embedding", st)
        for li, layer in enumerate(c.layers, start=1):
            ctx.tick(layer=li)
            st = apply_layer(run, li, layer, st, history[li - 1])
            rec(f"layer {li}", st)
            if layer.map is not None:
                st = apply_snap(ctx, layer.map, st, li)
                rec(f"map {li}", st)
        dec = c.decoder
        if c.layout[dec.slot].codebook != dec.codebook:
            raise CertificateFailure(f"decoder reads slot {dec.slot!r} with codebook {dec.codebook!r}, not the"
                                     " slot's own")
        d = st[dec.slot]
        book = c.codebooks[dec.codebook]
        if d.kind != "codes":
            raise CertificateFailure(f"decoder slot {dec.slot!r} is never written")
        ctx.tick(layer="decoder")
        m, rmax = proved_decode_margin(book, d.domain, d.radius)
        evidence["decode"] = {"error": float(np.max(d.radius)), "radius": rmax, "margin": m, "ok": m > 0}
        if not m > SLACK * (1.0 + float(np.max(book * book, initial=0.0)) * book.shape[1]):
            raise CertificateFailure(f"decoder: slot {dec.slot!r} error {np.max(d.radius):.4g} exceeds"
                                     f" the decoding radius {rmax:.4g}")
        check_symbols(c, run)
        if record is not None:
            record.update(margin=m, heads=list(run.reports))
    except BudgetExceeded as e:
        evidence["heads"] = [r.to_json() for r in run.reports]
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases,
                       reason=f"{e} while certifying layer {e.progress.get('layer', '?')}", evidence=evidence)
    except (CertificateFailure, FixedPointOverflow) as e:
        if run.reports and str(e).startswith("layer"):
            run.reports[-1].ok = False
        evidence["heads"] = [r.to_json() for r in run.reports]
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases,
                       reason=f"certificate does not close: {e}", evidence=evidence)
    evidence["heads"] = [r.to_json() for r in run.reports]
    evidence["max_magnitude"] = ctx.max_mag
    worst = min((r.min_gap for r in run.reports), default=np.inf)
    return Verdict(Status.VERIFIED, Method.CERTIFICATE, claim, cases,
                   reason=f"every head's promise holds with score gap >= {worst:.4g}; outputs decode"
                          f" within radius (error {evidence['decode']['error']:.3g} < {evidence['decode']['radius']:.3g})",
                   evidence=evidence)
