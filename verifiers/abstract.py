"""The abstract residual: what every coordinate may hold, derived from the arrays alone.

Shape glossary: T = N + 1 positions (0 = start token), D residual width, w a slot's width,
nb a codebook's rows, k a projection's width, A the rows of a slot's domain.

The certificate (:mod:`attncheck.verifiers.certificate`) never trusts metadata.  Slots,
kinds and codebooks only *name* coordinates; this module proves from the numbers what each
coordinate holds:

* the layout must partition ``[0, D)`` (every coordinate in exactly one slot), so every
  coordinate carries a bound;
* a slot's content at positions ``t >= 1`` is a *centre* plus ``delta`` with
  ``|delta| <= radius`` coordinate-wise (:class:`SlotState`).  The centre is either a table of
  exact per-position values (``table``: position codes, the constant 1, scalar positions,
  empty slots) or a codebook row from a per-position set of allowed rows (``codes``: tokens,
  copied tokens and pointers);
* position 0 is the start row, exact: the emulator resets it after every layer.

The initial state is read off the embedding: ``X_t = q(tok_embed[x] + pos_embed[t])`` for every
symbol x, so anything the token embedding writes into a non-token slot, or the position
embedding into a token slot, becomes radius (measured, not assumed zero).  Every projection
``x @ W`` is bounded over *all* slots the weights read, rounded outward to the number format
with a float64 slack, and range-checked (a saturated value would break every error bound).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from attncheck.constructions.spec import Construction
from attncheck.verifiers.codes import code_rows, nearest_code_rows
from attncheck.verifiers.rowsets import RowSets
from attncheck.constructions.precision import Format

#: Relative slack covering the last few float64 operations that produce a stored quantity (the
#: emulator's and ours; 2^-50 is 8 units of float64 roundoff).  Sums and dot products carry
#: their own bound (:func:`dot_slack`): a slack proportional to |x| would swallow the gap of
#: scores of size 10^9..10^12 (N = 65536..10^6).
SLACK = 2.0 ** -50
#: float64 unit roundoff: a k-term dot product is off by at most ~k * EPS64 * sum |x_i y_i|.
EPS64 = 2.0 ** -53
KINDS = ("const", "token", "written")
#: Largest V x T x w block evaluated to measure embedding cross-talk exactly.
CROSSTALK_CELLS = 20_000_000


class CertificateFailure(Exception):
    """A hypothesis, margin, decode or range condition failed; the message names it."""


def slack(x) -> np.ndarray:
    return SLACK * (1.0 + np.abs(x))


def dot_slack(n_terms: int, mag) -> np.ndarray:
    """Bound on the float64 error of an ``n_terms``-term dot product whose terms sum, in
    absolute value, to at most ``mag`` (a factor 4 above the textbook gamma_k bound)."""
    return 4.0 * n_terms * EPS64 * np.asarray(mag) + 1e-300


def abs_hull(c: Construction, st: dict) -> np.ndarray:
    """(D,) bound on |x_t[d]| over every position, input and coordinate d."""
    out = np.abs(np.asarray(c.start_row, float)).copy()
    for s in c.layout.slots:
        d = st[s.name]
        m = np.abs(d.values).max(axis=0) if d.kind == "table" else \
            np.abs(c.codebooks[s.codebook][d.domain]).max(axis=0, initial=0.0)
        out[s.sl] = np.maximum(out[s.sl], m + d.radius)
    return out


@dataclass(frozen=True, eq=False)
class SlotState:
    """What one slot may hold.  ``start`` (w,): the exact start-token content.

    ``kind == "table"``: at position t >= 1 the content is ``values[t] + delta`` (``values``
    (T, w), row 0 = ``start``); ``rows`` (T,) names the codebook row of each centre (-1 none),
    or is None for slots without a codebook.
    ``kind == "codes"``: at position t >= 1 the content is ``book[r] + delta`` for some row r
    in ``allowed`` (:class:`~attncheck.verifiers.rowsets.RowSets`, position 0 empty); the start
    content is row ``start_row`` (-1: no row).
    Both: ``|delta| <= radius`` (w,) coordinate-wise."""

    kind: str
    start: np.ndarray
    radius: np.ndarray
    values: np.ndarray | None = None
    rows: np.ndarray | None = None
    allowed: RowSets | None = None
    start_row: int = -1

    @property
    def T(self) -> int:
        return self.allowed.T if self.kind == "codes" else len(self.values)

    @property
    def domain(self) -> np.ndarray:
        """Rows allowed at some position t >= 1 (codes only)."""
        return self.allowed.domain()

    def row_sets(self, nb: int) -> RowSets:
        """The codebook rows this slot may name at each position (position 0: the start's)."""
        if self.kind == "codes":
            return self.allowed.at_start(self.start_row)
        if self.rows is None or np.any(self.rows < 0):
            bad = 0 if self.rows is None else int(np.flatnonzero(self.rows < 0)[0])
            raise CertificateFailure(f"position {bad} holds no code")
        return RowSets.single(self.rows, nb)

    def is_empty(self) -> bool:
        """Centre zero at every position t >= 1 (the slot may still carry radius)."""
        return self.kind == "table" and not np.any(self.values[1:])

    def widen(self, extra: np.ndarray) -> "SlotState":
        return replace(self, radius=self.radius + extra)


@dataclass
class Ctx:
    """The construction, format and attention being certified, and running bookkeeping."""

    c: Construction
    fmt: Format
    attention: str
    budget: object = None
    max_mag: float = 0.0
    _hulls: list = field(default_factory=list)

    def abs_hull(self, st: dict) -> np.ndarray:
        """:func:`abs_hull` of a state, computed once per state (states are never mutated
        after a layer is applied; the dict is kept so its identity stays unique)."""
        for key, val in self._hulls:
            if key is st:
                return val
        out = abs_hull(self.c, st)
        self._hulls.append((st, out))
        del self._hulls[:-4]
        return out

    @property
    def T(self) -> int:
        return self.c.n + 1

    @property
    def u(self) -> float:
        return self.fmt.max_rounding_error

    def tick(self, **progress) -> None:
        if self.budget is not None:
            self.budget.check(**progress)

    def rng(self, what: str, lo, hi) -> None:
        """Every value in [lo, hi] must fit the format (no saturation, no overflow)."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        m = float(max(np.max(np.abs(lo), initial=0.0), np.max(np.abs(hi), initial=0.0)))
        if not np.isfinite(m):
            raise CertificateFailure(f"{what} is not bounded")
        self.max_mag = max(self.max_mag, m)
        if not self.fmt.is_exact and m > self.fmt.hi:
            raise CertificateFailure(f"overflow possible: {what} reaches {m:.4g} > {self.fmt.hi:g}"
                                     f" (range of {self.fmt})")

    def outward(self, lo, hi):
        """Stored value of any x in [lo, hi] (computed in float64): lies in the returned pair."""
        return self.fmt.quantize(lo - slack(lo)), self.fmt.quantize(hi + slack(hi))


# --- layout and codes ----------------------------------------------------------------------
def check_layout(c: Construction) -> None:
    """The mask is causal; slots partition [0, D); kinds are known; codebooks exist with the
    slot's width."""
    if c.mask != "causal":
        raise CertificateFailure(f"mask kind {c.mask!r}: the promises (lookup, last_occurrence) are"
                                 " proved under the causal mask only")
    if c.decoder is None:
        raise CertificateFailure("the construction has no decoder: its outputs are not symbols")
    D = c.width
    owner = np.full(D, -1)
    for i, s in enumerate(c.layout.slots):
        if s.kind not in KINDS:
            raise CertificateFailure(f"slot {s.name!r} has unknown kind {s.kind!r} (known: {', '.join(KINDS)})")
        if not 0 <= s.start < s.stop <= D:
            raise CertificateFailure(f"slot {s.name!r} spans {s.start}..{s.stop}, outside the width {D}")
        if np.any(owner[s.sl] >= 0):
            raise CertificateFailure(f"slot {s.name!r} overlaps slot {c.layout.slots[owner[s.sl].max()].name!r}")
        owner[s.sl] = i
        if s.codebook is not None and (s.codebook not in c.codebooks
                                       or c.codebooks[s.codebook].shape[1] != s.width):
            raise CertificateFailure(f"slot {s.name!r} names codebook {s.codebook!r}, which is missing or of"
                                     " another width")
    if np.any(owner < 0):
        raise CertificateFailure(f"residual coordinate {int(np.flatnonzero(owner < 0)[0])} belongs to no slot")
    arrays = [c.tok_embed, c.pos_embed, c.start_row, *c.codebooks.values()]
    arrays += [getattr(h, w) for l in c.layers for h in l.heads for w in ("W_Q", "W_K", "W_V", "W_O")]
    if not all(np.all(np.isfinite(a)) for a in arrays) or not all(
            np.isfinite(h.temperature) for l in c.layers for h in l.heads):
        raise CertificateFailure("the weights contain a non-finite number")


def _crosstalk(ctx: Ctx, tok: np.ndarray, pos: np.ndarray, centre: np.ndarray, per_symbol: bool) -> np.ndarray:
    """(w,) max over symbols x and positions t >= 1 of ``|q(tok[x] + pos[t]) - centre|`` where
    the centre is ``centre[x]`` (``per_symbol``: token slots, the code of x) or ``centre[t-1]``
    (other slots: q(pos[t]))."""
    V, Tm, w = tok.shape[0], pos.shape[0], tok.shape[1]
    if V * Tm * w > CROSSTALK_CELLS:
        raise CertificateFailure("token and position embeddings overlap on a slot too wide to bound"
                                 " exactly")
    X = ctx.fmt.quantize(tok[:, None, :] + pos[None, :, :])            # (V, T-1, w)
    ref = centre[:, None, :] if per_symbol else centre[None, :, :]
    return np.max(np.abs(X - ref), axis=(0, 1)) + slack(np.max(np.abs(X), axis=(0, 1)))


def initial_state(ctx: Ctx) -> tuple[dict[str, SlotState], np.ndarray | None]:
    """Every slot's state after the embedding, and the symbol -> token-row map sigma (V,)."""
    c, fmt = ctx.c, ctx.fmt
    T = ctx.T
    start = fmt.quantize(c.start_row)
    tok_all, pos_all = c.tok_embed, c.pos_embed[1:]
    ctx.rng("embedding", -(np.abs(tok_all).max(axis=0) + np.abs(pos_all).max(axis=0, initial=0.0)),
            np.abs(tok_all).max(axis=0) + np.abs(pos_all).max(axis=0, initial=0.0))
    ctx.rng("start token", start, start)
    st: dict[str, SlotState] = {}
    sigma = None
    for s in c.layout.slots:
        ctx.tick(layer=0)
        tok, pos = tok_all[:, s.sl], pos_all[:, s.sl]
        book = c.codebooks[s.codebook] if s.codebook else None
        srow = -1 if book is None else int(code_rows(start[None, s.sl], book, fmt)[0])
        if s.kind == "token":
            if book is None:
                raise CertificateFailure(f"token slot {s.name!r} names no codebook")
            qt = fmt.quantize(tok)
            sig = nearest_code_rows(qt, book, fmt)
            if len(set(sig.tolist())) < len(sig):
                raise CertificateFailure(f"two symbols share a code in token slot {s.name!r}")
            if sigma is not None and not np.array_equal(sig, sigma):
                raise CertificateFailure(f"token slot {s.name!r} codes the symbols differently from another token slot")
            sigma = sig
            if np.any(pos):
                rad = _crosstalk(ctx, tok, pos, book[sig], True)
            else:
                rad = np.max(np.abs(qt - book[sig]), axis=0) + slack(np.max(np.abs(qt), axis=0))
            st[s.name] = SlotState("codes", start[s.sl], rad, allowed=RowSets.constant(T, sig, len(book)),
                                   start_row=srow)
        else:
            values = np.vstack([start[None, s.sl], fmt.quantize(pos)])
            rad = np.zeros(s.width)
            if np.any(tok):
                rad = _crosstalk(ctx, tok, pos, values[1:], False)
            rows = None if book is None else code_rows(values, book, fmt)
            st[s.name] = SlotState("table", start[s.sl], rad, values=values, rows=rows, start_row=srow)
    return st, sigma


# --- bounds on projections -------------------------------------------------------------------
def _W(W: np.ndarray, sl: slice) -> np.ndarray:
    return W[sl] if W.ndim == 2 else W[:, sl]


def _slot_terms(c: Construction, d: SlotState, s, Ws: np.ndarray):
    """Centre (T, k) and radius (T, k) of ``content @ Ws`` at each position t >= 1 over all
    inputs (row 0 meaningless); ``Ws`` (w, k) or index-specific (T, w, k)."""
    T = d.T
    if d.kind == "table":
        ctr = d.values @ Ws if Ws.ndim == 2 else np.einsum("tw,twk->tk", d.values, Ws)
        rad = np.broadcast_to(d.radius @ np.abs(Ws), ctr.shape) if Ws.ndim == 2 else \
            np.einsum("w,twk->tk", d.radius, np.abs(Ws))
        return ctr, rad
    book = c.codebooks[s.codebook]
    dom = d.domain
    if Ws.ndim == 2:
        y = book[dom] @ Ws                                             # (A, k)
        lo, hi = y.min(axis=0), y.max(axis=0)
        r = d.radius @ np.abs(Ws)
        return np.broadcast_to(0.5 * (lo + hi), (T, Ws.shape[1])), np.broadcast_to(0.5 * (hi - lo) + r,
                                                                                   (T, Ws.shape[1]))
    y = np.einsum("aw,twk->tak", book[dom], Ws)                        # (T, A, k)
    lo, hi = y.min(axis=1), y.max(axis=1)
    return 0.5 * (lo + hi), 0.5 * (hi - lo) + np.einsum("w,twk->tk", d.radius, np.abs(Ws))


#: Above this many (position x value x coordinate) entries a separable projection is kept in its
#: parts and expanded only if a check asks for the full table.
LAZY_ENTRIES = 1 << 22


@dataclass(frozen=True, eq=False)
class Proj:
    """Interval bounds of a stored projection ``q(x_t @ W)``, per position and per value of the
    declared slot.  ``lo``, ``hi``: (P, A, k) and ``rows``: (P, A) (the declared slot's codebook
    row of each value, -1 none), with P = T, or P = 2 when ``compact``: row 0 is the start token
    and row 1 stands for every position >= 1 (the bounds are proved equal there).  ``sets``:
    which values may occur where (None: one value per position); ``dom`` (A,): the values.
    ``parts`` (codes slots read through a position-independent map): ``(base_c, base_r, y, r,
    extra)`` with every stored value at position t >= 1 and value a inside
    ``base_c[t] + y[a] -+ (base_r[t] + r + extra)`` -- the separable form the lastOccurrence
    check uses to avoid a (position x value x value) table.  A large separable projection keeps
    ``lo``/``hi`` unexpanded (None) until :meth:`bounds` is asked; ``start`` holds row 0."""

    lo: np.ndarray | None
    hi: np.ndarray | None
    rows: np.ndarray
    compact: bool
    T: int
    sets: RowSets | None = None
    dom: np.ndarray | None = None
    parts: tuple | None = None
    start: tuple | None = None
    ctx: object = None
    fl: object = 0.0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) (P, A, k), expanded from ``parts`` on first use and rounded outward exactly
        as an eagerly built projection is."""
        if self.lo is None:
            base_c, base_r, y, r, _ = self.parts
            rad = base_r[:, None, :] + r + self.fl
            lo, hi = self.ctx.outward(base_c[:, None, :] + y[None] - rad, base_c[:, None, :] + y[None] + rad)
            lo[0], hi[0] = self.start
            object.__setattr__(self, "lo", lo)
            object.__setattr__(self, "hi", hi)
        return self.lo, self.hi

    def at(self, idx: np.ndarray):
        """(lo, hi, rows) at positions ``idx`` (>= 1)."""
        j = np.ones_like(idx) if self.compact else idx
        lo, hi = self.bounds()
        return lo[j], hi[j], self.rows[j]

    def start_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) (A, k) of the start token's row."""
        if self.lo is None:
            return self.start
        return self.lo[0], self.hi[0]

    def valid(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx), A) bool: the value may occur at the position (idx >= 1)."""
        A = self.rows.shape[1]
        if self.sets is None:
            return np.ones((len(idx), A), bool)
        return self.sets.members(idx, self.dom)

    def full(self):
        """(lo, hi, rows, valid) materialised over all T positions (small A only); position 0
        is the start token with its one value."""
        idx = np.arange(1, self.T)
        lo, hi, rows = self.at(idx)
        valid = np.zeros((self.T, self.rows.shape[1]), bool)
        valid[1:] = self.valid(idx)
        valid[0, 0] = True
        lo0, hi0 = self.start_bounds()
        cat = lambda x0, x: np.concatenate([x0[None], x], axis=0)
        return cat(lo0, lo), cat(hi0, hi), cat(self.rows[0], rows), valid


def project(ctx: Ctx, st: dict, W: np.ndarray, decl: str | None, what: str) -> Proj:
    """Interval bounds of the stored ``q(x_t @ W)`` per position and per value of slot ``decl``.

    Every slot the weights read contributes: ``decl`` per value (its table centre, or each
    allowed codebook row), every other slot its whole range.  Position 0 is the exact start
    row.  When the other slots' contribution is the same at every position >= 1 and the
    declared slot holds codes, the result is compact (one row for all positions)."""
    c, T = ctx.c, ctx.T
    k = W.shape[-1]
    base_c = np.zeros((T, k))
    base_r = np.zeros((T, k))
    for s in c.layout.slots:
        if s.name == decl:
            continue
        Ws = _W(W, s.sl)
        if not np.any(Ws):
            continue
        ctr, rad = _slot_terms(c, st[s.name], s, Ws)
        base_c = base_c + ctr
        base_r = base_r + rad
    d = st[decl] if decl is not None else None
    same = W.ndim == 2 and bool(np.all(base_c[1:] == base_c[1:2]) and np.all(base_r[1:] == base_r[1:2]))
    compact = same and (d is None or d.kind == "codes")
    if compact:
        base_c, base_r = base_c[:2], base_r[:2]
    P = base_c.shape[0]
    sets, dom = None, None
    if d is None:
        centre, rad = base_c[:, None, :], base_r[:, None, :]
        rows = np.full((P, 1), -1)
    elif d.kind == "table":
        s = c.layout[decl]
        ctr, r = _slot_terms(c, d, s, _W(W, s.sl))
        centre, rad = (base_c + ctr)[:, None, :], (base_r + r)[:, None, :]
        rows = (np.full(T, -1) if d.rows is None else d.rows)[:, None].copy()
    else:
        s = c.layout[decl]
        Wd = _W(W, s.sl)
        book = c.codebooks[s.codebook]
        dom = d.domain
        rows = np.broadcast_to(dom, (P, len(dom))).copy()
        sets = d.allowed
        if d.start_row >= 0:
            rows[0] = d.start_row
        if Wd.ndim == 2:
            return _separable(ctx, st, W, what, base_c, base_r, book[dom] @ Wd, d.radius @ np.abs(Wd),
                              rows, compact, sets, dom)
        y = np.einsum("aw,twk->tak", book[dom], Wd)
        r = np.einsum("w,twk->tk", d.radius, np.abs(Wd))
        centre = base_c[:, None, :] + y
        rad = base_r[:, None, :] + r[:, None, :]
    centre = np.array(centre, dtype=float)
    rad = np.array(np.broadcast_to(rad, centre.shape), dtype=float)
    Wabs = np.abs(W) if W.ndim == 2 else np.abs(W).max(axis=0)
    rad += dot_slack(W.shape[-2], ctx.abs_hull(st) @ Wabs)            # float64 evaluation
    centre[0] = ctx.fmt.quantize(ctx.c.start_row) @ (W if W.ndim == 2 else W[0])
    rad[0] = 0.0
    if d is not None:
        rows[0] = d.start_row
    lo, hi = centre - rad, centre + rad
    ctx.rng(what, lo, hi)
    lo, hi = ctx.outward(lo, hi)
    return Proj(lo, hi, rows, compact, T, sets, dom)


def _separable(ctx: Ctx, st: dict, W: np.ndarray, what: str, base_c, base_r, y, r, rows, compact,
               sets, dom) -> Proj:
    """A codes slot read through a position-independent map: every stored value at position
    t >= 1 and value a lies in ``base_c[t] + y[a] -+ (base_r[t] + r + extra)``, where extra
    covers float64 evaluation and the outward rounding (a stored q(x) is within slack + u of
    x).  The range check uses these bounds; the full table is expanded only on demand."""
    fl = dot_slack(W.shape[-2], ctx.abs_hull(st) @ np.abs(W))         # float64 evaluation
    mag = (np.abs(base_c[1:]) + base_r[1:]).max(axis=0) + np.abs(y).max(axis=0) + r + fl
    ctx.rng(what, -mag, mag)
    extra = fl + 2.0 * slack(mag) + 2.0 * ctx.u
    x0 = ctx.fmt.quantize(ctx.c.start_row) @ W
    ctx.rng(what, x0, x0)
    lo0, hi0 = ctx.outward(x0, x0)
    start = (np.broadcast_to(lo0, y.shape).copy(), np.broadcast_to(hi0, y.shape).copy())
    p = Proj(None, None, rows, compact, ctx.T, sets, dom, (base_c, base_r, y, r, extra), start, ctx, fl)
    if base_c.shape[0] * y.size <= LAZY_ENTRIES:
        p.bounds()
    return p


def hull(ctx: Ctx, st: dict, W: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(k,) interval containing the stored ``q(x_t @ W)`` at every position and input."""
    if W.ndim != 2:
        raise CertificateFailure(f"index-specific {what} maps are not covered by the certificate")
    lo, hi = project(ctx, st, W, None, what).bounds()
    return lo.min(axis=(0, 1)), hi.max(axis=(0, 1))


