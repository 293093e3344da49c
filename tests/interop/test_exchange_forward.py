"""The exchange format's forward pass (docs/format.md), written here a second time in plain numpy
from the specification, against the emulator on ``to_construction`` (exact float64 mode).

:func:`plain_pass` is this file's own reading of the format and shares no code with attncheck's
emulator: token ids, ``W_E[ids] + W_pos``, per head ``q = resid W_Q + b_Q`` (k, v alike), causal
softmax of ``attn_scale * q.k``, ``resid += sum_h z W_O + b_O``, ``argmax(resid W_U + b_U)``.
The other exchange tests import it as their independent oracle.
"""
from __future__ import annotations

import numpy as np
import pytest

from attncheck.constructions import exchange as ex
from attncheck.verifiers.emulator import forward


def plain_pass(m: ex.ExchangeModel, tokens: np.ndarray):
    """tokens (B, n) symbols -> (outputs (B, n) with -1 bottom and -2 neither, patterns: per layer
    (B, H, T, T), logits (B, n, U)).  float64, first maximum on ties."""
    tokens = np.atleast_2d(np.asarray(tokens))
    ids = np.array([[m.symbols[t] for t in row] for row in tokens.tolist()], dtype=np.int64)
    if m.start is not None:
        ids = np.concatenate([np.full((len(ids), 1), m.start), ids], axis=1)
    T = ids.shape[1]
    resid = m.W_E[ids] + m.W_pos[:T][None]
    causal = np.tril(np.ones((T, T), dtype=bool))
    patterns = []
    for b in m.blocks:
        q = np.einsum("btd,hde->bhte", resid, b.W_Q) + b.b_Q[None, :, None, :]
        k = np.einsum("btd,hde->bhte", resid, b.W_K) + b.b_K[None, :, None, :]
        v = np.einsum("btd,hde->bhte", resid, b.W_V) + b.b_V[None, :, None, :]
        s = m.attn_scale * np.einsum("bhie,bhje->bhij", q, k)
        s = np.where(causal, s, -np.inf)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        patterns.append(p)
        z = p @ v                                                      # (B, H, T, d)
        resid = resid + np.einsum("bhte,hed->btd", z, b.W_O) + b.b_O
    logits = resid[:, T - tokens.shape[1]:] @ m.W_U + m.b_U
    arg = logits.argmax(axis=-1)
    table = {s: i for i, s in enumerate(m.symbols)}
    out = np.array([[table.get(int(a), -1 if a == m.bottom else -2) for a in row] for row in arg], dtype=np.int64)
    return out, patterns, logits


def random_model(seed: int, *, H: int, d_head: int, layers: int = 2, start: bool = True, biases: bool = True,
                 N: int = 6, alphabet: int = 3, d_model: int = 7, scale: float = 1.0, precision: str = "exact",
                 task: str = "induction", extra_ids: int = 2) -> ex.ExchangeModel:
    """Seeded random weights in the format (gaussian entries; ids 0..alphabet-1 symbols, then
    bottom, then start)."""
    rng = np.random.default_rng(seed)
    V = alphabet + extra_ids
    U = alphabet + 1

    def g(*shape):
        return rng.normal(0, scale, shape)

    blocks = tuple(ex.AttnBlock(g(H, d_model, d_head), g(H, d_model, d_head), g(H, d_model, d_head),
                                g(H, d_head, d_model),
                                *(g(H, d_head) if biases else np.zeros((H, d_head)) for _ in range(3)),
                                g(d_model) if biases else np.zeros(d_model))
                   for _ in range(layers))
    return ex.ExchangeModel(g(V, d_model), g(N + 1, d_model), blocks, g(d_model, U), g(U) if biases else np.zeros(U),
                            task, N, alphabet, tuple(range(alphabet)), alphabet, alphabet + 1 if start else None,
                            float(rng.uniform(0.3, 1.5)), precision, {"k": 2} if task == "hop" else {}, {})


CASES = [(seed, H, d, start, biases) for seed, (H, d) in enumerate([(1, 1), (1, 3), (2, 2), (3, 4), (4, 1)])
         for start in (True, False) for biases in (True, False)]


