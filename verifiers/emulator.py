"""One batched forward pass for every construction, in float64 or bounded precision.

Shape glossary: B batch, N sequence length, T = N + 1 positions (0 = start token), D residual
width, H heads, dk/dv head widths.

The arithmetic follows :mod:`attncheck.constructions.precision` exactly: every stored quantity is
put into the format -- embeddings, q, k, v, scores (after the temperature), max-subtracted
exponentials, numerator, denominator, the division, the head output after ``W_O`` and the
residual; dot products use a wide accumulator (exact, one rounding).  In a ``fixed:I.F`` format
the pass runs on grid integers (:mod:`attncheck.verifiers.gridpass`), exactly at every width;
``exact`` is plain float64.

Attention is ``softmax`` at each head's temperature, or ``hardmax`` (docs/theorems.md 1.1: the
argmax set is averaged, ties included).  The mask is the construction's kind
(:func:`attncheck.constructions.spec.attention_mask`: causal j <= i for the sequence tasks, the
whole sequence for the SHT23 heads); the start token (row 0) is a constant key/value row that
the layers do not update -- except for weights read from the exchange format
(``Construction.start == "token"``, docs/format.md), whose plain pass updates row 0 like every
row (row 0 sees only itself, so it is the same for every input), and whose read-out is the
argmax of ``x W_U + b_U`` (``Decoder.kind == "linear"``; in a fixed format decided exactly).

Two entry points run the same pass: :func:`forward` embeds tokens and calls
:func:`forward_residual`, which runs a residual that is already embedded (qSA's rows are real
vectors and pointer sets, not tokens from a table).

The emulator never looks at the task: it runs weights.  It returns a :class:`Trace` so tests
and counterexample reports can inspect the mechanism, not only the answer.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from attncheck.constructions.gridmath import dyadic, max_abs, round_shift
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.spec import Construction, Head, SnapMap, attention_mask
from attncheck.verifiers.gridpass import Grid, PreparedHead, Weight

BOT_CODE = -1   # decoded output meaning "bottom" in integer arrays


@dataclass(frozen=True, eq=False)
class Trace:
    """``residuals[l]``: (B, T, D) after layer l (index 0 = embedding); ``attention[l]``:
    (B, H, T, T) weights of layer l+1 (rows = queries); ``rows``: (B, N) decoded codebook rows;
    ``outputs``: (B, N) symbols with ``BOT_CODE`` for bottom.  ``grid[l]``: in a fixed format, the
    residuals as exact grid integers (``residuals`` holds their float64 values, rounded beyond 53
    bits).  Residuals/attention/grid are empty lists when the pass ran with ``keep=False``."""

    residuals: list
    attention: list
    rows: np.ndarray
    outputs: np.ndarray
    grid: list = field(default_factory=list)


def _project(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(B, T, D) x (D, k) or index-specific (T, D, k) -> (B, T, k)."""
    if W.ndim == 2:
        return X @ W
    return np.einsum("btd,tdk->btk", X, W)


def embed(c: Construction, tokens: np.ndarray, fmt: Format = EXACT) -> np.ndarray:
    """tokens (B, N) int -> residual (B, T, D)."""
    tokens = np.asarray(tokens)
    if not fmt.is_exact:
        g = Grid(fmt)
        return g.to_values(embed_grid(c, g, tokens))
    B, N = tokens.shape
    X = np.empty((B, N + 1, c.width))
    X[:, 0, :] = c.start_row
    X[:, 1:, :] = c.tok_embed[tokens] + c.pos_embed[1:][None, :, :]
    return fmt.quantize(X, "embedding")


