"""Protocols against plain ground truth; round counts against their formulas."""
import math
import random

import pytest

from attncheck.constructions.mpc import basic, cycles
from attncheck.constructions.mpc.algos import degree_two_graphs
from attncheck.constructions.tasks import cycle_count
from attncheck.verifiers.mpc_machine import run_protocol
from attncheck.constructions.verdict import BadInput


@pytest.mark.parametrize("s", [4, 6])
@pytest.mark.parametrize("n", [1, 2, 5, 8, 9, 17, 33])
def test_basic_protocols_match_truth(n, s):
    rng = random.Random(n * 10 + s)
    p = 8
    for _ in range(5):
        w = [rng.choice([0, 1, 255, rng.randrange(256)]) for _ in range(n)]
        assert run_protocol(basic.prefix_sum(n, s, p), w).output == basic.prefix_truth(w, p)
        assert run_protocol(basic.sort(n, s, p), w).output == basic.sort_truth(w)
        b = basic.broadcast(n, s, p)
        assert run_protocol(b, w).output == basic.broadcast_truth(w, b.limits.q)


def test_round_counts():
    for n in (4, 16, 64, 65):
        m = -(-n // 4)
        assert basic.prefix_sum(n, 4, 8).rounds == 3 + (m - 1).bit_length()
        assert basic.broadcast(n, 4, 8).rounds == math.ceil(math.log(max(n, 4), 4) - 1e-12)
        L = (2 * m - 1).bit_length()
        assert basic.sort(n, 4, 8).rounds == 1 + L * (L + 1) // 2
    for N in (6, 8, 10, 16, 32, 34, 1024):
        assert cycles.cycles(N).rounds == (N - 1).bit_length() + 1        # ceil(log2 N) + 1


@pytest.mark.parametrize("N", [6, pytest.param(8, marks=pytest.mark.slow)])
def test_cycles_protocol_exhaustive(N):
    proto, rng, n = cycles.cycles(N), random.Random(N), 0
    for label, edges in cycles.promise_graphs(N):
        assert label == cycle_count(edges)
        tokens = cycles.serialize(edges, rng)
        assert sorted(map(sorted, cycles.deserialize(tokens))) == sorted(map(sorted, edges))
        assert run_protocol(proto, tokens).output == (label,)
        n += 1
    assert n == cycles.count_promise_graphs(N)


def test_promise_graph_count_formula_by_brute_force():
    # N = 6: 5!/2 single cycles + C(6,3)/2 pairs of triangles
    assert cycles.count_promise_graphs(6) == 60 + 10
    assert sum(1 for _ in cycles.promise_graphs(6)) == 70


def test_cycles_protocol_sampled_larger_N():
    rng = random.Random(7)
    for N in (10, 16, 22):
        proto = cycles.cycles(N)
        for _ in range(20):
            label, edges = cycles.random_graph(N, rng)
            assert run_protocol(proto, cycles.serialize(edges, rng)).output == (label,)


@pytest.mark.parametrize("N", [2, 3, 4, 5])
def test_components_exhaustive_small(N):
    proto = cycles.components(N)
    for g in degree_two_graphs(N):
        assert run_protocol(proto, cycles.padded_tokens(N, g)).output == cycles.component_labels(N, g)


def test_components_diameter_bound_sets_rounds():
    # a path 0-1-...-9 has diameter 9; with D = 4 the labels cannot all reach 0
    N, path = 10, [(t, t + 1) for t in range(9)]
    full = run_protocol(cycles.components(N), cycles.padded_tokens(N, path)).output
    short = run_protocol(cycles.components(N, D=4), cycles.padded_tokens(N, path)).output
    assert full == (0,) * N and short != full
    assert cycles.components(N, D=4).rounds == 1 + 2 and cycles.components(N).rounds == 1 + 4


def test_bad_inputs_are_refused():
    for bad in (4, 7, 1):
        with pytest.raises(BadInput):
            cycles.cycles(bad)
    with pytest.raises(BadInput, match="degree 3"):
        cycles.max_degree_two(4, [(0, 1), (0, 2), (0, 3)])
    with pytest.raises(BadInput):
        basic.prefix_sum(8, 3, 8)
    with pytest.raises(BadInput):
        basic.sort(8, 3, 8)