@pytest.mark.parametrize("seed,H,d,start,biases", CASES)
def test_emulator_exact_equals_plain_pass(seed, H, d, start, biases):
    """Argmax outputs equal and attention patterns within 1e-9 of the plain pass, on random inputs
    of random weights, with and without biases and start token, several H and d_head."""
    m = random_model(seed, H=H, d_head=d, start=start, biases=biases)
    c = ex.to_construction(m)
    X = np.random.default_rng(100 + seed).integers(0, m.alphabet, size=(200, m.N))
    want, pats, logits = plain_pass(m, X)
    tr = forward(c, X, c.fmt)
    srt = np.sort(logits, axis=-1)
    clear = (srt[..., -1] - srt[..., -2]) > 1e-9                    # no float64 near-tie
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(tr.outputs[clear], want[clear])
    for l, p in enumerate(pats):
        got = tr.attention[l][:, :H]                                  # (B, H, T+1|T, ...)
        if start:
            np.testing.assert_allclose(got, p, atol=1e-9, rtol=0)
        else:                                                         # our row 0 is a placeholder
            np.testing.assert_allclose(got[:, :, 1:, 1:], p, atol=1e-9, rtol=0)
            assert np.all(got[:, :, 1:, 0] == 0)


def test_bias_head_adds_b_O_exactly():
    """The b_O head attends uniformly and its output is the constant 1 exactly (uniform weights
    sum to exactly 1: every exponential is exp(0)), in float64 and in a fixed format, so b_O is
    added once (rounded once in the fixed format)."""
    from attncheck.constructions.precision import EXACT, parse_format
    from attncheck.constructions.spec import attention_mask
    from attncheck.verifiers.emulator import attend
    m = random_model(3, H=2, d_head=2, biases=True)
    c = ex.to_construction(m)
    X = np.random.default_rng(0).integers(0, 3, size=(20, m.N))
    for fmt in (EXACT, parse_format("fixed:12.16")):
        tr = forward(c, X, fmt)
        for l, w in enumerate(tr.attention):
            u = w[:, -1]                                              # the b_O head (last)
            T = u.shape[-1]
            want = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
            np.testing.assert_allclose(u, np.broadcast_to(want, u.shape), rtol=0, atol=1e-15)
            head = c.layers[l].heads[-1]
            y, _ = attend(head, tr.residuals[l], fmt, "softmax", attention_mask(c.mask, T)[None])
            np.testing.assert_array_equal(y, np.broadcast_to(fmt.quantize(np.append(m.blocks[l].b_O, 0.0)), y.shape))


def test_read_out_and_ids():
    m = random_model(0, H=1, d_head=1, start=True)
    ids = m.input_ids([[0, 2, 1]])
    assert ids.tolist() == [[m.start, 0, 2, 1]]
    assert m.read_out(np.array([[0, 1, 2, 3]])).tolist() == [[0, 1, 2, -1]]
    m2 = random_model(0, H=1, d_head=1, start=False)
    assert m2.input_ids([[1, 1]]).tolist() == [[1, 1]]


@pytest.mark.parametrize("seed", range(3))
def test_fixed_format_linear_readout_is_exact(seed):
    """In a fixed format the read-out argmax is decided exactly: equal to the argmax of the exact
    rational scores of the grid residual (Fractions), ties to the first column."""
    from fractions import Fraction
    from attncheck.verifiers.gridpass import Grid
    from attncheck.constructions.precision import parse_format
    rng = np.random.default_rng(seed)
    g = Grid(parse_format("fixed:10.8"))
    W = rng.integers(-4, 5, size=(5, 4)) / 8.0                    # coarse: many exact ties
    b = rng.integers(-4, 5, size=4) / 16.0
    X = rng.integers(-64, 65, size=(400, 5)).astype(np.float64)
    got = g.argmax_affine(X, W, b)
    for x, col in zip(X.tolist(), got.tolist()):
        s = [sum(Fraction(int(a), 256) * Fraction(w) for a, w in zip(x, W[:, j])) + Fraction(b[j]) for j in range(4)]
        assert col == s.index(max(s))


@pytest.mark.parametrize("seed,attention", [(0, "softmax"), (1, "softmax"), (2, "hardmax")])
def test_shared_prefix_runs_equal_the_emulator(seed, attention):
    """Exhaustive runs that share prefixes (verifiers/prefix.py) on a model whose row 0 the layers
    update and whose read-out is linear: every input's outputs equal emulator.forward's, bit for
    bit, in a fixed format."""
    import itertools
    from attncheck.constructions.precision import parse_format
    from attncheck.verifiers import prefix
    from attncheck.verifiers.checkloop import Block
    m = random_model(seed, H=2, d_head=3, start=True, biases=True, N=5, alphabet=3, precision="fixed:9.10")
    c = ex.to_construction(m)
    fmt = parse_format(m.precision)
    assert prefix.applies(c, fmt, "induction") and c.start == "token"
    runner = prefix.PrefixRunner(c, "induction", {}, fmt, attention)
    total = 3 ** 5
    levels = runner.levels_of(Block(3, 5, 0, total))
    X = np.array(list(itertools.product(range(3), repeat=5)))
    want = forward(c, X, fmt, attention).outputs
    got = np.array([runner.outputs(levels, i) for i in range(total)])
    np.testing.assert_array_equal(got, want)
