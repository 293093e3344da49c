"""The construction data model (constructions/spec.py): cutting a construction to a prefix."""
import itertools

import numpy as np
import pytest

from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.precision import EXACT
from attncheck.constructions.verdict import BadInput
from attncheck.verifiers.emulator import forward


def index_specific(c):
    """``c`` with layer 1's first W_Q stored per position (T, D, dk): the same function."""
    layer = c.layers[0]
    head = layer.heads[0]
    wide = np.broadcast_to(head.W_Q, (c.n + 1,) + head.W_Q.shape)          # (T, D, dk)
    return c.with_layer(0, type(layer)(heads=(head.replace(W_Q=wide),) + layer.heads[1:], map=layer.map))


def test_prefix_slices_index_specific_weights():
    c = index_specific(build_induction(8, 3))
    p = c.prefix(5)
    assert p.n == 5 and p.pos_embed.shape[0] == 6
    assert p.layers[0].heads[0].W_Q.shape[0] == 6
    assert p.layers[0].heads[0].W_K.shape == c.layers[0].heads[0].W_K.shape      # position-free: kept
    assert "built at N = 8" in p.notes[-1]
    assert c.prefix(8) is c


@pytest.mark.parametrize("make", [lambda: build_induction(7, 2), lambda: index_specific(build_induction(7, 2)),
                                  lambda: build_hop(7, 2, 2)], ids=["induction", "index-specific", "hop2"])
@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
def test_prefix_computes_the_first_n_positions_on_every_input(make, attention):
    """Causal mask: on x[:n] the cut construction gives the first n residual rows, attention rows
    and outputs that the whole construction gives on x, for every x in {a, b}^7: bit for bit in
    the declared fixed-point format, and in float64 up to the rounding of sums over n+1 rather
    than N+1 keys."""
    c = make()
    xs = np.array(list(itertools.product(range(2), repeat=c.n)))                 # (B, N)
    for fmt, same in ((c.fmt, np.array_equal), (EXACT, lambda a, b: np.allclose(a, b, rtol=0, atol=1e-12))):
        full = forward(c, xs, fmt, attention)
        for n in range(1, c.n + 1):
            cut = forward(c.prefix(n), xs[:, :n], fmt, attention)
            assert np.array_equal(cut.outputs, full.outputs[:, :n]), (n, str(fmt))
            for a, b in zip(cut.residuals, full.residuals):                       # (B, n+1, D)
                assert same(a, b[:, :n + 1]), (n, str(fmt))
            for a, b in zip(cut.attention, full.attention):                       # (B, H, n+1, n+1)
                assert same(a, b[:, :, :n + 1, :n + 1]), (n, str(fmt))


@pytest.mark.parametrize("n", [0, -1, 9])
def test_prefix_outside_1_to_N_is_bad_input(n):
    with pytest.raises(BadInput, match=f"got {n}"):
        build_induction(8, 3).prefix(n)


def test_a_non_causal_construction_has_no_prefix():
    c = build_induction(8, 3).replace(mask="full")
    with pytest.raises(BadInput, match="'full' attention mask"):
        c.prefix(5)
    assert c.prefix(8) is c
