"""The integer emulator is exact (issue 15): it equals an independent slow reference in Fractions.

The reference below re-derives every stored value of a forward pass from precision.py's rules
with nothing but ``fractions.Fraction`` and Python ints (the exponential from mpmath at a
precision far beyond the grid): the weights are the exact binary fractions of their float64s,
each product and sum is exact and rounded once, half-even, then saturated.  It shares no code
with verifiers/gridpass.py.  Random small constructions (every mask kind, index-specific
weights, snap maps, one and two layers and heads) run in formats below and above 52 bits,
under softmax and hardmax.
"""
from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attncheck.constructions import gridmath
from attncheck.constructions.precision import FixedPointOverflow, fixed
from attncheck.constructions.spec import (MASKS, Construction, Decoder, Head, Label, Layer,
                                          LayoutBuilder, SnapMap, attention_mask)
from attncheck.verifiers import emulator
from attncheck.verifiers.gridpass import Grid, round_mul_shift, weight
from attncheck.verifiers.smt.encode import exp_table as smt_exp_table

FORMATS = ["fixed:3.4", "fixed:6.10", "fixed:8.20", "fixed:20.30", "fixed:27.26", "fixed:30.40",
           "fixed:34.33", "fixed:67.63", "fixed:12.100"]


# --- the reference --------------------------------------------------------------------------
def half_even(v: Fraction) -> int:
    fl = v.numerator // v.denominator
    r = v - fl
    return fl + (r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2 == 1))


def ref_exp(d: int, F: int) -> int:
    """round_half_even(exp(-d 2^-F) 2^F) by mpmath at 4F + 400 bits (no tie exists for d > 0)."""
    if d == 0:
        return 1 << F
    with mpmath.workprec(4 * F + 400):
        y = mpmath.exp(-mpmath.mpf(d) / mpmath.mpf(2) ** F) * mpmath.mpf(2) ** F
        n = int(mpmath.floor(y + mpmath.mpf(0.5)))
    return n


class Ref:
    """One input through a construction, every stored value an exact grid integer."""

    def __init__(self, c: Construction, fmt, attention: str):
        self.c, self.fmt, self.att = c, fmt, attention
        self.F, self.lo, self.hi = fmt.frac_bits, fmt.int_lo, fmt.int_hi

    def store(self, v: Fraction) -> int:
        return min(max(half_even(v * (1 << self.F)), self.lo), self.hi)

    def val(self, n: int) -> Fraction:
        return Fraction(n, 1 << self.F)

    def proj(self, x: list, W, t: int) -> list:
        M = W[t] if W.ndim == 3 else W
        return [self.store(sum((self.val(x[d]) * Fraction(float(M[d, j])) for d in range(len(x))), Fraction(0)))
                for j in range(M.shape[1])]

    def nearest(self, x: list, codes) -> int:
        best, arg = None, 0
        for r, row in enumerate(codes.tolist()):
            cs = [Fraction(v) for v in row]
            s = sum(self.val(a) * b for a, b in zip(x, cs)) - sum(b * b for b in cs) / 2
            if best is None or s > best:
                best, arg = s, r
        return arg

    def run(self, tokens: list) -> tuple[list, list]:
        c, T = self.c, len(tokens) + 1
        X = [[self.store(Fraction(float(v))) for v in c.start_row]]
        for t, x in enumerate(tokens, start=1):
            X.append([self.store(Fraction(float(a)) + Fraction(float(b)))
                      for a, b in zip(c.tok_embed[x], c.pos_embed[t])])
        mask = attention_mask(c.mask, T)
        states = [X]
        for layer in c.layers:
            writes = []
            for h in layer.heads:
                q = [self.proj(X[t], h.W_Q, t) for t in range(T)]
                k = [self.proj(X[t], h.W_K, t) for t in range(T)]
                v = [self.proj(X[t], h.W_V, t) for t in range(T)]
                temp = self.store(Fraction(float(h.temperature)))
                y = []
                for i in range(T):
                    vis = [j for j in range(T) if mask[i, j]]
                    s = {j: self.store(self.val(temp) * sum((self.val(a) * self.val(b) for a, b in zip(q[i], k[j])),
                                                            Fraction(0))) for j in vis}
                    m = max(s.values())
                    if self.att == "hardmax":
                        sel = [j for j in vis if s[j] == m]
                        out = [self.store(sum(self.val(v[j][d]) for j in sel) / len(sel)) for d in range(len(v[0]))]
                    else:
                        e = {j: min(ref_exp(m - s[j], self.F), self.hi) for j in vis}
                        z = min(max(sum(e.values()), self.lo), self.hi)
                        num = [self.store(sum(self.val(e[j]) * self.val(v[j][d]) for j in vis)) for d in range(len(v[0]))]
                        out = [self.store(self.val(n) / self.val(z)) for n in num]
                    y.append(self.proj(out, h.W_O, 0))
                writes.append(y)
            X = [[min(max(X[t][d] + sum(w[t][d] for w in writes), self.lo), self.hi) for d in range(len(X[0]))]
                 for t in range(T)]
            if layer.map is not None:
                new = [row[:] for row in X]
                for src, dst in layer.map.moves:
                    s_, d_ = c.layout[src], c.layout[dst]
                    codes = c.codebooks[s_.codebook]
                    for t in range(T):
                        r = self.nearest(X[t][s_.sl], codes)
                        new[t][d_.sl] = [self.store(Fraction(float(v))) for v in codes[r]]
                for name in layer.map.clears:
                    for t in range(T):
                        new[t][c.layout[name].sl] = [0] * c.layout[name].width
                X = new
            X[0] = states[0][0]
            states.append(X)
        dec = c.decoder
        outs = [dec.symbols[self.nearest(X[t][c.layout[dec.slot].sl], c.codebooks[dec.codebook])] for t in range(1, T)]
        return states, outs