def attend(head: Head, X: np.ndarray, fmt: Format, attention: str,
           mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One head on residual X (B, T, D) -> (contribution (B, T, D), weights (B, T, T)).  In a
    fixed format X holds the float64 values of grid numbers (an off-grid X is read exactly)."""
    if not fmt.is_exact:
        g, X = Grid(fmt), np.asarray(X, dtype=np.float64)
        ph, mask = g.head(head), np.asarray(mask, dtype=bool)
        scaled = X * 2.0 ** g.F
        if np.all(scaled == np.rint(scaled)):
            y, w = attend_grid(g, ph, g.from_values(X), attention, mask)
        else:                                      # a caller's own off-grid residual, read exactly
            qkv = [project_fractions(g, X, wt, what)
                   for wt, what in ((ph.W_Q, "query"), (ph.W_K, "key"), (ph.W_V, "value"))]
            y, w = attend_grid(g, ph, None, attention, mask, qkv)
        return g.to_values(y), w
    q = fmt.quantize(_project(X, head.W_Q), "query")                # (B, T, dk)
    k = fmt.quantize(_project(X, head.W_K), "key")                  # (B, T, dk)
    v = fmt.quantize(_project(X, head.W_V), "value")                # (B, T, dv)
    c = float(fmt.quantize(head.temperature, "temperature"))
    s = fmt.quantize(c * (q @ np.swapaxes(k, 1, 2)), "score")       # (B, T, T)
    s = np.where(mask, s, -np.inf)
    m = s.max(axis=2, keepdims=True)                                # (B, T, 1)
    if attention == "hardmax":
        w = (s == m).astype(np.float64)                             # ties averaged
        z = w.sum(axis=2, keepdims=True)
        num = w @ v
        out = fmt.quantize(num / z, "head output")
        weights = w / z
    else:
        e = fmt.quantize(np.exp(s - m), "exponential")              # masked entries -> 0
        z = fmt.quantize(e.sum(axis=2, keepdims=True), "denominator")
        num = fmt.quantize(e @ v, "numerator")                      # (B, T, dv)
        out = fmt.quantize(num / z, "head output")
        weights = e / z
    y = fmt.quantize(out @ head.W_O, "head write")                  # (B, T, D)
    return y, weights


def nearest_rows(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Index of the L2-nearest code for each row: values (..., w), codes (n, w) -> (...)."""
    scores = values @ codes.T - 0.5 * np.sum(codes * codes, axis=1)
    return np.argmax(scores, axis=-1)


def apply_map(c: Construction, smap: SnapMap, X: np.ndarray, fmt: Format) -> np.ndarray:
    """Element-wise snap map (spec.SnapMap): moves read the pre-map row."""
    if not fmt.is_exact:
        g = Grid(fmt)
        return g.to_values(map_grid(c, g, smap, g.from_values(X, "map input")))
    out = X.copy()
    for src, dst in smap.moves:
        s, d = c.layout[src], c.layout[dst]
        codes = c.codebooks[s.codebook]
        out[..., d.sl] = codes[nearest_rows(X[..., s.sl], codes)]
    for name in smap.clears:
        out[..., c.layout[name].sl] = 0.0
    return fmt.quantize(out, "map output")


def decode(c: Construction, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Final residual (B, T, D) -> (rows (B, N), outputs (B, N) with BOT_CODE for bottom);
    (B, 0) arrays when the construction has no decoder (its output is read from the residual)."""
    dec = c.decoder
    if dec is None:
        empty = np.zeros((X.shape[0], 0), dtype=np.int64)
        return empty, empty
    if dec.kind == "linear":                                        # argmax of x W_U + b_U
        rows = np.argmax(X[:, 1:, :] @ dec.W_U + dec.b_U, axis=-1)
    else:
        codes = c.codebooks[dec.codebook]
        rows = nearest_rows(X[:, 1:, c.layout[dec.slot].sl], codes)
    return rows, symbol_table(dec)[rows]


def symbol_table(dec) -> np.ndarray:
    """The decoder's output per codebook row (or read-out column): symbols, BOT_CODE for bottom,
    spec.NEITHER (-2) for an exchange id that means neither."""
    return np.array([BOT_CODE if s is None else s for s in dec.symbols], dtype=np.int64)


def forward(c: Construction, tokens, fmt: Format = EXACT, attention: str = "softmax",
            keep: bool = True) -> Trace:
    """Run construction ``c`` on a batch of token sequences (B, N) in format ``fmt``."""
    _check_attention(attention)
    tokens = np.atleast_2d(np.asarray(tokens, dtype=np.int64))
    if not fmt.is_exact:
        g = Grid(fmt)
        return forward_grid(c, g, embed_grid(c, g, tokens), attention, keep)
    return forward_residual(c, embed(c, tokens, fmt), fmt, attention, keep)


def _check_attention(attention: str) -> None:
    if attention not in ("softmax", "hardmax"):
        raise ValueError(f"attention must be softmax or hardmax, got {attention!r}")


def forward_residual(c: Construction, X: np.ndarray, fmt: Format = EXACT, attention: str = "softmax",
                     keep: bool = True) -> Trace:
    """Run the layers of ``c`` on an embedded residual X (B, T, D), already in ``fmt`` (row 0 is
    the start row), under the construction's mask kind; decode when ``c`` has a decoder."""
    _check_attention(attention)
    if not fmt.is_exact:
        g = Grid(fmt)
        return forward_grid(c, g, g.from_values(X, "embedding"), attention, keep)
    T = X.shape[1]
    mask = attention_mask(c.mask, T)[None]                           # (1, T, T)
    start = X[:, :1, :].copy()
    residuals, attn = ([X], []) if keep else ([], [])
    for layer in c.layers:
        total = np.zeros_like(X)
        ws = []
        for head in layer.heads:
            y, w = attend(head, X, fmt, attention, mask)
            total += y
            ws.append(w)
        X = fmt.quantize(X + total, "residual")
        if layer.map is not None:
            X = apply_map(c, layer.map, X, fmt)
        if c.start == "constant":
            X[:, :1, :] = start                                      # constant start row
        if keep:
            residuals.append(X)
            attn.append(np.stack(ws, axis=1))                         # (B, H, T, T)
    rows, outputs = decode(c, X)
    return Trace(residuals, attn, rows, outputs)


def explain(c: Construction, tokens, position: int, fmt: Format = EXACT,
            attention: str = "softmax") -> dict:
    """Replay one input and report, per layer and head, where 1-indexed ``position`` attends."""
    tr = forward(c, np.asarray(tokens)[None, :], fmt, attention, keep=True)
    layers = []
    for li, w in enumerate(tr.attention):
        for h in range(w.shape[1]):
            row = w[0, h, position]
            j = int(np.argmax(row))
            layers.append({"layer": li + 1, "head": h + 1, "argmax": j, "weight": float(row[j])})
    out = tr.outputs[0, position - 1]
    return {"layers": layers, "output": None if out == BOT_CODE else int(out)}


# --- the pass on grid integers (fixed formats; arithmetic in gridpass.py) ---------------------
_TABLES: "weakref.WeakKeyDictionary[Construction, dict]" = weakref.WeakKeyDictionary()


def embedding_table(c: Construction, g: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(start row (D,), table (V, N, D)): the stored embedding of every symbol at every position
    1..N, ``q(tok_embed[x] + pos_embed[t])`` rounded once from the exact sum; cached per format."""
    per = _TABLES.setdefault(c, {})
    key = ("embed", str(g.fmt))
    if key not in per:
        start = g.from_values(c.start_row, "embedding")
        table = g.add_exact_fraction(c.tok_embed[:, None, :], c.pos_embed[None, 1:, :], "embedding")
        per[key] = (start, table)
    return per[key]


def embed_grid(c: Construction, g: Grid, tokens: np.ndarray) -> np.ndarray:
    """tokens (B, N) -> residual (B, T, D) of grid integers."""
    start, table = embedding_table(c, g)
    B, N = tokens.shape
    X = np.empty((B, N + 1, c.width), dtype=table.dtype)
    X[:, 0, :] = start
    X[:, 1:, :] = table[tokens, np.arange(N)[None, :]]
    return X


def project_fractions(g: Grid, X: np.ndarray, w: Weight, what: str) -> np.ndarray:
    """Stored ``X @ W`` for float64 values X (B, T, D) off the grid: both as exact binary fractions
    (Python ints), one rounding.  Slow; only callers' own residuals take it."""
    Mx, ex = dyadic(X)
    P = Mx @ w.M if w.M.ndim == 2 else np.stack([Mx[:, t] @ w.M[t] for t in range(Mx.shape[1])], axis=1)
    shift = ex + w.e - g.F                                          # P is held at 2^-(ex + e)
    return g.settle(round_shift(P, shift) if shift >= 0 else P * (1 << -shift), what)


def attend_grid(g: Grid, ph: PreparedHead, X: np.ndarray, attention: str,
                mask: np.ndarray, qkv: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One head on grid integers X (B, T, D) -> (stored write (B, T, D), weights (B, T, T));
    ``qkv``: the stored queries, keys and values when the caller computed them."""
    if qkv is None:
        qkv = [g.project(X, ph.W_Q, "query"),                       # (B, T, dk)
               g.project(X, ph.W_K, "key"),                         # (B, T, dk)
               g.project(X, ph.W_V, "value")]                       # (B, T, dv)
    q, k, v = qkv
    s = g.scores(q, k, ph.temperature)                              # (B, T, T)
    out, w = mix(g, s, v, mask, attention)
    return g.project(out, ph.W_O, "head write"), w


def mix(g: Grid, s: np.ndarray, v: np.ndarray, mask: np.ndarray, attention: str):
    """Attention over the last axis of stored scores s (..., T) with values v (..., T, dv) (or one
    query row: s (B, T), v (B, T, dv)) -> (stored head output (..., dv), weights (..., T), float64)."""
    rows = s.ndim == v.ndim - 1
    sm = np.where(mask, s, -np.inf if g.fast else g.lo - 1)
    m = sm.max(axis=-1, keepdims=True)                              # (..., 1)
    vb = max_abs(v)
    if attention == "hardmax":
        sel = np.equal(sm, m).astype(bool) & mask                   # ties averaged
        cnt = sel.sum(axis=-1, keepdims=True)
        a = sel.astype(np.float64) if g.fast else sel.astype(np.int64).astype(object)
        num = g.exact_matmul(a, v, s.shape[-1] * vb, rows)
        return g.ratio(num, cnt, 0, "head output"), sel / cnt
    d = np.where(mask, m - sm, np.inf)                              # grid distances, inf masked
    e = g.exp(d)                                                    # (..., T)
    emax = min(1 << g.F, g.hi)                                      # exp(0), stored
    if emax < 1:
        raise ValueError(f"softmax is undefined in {g.fmt}: exp(0) rounds to 0")
    zb = s.shape[-1] * emax                                         # z >= exp(0) > 0, z <= zb
    z = g.settle(g.rowsum(e, emax), "denominator", zb)              # (..., 1) exact, then stored
    bound = zb * vb
    num = g.round_stored(g.exact_matmul(e, v, bound, rows), g.F, "numerator", bound)
    out = g.ratio(num, z, g.F, "head output", (bound >> g.F) + 1, zb)
    return out, g.to_values(e) / g.to_values(z)


def map_grid(c: Construction, g: Grid, smap: SnapMap, X: np.ndarray) -> np.ndarray:
    """Element-wise snap map on grid integers: the nearest code (decided exactly), stored."""
    out = X.copy()
    for src, dst in smap.moves:
        s, d = c.layout[src], c.layout[dst]
        codes = c.codebooks[s.codebook]
        out[..., d.sl] = g.from_values(codes, "map output")[g.nearest(X[..., s.sl], codes)]
    for name in smap.clears:
        out[..., c.layout[name].sl] = 0
    return g.settle(out, "map output")


def decode_grid(c: Construction, g: Grid, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode` on grid integers, the nearest code decided exactly."""
    dec = c.decoder
    if dec is None:
        empty = np.zeros((X.shape[0], 0), dtype=np.int64)
        return empty, empty
    rows = decode_rows_grid(c, g, X[:, 1:])
    return rows, symbol_table(dec)[rows]


def decode_rows_grid(c: Construction, g: Grid, X: np.ndarray, xb: int | None = None) -> np.ndarray:
    """Decoded codebook rows (or read-out columns) of residual rows X (..., D) of grid integers,
    decided exactly; ``xb`` a known bound on |X| (nearest-code decoders)."""
    dec = c.decoder
    if dec.kind == "linear":
        return g.argmax_affine(X, dec.W_U, dec.b_U)
    return g.nearest(X[..., c.layout[dec.slot].sl], c.codebooks[dec.codebook], xb)


def forward_grid(c: Construction, g: Grid, X: np.ndarray, attention: str, keep: bool) -> Trace:
    """:func:`forward_residual` on grid integers X (B, T, D)."""
    T = X.shape[1]
    mask = attention_mask(c.mask, T)[None]                           # (1, T, T)
    start = X[:, :1, :].copy()
    residuals, attn, ints = ([g.to_values(X)], [], [X]) if keep else ([], [], [])
    for layer in c.layers:
        ys, ws = [], []
        for head in layer.heads:
            y, w = attend_grid(g, g.head(head), X, attention, mask)
            ys.append(y)
            ws.append(w)
        X = g.total([X] + ys, "residual")
        if layer.map is not None:
            X = map_grid(c, g, layer.map, X)
        if c.start == "constant":
            X[:, :1, :] = start                                      # constant start row
        if keep:
            residuals.append(g.to_values(X))
            ints.append(X)
            attn.append(np.stack(ws, axis=1))                         # (B, H, T, T)
    rows, outputs = decode_grid(c, g, X)
    return Trace(residuals, attn, rows, outputs, ints)


def start_trajectory(c: Construction, g: Grid, attention: str = "softmax") -> list:
    """Row 0 as grid integers (D,) at the input of every layer and after the last: L + 1 rows.
    Row 0 sees only itself, so it is input-independent; under ``start == "constant"`` every entry
    is the stored start row, under ``"token"`` the pass computes it (shared-prefix runs read it)."""
    X = embedding_table(c, g)[0][None, None, :].copy()               # (1, 1, D)
    out = [X[0, 0]]
    if c.start == "constant":
        return out * (len(c.layers) + 1)
    mask = attention_mask(c.mask, 1)[None]
    for layer in c.layers:
        ys = [attend_grid(g, g.head(h), X, attention, mask)[0] for h in layer.heads]
        X = g.total([X] + ys, "residual")
        if layer.map is not None:
            X = map_grid(c, g, layer.map, X)
        out.append(X[0, 0])
    return out
