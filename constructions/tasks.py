"""Ground truth for every task in docs/theorems.md section 2, in plain Python.

Nothing here imports numpy or any construction: these functions are the reference that every
construction, emulator and certificate is compared against (STYLE.md practice 5).

Conventions (docs/theorems.md section 2):

* Sequences are Python sequences of ints, symbols ``0 .. |Sigma|-1``.  The papers index
  positions from 1; a Python list ``x`` of length N holds ``X_1 .. X_N`` at ``x[0] .. x[N-1]``.
* ``BOT`` (bottom, "no match") is ``None``.
* Functions returning a whole output sequence return a list of length N (entry ``t-1`` is the
  output at 1-indexed position ``t``).
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional, Sequence

BOT = None
Out = Optional[int]


# --- task.ih ------------------------------------------------------------------------------
def induction_heads(sigma: Sequence[int]) -> list[Out]:
    """``task.ih`` (SHT24b section 1): ``tau_i = sigma_{j*+1}``, ``j* = max{j < i : sigma_j = sigma_i}``,
    and ``BOT`` when ``sigma_i`` has not occurred before.  One pass with a last-occurrence table.
    """
    last: dict[int, int] = {}          # symbol -> 0-indexed position of its latest occurrence
    out: list[Out] = []
    for t, s in enumerate(sigma):
        j = last.get(s)
        out.append(BOT if j is None else sigma[j + 1])
        last[s] = t
    return out


# --- task.hopk ----------------------------------------------------------------------------
def find1(x: Sequence[int], i: int) -> int:
    """``find^1_X(i) = max({0} U {j : 2 <= j <= i, X_{j-1} = X_i})`` (SHT24a Def 4.1), 1-indexed;
    ``find1(x, 0) = 0``.  ``j = i`` is allowed, so ``X_{i-1} = X_i`` makes ``i`` a fixed point."""
    if i == 0:
        return 0
    target = x[i - 1]
    for j in range(i, 1, -1):          # largest j first
        if x[j - 2] == target:
            return j
    return 0


def find1_table(x: Sequence[int]) -> list[int]:
    """``[find1(x, i) for i in 0..N]`` in one pass (index 0 is the start position, mapped to 0)."""
    n = len(x)
    table = [0] * (n + 1)
    last_after: dict[int, int] = {}    # symbol s -> largest j seen so far with X_{j-1} = s
    for i in range(1, n + 1):
        if i >= 2:
            last_after[x[i - 2]] = i
        table[i] = last_after.get(x[i - 1], 0)
    return table


def find(x: Sequence[int], i: int, k: int) -> int:
    """``find^k = find^1 o find^{k-1}``, ``find^0 = id``; 0 is absorbing."""
    for _ in range(k):
        i = find1(x, i)
    return i


def hop(x: Sequence[int], k: int) -> list[Out]:
    """``hop_k(X)_i = X_{find^k(i)}`` or ``BOT`` if ``find^k(i) = 0`` (SHT24a Def 4.1)."""
    table = find1_table(x)
    out: list[Out] = []
    for i in range(1, len(x) + 1):
        p = i
        for _ in range(k):
            p = table[p]
        out.append(BOT if p == 0 else x[p - 1])
    return out


def hop_multi_sample_ok(x: Sequence[int]) -> bool:
    """``task.hopk.multi`` input distribution: no two equal consecutive tokens (App. G.1)."""
    return all(a != b for a, b in zip(x, x[1:]))


# --- task.qsa -----------------------------------------------------------------------------
def qsa(z: Sequence[Sequence[float]], y: Sequence[Sequence[int]]) -> list[list[float]]:
    """``task.qsa``: ``qSA(X)_i = (1/q) sum_{j in y_i} z_j``; ``y_i`` are 0-indexed q-sets."""
    out = []
    for yi in y:
        q = len(yi)
        dim = len(z[0])
        out.append([sum(z[j][d] for j in yi) / q for d in range(dim)])
    return out


# --- task.match2 / task.match3 ------------------------------------------------------------
def match2(x: Sequence[int], m: int, allow_self: bool = True) -> list[int]:
    """``task.match2``: 1 at i iff some j (j != i unless ``allow_self``) has X_i + X_j = 0 mod M."""
    n = len(x)
    return [int(any((x[i] + x[j]) % m == 0 for j in range(n) if allow_self or j != i))
            for i in range(n)]


def match3(x: Sequence[int], m: int, allow_self: bool = True, allow_repeat: bool = True) -> list[int]:
    """``task.match3``: 1 at i iff some j1, j2 have X_i + X_j1 + X_j2 = 0 mod M.

    ``allow_self``: j1 or j2 may equal i.  ``allow_repeat``: j1 may equal j2.  (docs/theorems.md marks
    both conventions unconfirmed; both are flags.)"""
    n = len(x)
    out = []
    for i in range(n):
        hit = False
        for j1 in range(n):
            if not allow_self and j1 == i:
                continue
            for j2 in range(n):
                if (not allow_self and j2 == i) or (not allow_repeat and j1 == j2):
                    continue
                if (x[i] + x[j1] + x[j2]) % m == 0:
                    hit = True
                    break
            if hit:
                break
        out.append(int(hit))
    return out


# --- communication tasks -------------------------------------------------------------------
def index(a: Sequence[int], i: int) -> int:
    """``task.index``: Bob's output ``a_i`` (i is 1-indexed)."""
    return a[i - 1]


def disj(a: Sequence[int], b: Sequence[int]) -> int:
    """``task.disj``: 1 iff no coordinate has ``a_i = b_i = 1``."""
    return int(not any(ai and bi for ai, bi in zip(a, b)))


def pointer_chasing(matchings: Sequence[Sequence[int]], v: int, first_half: Iterable[int]) -> int:
    """``task.pointer_chasing``: follow ``v -> E_1(v) -> ... -> E_k(...)``; 1 if the end lies in
    ``first_half`` (the part V1_{k+1} of the public partition), else 2.  ``matchings[j][u]`` is
    ``E_{j+1}(u)`` as an index into the next layer."""
    for e in matchings:
        v = e[v]
    return 1 if v in set(first_half) else 2


# --- task.1v2cycle ------------------------------------------------------------------------
def cycle_count(edges: Sequence[tuple[int, int]]) -> int:
    """Number of connected components of a graph given by its edge list (union-find);
    for a 2-regular promise instance this is the number of cycles (``task.1v2cycle`` label)."""
    parent: dict[int, int] = {}

    def root(u: int) -> int:
        parent.setdefault(u, u)
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for u, v in edges:
        ru, rv = root(u), root(v)
        if ru != rv:
            parent[ru] = rv
    return len({root(u) for e in edges for u in e})


#: Sequence-to-sequence tasks over a finite alphabet, by CLI name.  Each entry takes the token
#: list and keyword parameters (e.g. ``k`` for hop) and returns the output list.
SEQ_TASKS: dict[str, Callable[..., list[Out]]] = {
    "induction": lambda x, **_: induction_heads(x),
    "hop": lambda x, k=1, **_: hop(x, k),
}