# --- random constructions -----------------------------------------------------------------
def rand_weights(rng, shape, style: str):
    if style == "dyadic":                                   # small binary fractions: exact float64 sums
        return rng.integers(-8, 9, size=shape) / 4.0
    if style == "cancel":                                   # huge terms that cancel: float64 cannot decide
        W = rng.normal(size=shape)
        W.flat[::3] *= 2.0 ** 40
        return W
    return rng.normal(size=shape) * 1.5


def random_construction(seed: int, fmt, style: str) -> Construction:
    rng = np.random.default_rng(seed)
    N, V = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    wout = int(rng.integers(1, 3))
    b = LayoutBuilder()
    b.add("tok", 2, "token", "tok", Label("X"))
    b.add("pos", 2, "const")
    b.add("out", wout, "written", "out", Label("X"))
    layout = b.build()
    D, T = layout.width, N + 1
    codes = {"tok": rng.normal(size=(V, 2)), "out": rng.normal(size=(V + 1, wout))}
    tok = np.zeros((V, D))
    tok[:, :2] = codes["tok"]
    pos = np.zeros((T, D))
    pos[:, 2:4] = rng.normal(size=(T, 2))
    layers = []
    for li in range(int(rng.integers(1, 3))):
        heads = []
        for _ in range(int(rng.integers(1, 3))):
            dk, dv = int(rng.integers(1, 3)), int(rng.integers(1, 3))
            qshape = (T, D, dk) if rng.random() < 0.3 else (D, dk)
            heads.append(Head(rand_weights(rng, qshape, style), rand_weights(rng, (D, dk), style),
                              rand_weights(rng, (D, dv), style), rand_weights(rng, (dv, D), style),
                              float(rng.uniform(0.5, 6.0))))
        smap = SnapMap(moves=(("out", "out"),)) if rng.random() < 0.4 else None
        layers.append(Layer(tuple(heads), smap))
    symbols = tuple([None] + list(range(V)))
    return Construction("random", "induction", "test", "test", {}, layout, codes, tok, pos,
                        rng.normal(size=D) * 0.5, tuple(layers), Decoder("out", "out", symbols), fmt,
                        Label("X"), mask=str(rng.choice(list(MASKS))))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 31), st.sampled_from(FORMATS), st.sampled_from(["softmax", "hardmax"]),
       st.sampled_from(["dyadic", "float", "cancel"]))
