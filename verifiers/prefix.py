"""Exhaustive runs that share prefixes: every prefix of Sigma^N is evaluated once (issue 15).

Shape glossary: P prefixes of one level, C their children (P times the symbols), i the level
(prefix length = the newest position), D residual width, dk/dv head widths, V alphabet.

Under the causal mask position i reads only positions j <= i, so everything a prefix
``x_1 .. x_i`` computes is the same in every input that starts with it.  The inputs of one
check-loop block (:class:`~attncheck.verifiers.checkloop.Block`, a contiguous range of the
lexicographic order) are therefore evaluated level by level: the prefixes of length i are the
children (parent, symbol) of those of length i - 1, and only their newest row is computed --
its embedding, then per layer its query, key and value, its scores against the keys of
positions 0..i (the parent's key and value *history* plus its own), the mixing, the head write,
the residual update and map, and the decoded output at i.  Input-independent parts are computed
once per run: the embedding of every (symbol, position) and layer 1's queries, keys and values
(element-wise maps of the embedding).  The levels a block shares with the previous block (its
common prefix) are kept, so across a whole run each prefix is evaluated exactly once.

The arithmetic is :mod:`attncheck.verifiers.gridpass`'s, the very functions of the per-input
emulator on the same exact grid integers, so the outputs equal ``emulator.forward``'s bit for
bit (tests/test_prefix.py).  The ground truth is extended the same way
(:mod:`attncheck.verifiers.prefix_truth`).  An input is wrong iff one of its prefixes outputs
a wrong symbol at its newest position; the first wrong input of a block is the first completion
of its first wrong prefix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.spec import Construction
from attncheck.verifiers.checkloop import Block
from attncheck.constructions.gridmath import max_abs
from attncheck.verifiers.emulator import (decode_rows_grid, embedding_table, map_grid, start_trajectory,
                                          symbol_table)
from attncheck.verifiers.gridpass import Grid, joined
from attncheck.verifiers.prefix_truth import TRUTHS


def applies(c: Construction, fmt, task: str) -> bool:
    """Whether a run of ``c`` can share prefixes: a causal mask, a decoder, a fixed format and a
    task whose truth is extended prefix by prefix."""
    return c.mask == "causal" and c.decoder is not None and not fmt.is_exact and task in TRUTHS


@dataclass(eq=False)
class Level:
    """The prefixes ``lo .. hi-1`` of length i (numbers in Sigma^i, lexicographic): per layer and
    head the key and value history (P, i + 1, dk|dv) with bounds on their entries (empty at the
    last level), the decoded output at position i (P,), whether a prefix (or an ancestor) is
    already wrong (P,), and the truth's state."""

    i: int
    lo: int
    hi: int
    hist: list
    out: np.ndarray
    wrong: np.ndarray
    truth: object


