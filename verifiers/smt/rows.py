"""Symbolic residual rows for the SMT certificate: token-indexed case tables or bit-vector terms.

Shape glossary: C cases, w row width, V alphabet, N positions.

A position's row is held in one of two forms:

* :class:`Cases` -- the row is a function of the tokens at a few positions (``key``); it is
  stored as a (C, w) array of grid values, one row per assignment of those tokens
  (``C = V^len(key)``, first key position most significant).  Every position-wise operation on
  it (projection, rounding, residual sum, snap map, decoding) runs the emulator's own numpy
  expressions per case, so these parts are bit-identical to the emulator by construction.
* a list of *terms* -- per coordinate a Python int (a constant grid integer) or a z3 bit-vector
  of ``b`` bits (a symbolic stored number).  Operations on terms are :mod:`.encode` arithmetic
  in exact integers with one rounding per stored result (precision.py's wide-accumulator spec).

Cases turn into terms (nested If over token equalities) when an attention output depends on
a symbolic argmax, or when a join of keys would exceed :data:`MAX_CASES`.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from attncheck.constructions.precision import Format, round_ratio
from attncheck.verifiers.smt.encode import Arith, const, ctx, gt, ite, mul, total, z3mod

MAX_CASES = 6561


@dataclass(frozen=True, eq=False)
class Cases:
    key: tuple[int, ...]          # 1-indexed positions, sorted
    table: np.ndarray             # (V^len(key), w)


def constant(vec) -> Cases:
    return Cases((), np.asarray(vec, dtype=np.float64)[None, :])


def join(V: int, parts: Sequence[Cases]) -> tuple[tuple[int, ...], list[np.ndarray]] | None:
    """Broadcast case tables to the union of their keys; None when it has too many cases."""
    key = tuple(sorted(set().union(*(p.key for p in parts))))
    if V ** len(key) > MAX_CASES:
        return None
    grid = np.array(list(itertools.product(range(V), repeat=len(key))), dtype=np.int64)
    grid = grid.reshape(V ** len(key), len(key))
    out = []
    for p in parts:
        cols = [key.index(t) for t in p.key]
        idx = np.zeros(len(grid), dtype=np.int64)
        for c in cols:
            idx = idx * V + grid[:, c]
        out.append(p.table[idx])
    return key, out


class Terms:
    """Conversions between the two forms and exact term arithmetic for one format."""

    def __init__(self, fmt: Format, tokens: Sequence, V: int):
        self.fmt, self.ar, self.x, self.V = fmt, Arith(fmt), tokens, V
        self._ite: dict = {}

    # -- cases -> terms ---------------------------------------------------------------------
    def ints(self, cases: Cases) -> np.ndarray:
        return self.fmt.to_ints(cases.table)

    def column(self, key: tuple[int, ...], values: np.ndarray):
        """One coordinate over ``key`` -> int (constant) or nested If over token equalities."""
        if np.all(values == values[0]):
            return int(values[0])
        memo = (key, values.tobytes())
        if memo not in self._ite:
            z3 = z3mod()
            t, rest = key[0], key[1:]
            sub = len(values) // self.V
            branches = [self.column(rest, values[a * sub:(a + 1) * sub]) for a in range(self.V)]
            out = self.bv(branches[-1])
            for a in range(self.V - 2, -1, -1):
                out = z3.If(self.x[t] == a, self.bv(branches[a]), out)
            self._ite[memo] = out
        return self._ite[memo]

    def terms(self, row) -> list:
        if isinstance(row, list):
            return row
        n = self.ints(row)
        return [self.column(row.key, n[:, d]) for d in range(n.shape[1])]

    def bv(self, t):
        return const(t, self.ar.bits) if isinstance(t, (int, np.integer)) else t

    # -- exact arithmetic on terms -------------------------------------------------------------
    def project(self, row: list, W: np.ndarray) -> list:
        """quantize(row @ W) with exact products and one rounding per output coordinate."""
        out = []
        for k in range(W.shape[1]):
            col = [Fraction(float(w)) for w in W[:, k]]
            E = max([0] + [f.denominator.bit_length() - 1 for f in col if f])
            m = [int(f * (1 << E)) for f in col]
            fixed = sum(t * mi for t, mi in zip(row, m) if isinstance(t, (int, np.integer)))
            sym = [mul(t, const(mi)) for t, mi in zip(row, m) if mi and not isinstance(t, (int, np.integer))]
            if not sym:
                v = round_ratio(int(fixed), 1 << E)
                out.append(min(max(v, self.fmt.int_lo), self.fmt.int_hi))
                continue
            out.append(self.ar.quantize_shift(total(sym + ([const(fixed)] if fixed else [])), E))
        return out

    def add(self, rows: Sequence[list]) -> list:
        """Stored residual sum (exact, then saturate)."""
        out = []
        for parts in zip(*rows):
            if all(isinstance(p, (int, np.integer)) for p in parts):
                out.append(min(max(int(sum(parts)), self.fmt.int_lo), self.fmt.int_hi))
            else:
                out.append(self.ar.saturate(total([self.bv(p) for p in parts])))
        return out

    def nearest(self, row: list, codes: np.ndarray):
        """Index (bit-vector) of the L2-nearest code, first index on ties (numpy argmax), in
        exact arithmetic: maximise ``2^(E+1) row.c - |c|^2 2^F`` over codes c = m 2^-E."""
        z3 = z3mod()
        fr = [[Fraction(float(v)) for v in c] for c in codes]
        E = max([0] + [f.denominator.bit_length() - 1 for c in fr for f in c if f])
        M = [[int(f * (1 << E)) for f in c] for c in fr]
        F = self.fmt.frac_bits
        scores = []
        for m in M:
            lin = [mul(self.bv(t), const(mi)) for t, mi in zip(row, m) if mi]
            base = const(-sum(mi * mi for mi in m) << F)
            s = total([mul(x, const(1 << (E + 1))) for x in lin] + [base]) if lin else base
            scores.append(s)
        idx = const(len(M) - 1, 16)
        for r in range(len(M) - 2, -1, -1):
            best = z3.And([z3.BoolVal(True, ctx())] +
                          [z3.Not(gt(scores[o], scores[r])) for o in range(r + 1, len(M))] +
                          [gt(scores[r], scores[o]) for o in range(r)])
            idx = ite(best, const(r, 16), idx)
        return idx