def test_emulator_equals_the_fraction_reference(seed, fmt_name, attention, style):
    from attncheck.constructions.precision import parse_format
    fmt = parse_format(fmt_name)
    c = random_construction(seed, fmt, style)
    rng = np.random.default_rng(seed + 1)
    X = rng.integers(0, c.alphabet, size=(3, c.n))
    try:
        tr = emulator.forward(c, X, fmt, attention, keep=True)
    except ValueError as e:                                # fixed:1.0-like softmax: undefined
        assert "undefined" in str(e)
        return
    ref = Ref(c, fmt, attention)
    for b, x in enumerate(X.tolist()):
        states, outs = ref.run(x)
        for l, st_ in enumerate(states):
            assert tr.grid[l][b].tolist() == st_, (l, b)
        assert [None if o == emulator.BOT_CODE else int(o) for o in tr.outputs[b]] == outs


@pytest.mark.parametrize("fmt_name", ["fixed:6.10", "fixed:30.40", "fixed:67.63"])
def test_overflow_raise_names_the_quantity(fmt_name):
    from attncheck.constructions.precision import parse_format
    fmt = parse_format(fmt_name, "raise")
    c = random_construction(3, fmt, "float")
    big = c.replace(tok_embed=c.tok_embed * 2.0 ** (fmt.int_bits + 1))
    with pytest.raises(FixedPointOverflow, match="embedding"):
        emulator.forward(big, np.zeros((1, c.n), dtype=int), fmt)


# --- the pieces -------------------------------------------------------------------------------
@given(st.lists(st.integers(-(1 << 70), 1 << 70), min_size=1, max_size=8), st.integers(0, 40))
def test_round_shift_is_half_even(ps, s):
    want = [half_even(Fraction(p, 1 << s)) for p in ps]
    assert gridmath.round_shift(np.array(ps, dtype=object), s).tolist() == want
    small = [p for p in ps if abs(p) < 1 << 62]
    if small:
        got = gridmath.round_shift(np.array(small, dtype=np.int64), s).tolist()
        assert got == [half_even(Fraction(p, 1 << s)) for p in small]


@given(st.lists(st.tuples(st.integers(-(1 << 40), 1 << 40), st.integers(1, 1 << 20)), min_size=1, max_size=8))
def test_round_ratio_is_half_even(pairs):
    num = np.array([a for a, _ in pairs], dtype=np.int64)
    den = np.array([b for _, b in pairs], dtype=np.int64)
    want = [half_even(Fraction(a, b)) for a, b in pairs]
    assert gridmath.round_ratio_array(num, den).tolist() == want
    assert gridmath.round_ratio_array(num.astype(object), den.astype(object)).tolist() == want
    assert gridmath.round_ratio_array(np.array([5, 7, -5, -7]), np.array([2, 2, 2, 2])).tolist() == [2, 4, -2, -4]


@given(st.lists(st.integers(-(1 << 62), 1 << 62), min_size=1, max_size=6), st.integers(-(1 << 52), 1 << 52),
       st.integers(0, 60), st.sampled_from([(-(1 << 21), (1 << 21) - 1), (-(1 << 52), (1 << 52) - 1)]))
def test_round_mul_shift_is_exact_beyond_64_bits(ps, c, s, rng_):
    lo, hi = rng_
    got = round_mul_shift(np.array(ps, dtype=np.int64), c, s, lo, hi)
    assert got.tolist() == [float(min(max(half_even(Fraction(c * p, 1 << s)), lo), hi)) for p in ps]


def test_round_mul_shift_ties():
    s = 10
    P = np.array([3 << (s - 1), 5 << (s - 1), -(3 << (s - 1)), (1 << 40) + (1 << (s - 1))], dtype=np.int64)
    assert round_mul_shift(P, 1, s, -(1 << 52), 1 << 52).tolist() == [2.0, 2.0, -2.0, float((1 << 30) + 0)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 31), st.sampled_from([(8, 12), (10, 20), (20, 30), (30, 22), (67, 63)]))
