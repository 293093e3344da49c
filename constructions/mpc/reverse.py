"""MPC simulates one attention layer (SHT24a Thm 3.4): token, inner-product and tree machines.

Shape glossary: T = N + 1 rows (row 0 = start token), D residual width, dk query/key width,
dv value width, b tree branching, Dt = ceil(log_b T) tree depth.

``sht24a.thm3_4`` [P]: a depth-L transformer with mH = O(N^delta) is computed by an
O(L/(delta' - delta))-round MPC protocol with q = O(N^2) machines and s = O(N^delta') words: per
layer, token machines compute Q/K/V, query and key/value propagation trees of branching b and
depth Dt carry q_i to the T inner-product machines (i, .) and (k_j, v_j) to (., j), the
inner products are combined back up the query trees, and the token machine finishes the head:
**2 Dt + 3 rounds per layer**.  Round schedule built here [R]:

* round 0: token i sends q_i to the root of query tree i, (k_i, v_i) to the root of key/value
  tree i, and keeps its row (sends it to itself);
* rounds 1..Dt: tree level l = r - 1 forwards to its children (level Dt = inner-product machines);
* round Dt + 1: machine (i, j) scores ``c q_i . k_j`` (rounded by ``Format.quantize``, masked when
  j > i under the causal mask) and sends a partial aggregate to its parent in query tree i;
* rounds Dt + 2 .. 2 Dt + 1: aggregates climb the tree; the root sends to token i;
* round 2 Dt + 2: token i divides, applies W_O, adds its row (each rounding as in the emulator)
  and keeps the new row.

Aggregates: hardmax ``(max score, count, sum of v over the argmax set)`` -- exact in grid units,
so the result equals :func:`attncheck.verifiers.emulator.attend` bit for bit under a fixed-point
format; softmax ``(max, sum e^{s-max}, sum e^{s-max} v)`` (partial log-sum-exp) rounded to
``WORD_FRAC`` fraction bits, equal to the emulator within the reported error.

Words [R]: every value travels as a ``WORD_BITS``-bit word, the two's complement of its grid
integer (:meth:`~attncheck.constructions.precision.Format.to_words`, the one arithmetic of
``constructions/precision.py``): rows, queries, keys and values on the construction's grid;
aggregates on the grid of :func:`aggregate_format` (hardmax: the construction's fraction bits;
softmax: ``WORD_FRAC``), wide, with overflow raising instead of saturating.  This module builds
the protocol (data and local functions); running it and comparing it with the emulator is
:mod:`attncheck.verifiers.mpc_reverse`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from attncheck.constructions.mpc.basic import ceil_log
from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.constructions.precision import MAX_FIXED_BITS, FixedPointOverflow, Format, fixed
from attncheck.constructions.spec import Head
from attncheck.constructions.verdict import BadInput

WORD_BITS = 62
WORD_FRAC = 24          # fraction bits of softmax partial aggregates


def tree_depth(T: int, b: int) -> int:
    """ceil(log_b T) with integers only."""
    return ceil_log(T, b)


def aggregate_format(fmt: Format, attention: str) -> Format:
    """The grid partial aggregates travel on: hardmax keeps the construction's fraction bits (sums
    of grid values are exact there), softmax rounds to ``WORD_FRAC`` bits; both as wide as a
    format may be, raising on overflow."""
    F = fmt.frac_bits if attention == "hardmax" else WORD_FRAC
    return fixed(MAX_FIXED_BITS - F, F, "raise")


def to_words(fmt: Format, x) -> list[int]:
    """Values on ``fmt``'s grid -> ``WORD_BITS``-bit words (Python ints, as the machine model wants)."""
    try:
        return np.atleast_1d(fmt.to_words(x, WORD_BITS)).tolist()
    except (ValueError, FixedPointOverflow) as e:
        raise BadInput(f"the MPC layer simulation cannot carry a value in a {WORD_BITS}-bit word: {e}") from e


