"""Components of any degree and the minimum spanning forest (constructions/mpc/graphs.py):
against two independent truths each, on every small graph and on random graphs whose degrees
range from 0 to N - 1; the truths against brute force; the transformer side by side."""
import itertools
import random

import pytest

from attncheck.constructions.mpc import cycles, graphs, lowmem
from attncheck.constructions.mpc.lowmem_algos import LOWMEM, all_graphs, random_edges
from attncheck.constructions.verdict import BadInput, Method, Status
from attncheck.verifiers.mpc_machine import run_protocol
from attncheck.verifiers.mpc_sidebyside import side_by_side


def _weighted_tokens(N, edges, weights):
    rows = [(u, v, w) for (u, v), w in zip(edges, weights)] + [(N, N, 0)] * (N - len(edges))
    return rows, [x for row in rows for x in row]


def test_components_every_graph_on_five_vertices():
    P = graphs.components_any(5, 3)
    n = 0
    for g in all_graphs(5):
        if len(g) > 5:
            continue
        got = run_protocol(P, cycles.padded_tokens(5, g)).output
        assert got == cycles.component_labels(5, g) == graphs.union_find_labels(5, g), g
        n += 1
    assert n == 638


@pytest.mark.parametrize("N, delta", [(8, "1/2"), (16, "1/2"), (20, "2/3"), (27, "1/3")])
def test_components_random_graphs_of_any_degree(N, delta):
    rng = random.Random(N)
    P = graphs.components_any(N, lowmem.memory_words(N, delta))
    top = 0
    for _ in range(8):
        g = random_edges(N, rng)
        deg = [0] * N
        for u, v in g:
            deg[u] += 1
            deg[v] += 1
        top = max(top, max(deg))
        assert run_protocol(P, cycles.padded_tokens(N, g)).output == graphs.union_find_labels(N, g)
    star = [(0, v) for v in range(1, N)]                    # degree N - 1, above s
    assert run_protocol(P, cycles.padded_tokens(N, star)).output == (0,) * N
    assert top > P.limits.s                                 # degrees beyond s were exercised


def test_components_ignore_loops_and_out_of_range_endpoints():
    N = 8
    P = graphs.components_any(N, 3)
    toks = cycles.padded_tokens(N, [(1, 1), (2, 3)])
    toks[4:6] = [9, 2]                                      # (9, 2): 9 is no vertex -> ignored
    assert run_protocol(P, toks).output == (0, 1, 2, 2, 4, 5, 6, 7)


def _forest_weight_brute(N, rows):
    """Least total weight over all edge subsets that span the same components (brute force)."""
    real = [(u, v, w) for u, v, w in rows if u < N and v < N and u != v]
    target = graphs.union_find_labels(N, [(u, v) for u, v, _ in real])
    best = None
    for k in range(len(real) + 1):
        for sub in itertools.combinations(range(len(real)), k):
            if graphs.union_find_labels(N, [real[e][:2] for e in sub]) == target:
                wt = sum(real[e][2] for e in sub)
                best = wt if best is None else min(best, wt)
    return best


def test_kruskal_against_brute_force():
    rng = random.Random(0)
    for _ in range(40):
        N = rng.randint(2, 6)
        g = random_edges(N, rng)
        rows, _ = _weighted_tokens(N, g, [rng.randrange(3) for _ in g])
        chosen = graphs.kruskal(N, rows)
        picked = [rows[e] for e in range(N) if chosen[e]]
        assert graphs.union_find_labels(N, [r[:2] for r in picked]) == \
            graphs.union_find_labels(N, [r[:2] for r in rows if r[0] < N and r[1] < N])
        assert len(picked) == N - len(set(graphs.union_find_labels(N, [r[:2] for r in picked])))
        assert sum(r[2] for r in picked) == _forest_weight_brute(N, rows)


@pytest.mark.parametrize("N, delta", [(5, "1/2"), (8, "1/2"), (16, "1/2"), (16, "3/4")])
def test_msf_random_weighted_graphs(N, delta):
    rng = random.Random(100 + N)
    P = graphs.msf(N, lowmem.memory_words(N, delta))
    for _ in range(8):
        g = random_edges(N, rng)
        hi = rng.choice((1, 2, 256))                        # all equal, many ties, mostly distinct
        rows, toks = _weighted_tokens(N, g, [rng.randrange(hi) for _ in g])
        assert run_protocol(P, toks).output == graphs.kruskal(N, rows), rows


def test_msf_breaks_ties_by_edge_index():
    N = 4
    P = graphs.msf(N, 3)
    rows, toks = _weighted_tokens(N, [(0, 1), (1, 2), (0, 2)], [5, 5, 5])   # a triangle, equal weights
    assert run_protocol(P, toks).output == graphs.kruskal(N, rows) == (1, 1, 0, 0)


def test_graph_protocols_refuse_tiny_memory():
    with pytest.raises(BadInput):
        graphs.components_any(16, 2)


