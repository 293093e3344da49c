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
format; softmax ``(max, sum e^{s-max} v, sum e^{s-max})`` (partial log-sum-exp) in words with
``WORD_FRAC`` fraction bits, equal to the emulator within the reported error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.basic import ceil_log
from attncheck.constructions.spec import Head
from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.verifiers.mpc_machine import run_protocol
from attncheck.constructions.precision import Format
from attncheck.constructions.verdict import BadInput

WORD_BITS = 62
WORD_FRAC = 24          # fraction bits of softmax partial aggregates


def tree_depth(T: int, b: int) -> int:
    """ceil(log_b T) with integers only."""
    return ceil_log(T, b)


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
    F = fmt.frac_bits if attention == "hardmax" else WORD_FRAC
    dk, dv = head.W_Q.shape[1], head.W_V.shape[1]
    b, Dt = branching, tree_depth(T, branching)
    mod, half = 1 << WORD_BITS, 1 << (WORD_BITS - 1)

    def enc(x: float, frac: int = F) -> int:
        n = int(round(x * (1 << frac)))
        if not -half <= n < half:
            raise BadInput(f"value {x:g} does not fit a {WORD_BITS}-bit word")
        return n % mod

    def dec(w: int, frac: int = F) -> float:
        return (w - mod if w >= half else w) / (1 << frac)

    # --- machine ids: tokens, inner products, query trees, key/value trees -----------------
    ids: dict[tuple, int] = {}
    for i in range(T):
        ids[("tok", i)] = i
    for i in range(T):
        for j in range(T):
            ids[("ip", i, j)] = len(ids)
    level_sizes = [-(-T // b ** (Dt - l)) for l in range(Dt)]
    for kind in ("qt", "kv"):
        for i in range(T):
            for l in range(Dt):
                for a in range(level_sizes[l]):
                    ids[(kind, i, l, a)] = len(ids)
    role = {v: k for k, v in ids.items()}

    def children(kind: str, i: int, l: int, a: int) -> list[int]:
        if l == Dt - 1:
            leaves = [j for j in range(a * b, a * b + b) if j < T]
            return [ids[("ip", i, j) if kind == "qt" else ("ip", j, i)] for j in leaves]
        return [ids[(kind, i, l + 1, c)] for c in range(a * b, a * b + b) if c < level_sizes[l + 1]]

    def parent_of_ip(i: int, j: int) -> int:
        return ids[("qt", i, Dt - 1, j // b)] if Dt else ids[("tok", i)]

    c = float(fmt.quantize(head.temperature, "temperature"))
    s_tok = D + dk + dk + dv
    s_tree = b * max(dk + dv, 2 + dv)
    s = max(s_tok, s_tree, D + 2 + dv)
    lim = Limits(len(ids), s, WORD_BITS)
    R = 2 * Dt + 3

    def words(inbox: Inbox, src: int) -> list[int]:
        return [w for sr, w in inbox if sr == src]

    def combine(parts: list[list[float]]) -> list[float]:
        """Merge partial aggregates [m, z, *num] (z = count or sum of exponentials)."""
        live = [p for p in parts if p[1] != 0]
        if not live:
            return [0.0, 0.0] + [0.0] * dv
        m = max(p[0] for p in live)
        if attention == "hardmax":
            keep = [p for p in live if p[0] == m]
            return [m, sum(p[1] for p in keep)] + [sum(p[2 + t] for p in keep) for t in range(dv)]
        sc = [math.exp(p[0] - m) for p in live]
        return [m, sum(f * p[1] for f, p in zip(sc, live))] + \
            [sum(f * p[2 + t] for f, p in zip(sc, live)) for t in range(dv)]

    def pack_agg(a: list[float]) -> list[int]:
        return [enc(a[0], F), enc(a[1], 0 if attention == "hardmax" else F)] + [enc(x, F) for x in a[2:]]

    def unpack_agg(ws: list[int]) -> list[float]:
        return [dec(ws[0], F), dec(ws[1], 0 if attention == "hardmax" else F)] + [dec(w, F) for w in ws[2:]]

    def row_of(i: int, inbox: Inbox) -> np.ndarray:
        return np.array([dec(w, fmt.frac_bits) for w in words(inbox, i)[:D]])

    def step(r: int, m: int, inbox: Inbox):
        kind = role[m]
        if kind[0] == "tok":
            i = kind[1]
            x = row_of(i, inbox)
            keep = [(m, enc(v, fmt.frac_bits)) for v in x]
            if r == 0:
                q = fmt.quantize(x @ head.W_Q, "query")
                k = fmt.quantize(x @ head.W_K, "key")
                v = fmt.quantize(x @ head.W_V, "value")
                out = [(ids[("qt", i, 0, 0)] if Dt else ids[("ip", i, i)], enc(t, fmt.frac_bits)) for t in q]
                out += [(ids[("kv", i, 0, 0)] if Dt else ids[("ip", i, i)], enc(t, fmt.frac_bits))
                        for t in (*k, *v)]
                return tuple(keep + out)
            if r < R - 1:
                return tuple(keep)
            agg = unpack_agg([w for sr, w in inbox if sr != m])
            out = fmt.quantize(np.array(agg[2:]) / agg[1], "head output")
            y = fmt.quantize(out @ head.W_O, "head write")
            new = fmt.quantize(x + y, "residual")
            return tuple((m, enc(v, fmt.frac_bits)) for v in new)
        if kind[0] in ("qt", "kv"):
            _, i, l, a = kind
            if r == 1 + l:                                     # forward down
                vec = [w for _, w in inbox]
                return tuple((ch, w) for ch in children(kind[0], i, l, a) for w in vec)
            if kind[0] == "qt" and r == 2 * Dt + 1 - l:        # combine up
                kids = children("qt", i, l, a)
                agg = combine([unpack_agg(words(inbox, ch)) for ch in kids])
                up = ids[("tok", i)] if l == 0 else ids[("qt", i, l - 1, a // b)]
                return tuple((up, w) for w in pack_agg(agg))
            return ()
        _, i, j = kind                                         # inner-product machine
        if r != Dt + 1:
            return ()
        qsrc = ids[("qt", i, Dt - 1, j // b)] if Dt else ids[("tok", i)]
        ksrc = ids[("kv", j, Dt - 1, i // b)] if Dt else ids[("tok", j)]
        q = np.array([dec(w, fmt.frac_bits) for w in words(inbox, qsrc)[:dk]])
        kvw = words(inbox, ksrc) if ksrc != qsrc else words(inbox, ksrc)[dk:]
        kv = np.array([dec(w, fmt.frac_bits) for w in kvw[:dk + dv]])
        if causal and j > i:
            agg = [0.0, 0.0] + [0.0] * dv
        else:
            score = float(fmt.quantize(c * float(q @ kv[:dk]), "score"))
            agg = [score, 1.0] + list(kv[dk:])
        return tuple((parent_of_ip(i, j), w) for w in pack_agg(agg))

    def output(m: int, inbox: Inbox):
        if role[m][0] != "tok":
            return ()
        return tuple(words(inbox, m)[:D])

    counts = {"token": T, "inner_product": T * T, "query_tree": T * sum(level_sizes),
              "key_value_tree": T * sum(level_sizes)}
    proto = Protocol("attention-layer", "sht24a.thm3_4", "P (round count); R (schedule)", lim,
                     T * s, R, step, output,
                     params={"T": T, "D": D, "dk": dk, "dv": dv, "branching": b, "depth": Dt,
                             "attention": attention, "format": str(fmt), "causal": causal},
                     notes=("row i of X is padded to s words so that it lands on token machine i",))
    return Layer34(proto, Dt, b, counts, F)


def encode_rows(layer: Layer34, X: np.ndarray, fmt: Format) -> list[int]:
    """X (T, D) on the fixed-point grid -> the protocol's input words (row i padded to s)."""
    s = layer.protocol.limits.s
    mod = 1 << WORD_BITS
    out = []
    for row in X:
        ws = [int(round(float(v) * (1 << fmt.frac_bits))) % mod for v in row]
        out += ws + [0] * (s - len(ws))
    return out


def decode_rows(layer: Layer34, words: tuple[int, ...], T: int, D: int, fmt: Format) -> np.ndarray:
    mod, half = 1 << WORD_BITS, 1 << (WORD_BITS - 1)
    vals = [((w - mod) if w >= half else w) / (1 << fmt.frac_bits) for w in words]
    return np.array(vals).reshape(T, D)


def simulate_layer(head: Head, X: np.ndarray, fmt: Format, attention: str = "hardmax",
                   causal: bool = True, branching: int = 2):
    """Run the protocol on rows X (T, D): -> (Layer34, Run, new rows (T, D))."""
    T, D = X.shape
    layer = reverse_layer(head, T, D, fmt, attention, causal, branching)
    run_ = run_protocol(layer.protocol, encode_rows(layer, X, fmt))
    return layer, run_, decode_rows(layer, run_.output, T, D, fmt)
