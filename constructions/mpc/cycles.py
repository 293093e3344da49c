"""1-vs-2 cycle instances and the pointer-doubling MPC protocols that decide them.

``task.1v2cycle`` (SHT24a section 2.2-2.3) [P]: a 2-regular graph on N vertices that is one
N-cycle (label 1) or two disjoint N/2-cycles (label 2), serialised as N_tok = 2|E| = 2N vertex
tokens, edges in arbitrary order, each edge's endpoints in arbitrary order, labels arbitrary.
Ground truth: ``tasks.cycle_count``.  ``conj.sht24a.2_4`` [P] conjectures Omega(log N) rounds
for any MPC protocol with s = O(N^delta); the protocol below uses ``ceil(log2 N) + 1``.

Pointer doubling [R] (``sht24a.cor3_3`` restricted to graphs of maximum degree 2, i.e. unions
of paths and cycles -- components of diameter <= D in ``ceil(log2 D) + 1`` rounds, s = 4):

* round 0: input machine j holds two edges and sends each endpoint the other endpoint;
* machine v then knows its *far pair* F(v) (the vertices at distance t = 1 on either side, or
  NONE past the end of a path) and M(v) = min over the ball of radius t;
* a doubling round: v sends ``(other far, M(v))`` to each far vertex and ``M(v)`` to itself, so
  v receives the far pairs of its far vertices: F'(v) = vertices at distance 2t and
  M'(v) = min(M(v), M(x), M(y)) = min over radius 2t (windows [x-t, x+t] U [v-t, v+t] U
  [y-t, y+t]).  Every vertex receives <= 2 far words + 1 own word <= s.
* ``components`` outputs M(v) per vertex once 2^K >= D; ``cycles`` adds one round in which each
  v with M(v) = v (one per component) sends a word to machine 0, which outputs the count.

A word packs (tag, vertex, label) with ``h = bit_length(N + 1)`` bits per field.
"""
from __future__ import annotations

import itertools
import math
import random
from typing import Iterator, Sequence

from attncheck.constructions.mpc.model import Inbox, Limits, Protocol, pack
from attncheck.constructions.verdict import BadInput

S_WORDS = 4     # local memory of the doubling protocols


def _check_n(N: int, what: str, *, even: bool) -> None:
    if isinstance(N, bool) or not isinstance(N, int) or N < (6 if even else 2):
        raise BadInput(f"{what}: N must be an integer >= {6 if even else 2}, got {N!r}")
    if even and N % 2:
        raise BadInput(f"{what}: N must be even (two N/2-cycles), got {N}")


# --- instances -----------------------------------------------------------------------------
def cycle_edges(order: Sequence[int]) -> list[tuple[int, int]]:
    return [(order[t], order[(t + 1) % len(order)]) for t in range(len(order))]


def count_promise_graphs(N: int) -> int:
    """Labeled promise graphs on [N]: (N-1)!/2 single cycles + C(N, N/2)/2 ((N/2-1)!/2)^2."""
    h = N // 2
    return math.factorial(N - 1) // 2 + math.comb(N, h) // 2 * (math.factorial(h - 1) // 2) ** 2


def _cycles_on(vertices: Sequence[int]) -> Iterator[list[int]]:
    """Every cycle through ``vertices`` once (fix the first vertex, one direction)."""
    first, rest = vertices[0], vertices[1:]
    for perm in itertools.permutations(rest):
        if perm[0] < perm[-1]:
            yield [first, *perm]


