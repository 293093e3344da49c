"""The MPC head arithmetic (verifiers/mpc_attend.py): selections by indexing and exact integer
scores give the numbers of the dense emulator, bit for bit (``lemma.sht24a.3_2``)."""
import dataclasses
import random

import numpy as np
import pytest

from attncheck.constructions.mpc.algos import get_algo
from attncheck.constructions.mpc.simulate import compile_protocol
from attncheck.constructions.precision import EXACT, parse_format
from attncheck.verifiers import emulator
from attncheck.verifiers.mpc_attend import as_selection, attend, hardmax_sum, int_scores, plan, project
from attncheck.verifiers.mpc_simulate import apply_layer, embed


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def random_selection(rng, D, k):
    W = np.zeros((D, k))
    for j in range(k):
        if rng.random() < 0.8:
            W[rng.integers(D), j] = rng.choice([1.0, -1.0])
    return W


@pytest.mark.parametrize("seed", range(6))
def test_selection_by_indexing_is_the_product_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    D, k = int(rng.integers(5, 60)), int(rng.integers(1, 40))
    W = random_selection(rng, D, k)
    X = rng.choice([-3.5, -0.0, 0.0, 1.0, 2.0 ** 60, -1e-300], size=(3, 7, D)) * rng.random((3, 7, D))
    X[0, 0] = -0.0
    sel = as_selection(W)
    assert sel is not None
    assert np.array_equal(bits(project(X, W, sel, True)), bits(X @ W))


def test_non_selections_are_recognised_from_the_entries():
    W = np.zeros((4, 3))
    W[0, 0] = W[1, 1] = 1.0
    assert as_selection(W) is not None
    for edit in [((2, 1), 1.0), ((0, 2), 2.0), ((3, 2), 0.5), ((3, 0), 1e-12)]:
        V = W.copy()
        V[edit[0]] = edit[1]
        assert as_selection(V) is None, edit


def test_non_finite_input_takes_the_product():
    W = np.eye(3)
    X = np.array([[[1.0, np.inf, 2.0]]])
    with np.errstate(invalid="ignore"):
        got = project(X, W, as_selection(W), bool(np.all(np.isfinite(X))))
        want = X @ W
    assert np.array_equal(got, want, equal_nan=True) and np.isnan(got).any()     # inf * 0 in the sum


def _residuals(sim, words, attention):
    """The residual each layer's head reads, on a real run (reference layer loop)."""
    X = embed(sim, np.array(words))
    out = []
    for li, layer in enumerate(sim.layers):
        Xm = np.stack([np.stack([X[b, 0]] + [layer.map.fn(t, X[b, t + 1]) for t in range(sim.tokens)])
                       for b in range(X.shape[0])])
        out.append(Xm)
        X, _ = apply_layer(sim, li, X, layer.head, EXACT, attention)
    return out


def _heads(sim, rng):
    """The compiled head and hand-edited ones: a non-selection W_V entry, a scaled W_Q column, a
    swapped W_O, a dyadic query offset."""
    h = sim.layers[0].head
    W_V = h.W_V.copy()
    r, c = np.argwhere(W_V != 0)[rng.integers(np.count_nonzero(W_V))]
    W_V[r, c] = 0.5
    W_Q = h.W_Q.copy()
    W_Q[:, 1] *= 2.0
    W_O = h.W_O.copy()
    W_O[2::5], W_O[4::5] = h.W_O[4::5].copy(), h.W_O[2::5].copy()
    return [h, h.replace(W_V=W_V), h.replace(W_Q=W_Q), h.replace(W_O=W_O), h.replace(temperature=0.5)]