def content_range(ctx: Ctx, st: dict, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k,) range of the *unrounded* ``x_t @ M`` over every position (start included) and input."""
    c = ctx.c
    lo = np.zeros(M.shape[1])
    hi = np.zeros(M.shape[1])
    for s in c.layout.slots:
        Ms = M[s.sl]
        if not np.any(Ms):
            continue
        ctr, rad = _slot_terms(c, st[s.name], s, Ms)
        lo = lo + (ctr[1:] - rad[1:]).min(axis=0)
        hi = hi + (ctr[1:] + rad[1:]).max(axis=0)
    x0 = ctx.fmt.quantize(c.start_row) @ M
    return np.minimum(lo, x0) - slack(lo), np.maximum(hi, x0) + slack(hi)


def slot_range(ctx: Ctx, st: dict, name: str, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k,) range of ``content(slot) @ M`` over all positions (start included) and inputs."""
    s = ctx.c.layout[name]
    ctr, rad = _slot_terms(ctx.c, st[name], s, M)
    x0 = st[name].start @ M
    lo, hi = (ctr[1:] - rad[1:]).min(axis=0), (ctr[1:] + rad[1:]).max(axis=0)
    return np.minimum(lo, x0), np.maximum(hi, x0)


def check_residual_range(ctx: Ctx, st: dict, where: str) -> None:
    """Every stored residual coordinate fits the format."""
    for s in ctx.c.layout.slots:
        d = st[s.name]
        if d.kind == "table":
            m = np.abs(d.values).max(axis=0) + d.radius
        else:
            m = np.abs(ctx.c.codebooks[s.codebook][d.domain]).max(axis=0, initial=0.0) + d.radius
            m = np.maximum(m, np.abs(d.start))
        ctx.rng(f"residual slot {s.name!r} {where}", -m, m)
