"""Alice's message in a one-layer model, exactly as the emulator computes (``sht24b.one-layer-ih-lb``).

Shape glossary: V symbols, N positions, T = N + 1 rows (0 = start), dv value width, Q query
symbols (Bob's choices of x_N), C candidate maxima of one (query, head), B Alice inputs of a
chunk, L message length (integers).

Positions 1..N are split between Alice (``alice``, all < N) and Bob (``bob``, N included).  Fix
Bob's symbol c = x_N and a head h.  In one causal layer the stored score ``s_j = round(temp *
q_N . k_j)`` of row N at row j depends only on (c, x_j, j) (the query of row N is the stored
projection of the embedding of (c, N); key and value of row j those of (x_j, j); the start row
is a constant), and so does the stored value ``v_j``.  For every candidate maximum m (``cand``:
every possible score >= ``base``, the largest score of the rows every input shares: the start
row when the mask lets row N see it, and row N itself) Alice's raw message holds, summed over her
positions j,

    cnt(m) = #{j : s_j > m},   Z(m) = sum_{s_j <= m} E(m - s_j),   S(m) = sum_{s_j <= m} E(m - s_j) v_j,

with ``E`` the emulator's stored exponential of a grid distance (``Grid.exp``; hardmax: E(d) =
[d = 0]).  The canonical message (:func:`canonical`) keeps ``M' = max(base, max_j s_j)`` (the
first m with cnt(m) = 0) and (Z(m), S(m)) only at m = M' and at larger m that Bob's own scores
can reach (``Segment.bob``); everything else is zeroed.  The message of an Alice input is the
tuple of these over every query symbol c and head h.

**Claim: equal messages give equal outputs at N for every Bob input.**  The emulator's row N of
head h (:func:`attncheck.verifiers.emulator.mix`) takes the row maximum ``m* = max_j s_j`` over
the start row, Alice's and Bob's rows, the stored exponentials ``e_j = E(m* - s_j)``, the exact
sums ``z = sum_j e_j`` and ``P = sum_j e_j v_j`` (one saturation of z; one rounding and
saturation of P), then ``round(P / z)``, ``W_O``, the residual sum and the map and decoder of row
N, all row-wise.  Bob knows his scores and values and ``max(base, his maximum)``; from the
message he reads M', so ``m* = max(M', his maximum)``, which is M' or one of his scores above it:
both are kept entries.  There Z(m*) and S(m*) are Alice's exact share of z and P (every Alice
score is <= m*).  So (z, P) per head, hence the output at N, are functions of Bob's input and the
message.  tests/refute checks this by brute force through the emulator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction, attention_mask
from attncheck.verifiers.emulator import embedding_table
from attncheck.verifiers.gridpass import Grid


@dataclass(frozen=True, eq=False)
class Segment:
    """One (query symbol, head) block of the raw message: candidate maxima ``cand`` (C,), which of
    them Bob can reach (``bob`` (C,) bool), the value width, and its offset in the raw vector."""

    query: int
    head: int
    cand: tuple
    bob: np.ndarray
    dv: int
    offset: int

    @property
    def length(self) -> int:
        return len(self.cand) * (2 + self.dv)


@dataclass(frozen=True, eq=False)
class Messages:
    """Per-position contributions to Alice's raw message: ``contrib[i]`` is (V_i, L) for her
    i-th position (choices in domain order); the raw message of an input is their sum."""

    alice: tuple[int, ...]
    choices: tuple[tuple[int, ...], ...]
    segments: tuple[Segment, ...]
    contrib: tuple[np.ndarray, ...]
    length: int


def _E(g: Grid, d: list[int], attention: str) -> list[int]:
    """The emulator's stored exponential of grid distances ``d >= 0`` (hardmax: [d = 0])."""
    if attention == "hardmax":
        return [1 if x == 0 else 0 for x in d]
    arr = np.asarray(d, dtype=np.float64) if g.fast else np.asarray(d, dtype=object)
    return [int(x) for x in np.asarray(g.exp(arr)).ravel().tolist()]


