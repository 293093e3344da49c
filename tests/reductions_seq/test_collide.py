"""reduction collide (sht24a.cor5_2): refutations come with a replayed counterexample that the
verifiers' RNN runner confirms; a correct RNN is never refuted."""
from __future__ import annotations

import numpy as np
import pytest

from attncheck.bounds import multipass
from attncheck.bounds.rnn_collide import collide
from attncheck.constructions.rnn import build_rnn
from attncheck.constructions.tasks import hop
from attncheck.constructions.verdict import Status
from attncheck.verifiers.rnn_run import run


def test_k_layers_are_never_refuted():
    for q, k in [(2, 2), (2, 3), (3, 2)]:
        layers = multipass.build_model("successor", k, 2 * q + 3, None, 0)
        assert collide(layers, q, k).status is Status.VERIFIED
        assert collide(layers, q, k, search="rectangle").status is Status.UNKNOWN


@pytest.mark.parametrize("search", ["both", "rectangle"])
@pytest.mark.parametrize("L", [1, 2])
def test_fewer_successor_layers_are_refuted_and_the_runner_agrees(search, L):
    q, k = 2, 3
    v = collide(multipass.build_model("successor", L, 2 * q + 3, None, 0), q, k, search=search)
    assert v.status is Status.REFUTED
    ce = v.counterexample
    tokens = list(ce.tokens)
    got = run(build_rnn("hop", len(tokens), 2 * q + 3, k=L, layers=L), np.array([tokens])).streams[-1][0, -1]
    want = hop(tokens, k)[-1]
    assert want == ce.expected and got == ce.got and got != want


@pytest.mark.parametrize("kind,bits,seed", [("table", 1, 0), ("table", 2, 3), ("elman", 2, 1), ("elman", 4, 2)])
def test_random_small_rnns_are_refuted_by_rectangles(kind, bits, seed):
    q, k = 2, 3
    layers = multipass.build_model(kind, 2, 2 * q + 3, bits, seed)
    v = collide(layers, q, k, search="rectangle")
    assert v.status is Status.REFUTED and v.counterexample.explanation["found_by"] == "rectangle"
    tokens = list(v.counterexample.tokens)
    assert multipass.run_stack(layers, tokens)[-1][-1] != hop(tokens, k)[-1]


def test_sampling_never_verifies():
    layers = multipass.build_model("successor", 2, 7, None, 0)
    v = collide(layers, 2, 2, mode="sample", samples=30)
    assert v.status is Status.UNKNOWN and v.method.value == "sample"