@pytest.mark.parametrize("name", ["components", pytest.param("msf", marks=pytest.mark.slow)])
def test_side_by_side_exhaustive_at_N5(name):
    res = side_by_side(LOWMEM[name], 5, s=3)
    v = res.verdict
    assert v.status is Status.VERIFIED and v.method is Method.EXHAUSTIVE
    assert v.cases == (638 if name == "components" else 4521)
    assert res.certificate.ok is True


def test_side_by_side_refutes_a_broken_routing_head():
    res = side_by_side(LOWMEM["components"], 5, s=3, corrupt="fields", mode="sample", samples=3)
    assert res.verdict.status is Status.REFUTED


@pytest.mark.slow
@pytest.mark.parametrize("name", ["components", "msf"])
def test_side_by_side_certificate_at_N8(name):
    res = side_by_side(LOWMEM[name], 8, s=3, mode="sample", samples=20)
    assert res.verdict.status is Status.VERIFIED and res.verdict.method is Method.CERTIFICATE


def test_bounds_builder_sizes():
    from attncheck.constructions.mpc.lowmem_algos import build_components_lowmem, build_msf_lowmem
    small = build_components_lowmem(8, "1/2").size()
    assert small["compiled"] and small["layers"] == small["rounds"] + 1 == 83
    big = build_msf_lowmem(64, "1/2").size()
    assert not big["compiled"] and big["layers"] == graphs.msf(64, 8).rounds + 1 and big["width"] is None
    assert build_msf_lowmem(8, "1/2").theorem == "sht24a.cor3_3"


# --- components by Boolean squaring (constructions/mpc/reach.py) ---------------------------------
def test_reach_every_graph_on_five_vertices():
    from attncheck.constructions.mpc import reach
    P = reach.reach_components(5, 3)
    for g in all_graphs(5):
        if len(g) <= 5:
            assert run_protocol(P, cycles.padded_tokens(5, g)).output == graphs.union_find_labels(5, g), g


@pytest.mark.parametrize("N, delta", [(8, "1/2"), (16, "1/2"), (20, "3/4")])
def test_reach_random_graphs_of_any_degree(N, delta):
    from attncheck.constructions.mpc import reach
    rng = random.Random(7 + N)
    P = reach.reach_components(N, lowmem.memory_words(N, delta))
    for _ in range(4):
        g = random_edges(N, rng)
        assert run_protocol(P, cycles.padded_tokens(N, g)).output == graphs.union_find_labels(N, g)


def test_reach_uses_the_diameter_promise_and_only_it():
    """K = ceil(log2 D) squarings: right on every graph whose components have diameter <= D,
    and a path longer than the promise is labelled wrongly (the promise is what makes it right)."""
    from attncheck.constructions.mpc import reach
    N = 16
    for D in (1, 2, 3, 4, 8, 15):
        P = reach.reach_components(N, 4, D)
        assert P.params["squarings"] == reach.squarings(D) and 2 ** reach.squarings(D) >= D
        path = [(v, v + 1) for v in range(min(D, N - 1))]           # diameter exactly D
        assert run_protocol(P, cycles.padded_tokens(N, path)).output == graphs.union_find_labels(N, path)
    short = reach.reach_components(N, 4, 2)                             # K = 1: radius 2
    long_path = [(v, v + 1) for v in range(5)]                          # diameter 5 > 2
    assert run_protocol(short, cycles.padded_tokens(N, long_path)).output != \
        graphs.union_find_labels(N, long_path)
    rounds = [reach.reach_components(64, 8, D).rounds for D in (2, 4, 8, 16, 32, 63)]
    assert rounds == sorted(rounds) and len(set(rounds[1:])) == 5      # grows with log D, not N


def test_reach_side_by_side_exhaustive_at_N5():
    res = side_by_side(LOWMEM["reach"], 5, s=3)
    assert res.verdict.status is Status.VERIFIED and res.verdict.method is Method.EXHAUSTIVE
    assert res.verdict.cases == 638 and res.certificate.ok is True


@pytest.mark.parametrize("D", [1, 2, 3, 4, 7])
def test_bounded_diameter_sampler_keeps_the_promise_and_reach_is_right(D):
    from attncheck.constructions.mpc.lowmem_algos import bounded_diameter_edges, component_diameter, reach_algo
    rng = random.Random(D)
    N = 16
    algo = reach_algo(D)
    P = algo.build(N, 4)
    for _ in range(6):
        g = bounded_diameter_edges(N, D, rng)
        assert len(g) <= N and component_diameter(N, g) <= D
        assert run_protocol(P, cycles.padded_tokens(N, g)).output == graphs.union_find_labels(N, g)


def test_component_diameter_against_known_graphs():
    from attncheck.constructions.mpc.lowmem_algos import component_diameter
    assert component_diameter(6, [(0, 1), (1, 2), (2, 3)]) == 3
    assert component_diameter(6, [(0, v) for v in range(1, 6)]) == 2
    assert component_diameter(6, [(0, 1), (1, 2), (2, 0), (3, 4)]) == 1
    assert component_diameter(3, []) == 0