def head_scores(c: Construction, g: Grid, head, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored scores and values of one head, from the emulator's own arithmetic.

    Returns ``S`` (V, V, T) object ints: ``S[c, x, j]`` = score of row N holding symbol c against
    row j holding x (row 0: the start row, the same for every x; in one layer its key and value
    come from its embedding under either ``Construction.start`` mode); and ``vals`` (V, T, dv) object
    ints: the stored value of x at row j."""
    start, table = embedding_table(c, g)                            # (D,), (V, N, D)
    V = table.shape[0]
    X = np.empty((V, N + 1, table.shape[2]), dtype=table.dtype)     # (V, T, D)
    X[:, 0, :] = start
    X[:, 1:, :] = table[:, :N, :]
    ph = g.head(head)
    q = g.project(X, ph.W_Q, "query")                               # (V, T, dk)
    k = g.project(X, ph.W_K, "key")
    v = g.project(X, ph.W_V, "value")                               # (V, T, dv)
    S = g.scores(q[None, :, N, :], k.reshape(1, V * (N + 1), -1), ph.temperature)  # (1, V, V T)
    S = np.vectorize(int, otypes=[object])(np.asarray(S).reshape(V, V, N + 1))
    vals = np.vectorize(int, otypes=[object])(g.as_object(np.asarray(v)))
    return S, vals


def build_messages(c: Construction, fmt: Format, attention: str, N: int,
                   alice: tuple[int, ...], bob: tuple[int, ...],
                   choices: tuple[tuple[int, ...], ...]) -> Messages:
    """The per-position contribution tables of Alice's raw message (module docstring).
    ``choices[t-1]``: the symbols allowed at position t (the task's domain)."""
    g = Grid(fmt)
    queries = choices[N - 1]
    sees_start = bool(attention_mask(c.mask, N + 1)[N, 0])            # causal: yes; causal-nostart: no
    segs, per_pos = [], [[] for _ in alice]
    offset = 0
    for hi, head in enumerate(c.layers[0].heads):
        S, vals = head_scores(c, g, head, N)
        dv = vals.shape[-1]
        for qc in queries:
            base = max(S[qc, 0, 0], S[qc, qc, N]) if sees_start else S[qc, qc, N]   # constant rows
            a_scores = {S[qc, x, j] for j in alice for x in choices[j - 1]}
            b_scores = {S[qc, x, j] for j in bob if j != N for x in choices[j - 1]}
            cand = sorted({base} | {s for s in a_scores | b_scores if s >= base})
            bob_ok = np.array([m == base or m in b_scores for m in cand], dtype=bool)
            seg = Segment(qc, hi, tuple(cand), bob_ok, dv, offset)
            for i, j in enumerate(alice):
                rows = []
                for x in choices[j - 1]:
                    s = S[qc, x, j]
                    e = _E(g, [m - s if s <= m else 0 for m in cand], attention)
                    row = []
                    for m, em in zip(cand, e):
                        if s > m:
                            row += [1, 0] + [0] * dv
                        else:
                            row += [0, em] + [em * int(vv) for vv in vals[x, j]]
                    rows.append(row)
                per_pos[i].append(rows)
            segs.append(seg)
            offset += seg.length
    contrib = []
    for i in range(len(alice)):
        blocks = [np.array(r, dtype=object) for r in per_pos[i]]        # each (V_i, len)
        full = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(choices[alice[i] - 1]), 0), dtype=object)
        contrib.append(full)
    return Messages(tuple(alice), tuple(choices[j - 1] for j in alice), tuple(segs),
                    tuple(_narrow(cb, len(alice)) for cb in contrib), offset)


def _narrow(a: np.ndarray, terms: int) -> np.ndarray:
    """int64 when every sum of ``terms`` rows fits, else the object array."""
    top = max((abs(int(x)) for x in a.ravel()), default=0)
    return a.astype(np.int64) if top * max(terms, 1) < (1 << 62) else a


def raw_messages(msg: Messages, digits: np.ndarray) -> np.ndarray:
    """Raw messages of Alice inputs given as choice indices ``digits`` (B, |A|) -> (B, L)."""
    B = digits.shape[0]
    obj = any(cb.dtype == object for cb in msg.contrib)
    out = np.zeros((B, msg.length), dtype=object if obj else np.int64)
    if obj:
        out.fill(0)
    for i, cb in enumerate(msg.contrib):
        out = out + cb[digits[:, i]]
    return out


def canonical(msg: Messages, raw: np.ndarray) -> np.ndarray:
    """Canonical messages (B, L'): per segment the index of M' and the (Z, S) entries Bob can
    read (at M' and at his reachable maxima above it), every other entry zero."""
    parts = []
    for seg in msg.segments:
        C, w = len(seg.cand), 2 + seg.dv
        block = raw[:, seg.offset:seg.offset + C * w].reshape(len(raw), C, w)  # (B, C, 2 + dv)
        cnt = block[:, :, 0].astype(np.int64)
        first = np.argmax(cnt == 0, axis=1)                          # index of M' (exists)
        idx = np.arange(C)[None, :]
        keep = (idx == first[:, None]) | ((idx > first[:, None]) & seg.bob[None, :])
        body = np.where(keep[:, :, None], block[:, :, 1:], 0).reshape(len(raw), -1)
        parts += [first[:, None].astype(body.dtype), body]
    if not parts:
        return np.zeros((len(raw), 0), dtype=np.int64)
    return np.concatenate(parts, axis=1)


def message_keys(canon: np.ndarray) -> list:
    if canon.dtype == object:
        return [tuple(int(x) for x in row) for row in canon.tolist()]
    canon = np.ascontiguousarray(canon, dtype=np.int64)
    return [row.tobytes() for row in canon]


def digits(index: np.ndarray, radix: tuple[int, ...]) -> np.ndarray:
    """Mixed-radix digits (first position most significant): (B,) -> (B, len(radix))."""
    out = np.zeros((len(index), len(radix)), dtype=np.int64)
    rem = index.astype(np.int64).copy()
    for t in range(len(radix) - 1, -1, -1):
        out[:, t] = rem % radix[t]
        rem //= radix[t]
    return out


def closed_form_bits(msg: Messages, fmt: Format, attention: str) -> int:
    """An a-priori bound on the bits of the canonical message, from the format alone: per
    (query symbol, head) segment with C candidate maxima, ``ceil(log2 C)`` bits for M' and, at
    each of the C maxima, Z in ``[0, |A| e]`` and dv entries of S in ``[-|A| e v, |A| e v]``
    (``e`` = stored exp(0) = min(2^F, int_hi), 1 for hardmax; ``v`` = 2^(p-1), p = I + F).
    It is the analogue of the catalogue's h(m+1)p for the emulator's exact accumulation."""
    A = len(msg.alice)
    e = 1 if attention == "hardmax" else min(1 << fmt.frac_bits, fmt.int_hi)
    vb = 1 << (fmt.bits - 1)
    bz, bs = (A * e).bit_length(), (2 * A * e * vb).bit_length()
    return sum((len(seg.cand) - 1).bit_length() + len(seg.cand) * (bz + seg.dv * bs) for seg in msg.segments)