# --- machines ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Machines:
    """The machines of one simulated layer: tokens ``("tok", i)`` = ids 0..T-1, inner products
    ``("ip", i, j)``, then for every token i a query tree ``("qt", i, l, a)`` and a key/value tree
    ``("kv", i, l, a)`` of branching b; level l = 0..Dt-1 has ceil(T / b^(Dt-l)) nodes, and the
    children of level Dt-1 are inner-product machines."""

    T: int
    b: int
    depth: int
    level_sizes: tuple[int, ...]
    ids: Mapping[tuple, int]
    role: tuple[tuple, ...]

    def children(self, kind: str, i: int, l: int, a: int) -> list[int]:
        b, ids = self.b, self.ids
        if l == self.depth - 1:
            leaves = [j for j in range(a * b, a * b + b) if j < self.T]
            return [ids[("ip", i, j) if kind == "qt" else ("ip", j, i)] for j in leaves]
        return [ids[(kind, i, l + 1, c)] for c in range(a * b, a * b + b) if c < self.level_sizes[l + 1]]

    def parent_of_ip(self, i: int, j: int) -> int:
        return self.ids[("qt", i, self.depth - 1, j // self.b)] if self.depth else self.ids[("tok", i)]

    def root(self, kind: str, i: int) -> int:
        """Where token i sends its query (``qt``) or key/value (``kv``) in round 0."""
        return self.ids[(kind, i, 0, 0)] if self.depth else self.ids[("ip", i, i)]

    def counts(self) -> dict:
        trees = self.T * sum(self.level_sizes)
        return {"token": self.T, "inner_product": self.T * self.T, "query_tree": trees,
                "key_value_tree": trees}


def machines(T: int, b: int) -> Machines:
    Dt = tree_depth(T, b)
    ids: dict[tuple, int] = {("tok", i): i for i in range(T)}
    for i in range(T):
        for j in range(T):
            ids[("ip", i, j)] = len(ids)
    level_sizes = tuple(-(-T // b ** (Dt - l)) for l in range(Dt))
    for kind in ("qt", "kv"):
        for i in range(T):
            for l in range(Dt):
                for a in range(level_sizes[l]):
                    ids[(kind, i, l, a)] = len(ids)
    role = tuple(sorted(ids, key=ids.__getitem__))
    return Machines(T, b, Dt, level_sizes, ids, role)


def _words(inbox: Inbox, src: int) -> list[int]:
    return [w for sr, w in inbox if sr == src]


# --- the local functions ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LayerProgram:
    """The local functions of the 2 Dt + 3 round protocol for ``head`` (``sht24a.thm3_4``):
    ``fmt`` rounds every stored quantity as the emulator does, ``agg`` is the aggregates' grid,
    ``c`` the quantized temperature."""

    head: Head
    fmt: Format
    agg: Format
    attention: str
    causal: bool
    m: Machines
    D: int
    dk: int
    dv: int
    c: float

    @property
    def rounds(self) -> int:
        return 2 * self.m.depth + 3

    def step(self, r: int, mach: int, inbox: Inbox):
        kind = self.m.role[mach]
        if kind[0] == "tok":
            return self._token(r, kind[1], inbox)
        if kind[0] in ("qt", "kv"):
            return self._tree(r, kind, inbox)
        return self._inner_product(r, kind[1], kind[2], inbox)

    def output(self, mach: int, inbox: Inbox):
        if self.m.role[mach][0] != "tok":
            return ()
        return tuple(_words(inbox, mach)[:self.D])

    def _token(self, r: int, i: int, inbox: Inbox):
        """Round 0: Q/K/V to the tree roots, keep the row; last round: finish the head."""
        fmt, head = self.fmt, self.head
        own = _words(inbox, i)[:self.D]                                         # the row's words
        if 0 < r < self.rounds - 1:
            return tuple((i, w) for w in own)                                    # keep the row
        x = fmt.from_words(own, WORD_BITS)                                      # (D,)
        if r == 0:
            q = fmt.quantize(x @ head.W_Q, "query")                              # (dk,)
            k = fmt.quantize(x @ head.W_K, "key")                                # (dk,)
            v = fmt.quantize(x @ head.W_V, "value")                              # (dv,)
            kv = to_words(fmt, np.concatenate([k, v]))
            return tuple([(i, w) for w in own] +
                         [(self.m.root("qt", i), w) for w in to_words(fmt, q)] +
                         [(self.m.root("kv", i), w) for w in kv])
        agg = self._unpack([w for sr, w in inbox if sr != i]).tolist()
        out = fmt.quantize(np.array(agg[2:]) / agg[1], "head output")           # (dv,)
        y = fmt.quantize(out @ head.W_O, "head write")                          # (D,)
        return tuple((i, w) for w in to_words(fmt, fmt.quantize(x + y, "residual")))

    def _tree(self, r: int, kind: tuple, inbox: Inbox):
        """Forward down at round 1 + l; query trees combine up at round 2 Dt + 1 - l."""
        name, i, l, a = kind
        if r == 1 + l:
            vec = [w for _, w in inbox]
            return tuple((ch, w) for ch in self.m.children(name, i, l, a) for w in vec)
        if name == "qt" and r == 2 * self.m.depth + 1 - l:
            kids = self.m.children("qt", i, l, a)
            words = [w for ch in kids for w in _words(inbox, ch)]               # one call decodes all
            agg = self._combine(self._unpack(words).reshape(len(kids), 2 + self.dv).tolist())
            up = self.m.ids[("tok", i)] if l == 0 else self.m.ids[("qt", i, l - 1, a // self.m.b)]
            return tuple((up, w) for w in self._pack(agg, self.attention == "hardmax"))
        return ()

    def _inner_product(self, r: int, i: int, j: int, inbox: Inbox):
        """Round Dt + 1: the score c q_i . k_j (masked past i when causal) as an aggregate."""
        m, Dt, dk, dv = self.m, self.m.depth, self.dk, self.dv
        if r != Dt + 1:
            return ()
        qsrc = m.ids[("qt", i, Dt - 1, j // m.b)] if Dt else m.ids[("tok", i)]
        ksrc = m.ids[("kv", j, Dt - 1, i // m.b)] if Dt else m.ids[("tok", j)]
        kvw = _words(inbox, ksrc) if ksrc != qsrc else _words(inbox, ksrc)[dk:]
        qkv = self.fmt.from_words(_words(inbox, qsrc)[:dk] + kvw[:dk + dv], WORD_BITS)
        q, kv = qkv[:dk], qkv[dk:]                                              # (dk,), (dk + dv,)
        if self.causal and j > i:
            agg = [0.0, 0.0] + [0.0] * dv
        else:
            score = float(self.fmt.quantize(self.c * float(q @ kv[:dk]), "score"))
            agg = [score, 1.0] + kv[dk:].tolist()
        on_grid = self.fmt.frac_bits <= self.agg.frac_bits
        return tuple((m.parent_of_ip(i, j), w) for w in self._pack(agg, on_grid))

    def _combine(self, parts: list[list[float]]) -> list[float]:
        """Merge partial aggregates [m, z, *num] (z = count or sum of exponentials)."""
        dv = self.dv
        live = [p for p in parts if p[1] != 0]
        if not live:
            return [0.0, 0.0] + [0.0] * dv
        m = max(p[0] for p in live)
        if self.attention == "hardmax":
            keep = [p for p in live if p[0] == m]
            return [m, sum(p[1] for p in keep)] + [sum(p[2 + t] for p in keep) for t in range(dv)]
        sc = [math.exp(p[0] - m) for p in live]
        return [m, sum(f * p[1] for f, p in zip(sc, live))] + \
            [sum(f * p[2 + t] for f, p in zip(sc, live)) for t in range(dv)]

    def _pack(self, agg: list[float], on_grid: bool) -> list[int]:
        """Aggregate -> words.  ``on_grid``: already on the aggregate grid (a score and grid values,
        or hardmax sums of them; ``to_words`` checks), else rounded to it first (softmax sums)."""
        a = np.array(agg)
        return to_words(self.agg, a if on_grid else self.agg.quantize(a, "partial aggregate"))

    def _unpack(self, words: list[int]) -> np.ndarray:
        return self.agg.from_words(words, WORD_BITS)


@dataclass(frozen=True)
class Layer34:
    """The protocol plus the machine map, for reports: ``counts`` of each machine kind."""

    protocol: Protocol
    depth: int
    branching: int
    counts: dict
    frac_bits: int


def reverse_layer(head: Head, T: int, D: int, fmt: Format, attention: str = "hardmax",
                  causal: bool = True, branching: int = 2) -> Layer34:
    """The 2 Dt + 3 round protocol computing ``X + head(X)`` for rows X (T, D) given as input
    (row i on machine i, padded to s words)."""
    if fmt.is_exact:
        raise BadInput("the MPC simulation needs a fixed-point --precision (words are integers)")
    if attention not in ("hardmax", "softmax"):
        raise BadInput(f"attention must be hardmax or softmax, got {attention!r}")
    if branching < 2:
        raise BadInput(f"--branching must be >= 2, got {branching}")
    if head.W_Q.ndim != 2:
        raise BadInput("index-specific heads are not supported by the MPC simulation")
    dk, dv = head.W_Q.shape[1], head.W_V.shape[1]
    m = machines(T, branching)
    agg = aggregate_format(fmt, attention)
    c = float(fmt.quantize(head.temperature, "temperature"))
    prog = LayerProgram(head, fmt, agg, attention, causal, m, D, dk, dv, c)
    s = max(D + dk + dk + dv, branching * max(dk + dv, 2 + dv), D + 2 + dv)
    lim = Limits(len(m.ids), s, WORD_BITS)
    proto = Protocol("attention-layer", "sht24a.thm3_4", "P (round count); R (schedule)", lim,
                     T * s, prog.rounds, prog.step, prog.output,
                     params={"T": T, "D": D, "dk": dk, "dv": dv, "branching": branching,
                             "depth": m.depth, "attention": attention, "format": str(fmt),
                             "causal": causal},
                     notes=("row i of X is padded to s words so that it lands on token machine i",))
    return Layer34(proto, m.depth, branching, m.counts(), agg.frac_bits)


def encode_rows(layer: Layer34, X: np.ndarray, fmt: Format) -> list[int]:
    """X (T, D) on the fixed-point grid -> the protocol's input words (row i padded to s)."""
    s = layer.protocol.limits.s
    out: list[int] = []
    for row in X:
        ws = to_words(fmt, row)
        out += ws + [0] * (s - len(ws))
    return out


def decode_rows(layer: Layer34, words: tuple[int, ...], T: int, D: int, fmt: Format) -> np.ndarray:
    """The protocol's output words -> rows (T, D) on the fixed-point grid."""
    return fmt.from_words(list(words), WORD_BITS).reshape(T, D)
