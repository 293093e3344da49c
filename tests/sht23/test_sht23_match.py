"""Match2 (3-dim trigonometric head) and Match3 (third-order attention): scores at weight level,
the attention mechanism, exhaustive agreement under both index conventions, broken variants."""
import itertools
import math

import numpy as np
import pytest

from attncheck.constructions import match
from attncheck.verifiers import match_check, match_run
from attncheck.constructions.tasks import match2 as match2_truth
from attncheck.constructions.tasks import match3 as match3_truth
from attncheck.verifiers.emulator import embed
from attncheck.constructions.precision import EXACT
from attncheck.constructions.verdict import BadInput, Method, Status


def test_match2_scores_are_the_cosine_of_the_pair_sum():
    M, N = 7, 7
    c = match.build_match2(N, M)
    h = c.layers[0].heads[0]
    X = embed(c, np.arange(M)[None, :])[0]                          # tokens 0..6 at positions 1..7
    s = (X @ h.W_Q) @ (X @ h.W_K).T                                  # (T, T) before the temperature
    for i, j in itertools.product(range(M), repeat=2):
        assert s[1 + i, 1 + j] == pytest.approx(math.cos(2 * math.pi * (i + j) / M), abs=1e-12)
    assert np.allclose(s[1:, 0], math.cos(math.pi / M))              # start threshold strictly between
    assert 1 - s[1:, 0].max() >= match.margin(M) - 1e-12
    assert s[1:, 0].min() - math.cos(2 * math.pi / M) >= match.margin(M) - 1e-12


def test_match3_trilinear_scores():
    M, N = 5, 5
    c = match.build_match3(N, M)
    x = np.arange(N)
    X = match_run.embed_match3(c, x[None, :], EXACT)[0]
    s = (X @ c.head.W_Q) @ (X @ c.head.W_K).T
    for i, j1, j2 in itertools.product(range(N), repeat=3):
        assert s[1 + i, 1 + N + j1 * N + j2] == pytest.approx(
            math.cos(2 * math.pi * (x[i] + x[j1] + x[j2]) / M), abs=1e-12)
    assert np.allclose(s[1:N + 1, 0], math.cos(math.pi / M))


def test_match2_attention_goes_to_matches_or_to_the_start_token():
    """Mechanism, not only answers: with no match >= 1 - 1/8 of the mass sits on the start token;
    with a match >= 1 - 1/8 sits on matching positions."""
    N, M = 5, 5
    c = match.build_match2(N, M)
    X = np.array(list(itertools.product(range(M), repeat=N)))
    _, w = match_run.forward_match2(c, X)
    for b in range(0, len(X), 7):
        for i in range(N):
            hits = [1 + j for j in range(N) if (X[b, i] + X[b, j]) % M == 0]
            mass = w[b, 1 + i, hits].sum() if hits else w[b, 1 + i, 0]
            assert mass >= 1 - 1 / 8


@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize("M", [2, 3, 5])
@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
def test_match2_exhaustive_both_conventions(allow_self, M, attention):
    c = match.build_match2(5, M, allow_self=allow_self)
    for fmt in (c.fmt, EXACT):
        v = match_check.check_match(c, "exhaustive", fmt, attention)
        assert v.status is Status.VERIFIED and v.cases == M ** 5, v.reason


@pytest.mark.parametrize("allow_self,allow_repeat", list(itertools.product([True, False], repeat=2)))
def test_match3_exhaustive_all_conventions(allow_self, allow_repeat):
    c = match.build_match3(4, 5, allow_self, allow_repeat)
    v = match_check.check_match(c, "exhaustive", c.fmt)
    assert v.status is Status.VERIFIED and v.cases == 5 ** 4


def test_conventions_differ_so_the_masks_matter():
    """Each head implements its own convention: on [4]^3 the allow_self head disagrees with the
    no-self truth somewhere, and vice versa (so the masks are doing real work)."""
    X = np.array(list(itertools.product(range(4), repeat=3)))
    for allow in (True, False):
        out, _ = match_run.forward_match2(match.build_match2(3, 4, allow_self=allow), X)
        other = np.array([match2_truth(x, 4, not allow) for x in X.tolist()])
        own = np.array([match2_truth(x, 4, allow) for x in X.tolist()])
        assert np.array_equal(out, own) and not np.array_equal(out, other)
    Y = np.array(list(itertools.product(range(5), repeat=3)))
    for allow_self, allow_repeat in [(True, False), (False, True)]:
        c = match.build_match3(3, 5, allow_self, allow_repeat)
        out, _ = match_run.forward_match3(c, Y)
        own = np.array([match3_truth(y, 5, allow_self, allow_repeat) for y in Y.tolist()])
        loose = np.array([match3_truth(y, 5, True, True) for y in Y.tolist()])
        assert np.array_equal(out, own) and not np.array_equal(out, loose)


@pytest.mark.parametrize("builder", [lambda: match.build_match2(5, 5, variant="no-threshold"),
                                     lambda: match.build_match3(4, 5, variant="no-threshold")])
def test_no_threshold_variant_is_refuted_and_replayed(builder):
    c = builder()
    v = match_check.check_match(c, "exhaustive", EXACT)
    assert v.status is Status.REFUTED and v.method is Method.EXHAUSTIVE
    ce = v.counterexample
    assert ce.explanation["replayed"] and ce.expected == 0 and ce.got == 1
    assert ce.explanation["weight_on_start"] < 0.5


def test_sampling_never_verifies():
    v = match_check.check_match(match.build_match2(6, 7), "sample", samples=50)
    assert v.status is Status.UNKNOWN and v.method is Method.SAMPLE


@pytest.mark.parametrize("call,needle", [
    (lambda: match.build_match2(1, 5), "--N"), (lambda: match.build_match2(4, 1), "--alphabet"),
    (lambda: match.build_match3(4, 5, variant="paper"), "variant"),
    (lambda: match_check.check_match(match.build_match3(20, 7), "exhaustive"), "over the limit"),
    (lambda: match_check.check_match(match.build_match2(4, 3), "certificate"), "certificate"),
])
def test_bad_inputs_are_refused(call, needle):
    with pytest.raises(BadInput, match=needle):
        call()


@pytest.mark.slow
def test_match_at_the_catalogue_size():
    """docs/theorems.md 9.1: M <= 7, N <= 6 (Match3 at N = 5 keeps the test under ~10 s)."""
    c = match.build_match3(5, 7, allow_self=False, allow_repeat=False)
    assert match_check.check_match(c, "exhaustive", c.fmt).status is Status.VERIFIED
    c2 = match.build_match2(6, 7, allow_self=False)
    assert match_check.check_match(c2, "exhaustive", c2.fmt).status is Status.VERIFIED