def test_projection_with_cancelling_weights_is_exact(seed, IF):
    """Huge weight entries that cancel: float64 gets the sum wrong, the rounding must not be."""
    rng = np.random.default_rng(seed)
    g = Grid(fixed(*IF))
    D, k = 5, 3
    W = rng.normal(size=(D, k))
    W[0] = 2.0 ** 45 * rng.integers(-3, 4, size=k)
    W[1] = -W[0] + rng.integers(-8, 8, size=k) * 2.0 ** -(IF[1] + 1)    # exact sum on the half-grid
    X = np.ones((4, D))
    X[:, 2:] = rng.integers(-5, 5, size=(4, D - 2))
    Xg = X if g.fast else gridmath.to_object(X)
    got = g.project(Xg, weight(W), "query")
    for r in range(4):
        for j in range(k):
            exact = sum(Fraction(int(X[r, d])) * Fraction(float(W[d, j])) for d in range(D))
            assert int(got[r, j]) == min(max(half_even(exact), g.lo), g.hi)


# --- the exponential ------------------------------------------------------------------------
@pytest.mark.parametrize("F", [0, 1, 4, 8, 12])
def test_exp_table_is_exact_for_every_distance(F):
    table = gridmath.exp_table(F)
    ds = range(0, len(table), max(1, len(table) // 3000))
    assert [int(table[d]) for d in ds] == [ref_exp(d, F) for d in ds]
    assert table[-1] == 0 and ref_exp(len(table) - 1, F) == 0


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([3, 14, 17, 20, 26, 33, 40, 47, 48, 52, 63, 90, 130]), st.integers(0, 1 << 62))
def test_exp_ints_matches_the_reference(F, raw):
    cut = int(gridmath.zero_cutoff(F) * 2.0 ** F) + 2
    d = raw % cut
    assert int(gridmath.exp_ints(np.array([d], dtype=object), F)[0]) == ref_exp(d, F)
    if F <= gridmath.FLOAT_EXP_BITS:
        assert int(gridmath.exp_ints(np.array([float(d)]), F)[0]) == ref_exp(d, F)


def near_ties(F: int, count: int) -> list[int]:
    """The ``count`` distances d < 2^22 whose exponential (in grid units) float64 puts closest to a
    half-integer: closer than float64's error bound at these F, so the interval path decides."""
    d = np.arange(1, 1 << 22, dtype=np.float64)
    y = np.exp(-d * 2.0 ** -F) * 2.0 ** F
    gap = np.abs(y - np.floor(y) - 0.5)
    return [int(d[i]) for i in np.argsort(gap)[:count]]


@pytest.mark.parametrize("F", [24, 30])
def test_exp_near_ties_are_decided_exactly(F):
    """Near ties (float64's result within its error of a half-integer, or beyond what its 53 bits
    resolve) go to interval arithmetic; the answer is the reference's."""
    ds = near_ties(F, 3)
    assert all(abs(ref_exp(d, F) - (np.exp(-d * 2.0 ** -F) * 2.0 ** F)) > 0.4999 for d in ds)   # near ties
    got = gridmath.exp_ints(np.array(ds, dtype=np.float64), F)
    assert [int(v) for v in got] == [ref_exp(d, F) for d in ds]
    assert [gridmath.exp_round(d, F) for d in ds] == [ref_exp(d, F) for d in ds]


def test_exp_edges():
    assert gridmath.exp_round(0, 70) == 1 << 70
    assert int(gridmath.exp_ints(np.array([np.inf]), 12)[0]) == 0              # masked
    assert fixed(1, 3).exp_ints([0, 1]).tolist() == [7, min(7, ref_exp(1, 3))]   # exp(0) saturates at I = 1
    assert fixed(2, 3).exp_ints([0]).tolist() == [8]
    with pytest.raises(ValueError):
        gridmath.exp_round(-1, 4)


@pytest.mark.parametrize("I,F", [(2, 0), (2, 1), (3, 2), (4, 4), (2, 6), (1, 3), (6, 8)])
def test_smt_exp_table_is_the_emulators(I, F):
    """The z3 encoding's table is Format.exp_ints, truncated after its last non-zero entry."""
    f = fixed(I, F)
    table = smt_exp_table(f)
    assert list(table) == [min(ref_exp(d, F), f.int_hi) for d in range(len(table))]
    assert min(ref_exp(len(table), F), f.int_hi) == 0 or len(table) == f.int_hi - f.int_lo + 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 31), st.sampled_from([(4, 6), (10, 12), (20, 30), (40, 60)]))
