"""The emulator (verifiers/emulator.py): attention semantics and the mechanism in the trace."""
import itertools

import numpy as np

from attncheck.constructions import tasks
from attncheck.constructions.induction import build_induction
from attncheck.constructions.spec import Head, Layer
from attncheck.verifiers.emulator import forward
from attncheck.constructions.precision import EXACT


def test_hardmax_averages_ties():
    c = build_induction(4, 2)
    # a head whose scores are all equal: every visible position gets 1/(i+1)
    h = c.layers[0].heads[0]
    flat = h.replace(W_Q=np.zeros_like(h.W_Q), W_K=np.zeros_like(h.W_K))
    c2 = c.with_layer(0, Layer((flat,)))
    tr = forward(c2, [[0, 1, 0, 1]], EXACT, "hardmax")
    w = tr.attention[0][0, 0]                       # (T, T)
    for i in range(5):
        assert np.allclose(w[i, :i + 1], 1.0 / (i + 1))
        assert np.all(w[i, i + 1:] == 0)           # causal


def test_start_row_is_constant():
    c = build_induction(5, 3)
    tr = forward(c, [[0, 1, 2, 0, 1]], EXACT)
    for X in tr.residuals:
        assert np.array_equal(X[0, 0], c.start_row)


def test_mechanism_in_the_trace_within_the_certified_leakage():
    """Layer 1 attends to i-1; layer 2 to find^1(i) (the start token when 0).  The mass off the
    target never exceeds the leakage bound E/(1+E) that the certificate proved for that head."""
    from attncheck.verifiers.certificate import certify
    c = build_induction(7, 3)
    heads = certify(c, "induction", {}, c.fmt).evidence["heads"]
    floor = [1 - h["leak"] / (1 + h["leak"]) for h in heads]
    X = np.array(list(itertools.product(range(3), repeat=7)))[::7]
    tr = forward(c, X, c.fmt)
    for b, x in enumerate(X.tolist()):
        f1 = tasks.find1_table(x)
        for i in range(1, 8):
            assert tr.attention[0][b, 0, i, i - 1] >= floor[0] - 1e-12
            assert tr.attention[1][b, 0, i, f1[i]] >= floor[1] - 1e-12
