"""Thm 3.4: one attention layer as a 2D+3-round MPC protocol, bit for bit (sht24a.thm3_4)."""
import numpy as np
import pytest

from attncheck.constructions.mpc.reverse import tree_depth
from attncheck.verifiers.mpc_reverse import check_reverse, simulate_layer
from attncheck.constructions.spec import Head
from attncheck.verifiers.emulator import attend
from attncheck.constructions.precision import fixed
from attncheck.constructions.verdict import BadInput, Status


def _random_case(seed, T, D=5, dk=3, dv=2):
    rng = np.random.default_rng(seed)
    fmt = fixed(8, 6)
    grid = lambda *shape: fmt.quantize(rng.integers(-8, 9, size=shape) / 8.0)
    head = Head(W_Q=grid(D, dk), W_K=grid(D, dk), W_V=grid(D, dv), W_O=grid(dv, D), temperature=2.0)
    X = grid(T, D)
    X[:, 0] = np.rint(X[:, 0])                                    # some exact ties in the scores
    return head, X, fmt


@pytest.mark.parametrize("T, b", [(2, 2), (5, 2), (9, 3), (10, 4), (17, 2)])
@pytest.mark.parametrize("causal", [True, False])
def test_hardmax_layer_bit_for_bit_and_round_count(T, b, causal):
    head, X, fmt = _random_case(T * 7 + b, T)
    mask = (np.tril(np.ones((T, T), dtype=bool)) if causal else np.ones((T, T), dtype=bool))[None]
    y, _ = attend(head, X[None], fmt, "hardmax", mask)
    want = fmt.quantize(X[None] + y, "residual")[0]
    layer, run_, got = simulate_layer(head, X, fmt, "hardmax", causal, b)
    assert np.array_equal(got, want)
    assert layer.depth == tree_depth(T, b) and b ** layer.depth >= T > b ** (layer.depth - 1)
    assert run_.rounds == 2 * layer.depth + 3
    assert run_.traffic()["max_received"] <= layer.protocol.limits.s


def test_softmax_layer_within_one_ulp():
    head, X, fmt = _random_case(3, 9)
    mask = np.tril(np.ones((9, 9), dtype=bool))[None]
    y, _ = attend(head, X[None], fmt, "softmax", mask)
    want = fmt.quantize(X[None] + y, "residual")[0]
    _, _, got = simulate_layer(head, X, fmt, "softmax", True, 2)
    assert np.max(np.abs(got - want)) <= fmt.ulp


def test_wrong_temperature_in_the_protocol_is_caught():
    """Cross-check the checker: a protocol for a different head must disagree."""
    head, X, fmt = _random_case(11, 9)
    mask = np.tril(np.ones((9, 9), dtype=bool))[None]
    y, _ = attend(head, X[None], fmt, "hardmax", mask)
    want = fmt.quantize(X[None] + y, "residual")[0]
    _, _, got = simulate_layer(head.replace(W_O=-head.W_O), X, fmt, "hardmax", True, 2)
    assert not np.array_equal(got, want)


def test_induction_layers_exhaustive_small():
    v, info = check_reverse(3, branching=2)
    assert v.status is Status.VERIFIED and v.cases == 27
    assert all(r["rounds"] == r["expected_rounds"] == 2 * r["depth"] + 3 for r in info["layers"])


def test_reverse_refuses_float_format():
    head, X, _ = _random_case(0, 3)
    with pytest.raises(BadInput, match="fixed-point"):
        simulate_layer(head, X, fixed(8, 6).__class__("exact"))


def test_rows_off_the_grid_are_refused_not_rounded():
    """The protocol's words are Format.to_words of the grid integers; 0.3 is not on fixed:8.6."""
    head, X, fmt = _random_case(5, 3)
    X = X.copy()
    X[0, 0] = 0.3
    with pytest.raises(BadInput, match="62-bit word"):
        simulate_layer(head, X, fmt)