def test_embedding_sums_round_once_from_the_exact_sum(seed, IF):
    """tok + pos aimed at half-grid points: float64's sum cannot decide, the exact sum does;
    the table broadcasts (V, 1, D) against (1, T, D) as the emulator's embedding does."""
    g = Grid(fixed(*IF))
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3, 1, 4)) * 2.0 ** rng.integers(-5, 20)
    half = (rng.integers(-50, 50, size=(1, 5, 4)) + 0.5) * 2.0 ** -IF[1]
    b = (half - a[:1]) + rng.integers(-1, 2, size=(1, 5, 4)) * 2.0 ** -60
    got = g.add_exact_fraction(a, b, "embedding")
    A, B = np.broadcast_arrays(a, b)
    for idx in np.ndindex(A.shape):
        exact = (Fraction(float(A[idx])) + Fraction(float(B[idx]))) * (1 << IF[1])
        assert int(got[idx]) == min(max(half_even(exact), g.lo), g.hi)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2 ** 31), st.sampled_from(["fixed:6.10", "fixed:30.40", "fixed:67.63"]),
       st.sampled_from(["softmax", "hardmax"]))
def test_attend_reads_an_off_grid_residual_exactly(seed, fmt_name, attention):
    """emulator.attend (the per-head entry other runtimes call) on a residual that is not on the
    grid: its products are those of the exact binary fractions, as for the reference."""
    from attncheck.constructions.precision import parse_format
    fmt = parse_format(fmt_name)
    rng = np.random.default_rng(seed)
    T, D, dk, dv = 3, 3, 2, 2
    h = Head(rng.normal(size=(D, dk)), rng.normal(size=(D, dk)), rng.normal(size=(D, dv)),
             rng.normal(size=(dv, D)), float(rng.uniform(0.5, 4)))
    X = rng.normal(size=(1, T, D)) / 3                                 # off the grid
    mask = np.tril(np.ones((T, T), dtype=bool))[None]
    y, _ = emulator.attend(h, X, fmt, attention, mask)
    ref = Ref(None, fmt, attention)
    q, k, v = ([[ref.store(sum((Fraction(float(X[0, t, d])) * Fraction(float(W[d, j])) for d in range(D)),
                               Fraction(0))) for j in range(W.shape[1])] for t in range(T)]
               for W in (h.W_Q, h.W_K, h.W_V))
    temp = ref.store(Fraction(float(h.temperature)))
    for i in range(T):
        s = [ref.store(ref.val(temp) * sum(ref.val(a) * ref.val(b) for a, b in zip(q[i], k[j]))) for j in range(i + 1)]
        m = max(s)
        if attention == "hardmax":
            sel = [j for j in range(i + 1) if s[j] == m]
            out = [ref.store(sum(ref.val(v[j][d]) for j in sel) / len(sel)) for d in range(dv)]
        else:
            e = [min(ref_exp(m - sj, ref.F), ref.hi) for sj in s]
            z = min(sum(e), ref.hi)
            num = [ref.store(sum(ref.val(e[j]) * ref.val(v[j][d]) for j in range(i + 1))) for d in range(dv)]
            out = [ref.store(ref.val(n) / ref.val(z)) for n in num]
        want = ref.proj(out, h.W_O, 0)
        assert y[0, i].tolist() == [float(Fraction(n, 1 << ref.F)) for n in want]   # nearest float64
