"""The ``verify mpc ALGO --delta D`` registry: protocols with s = ceil(N^delta) words [R].

Same :class:`~attncheck.constructions.mpc.algos.Algo` records as
:data:`attncheck.constructions.mpc.algos.ALGOS` (instances, samplers and plain ground truth are
shared), with builders that take the memory s = :func:`~attncheck.constructions.mpc.lowmem.memory_words`
(N, delta) and whose round count depends on delta only (:mod:`attncheck.constructions.mpc.lowmem`).
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from attncheck.constructions.mpc import algos, basic, cycles, graphs, lowmem, reach
from attncheck.constructions.mpc.algos import BASIC_P, Algo, Enumeration
from attncheck.constructions.mpc.model import Protocol
from attncheck.constructions.mpc.simulate import Simulation, compile_protocol
from attncheck.constructions.verdict import BadInput


def _need_s(s: int | None) -> int:
    if s is None:
        raise BadInput("the low-memory protocols take s from --delta (s = ceil(N^delta))")
    return s


LOWMEM: dict[str, Algo] = {
    "broadcast": Algo("broadcast", "model.mpc",
                      lambda N, s=None: lowmem.fanout_broadcast(N, _need_s(s), BASIC_P),
                      algos._words_domain, algos._words_sample,
                      lambda N, w, s: basic.broadcast_truth(w, max(N, s)),
                      "broadcast word 0 by fan-out s, ceil(log_s N) <= ceil(1/delta) rounds"),
    "prefix": Algo("prefix", "model.mpc",
                   lambda N, s=None: lowmem.tree_prefix(N, _need_s(s), BASIC_P),
                   algos._words_domain, algos._words_sample,
                   lambda N, w, s: basic.prefix_truth(w, BASIC_P),
                   "prefix sums mod 2^p by a fan-in s-1 tree, 2h+1 rounds (h <= ceil(2/delta))"),
    "sort": Algo("sort", "model.mpc",
                 lambda N, s=None: lowmem.rank_sort(N, _need_s(s), BASIC_P),
                 algos._words_domain, algos._words_sample, lambda N, w, s: basic.sort_truth(w),
                 "rank sort over block pairs with fan-out/fan-in s trees, H + H_A + 2 rounds"),
}


# --- graphs of any degree --------------------------------------------------------------------
def random_edges(N: int, rng: random.Random) -> list[tuple[int, int]]:
    """At most N edges on [N] of a randomly chosen shape, so that degrees vary from 0 to N - 1:
    a star (one vertex of degree N - 1), a random path, G(N, m) with m uniform in [0, N],
    a dense G(N, m) on a third of the vertices (high degrees, parallel edges), or no edge."""
    kind = rng.choice(("star", "path", "gnm", "dense", "empty"))
    if kind == "star":
        hub = rng.randrange(N)
        edges = [(hub, v) if rng.random() < 0.5 else (v, hub) for v in range(N) if v != hub]
    elif kind == "path":
        perm = list(range(N))
        rng.shuffle(perm)
        edges = [(perm[t], perm[t + 1]) for t in range(N - 1)]
    elif kind == "empty":
        edges = []
    else:
        m, top = rng.randint(0, N), (N if kind == "gnm" else max(2, N // 3))
        edges = []
        while len(edges) < m:
            u, v = rng.randrange(top), rng.randrange(top)
            if u != v:
                edges.append((u, v))
    rng.shuffle(edges)
    return edges


def all_graphs(N: int):
    """Every simple graph on [N] (2^C(N,2) of them; N <= 5 keeps it at most 1024)."""
    pairs = list(itertools.combinations(range(N), 2))
    for bits in range(1 << len(pairs)):
        yield [pairs[t] for t in range(len(pairs)) if bits >> t & 1]


def _graph_domain(N: int):
    if N > 5:
        return None
    graphs_ = [g for g in all_graphs(N) if len(g) <= N]
    return Enumeration(len(graphs_), lambda: (cycles.padded_tokens(N, g) for g in graphs_),
                       f"all {len(graphs_)} simple graphs on {N} vertices with at most {N} edges")


def _graph_sample(N: int, rng: random.Random) -> list[int]:
    return cycles.padded_tokens(N, random_edges(N, rng))


def _weighted(N: int, edges, weights) -> list[int]:
    rows = [(u, v, wt) for (u, v), wt in zip(edges, weights)] + [(N, N, 0)] * (N - len(edges))
    return [x for row in rows for x in row]


def _msf_domain(N: int):
    """N <= 5: every simple graph with at most N - 1 edges, each with every weighting in
    {0, 1} (ties broken by edge index); 4,521 instances at N = 5."""
    if N > 5:
        return None
    items = [(g, ws) for g in all_graphs(N) if len(g) < N
             for ws in itertools.product(range(2), repeat=len(g))]
    return Enumeration(len(items), lambda: (_weighted(N, g, ws) for g, ws in items),
                       f"all {len(items)} simple graphs on {N} vertices with at most {N - 1} edges,"
                       f" each with every weighting in {{0, 1}} (ties broken by edge index)")


def _msf_sample(N: int, rng: random.Random) -> list[int]:
    edges = random_edges(N, rng)
    hi = rng.choice((2, 4, 1 << graphs.WEIGHT_BITS))          # many ties, some, or few
    return _weighted(N, edges, [rng.randrange(hi) for _ in edges])


def _default_s(N: int, s: int | None) -> int:
    return s if s is not None else lowmem.memory_words(N, "1/2")


LOWMEM["components"] = Algo(
    "components", "sht24a.cor3_3", lambda N, s=None: graphs.components_any(N, _default_s(N, s)),
    _graph_domain, _graph_sample,
    lambda N, w, s: cycles.component_labels(N, [e for e in cycles.deserialize(w) if e != (N, N)]),
    "component labels of graphs of any degree, deterministic Borůvka, O(log^2 N / delta) rounds")
LOWMEM["reach"] = Algo(
    "reach", "sht24a.cor3_3", lambda N, s=None: reach.reach_components(N, _default_s(N, s)),
    _graph_domain, _graph_sample,
    lambda N, w, s: cycles.component_labels(N, [e for e in cycles.deserialize(w) if e != (N, N)]),
    "component labels by Boolean squaring of A + I: O(log D / delta) rounds, O(N^3/s) memory")
def component_diameter(N: int, edges) -> int:
    """The largest distance between two vertices of one component (BFS from every vertex)."""
    adj: dict[int, list[int]] = {v: [] for v in range(N)}
    for u, v in edges:
        if u < N and v < N and u != v:
            adj[u].append(v)
            adj[v].append(u)
    best = 0
    for src in range(N):
        dist, frontier = {src: 0}, [src]
        while frontier:
            nxt = []
            for x in frontier:
                for y in adj[x]:
                    if y not in dist:
                        dist[y] = dist[x] + 1
                        nxt.append(y)
            frontier = nxt
        best = max(best, max(dist.values()))
    return best


def bounded_diameter_edges(N: int, D: int, rng: random.Random) -> list[tuple[int, int]]:
    """At most N edges on [N], every component of diameter <= D: either vertex-disjoint paths of
    exactly D edges (the promise's worst case), or random trees of radius <= D // 2 (any degree)
    with random extra edges inside the components (which only shorten distances)."""
    perm = list(range(N))
    rng.shuffle(perm)
    if D == 1 or rng.random() < 0.4:
        return [(perm[t], perm[t + 1]) for t in range(N - 1) if (t + 1) % (D + 1)]
    r, comp, depth, edges, roots = D // 2, {}, {}, [], []
    for v in perm:
        here = [x for x in depth if depth[x] < r and comp[x] == roots[-1]] if roots else []
        if not here or rng.random() < 0.2:
            roots.append(v)
            comp[v], depth[v] = v, 0
            continue
        x = rng.choice(here)
        comp[v], depth[v] = comp[x], depth[x] + 1
        edges.append((v, x))
    while len(edges) < N and rng.random() < 0.7:
        u = rng.randrange(N)
        mates = [w for w in range(N) if comp[w] == comp[u] and w != u]
        if mates:
            edges.append((u, rng.choice(mates)))
    rng.shuffle(edges)
    return edges


def reach_algo(D: int | None = None) -> Algo:
    """``reach`` with the diameter promise D (None: N - 1, no promise): instances are graphs
    whose components have diameter <= D, the protocol runs ceil(log2 D) squarings."""
    if D is None:
        return LOWMEM["reach"]
    if D < 1:
        raise BadInput(f"--diameter must be >= 1, got {D}")

    def domain(N: int):
        if N > 5:
            return None
        gs = [g for g in all_graphs(N) if len(g) <= N and component_diameter(N, g) <= D]
        return Enumeration(len(gs), lambda: (cycles.padded_tokens(N, g) for g in gs),
                           f"all {len(gs)} simple graphs on {N} vertices with at most {N} edges and"
                           f" components of diameter <= {D}")

    def build(N: int, s=None):
        if D > max(1, N - 1):
            raise BadInput(f"--diameter {D} exceeds N - 1 = {N - 1}")
        return reach.reach_components(N, _default_s(N, s), D)

    return Algo("reach", "sht24a.cor3_3", build, domain,
                lambda N, rng: cycles.padded_tokens(N, bounded_diameter_edges(N, D, rng)),
                LOWMEM["reach"].truth, f"{LOWMEM['reach'].help}; diameter promise D = {D}")


LOWMEM["msf"] = Algo(
    "msf", "sht24a.cor3_3", lambda N, s=None: graphs.msf(N, _default_s(N, s)),
    _msf_domain, _msf_sample, lambda N, w, s: graphs.kruskal(N, graphs.weighted_edges(N, w)),
    "minimum spanning forest (weights < 2^8, ties by edge index), Borůvka, O(log^2 N / delta) rounds")


def _ceil_frac(x) -> int:
    return -(-x.numerator // x.denominator)


#: Round bounds that depend on delta alone (lowmem.py docstrings; tests check them on a grid of N).
ROUND_BOUNDS = {
    "broadcast": ("ceil(1/delta)", lambda d: _ceil_frac(1 / d)),
    "prefix": ("2 ceil(2/delta) + 1", lambda d: 2 * _ceil_frac(2 / d) + 1),
    "sort": ("2 ceil(1/delta) + 4", lambda d: 2 * _ceil_frac(1 / d) + 4),
}


def lowmem_algo(name: str) -> Algo:
    if name not in LOWMEM:
        raise BadInput(f"--delta applies to {', '.join(LOWMEM)}; {name!r} has no low-memory protocol")
    return LOWMEM[name]


# --- sizes for ``bounds table`` (sht24a.cor3_3) ----------------------------------------------------
@dataclass(frozen=True)
class LowMemBuild:
    """A low-memory protocol and, where the compile limits allow, its Thm 3.1 transformer.
    ``size()``: the transformer's own size when compiled; otherwise layers = R + 1 read off the
    protocol (what the compiled transformer has by construction) and no width, with the reason."""

    protocol: Protocol
    simulation: Simulation | None
    reason: str = ""

    @property
    def theorem(self) -> str:
        return self.protocol.theorem

    def size(self) -> dict:
        R = self.protocol.rounds
        if self.simulation is not None:
            return {**self.simulation.size(), "rounds": R, "s": self.protocol.limits.s, "compiled": True}
        return {"layers": R + 1, "heads": 1, "width": None, "rounds": R, "s": self.protocol.limits.s,
                "compiled": False, "why": self.reason}


def build_lowmem(algo: str, N: int, delta) -> LowMemBuild:
    """``LOWMEM[algo]`` at s = ceil(N^delta), compiled when it fits (poly codes, one-hot/paper
    hashing within the dense-weight limit)."""
    P = lowmem_algo(algo).build(N, lowmem.memory_words(N, delta))
    try:
        return LowMemBuild(P, compile_protocol(P))
    except BadInput as e:
        return LowMemBuild(P, None, str(e))


def build_components_lowmem(N: int, delta) -> LowMemBuild:
    return build_lowmem("components", N, delta)


def build_reach_lowmem(N: int, delta, D: int | None = None) -> LowMemBuild:
    """``reach`` with the diameter promise D (None: N - 1; clipped to [1, N - 1])."""
    D = None if D is None else max(1, min(int(D), N - 1))
    P = reach.reach_components(N, lowmem.memory_words(N, delta), D)
    try:
        return LowMemBuild(P, compile_protocol(P))
    except BadInput as e:
        return LowMemBuild(P, None, str(e))


def build_msf_lowmem(N: int, delta) -> LowMemBuild:
    return build_lowmem("msf", N, delta)