def promise_graphs(N: int) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """All labeled promise graphs: (label, edges) with label 1 (one cycle) or 2 (two cycles)."""
    _check_n(N, "1-vs-2 cycles", even=True)
    for order in _cycles_on(list(range(N))):
        yield 1, cycle_edges(order)
    for half in itertools.combinations(range(1, N), N // 2 - 1):
        a = [0, *half]
        b = [v for v in range(N) if v not in a]
        for ca in _cycles_on(a):
            for cb in _cycles_on(b):
                yield 2, cycle_edges(ca) + cycle_edges(cb)


def random_graph(N: int, rng: random.Random) -> tuple[int, list[tuple[int, int]]]:
    """A uniformly random labeled promise graph given its label (label drawn with prob 1/2)."""
    _check_n(N, "1-vs-2 cycles", even=True)
    perm = list(range(N))
    rng.shuffle(perm)
    if rng.random() < 0.5:
        return 1, cycle_edges(perm)
    return 2, cycle_edges(perm[:N // 2]) + cycle_edges(perm[N // 2:])


def serialize(edges: Sequence[tuple[int, int]], rng: random.Random | None) -> list[int]:
    """SHT24a section 2.3: tokens (u_1, v_1, u_2, v_2, ...).  With ``rng``: edges in a random
    order, each edge in a random orientation; without: the given order."""
    edges = list(edges)
    if rng is not None:
        rng.shuffle(edges)
        edges = [(u, v) if rng.random() < 0.5 else (v, u) for u, v in edges]
    return [x for e in edges for x in e]


def deserialize(tokens: Sequence[int]) -> list[tuple[int, int]]:
    if len(tokens) % 2:
        raise BadInput(f"a serialised edge list has an even number of tokens, got {len(tokens)}")
    it = iter(tokens)
    return list(zip(it, it))                              # (tokens[2t], tokens[2t + 1]) for each t


def component_labels(N: int, edges: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Plain ground truth: for each vertex the smallest vertex of its component (DFS)."""
    adj: dict[int, list[int]] = {v: [] for v in range(N)}
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    label = [-1] * N
    for v in range(N):
        if label[v] >= 0:
            continue
        stack, comp = [v], []
        label[v] = v
        while stack:
            u = stack.pop()
            comp.append(u)
            for w in adj[u]:
                if label[w] < 0:
                    label[w] = v
                    stack.append(w)
    return tuple(label)


def max_degree_two(N: int, edges: Sequence[tuple[int, int]]) -> None:
    """Raise BadInput unless ``edges`` is a graph on [N] with every degree <= 2 and no loops."""
    deg = [0] * N
    for u, v in edges:
        if not (0 <= u < N and 0 <= v < N) or u == v:
            raise BadInput(f"edge ({u}, {v}) is not an edge between two distinct vertices of [0, {N})")
        deg[u] += 1
        deg[v] += 1
    bad = [v for v in range(N) if deg[v] > 2]
    if bad:
        raise BadInput(f"vertex {bad[0]} has degree {deg[bad[0]]}; the doubling protocol needs <= 2")


# --- the doubling protocols ----------------------------------------------------------------
def _doubling(N: int, D: int, report: bool, name: str, theorem: str, s: int = S_WORDS) -> Protocol:
    h = (N + 1).bit_length()
    NONE = N
    K = (max(D, 1) - 1).bit_length()          # ceil(log2 D): radius 2^K >= D
    if s < 2 or s % 2:
        raise BadInput(f"{name}: s must be even and >= 2 so that no edge is split between machines, got {s}")
    lim = Limits(N, s, 1 + 2 * h)
    n_in = 2 * N

    mask = (1 << h) - 1

    def state(r: int, v: int, inbox: Inbox) -> tuple[list[int], int]:
        """(far pair, M(v)) at the start of round r >= 1 (words read as ``unpack(w, 3, h)``,
        the shifts written out: this runs once per distinct memory of a check)."""
        if r == 1:
            nbrs = [w for _, w in inbox if w != NONE]
            return nbrs, min([v, *nbrs])
        far, M = [], v
        for _, w in inbox:
            m = w & mask
            if m < M:
                M = m
            if not w >> (2 * h) & mask:                  # tag 0: a far vertex y (or NONE)
                y = (w >> h) & mask
                if y != NONE:
                    far.append(y)
        return far, M

    def step(r: int, v: int, inbox: Inbox):
        if r == 0:                                   # edges -> endpoints
            out = []
            for t in range(0, len(inbox) - 1, 2):
                a, b = inbox[t][1], inbox[t + 1][1]
                if a != NONE and b != NONE:
                    out += [(a, b), (b, a)]
            return tuple(out)
        far, M = state(r, v, inbox)
        if r == K + 1:                               # report round (cycles only)
            return ((0, 1),) if M == v else ()
        far = far + [NONE] * (2 - len(far))
        out = [(x, word(0, far[1 - t], M)) for t, x in enumerate(far) if x != NONE]
        return tuple(out) + ((v, word(1, 0, M)),)

    top = 1 << h

    def word(tag: int, y: int, m: int) -> int:
        """``pack((tag, y, m), h)`` written out (tag is 0 or 1): the same word, the same error."""
        for f in (y, m):
            if not 0 <= f < top:
                raise ValueError(f"field {f} does not fit in {h} bits")
        return (tag << (2 * h)) | (y << h) | m

    rounds = 1 + K + (1 if report else 0)

    def output(v: int, inbox: Inbox):
        if report:
            return (len(inbox),) if v == 0 else ()
        return (state(rounds, v, inbox)[1],)

    return Protocol(name, theorem, "R", lim, n_in, rounds, step, output,
                    params={"N": N, "D": D, "s": s, "p": lim.p, "doubling_rounds": K},
                    notes=("pointer doubling on graphs of maximum degree 2 (paths and cycles)",))


def components(N: int, D: int | None = None, s: int = S_WORDS) -> Protocol:
    """Component labels (min vertex) of a graph on [N] with <= N edges, max degree 2, every
    component of diameter <= D (default N - 1).  Input: 2N tokens, unused edges = (N, N)."""
    _check_n(N, "components", even=False)
    D = N - 1 if D is None else D
    if not 1 <= D <= N - 1:
        raise BadInput(f"components: the diameter bound D must be in [1, N-1] = [1, {N - 1}], got {D}")
    return _doubling(N, D, report=False, name="components", theorem="sht24a.cor3_3", s=s)


def cycles(N: int, s: int = S_WORDS) -> Protocol:
    """1-vs-2 cycles: output (number of cycles,) on machine 0 (``task.1v2cycle``)."""
    _check_n(N, "1-vs-2 cycles", even=True)
    return _doubling(N, N // 2, report=True, name="cycles", theorem="task.1v2cycle", s=s)


def padded_tokens(N: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Serialise at most N edges into 2N tokens, padding with the unused edge (N, N)."""
    if len(edges) > N:
        raise BadInput(f"components takes at most N = {N} edges, got {len(edges)}")
    return serialize(list(edges) + [(N, N)] * (N - len(edges)), None)