class PrefixRunner:
    """Evaluates blocks of Sigma^N for one construction, format, attention and task."""

    def __init__(self, c: Construction, task: str, params: dict, fmt, attention: str):
        self.c, self.g, self.attention = c, Grid(fmt), attention
        self.truth = TRUTHS[task](c.alphabet, c.n, params)
        g, N = self.g, c.n
        self.start, self.table = embedding_table(c, g)                  # (D,), (V, N, D)
        self.heads = [[g.head(h) for h in layer.heads] for layer in c.layers]
        self.qkv = [[joined(ph.W_Q, ph.W_K, ph.W_V) for ph in layer] for layer in self.heads]
        self.symbols = symbol_table(c.decoder)
        self.row0 = start_trajectory(c, g, attention)                   # row 0 entering each layer
        # layer 1: q, k, v of every (symbol, position) -- (V, N, k) each; a head whose queries and
        # keys do not depend on the symbol has one score row per position, shared by all inputs
        self.first = [tuple(g.project(self.table, w.at(slice(1, N + 1)), what)
                            for w, what in ((ph.W_Q, "query"), (ph.W_K, "key"), (ph.W_V, "value")))
                      for ph in self.heads[0]]
        self.fixed_rows = [bool(np.all(q == q[:1]) and np.all(k == k[:1])) for q, k, _ in self.first]
        self.xb0 = max(max_abs(self.table), max_abs(self.start))         # |embedding| <= xb0
        self.emax = min(1 << g.F, g.hi)                                  # a stored exponential
        if attention == "softmax" and self.emax < 1:
            raise ValueError(f"softmax is undefined in {fmt}: exp(0) rounds to 0")
        self.levels: dict[int, Level] = {}

    # -- levels ----------------------------------------------------------------------------------
    def root(self) -> Level:
        """Level 0: the start token alone; its key and value rows in every layer (the start row
        is constant, or for ``start == "token"`` the input-independent row the pass computes)."""
        g = self.g
        hist = []
        for l, layer in enumerate(self.heads):
            X = self.row0[l][None, :]                                     # (1, D)
            lh = []
            for ph in layer:
                k, v = g.project(X, ph.W_K.at(0), "key"), g.project(X, ph.W_V.at(0), "value")
                lh.append((k[:, None, :], v[:, None, :], max_abs(k), max_abs(v)))
            hist.append(lh)
        return Level(0, 0, 1, hist, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=bool), self.truth.root())

    def extend(self, parent: Level, lo: int, hi: int, last: bool) -> Level:
        """The prefixes lo..hi-1 of length i = parent.i + 1 from their parents.  When they are all
        the children of their parents (G = P groups of S = V) the parents' histories are used in
        place; otherwise each child gets its parent's history (G = C groups of S = 1)."""
        g, V, i = self.g, self.c.alphabet, parent.i + 1
        num = np.arange(lo, hi, dtype=np.int64)
        par = num // V - parent.lo                                        # (C,) index into parent
        sym = num % V                                                     # (C,)
        whole = lo == parent.lo * V and hi == parent.hi * V
        X = self.table[sym, i - 1]                                        # (C, D)
        xb = self.xb0                                                     # |X| <= xb
        hist = []
        for l, layer in enumerate(self.c.layers):
            ys, lh, yb = [], [], 0
            for h, ph in enumerate(self.heads[l]):
                if l == 0:
                    q, k, v = (t[sym, i - 1] for t in self.first[h])       # (C, dk|dv)
                else:
                    dk, dv = ph.W_Q.W.shape[-1], ph.W_V.W.shape[-1]
                    qkv = g.project(X, self.qkv[l][h].at(i), [("query", dk), ("key", dk), ("value", dv)], xb)
                    q, k, v = qkv[:, :dk], qkv[:, dk:2 * dk], qkv[:, 2 * dk:]
                Kp, Vp, kb, vb = parent.hist[l][h]                        # (P, i, dk), (P, i, dv)
                kb, vb = max(kb, max_abs(k)), max(vb, max_abs(v))         # bounds over positions 0..i
                if not whole:
                    Kp, Vp = Kp[par], Vp[par]                             # (C, i, dk|dv)
                fixed = l == 0 and self.fixed_rows[h]
                out = self.attend_row(ph, q, k, v, Kp, Vp, kb, vb, fixed, i)   # (C, dv)
                ob = max_abs(out)
                ys.append(g.project(out, ph.W_O, "head write", ob))       # (C, D)
                yb += int(ob * ph.W_O.gain * (1 + 2.0 ** -40)) + 2
                if not last:
                    Kf, Vf = (Kp[par], Vp[par]) if whole else (Kp, Vp)
                    lh.append((np.concatenate([Kf, k[:, None, :]], axis=1),
                               np.concatenate([Vf, v[:, None, :]], axis=1), kb, vb))
            xb += yb
            X = g.total([X] + ys, "residual", xb)
            xb = min(xb, max(g.hi, -g.lo))
            if layer.map is not None:
                X = map_grid(self.c, g, layer.map, X)
                xb = max_abs(X)
            hist.append(lh)
        out = self.symbols[decode_rows_grid(self.c, g, X, xb)]             # (C,)
        truth, want = self.truth.extend(parent.truth, par, sym, i, last)
        wrong = parent.wrong[par] | (out != want)
        return Level(i, lo, hi, hist, out, wrong, truth)

    def attend_row(self, ph, q, k, v, Kh, Vh, kb: int, vb: int, fixed: bool, i: int) -> np.ndarray:
        """One head at the newest position i of C children in G groups of S = C / G: q, k, v
        (C, dk|dv) its own rows, Kh, Vh (G, i, dk|dv) the groups' histories of positions 0..i-1,
        kb, vb bounds on every key and value entry -> the stored head output (C, dv).  The
        arithmetic of emulator.mix on one query row."""
        g, C, G = self.g, q.shape[0], Kh.shape[0]
        S, dk = C // G, q.shape[1]
        pb = dk * max_abs(q) * kb
        if not (g.fast and pb < 2 ** 53):                                  # exact products in ints
            qk = self._exact_qk(q, k, Kh, fixed, pb)
        elif fixed:                                                        # one row for everyone
            qk = np.concatenate([Kh[:1] @ q[0], [[q[0] @ k[0]]]], axis=1)  # (1, i + 1)
        else:
            qk = np.empty((C, i + 1))
            qk[:, :i] = (q.reshape(G, S, dk) @ np.swapaxes(Kh, 1, 2)).reshape(C, i)   # (G, S, i)
            qk[:, i] = np.einsum("cd,cd->c", q, k)
        s = g.scale_scores(qk, ph.temperature, pb)                        # (C|1, i + 1)
        if self.attention == "hardmax":
            w = (s == s.max(axis=1, keepdims=True))
            cnt = w.sum(axis=1, keepdims=True)
            a = w.astype(np.float64) if g.fast else w.astype(np.int64).astype(object)
            num = self._mix(a, Vh, v, G, S, (i + 1) * vb)
            return g.ratio(num, np.broadcast_to(cnt, (C, 1)), 0, "head output", (i + 1) * vb, i + 1)
        e = g.exp(s.max(axis=1, keepdims=True) - s)                        # (C|1, i + 1)
        zb = (i + 1) * self.emax                                           # |sum e| <= zb
        z = g.settle(g.rowsum(e, self.emax), "denominator", zb)
        bound = zb * vb
        num = g.round_stored(self._mix(e, Vh, v, G, S, bound), g.F, "numerator", bound)
        return g.ratio(num, np.broadcast_to(z, (C, 1)), g.F, "head output", (bound >> g.F) + 1, zb)

    def _mix(self, a, Vh, v, G: int, S: int, bound: int) -> np.ndarray:
        """Exact ``sum_j a_j v_j`` over positions 0..i for every child: a (C|1, i + 1) weights
        (one shared row when its first axis is 1), Vh (G, i, dv) history, v (C, dv) own values."""
        g, C = self.g, v.shape[0]
        i = Vh.shape[1]
        if a.shape[0] == 1:                                               # shared row
            hist = g.exact_matmul(np.broadcast_to(a[0, :i], (G, i)), Vh, bound, rows=True)   # (G, dv)
            hist = np.repeat(hist, S, axis=0) if S > 1 else hist
        else:
            hist = g.exact_matmul(a[:, :i].reshape(G, S, i), Vh, bound).reshape(C, -1)
        own = a[:, i:] * v if (g.fast and bound < 2 ** 53) else g.exact_matmul(a[:, i:], v[:, None, :], bound, rows=True)
        return hist + own

    def _exact_qk(self, q, k, Kh, fixed: bool, pb: int) -> np.ndarray:
        """q . k for the newest row against positions 0..i in int64 or Python ints (large formats)."""
        g = self.g
        conv = (lambda a: a.astype(np.int64)) if g.fast and pb < 2 ** 63 else g.as_object
        qi, ki, Ki = conv(q), conv(k), conv(Kh)
        if fixed:
            return np.concatenate([Ki[:1] @ qi[0], np.array([[qi[0] @ ki[0]]], dtype=Ki.dtype)], axis=1)
        C, G = qi.shape[0], Ki.shape[0]
        qh = qi.reshape(G, C // G, -1) @ np.swapaxes(Ki, 1, 2)
        return np.concatenate([qh.reshape(C, -1), np.sum(qi * ki, axis=1)[:, None]], axis=1)

    def levels_of(self, block: Block) -> list[Level]:
        """Levels 0..N of ``block``, reusing those it shares with the previous block."""
        N = self.c.n
        if 0 not in self.levels:
            self.levels[0] = self.root()
        out = [self.levels[0]]
        fresh = False
        for i in range(1, N + 1):
            lo, hi = block.prefixes(i)
            old = self.levels.get(i)
            if fresh or old is None or (old.lo, old.hi) != (lo, hi):
                fresh = True
                self.levels[i] = self.extend(out[-1], lo, hi, last=i == N)
            out.append(self.levels[i])
        return out

    # -- results ---------------------------------------------------------------------------------
    def outputs(self, levels: list[Level], member: int) -> np.ndarray:
        """The decoded outputs (N,) of one input (its number in Sigma^N), read off its prefixes."""
        V, N = self.c.alphabet, self.c.n
        return np.array([levels[i].out[member // V ** (N - i) - levels[i].lo] for i in range(1, N + 1)])

    def first_wrong(self, block: Block) -> tuple[int, int, list[Level]] | None:
        """(index in the block of the first wrong input, how many are wrong, the levels) or None."""
        levels = self.levels_of(block)
        wrong = levels[-1].wrong                                          # (stop - start,)
        bad = np.flatnonzero(wrong)
        if not bad.size:
            return None
        return int(bad[0]), int(bad.size), levels