@pytest.mark.parametrize("algo, N", [("cycles", 6), ("sort", 4), ("broadcast", 5)])
@pytest.mark.parametrize("attention", ["hardmax", "softmax"])
def test_attend_equals_the_emulator_bit_for_bit(algo, N, attention):
    """Where float64 is exact (small N) the fast head gives the emulator's numbers exactly, for the
    compiled head and for hand-edited ones that break the selection structure (those fall back)."""
    a = get_algo(algo)
    sim = compile_protocol(a.build(N, None))
    rng = random.Random(N)
    words = [a.sample(N, rng) for _ in range(3)]
    mask = np.ones((1, sim.tokens + 1, sim.tokens + 1), dtype=bool)
    for X in _residuals(sim, words, attention)[:3]:
        for head in _heads(sim, np.random.default_rng(N)):
            y, w = attend(head, X, EXACT, attention)
            y0, w0 = emulator.attend(head, X, EXACT, attention, mask)
            assert np.array_equal(bits(y), bits(y0)) and np.array_equal(bits(w), bits(w0))


def test_selection_plan_is_read_from_the_numbers():
    sim = compile_protocol(get_algo("cycles").build(6, None))
    h = sim.layers[0].head
    p = plan(h)
    assert None not in (p.q, p.k, p.v, p.o)
    W_K = h.W_K.copy()
    W_K[0, 0] = 3.0
    assert plan(h.replace(W_K=W_K)).k is None                            # a copy with an edit: dense


def test_fixed_point_formats_run_the_emulator():
    sim = compile_protocol(get_algo("broadcast").build(4, 2))
    X = embed(sim, np.array([[1, 2, 3, 4]]))
    fmt = parse_format("fixed:30.10")
    mask = np.ones((1, X.shape[1], X.shape[1]), dtype=bool)
    y, w = attend(sim.layers[0].head, X, fmt, "softmax")
    y0, w0 = emulator.attend(sim.layers[0].head, X, fmt, "softmax", mask)
    assert np.array_equal(y, y0) and np.array_equal(w, w0)


def test_int_scores_are_exact_where_float64_rounds():
    """Poly codes at T = 128 (cycles, N = 64): float64 rounds q.k beyond 2^53 and can merge a
    non-sender with its neighbour; the int64 path is exact (checked against Python integers)."""
    sim = compile_protocol(get_algo("cycles").build(64, None))
    C = sim.codes
    rng = random.Random(1)
    sets = [rng.sample(range(64), 4) for _ in range(40)]
    q = C.queries[None]                                                     # (1, T, dq)
    k = np.array([C.key(S) for S in sets])[None]                            # (1, n, dq)
    a = int_scores(q, k)
    want = [[int(sum(int(x) * int(y) for x, y in zip(qr, kr))) for kr in k[0]] for qr in q[0]]
    assert a is not None and a[0].tolist() == want
    assert not np.array_equal((q @ np.swapaxes(k, 1, 2))[0], np.array(want, dtype=np.float64)) or \
        max(abs(v) for r in want for v in r) > 2 ** 53
    assert int_scores(q / 2, k) is None and int_scores(q * 2.0 ** 40, k) is None   # not integers / too large


def test_hardmax_sum_is_the_product_for_integer_values():
    rng = np.random.default_rng(3)
    w = (rng.random((4, 9, 9)) < 0.3).astype(np.float64)
    w[:, :, 0] = 1.0
    v = rng.integers(-50, 50, size=(4, 9, 12)).astype(np.float64)
    assert np.array_equal(bits(hardmax_sum(w, v)), bits(w @ v))
    v2 = v / 3.0                                                           # not integers: the product
    assert np.array_equal(bits(hardmax_sum(w, v2)), bits(w @ v2))


def test_labels_do_not_enable_the_fast_path():
    """The plan comes from the matrices, not from the promise or the codes' labels."""
    sim = compile_protocol(get_algo("broadcast").build(4, 2))
    h = sim.layers[0].head
    W_V = h.W_V.copy()
    W_V[W_V != 0] = 2.0                                                     # same promise, not a selection
    h2 = dataclasses.replace(h.replace(W_V=W_V))
    assert plan(h2).v is None and h2.promise == h.promise
