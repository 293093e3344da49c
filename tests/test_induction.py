"""The two-layer induction head: every encoding, exact and fixed point, exhaustive vs certificate."""
import numpy as np
import pytest

from attncheck.constructions import tasks
from attncheck.constructions.induction import build_induction
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.emulator import BOT_CODE, forward
from attncheck.verifiers.exhaustive import check_exhaustive
from attncheck.constructions.precision import EXACT
from attncheck.constructions.verdict import BadInput, Status

GRID = [(N, S) for N in (2, 3, 5, 7) for S in (2, 3, 4) if S <= N]


@pytest.mark.parametrize("encoding", ["sinusoidal", "random", "onehot"])
@pytest.mark.parametrize("N,S", GRID)
def test_exhaustive_and_certificate_agree(encoding, N, S):
    c = build_induction(N, S, encoding)
    for fmt in (EXACT, c.fmt):
        for att in ("softmax", "hardmax"):
            ex = check_exhaustive(c, "induction", {}, fmt, att)
            ce = certify(c, "induction", {}, fmt, att)
            assert ex.status is Status.VERIFIED, (fmt, att, ex.reason)
            assert ce.status is Status.VERIFIED, (fmt, att, ce.reason)
            assert ex.cases == S ** N


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["sinusoidal", "random", "onehot"])
@pytest.mark.parametrize("N,S", [(10, 3), (8, 4), (14, 2)])
def test_exhaustive_larger(encoding, N, S):
    c = build_induction(N, S, encoding)
    assert check_exhaustive(c, "induction", {}, c.fmt).status is Status.VERIFIED
    assert certify(c, "induction", {}, c.fmt).status is Status.VERIFIED


@pytest.mark.parametrize("N,S", [(64, 3), (256, 4), (1024, 8)])
def test_certificate_scales(N, S):
    c = build_induction(N, S)
    v = certify(c, "induction", {}, c.fmt)
    assert v.status is Status.VERIFIED, v.reason
    assert v.cases == f"{S}^{N}"


def test_sizes_are_honest():
    sin = build_induction(64, 3)
    assert (sin.n_layers, sin.max_heads, sin.width) == (2, 1, 13)
    assert build_induction(4096, 3).width == 13                       # O(1) width
    assert build_induction(64, 3, "onehot").width > 2 * 64           # ~ 2N + 3|Sigma|
    r = build_induction(64, 3, "random", D=40)
    assert r.layout["pos"].width == 40
    # precision grows with log N for sinusoidal codes
    bits = [build_induction(N, 3).fmt.bits for N in (16, 256, 4096)]
    assert bits[0] < bits[1] < bits[2]


def test_temperature_is_derived_from_margins():
    a, b = build_induction(64, 3), build_induction(256, 3)
    # lastOccurrence margin lam = gap/(3N) shrinks 4x, so the temperature grows >= 4x
    assert b.layers[1].heads[0].temperature >= 4 * a.layers[1].heads[0].temperature


def test_paper_variant_is_refuted_with_a_replayed_counterexample():
    c = build_induction(6, 3, variant="paper")
    v = check_exhaustive(c, "induction", {}, c.fmt)
    assert v.status is Status.REFUTED
    ce = v.counterexample
    assert ce.explanation["replayed"]
    assert tasks.induction_heads(list(ce.tokens))[ce.position - 1] == ce.expected != ce.got
    assert certify(c, "induction", {}, c.fmt).status is not Status.VERIFIED


def test_paper_variant_wraps_around_beyond_position_one():
    """docs/theorems.md section 11 item 2: |Sigma| = 2, N = 3, X = (0,0,1): at i = 3 the printed
    Lemma D.2 embedding attends to j = 2 although X_3 never occurred (answer bottom)."""
    c = build_induction(3, 2, variant="paper")
    tr = forward(c, [[0, 0, 1]], EXACT, "hardmax")
    X1, h = tr.residuals[1][0], c.layers[1].heads[0]
    score = [float((X1[3] @ h.W_Q[3]) @ (X1[j] @ h.W_K[j])) for j in range(4)]
    assert score[2] > score[0]            # a mismatched key beats the printed start threshold
    assert tr.attention[1][0, 0, 3, 0] == 0 and tr.outputs[0, 2] != BOT_CODE
    assert build_induction(3, 2).layers and forward(build_induction(3, 2), [[0, 0, 1]]).outputs[0, 2] == BOT_CODE


@pytest.mark.parametrize("kwargs,match", [
    (dict(N=1), "N must be"), (dict(N=4, alphabet=5), "alphabet 5 > N"), (dict(N=4, alphabet=1), ">= 2"),
    (dict(N=64, encoding="random", D=3), "too small"), (dict(N=8, encoding="onehot", variant="paper"), "sinusoidal"),
    (dict(N=8, D=8), "does not apply"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(BadInput, match=match):
        build_induction(**kwargs)


def test_outputs_match_ground_truth_on_random_long_inputs():
    c = build_induction(200, 5)
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, size=(20, 200))
    got = forward(c, X, c.fmt).outputs
    want = np.array([[BOT_CODE if v is None else v for v in tasks.induction_heads(x)] for x in X.tolist()])
    assert np.array_equal(got, want)
