"""Instances of the reductions of :mod:`attncheck.bounds.reductions`: the encoders that turn a
communication or graph instance into a token sequence, and the graph families they range over
(docs/theorems.md section 9.1).  Encoders are plain functions so that tests can hand a broken one
to :func:`attncheck.bounds.reductions.check` and watch it be refuted.
"""
from __future__ import annotations

import itertools
import math
import random
from collections import deque
from typing import Iterator

# --- encoders (public: tests feed broken variants to check()) --------------------------------
def index_ih_encode(a, i: int) -> list[int]:
    """SHT24b INDEX family over {0, 1, ?=2}: Bob's b_j at odd positions (b_i = ?), a_j at even."""
    x = []
    for j, aj in enumerate(a, start=1):
        x += [2 if j == i else 0, int(aj)]
    return x + [2]


def index_stream_encode(a, i: int) -> list[int]:
    """Streaming INDEX: data {0, 1}, marker m_j has code 1 + j (distinct, alphabet grows)."""
    x = []
    for j, aj in enumerate(a, start=1):
        x += [1 + j, int(aj)]
    return x + [1 + i]


def pointer_hop_encode(matchings, first_half, q: int) -> list[int]:
    """``task.hopk_blackboard``: Sigma = {1..2q+2}; blocks of 2q tokens for P_k, ..., P_1, then
    X_N = 1.  Layer-j vertex u (0-indexed) has code u+1 (j odd) or q+u+1 (j even); P_j lists
    its vertices at odd slots and their E_j-images at even slots; P_k writes 2q+1 / 2q+2."""
    k = len(matchings)
    code = lambda j, u: u + 1 if j % 2 == 1 else q + u + 1        # noqa: E731
    x: list[int] = []
    for j in range(k, 0, -1):
        for u in range(q):
            img = matchings[j - 1][u]
            x.append(code(j, u))
            x.append(code(j + 1, img) if j < k else (2 * q + 1 if img in first_half else 2 * q + 2))
    return x + [1]


def gadget_encode(edges, k: int, N: int | None = None) -> list[int]:
    """SHT24a Cor 4.3 gadget: vertices 1..k, dagger = k+1, star = k+2, blank = k+3;
    e_i = (star, u, dagger, v, u, dagger, v, star, blank); X = blank^(N-N_k) (e_1..e_k)^(k/2) (1)."""
    dag, star, blank = k + 1, k + 2, k + 3
    body = [t for (u, v) in edges for t in (star, u, dag, v, u, dag, v, star, blank)]
    E = body * (k // 2) + [1]
    N = len(E) if N is None else N
    return [blank] * (N - len(E)) + E


def disj_qsa_encode(a, b) -> tuple[list[list[float]], list[list[int]]]:
    """SHT23 Thm 4 embedding (as re-indexed in docs/theorems.md): tokens 2i, 2i+1 (0-indexed) are
    the '0' and '1' slots of pair i; token 2q points to slot a_i of every pair; the '1' slot
    holds +e_1 iff b_i = 1, every other slot -e_1.  Returns (z, y) for tasks.qsa (d' = 1)."""
    q = len(a)
    z = [[-1.0] for _ in range(2 * q + 1)]
    for i, bi in enumerate(b):
        z[2 * i + 1] = [1.0 if bi else -1.0]
    y = [list(range(q)) for _ in range(2 * q)] + [[2 * i + int(ai) for i, ai in enumerate(a)]]
    return z, y


def glue(edges, n: int, N: int, variant: str = "corrected") -> tuple[list[tuple[int, int]], int]:
    """SHT24a Cor 3.5 gluing [R reconstruction]: k copies of the n-vertex instance, vertex 1
    of each joined to a new hub 0 (k*n + k edges).  ``paper``: k = floor(N/n);
    ``corrected``: k = floor(N/(n+1)), which keeps |E'| <= N."""
    k = N // n if variant == "paper" else N // (n + 1)
    out = [(c * n + u, c * n + v) for c in range(k) for (u, v) in edges]
    out += [(0, c * n + 1) for c in range(k)]
    return out, k


# --- graphs ---------------------------------------------------------------------------------
def _cycles(vertices: tuple[int, ...]) -> Iterator[list[tuple[int, int]]]:
    """Every cycle through all of ``vertices`` once (a 2-cycle is a double edge)."""
    first, rest = vertices[0], vertices[1:]
    for perm in itertools.permutations(rest):
        if len(perm) >= 2 and perm[0] > perm[-1]:
            continue
        seq = (first,) + perm
        yield [(seq[i], seq[(i + 1) % len(seq)]) for i in range(len(seq))]


def one_vs_two_cycles(n: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """All labelled instances on vertices 1..n: (1, an n-cycle) and (2, two n/2-cycles)."""
    vs = tuple(range(1, n + 1))
    out = [(1, c) for c in _cycles(vs)]
    for half in itertools.combinations(vs[1:], n // 2 - 1):
        A = (1,) + half
        B = tuple(v for v in vs if v not in A)
        out += [(2, ca + cb) for ca in _cycles(A) for cb in _cycles(B)]
    return out


def _count_cycles(L: int) -> int:
    return 1 if L <= 3 else math.factorial(L - 1) // 2


def count_one_vs_two(n: int) -> int:
    """len(one_vs_two_cycles(n)) by formula: (n-1)!/2 + C(n-1, n/2-1) c(n/2)^2."""
    return _count_cycles(n) + math.comb(n - 1, n // 2 - 1) * _count_cycles(n // 2) ** 2


def random_one_vs_two(n: int, rnd: random.Random) -> tuple[int, list[tuple[int, int]]]:
    """A uniformly labelled C1 or C2 instance (label drawn with probability 1/2 each)."""
    label = rnd.choice((1, 2))
    perm = list(range(1, n + 1))
    rnd.shuffle(perm)
    cyc = lambda vs: [(vs[i], vs[(i + 1) % len(vs)]) for i in range(len(vs))]   # noqa: E731
    return label, cyc(perm) if label == 1 else cyc(perm[:n // 2]) + cyc(perm[n // 2:])


def diameters(edges) -> list[int]:
    """Diameter of every connected component (BFS from every vertex)."""
    adj: dict[int, set[int]] = {}
    for u, v in edges:
        adj.setdefault(u, set()).add(v)
        adj.setdefault(v, set()).add(u)
    ecc: dict[int, tuple[int, frozenset]] = {}
    for s in adj:
        dist = {s: 0}
        todo = deque([s])
        while todo:
            u = todo.popleft()
            for w in adj[u]:
                if w not in dist:
                    dist[w] = dist[u] + 1
                    todo.append(w)
        ecc[s] = (max(dist.values()), frozenset(dist))
    comps: dict[frozenset, int] = {}
    for e, comp in ecc.values():
        comps[comp] = max(comps.get(comp, 0), e)
    return sorted(comps.values())
