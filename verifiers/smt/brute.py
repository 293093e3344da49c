"""Brute-force enumeration of a one-layer table model's weights: the independent cross-check
of the synthesis query at the tiniest sizes (acceptance: UNSAT answers agree with enumerating
the whole weight space).

Shape glossary: M models (one per assignment of the free entries), B inputs, T = N + 1.

Plain integer numpy, sharing nothing with the z3 encoding or the emulator except
:func:`attncheck.constructions.precision.round_ratio`'s rule, re-stated here vectorised:
``s = sat(round(q k / 2^F))``, hardmax set ``s == max``, ``out = sat(round(sum v / count))``.
One layer, one head, width 1, hardmax; entries are keyed like :class:`.synth.Encoding`'s
(layer, kind, head, t, token, context).
"""
from __future__ import annotations

import itertools

import numpy as np

from attncheck.verifiers.smt.families import Family
from attncheck.verifiers.smt.tables import ModelClass

MAX_MODELS = 1 << 22
CHUNK = 1 << 17


def round_ratio_vec(a: np.ndarray, c) -> np.ndarray:
    """Half-even rounding of a / c for integer arrays, c > 0."""
    q = a // c                                     # numpy floors
    r = a - q * c
    return q + ((2 * r > c) | ((2 * r == c) & (q % 2 == 1)))


def entry_keys(family: Family) -> list[tuple]:
    """Every table entry the one-layer query at N reads on this family."""
    N = family.N
    keys = [(1, "K", 0, 0, 0, 0), (1, "V", 0, 0, 0, 0)]
    keys += [(1, "Q", 0, N, a, 0) for a in family.tokens_at(N)]
    for t in range(1, N + 1):
        keys += [(1, kind, 0, t, a, 0) for kind in ("K", "V") for a in family.tokens_at(t)]
    return keys


def enumerate_models(cls: ModelClass, family: Family, free: list[tuple], pins: dict) -> int:
    """How many assignments of the ``free`` entries (others from ``pins``) solve the family."""
    if (cls.layers, cls.heads, cls.width, cls.attention) != (1, 1, 1, "hardmax"):
        raise ValueError("the brute force covers one layer, H = D = 1, hardmax")
    grid = np.arange(cls.fmt.int_lo, cls.fmt.int_hi + 1, dtype=np.int64)
    M = len(grid) ** len(free)
    if M > MAX_MODELS:
        raise ValueError(f"{M} models exceed {MAX_MODELS}")
    powers = len(grid) ** np.arange(len(free) - 1, -1, -1, dtype=np.int64)
    solving = 0
    for start in range(0, M, CHUNK):
        idx = np.arange(start, min(M, start + CHUNK), dtype=np.int64)
        vals = grid[(idx[:, None] // powers[None, :]) % len(grid)]                # (m, free)
        solving += _count(cls, family, free, pins, vals)
    return solving


def _count(cls: ModelClass, family: Family, free: list[tuple], pins: dict, vals: np.ndarray) -> int:
    fmt, N, M = cls.fmt, family.N, len(vals)
    col = {k: i for i, k in enumerate(free)}

    def e(kind, t, a=0):
        key = (1, kind, 0, t, a if t else 0, 0)
        return vals[:, col[key]] if key in col else np.full(M, pins[key][0], dtype=np.int64)

    outs = []
    for x in family.inputs:
        q = e("Q", N, x[-1])
        ks = [e("K", 0)] + [e("K", t, x[t - 1]) for t in range(1, N + 1)]
        vs = np.stack([e("V", 0)] + [e("V", t, x[t - 1]) for t in range(1, N + 1)], axis=1)   # (M, T)
        s = np.stack([np.clip(round_ratio_vec(q * k, 1 << fmt.frac_bits), fmt.int_lo, fmt.int_hi)
                      for k in ks], axis=1)                                               # (M, T)
        sel = s == s.max(axis=1, keepdims=True)
        out = round_ratio_vec((sel * vs).sum(axis=1), sel.sum(axis=1))
        outs.append(np.clip(out, fmt.int_lo, fmt.int_hi))
    outs = np.stack(outs, axis=1)                                                         # (M, B)
    ok = np.ones(M, dtype=bool)
    xs, ys = family.inputs, family.answers
    for i, j in itertools.combinations(range(len(xs)), 2):
        if xs[i][-1] == xs[j][-1] and ys[i] != ys[j]:
            ok &= outs[:, i] != outs[:, j]
    return int(ok.sum())
