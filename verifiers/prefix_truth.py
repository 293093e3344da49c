"""Ground truth extended prefix by prefix, vectorised, for the shared-prefix exhaustive runs.

Shape glossary: P prefixes of one level, C their children, i the newest position (1-indexed).

The reference is :mod:`attncheck.constructions.tasks` (plain Python, STYLE.md practice 5).  An
exhaustive run over |Sigma|^N inputs cannot afford a Python call per input, so the two causal
tasks are transcribed here as state machines over numpy arrays: the output at position i is a
function of the prefix ``x_1 .. x_i``, computed from the parent's state and the new symbol.
tests/test_prefix.py holds each transcription equal to tasks.py on every input of small
domains and on random long inputs; a run's counterexample is always re-derived from tasks.py
(:func:`attncheck.verifiers.exhaustive.counterexample`), and a disagreement between the two
stops the run.  ``BOT`` is ``BOT_CODE`` (-1).

* ``induction`` (task.ih): state = the tokens and, per symbol, the latest position it occurred
  at; ``tau_i = x[j* + 1]`` for ``j* = max{j < i : x_j = x_i}``.
* ``hop`` (task.hopk): state = the tokens, the table of find^1 over positions 0..i and, per
  symbol s, the largest j <= i with ``x_{j-1} = s`` (tasks.find1_table's ``last_after``);
  ``hop_k(x)_i = x[find^k(i)]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

BOT = -1


def _small(n: int):
    return np.int8 if n < 127 else np.int16 if n < 32767 else np.int32


@dataclass(frozen=True)
class Induction:
    V: int
    N: int

    def root(self):
        return (np.zeros((1, 0), dtype=_small(self.V)), np.full((1, self.V), -1, dtype=_small(self.N)))

    def extend(self, state, par: np.ndarray, sym: np.ndarray, i: int, last: bool):
        tokens, seen = state                              # (P, i-1), (P, V): 0-indexed positions
        C = len(par)
        rows = np.arange(C)
        j = seen[par, sym].astype(np.int64)               # latest earlier occurrence of x_i, or -1
        nxt = np.where(j + 1 == i - 1, sym, tokens[par, np.minimum(j + 1, max(i - 2, 0))]
                       if i > 1 else sym)
        want = np.where(j >= 0, nxt, BOT)
        if last:
            return None, want
        toks = np.concatenate([tokens[par], sym[:, None].astype(tokens.dtype)], axis=1)
        s2 = seen[par]
        s2[rows, sym] = i - 1
        return (toks, s2), want


@dataclass(frozen=True)
class Hop:
    V: int
    N: int
    k: int

    def root(self):
        return (np.zeros((1, 0), dtype=_small(self.V)), np.zeros((1, 1), dtype=_small(self.N + 1)),
                np.zeros((1, self.V), dtype=_small(self.N + 1)))

    def extend(self, state, par: np.ndarray, sym: np.ndarray, i: int, last: bool):
        tokens, table, after = state          # (P, i-1) tokens x_1..x_{i-1}; (P, i) find^1(0..i-1); (P, V)
        C = len(par)
        rows = np.arange(C)
        toks = np.concatenate([tokens[par], sym[:, None].astype(tokens.dtype)], axis=1)   # (C, i)
        la = after[par]
        if i >= 2:
            la[rows, toks[:, i - 2]] = i                  # X_{i-1} = s: j = i is the latest such j
        f = la[rows, sym]                                 # find^1(i)
        tab = np.concatenate([table[par], f[:, None].astype(table.dtype)], axis=1)        # (C, i + 1)
        p = np.full(C, i, dtype=np.int64)
        for _ in range(self.k):
            p = tab[rows, p].astype(np.int64)
        want = np.where(p == 0, BOT, toks[rows, np.maximum(p - 1, 0)])
        if last:
            return None, want
        return (toks, tab, la), want


#: Tasks whose truth extends prefix by prefix: name -> (V, N, params) -> state machine.
TRUTHS: dict[str, Callable] = {
    "induction": lambda V, N, params: Induction(V, N),
    "hop": lambda V, N, params: Hop(V, N, int(params.get("k", 1))),
}
