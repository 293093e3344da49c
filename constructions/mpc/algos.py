"""The MPC algorithms the side-by-side check runs: protocol builders, instance families, truth.

Registry :data:`ALGOS` (STYLE.md 14), one :class:`Algo` per ``attncheck verify mpc ALGO``:

* ``cycles`` (``task.1v2cycle``): 1-vs-2 cycles by pointer doubling; instances are every labeled
  promise graph on N vertices (:func:`~attncheck.constructions.mpc.cycles.promise_graphs`), each
  serialised in a seeded random edge order and orientation (SHT24a section 2.3), or random ones;
* ``components`` (``sht24a.cor3_3`` restricted to max degree 2): every simple graph of maximum
  degree 2 (:func:`degree_two_graphs`, N <= 7), or random unions of paths and cycles;
* ``broadcast``, ``prefix``, ``sort`` (``model.mpc``): the words ``{0, 1, 2^p - 1}^N``, or
  uniform random words.

Ground truth is plain Python (``tasks.cycle_count``, DFS labels, ``sorted``, running sums),
independent of the machine model.  This module is data; the check that runs the protocol and
its transformer on these instances is :mod:`attncheck.verifiers.mpc_sidebyside`.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Callable, Iterator

from attncheck.constructions.mpc import basic, cycles
from attncheck.constructions.mpc.model import Protocol
from attncheck.constructions.tasks import cycle_count
from attncheck.constructions.verdict import BadInput

BASIC_S, BASIC_P = 4, 8


@dataclass(frozen=True)
class Enumeration:
    """A finite instance family: ``count`` members, ``members()`` a fresh iterator over them
    (input word lists) in one fixed order, and a ``description`` for reports."""

    count: int
    members: Callable[[], Iterator[list[int]]]
    description: str


@dataclass(frozen=True)
class Algo:
    """``build(N, s) -> Protocol`` (s = None: the algorithm's default memory);
    ``domain(N) -> Enumeration`` or None (no enumerable family at this N);
    ``sample(N, rng) -> input words``; ``truth(N, words, s) -> output words`` (s: the protocol's
    memory, which fixes broadcast's machine count max(N, s))."""

    name: str
    theorem: str
    build: Callable[[int, int | None], Protocol]
    domain: Callable[[int], Enumeration | None]
    sample: Callable[[int, random.Random], list[int]]
    truth: Callable[[int, list[int], int], tuple[int, ...]]
    help: str


# --- instance families ---------------------------------------------------------------------
MAX_DOMAIN_N = 12       # beyond this no domain is enumerable here; do not even count it


def _cycle_domain(N: int):
    if N > MAX_DOMAIN_N:
        return None
    n = cycles.count_promise_graphs(N)

    def members() -> Iterator[list[int]]:
        rng = random.Random(N)                   # the same order and orientations every time
        for _, edges in cycles.promise_graphs(N):
            yield cycles.serialize(edges, rng)
    return Enumeration(n, members, f"all {n} labeled promise graphs on {N} vertices (one N-cycle"
                                   f" or two N/2-cycles), each in a seeded random edge order and"
                                   f" orientation")


def _cycle_sample(N: int, rng: random.Random) -> list[int]:
    return cycles.serialize(cycles.random_graph(N, rng)[1], rng)


def degree_two_graphs(N: int) -> Iterator[list[tuple[int, int]]]:
    """Every simple graph on [N] with maximum degree 2 (DFS over the edge list with pruning)."""
    all_edges = list(itertools.combinations(range(N), 2))
    deg = [0] * N
    chosen: list[tuple[int, int]] = []

    def rec(e: int):
        if e == len(all_edges):
            yield list(chosen)
            return
        yield from rec(e + 1)
        u, v = all_edges[e]
        if deg[u] < 2 and deg[v] < 2:
            deg[u] += 1
            deg[v] += 1
            chosen.append((u, v))
            yield from rec(e + 1)
            chosen.pop()
            deg[u] -= 1
            deg[v] -= 1
    return rec(0)


def _components_domain(N: int):
    if N > 7:
        return None
    graphs = list(degree_two_graphs(N))
    return Enumeration(len(graphs), lambda: (cycles.padded_tokens(N, g) for g in graphs),
                       f"all {len(graphs)} simple graphs on {N} vertices with maximum degree 2")


def _components_sample(N: int, rng: random.Random) -> list[int]:
    perm = list(range(N))
    rng.shuffle(perm)
    edges, i = [], 0
    while i < N:
        size = rng.randint(1, N - i)
        seg = perm[i:i + size]
        if size >= 3 and rng.random() < 0.5:
            edges += cycles.cycle_edges(seg)
        else:
            edges += [(seg[t], seg[t + 1]) for t in range(size - 1)]
        i += size
    rng.shuffle(edges)
    return cycles.padded_tokens(N, edges)


def _words_domain(N: int):
    vals = (0, 1, (1 << BASIC_P) - 1)
    if N > MAX_DOMAIN_N:
        return None
    n = len(vals) ** N
    if n > 10 ** 6:
        return None
    return Enumeration(n, lambda: (list(w) for w in itertools.product(vals, repeat=N)),
                       f"all {n} inputs in {{0, 1, {vals[-1]}}}^{N}")


def _words_sample(N: int, rng: random.Random) -> list[int]:
    return [rng.randrange(1 << BASIC_P) for _ in range(N)]


ALGOS: dict[str, Algo] = {
    "cycles": Algo("cycles", "task.1v2cycle", lambda N, s=None: cycles.cycles(N, s or cycles.S_WORDS),
                   _cycle_domain, _cycle_sample,
                   lambda N, w, s: (cycle_count(cycles.deserialize(w)),),
                   "1-vs-2 cycles by pointer doubling, ceil(log2 N)+1 rounds"),
    "components": Algo("components", "sht24a.cor3_3",
                       lambda N, s=None: cycles.components(N, None, s or cycles.S_WORDS),
                       _components_domain, _components_sample,
                       lambda N, w, s: cycles.component_labels(
                           N, [e for e in cycles.deserialize(w) if e != (N, N)]),
                       "component labels of max-degree-2 graphs, ceil(log2 D)+1 rounds"),
    "broadcast": Algo("broadcast", "model.mpc", lambda N, s=None: basic.broadcast(N, s or BASIC_S, BASIC_P),
                      _words_domain, _words_sample,
                      lambda N, w, s: basic.broadcast_truth(w, max(N, s)),
                      "broadcast word 0 to every machine, ceil(log_s q) rounds"),
    "prefix": Algo("prefix", "model.mpc", lambda N, s=None: basic.prefix_sum(N, s or BASIC_S, BASIC_P),
                   _words_domain, _words_sample, lambda N, w, s: basic.prefix_truth(w, BASIC_P),
                   "prefix sums mod 2^p, 3+ceil(log2 ceil(N/s)) rounds"),
    "sort": Algo("sort", "model.mpc", lambda N, s=None: basic.sort(N, s or BASIC_S, BASIC_P),
                 _words_domain, _words_sample, lambda N, w, s: basic.sort_truth(w),
                 "bitonic block sort, 1+L(L+1)/2 rounds"),
}


def get_algo(name: str) -> Algo:
    if name not in ALGOS:
        raise BadInput(f"unknown MPC algorithm {name!r}; choose one of {', '.join(ALGOS)}")
    return ALGOS[name]
