"""Myhill-Nerode counts without enumerating the domain: a forward automaton of hop_k whose
reachable states are refined backwards, with the positions read in any order.

Used by myhill_nerode.py (cuts in the order 1..N) and oneway.py (Alice's positions first, then
Bob's: the distinct rows of the communication matrix are the classes at the cut between them).
Witnesses ``sht23.rnn-ih`` [R], ``sht24a.cor5_2`` [P], ``sht24b.one-layer-ih-lb`` [R],
``sht24a.propE_4`` [P].

**The sufficient state of hop_k.**  After reading x_1..x_t keep ``last = x_t`` and, for every
symbol c other than ``last``, the k symbols ``ans_1(c), ..., ans_k(c)`` that the pointer chain
``p_1 = (last occurrence of c) + 1``, ``p_{m+1} = find^1(p_m)`` reads (SHT24a Def 4.1; ⊥ once
the chain falls off the left end, or when c has not occurred).  Because c is not ``x_t``, its
last occurrence is before t, so the whole chain lies in x_1..x_t and no later symbol changes it.
Reading ``b``:

* the entries of every c other than the old ``last`` stay;
* if ``b != last``, the old last symbol l gets ``ans_1(l) = b`` and ``ans_m(l) = ans_{m-1}(b)``
  (its chain starts at t+1, holding b; ``find^1(t+1)`` is b's chain start, since x_t = l != b);
* b becomes ``last``; its entries are never read again before being rewritten, so they are
  set to ⊥ (one canonical row per state).

The answer at position N is ``x_N`` when ``x_{N-1} = x_N`` (the chain stays at N), else
``ans_k(x_N)``.  So equal states mean equal answers for every continuation: the classes of the
reachable states are exactly the Myhill-Nerode classes.  Tests compare the automaton with the
enumerated answers (domain.answers) on every input.

**Any reading order.**  A state of a layer is the sufficient state of the longest read prefix
x_1..x_f (the frontier) plus the read symbols beyond it, verbatim; reading a position appends
its symbol and absorbs the frontier as far as it is contiguous.  Two partial inputs with equal
rows agree on every completion, so backward refinement (``s ~_t s'`` iff their successors are
equivalent for every symbol) again counts exact classes, at every cut of the order.

Cost: the reachable states of the layers (a few ten thousand for hop_2 at |Σ| = 4, N = 13 under
the interleaved split, where Σ^N has 6.7e7 inputs), never |D|.

Shape glossary: S states of a layer, F = 1 + V k state fields, N positions, V symbols,
c choices at the position a layer reads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.bounds.witnesses.domain import Domain, Progress, distinct_rows
from attncheck.constructions.budget import UNLIMITED, Budget


def step(S: np.ndarray, a: np.ndarray, V: int, k: int) -> np.ndarray:
    """The sufficient states after reading symbol ``a`` (row by row): S (S, F), a (S,).
    Field 0 is ``last`` (V before the first symbol), field ``1 + c k + m`` is ans_{m+1}(c)
    (V is ⊥)."""
    out = S.copy()                                                     # (S, F)
    a = a.astype(np.int64)
    last = S[:, 0].astype(np.int64)
    rows = np.flatnonzero((last != V) & (last != a))
    if rows.size:
        base_l, b = 1 + last[rows] * k, a[rows]
        out[rows, base_l] = b
        for m in range(1, k):
            out[rows, base_l + m] = S[rows, 1 + b * k + m - 1]
    out[np.arange(len(S))[:, None], 1 + a[:, None] * k + np.arange(k)[None, :]] = V
    out[:, 0] = a
    return out


def output(S: np.ndarray, a: np.ndarray, k: int) -> np.ndarray:
    """hop_k's answer code at position N when ``x_N = a`` follows state S: (S,) int64."""
    a = a.astype(np.int64)
    return np.where(S[:, 0] == a, a, S[np.arange(len(S)), 1 + a * k + k - 1]).astype(np.int64)


def start(V: int, k: int, N: int, dtype) -> np.ndarray:
    """The one state of layer 0: nothing read (last = V, every answer ⊥), no symbol pending."""
    row = np.zeros((1, 1 + V * k + N), dtype=dtype)                  # (1, F + N)
    row[0, :1 + V * k] = V
    return row


def _unique_rows(X: np.ndarray, cols: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows of X, inverse), comparing only ``cols`` (the other columns are equal in
    every row): an exact mixed-radix int64 key when ``base^len(cols)`` fits, else a row sort."""
    if base ** len(cols) < (1 << 62):
        key = np.zeros(len(X), dtype=np.int64)
        for c in cols:
            key = key * base + X[:, c]
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        return X[first], inv.reshape(-1)
    uniq, inv = np.unique(X[:, cols], axis=0, return_inverse=True)
    out = np.zeros((len(uniq), X.shape[1]), dtype=X.dtype)
    out[:, cols] = uniq
    return out, inv.reshape(-1)


@dataclass(frozen=True, eq=False)
class Layers:
    """The layered automaton of ``task(x)_N`` over a product domain read in ``order``
    (0-indexed positions): ``delta[t][s, j]`` is the state of layer t+1 reached from state s of
    layer t by the j-th choice at position ``order[t]``; the last layer's states are the answer
    codes ``answers``."""

    order: tuple[int, ...]
    delta: tuple[np.ndarray, ...]
    answers: np.ndarray

    def __post_init__(self):
        for arr in (*self.delta, self.answers):
            arr.setflags(write=False)

    @property
    def sizes(self) -> list[int]:
        """Reachable states per layer (layer N: distinct answers)."""
        return [len(d) for d in self.delta] + [len(self.answers)]

    def class_counts(self, last_choice: int | None = None) -> list[int]:
        """Myhill-Nerode classes at every cut t = 0..N of the order, by backward refinement.
        ``last_choice``: keep only that choice of the last position read (its symbol held
        fixed), e.g. the rows of a communication matrix with X_N fixed."""
        cls = np.arange(len(self.answers))
        counts = [len(self.answers)]
        for t in range(len(self.delta) - 1, -1, -1):
            delta = self.delta[t]
            if last_choice is not None and t == len(self.delta) - 1:
                delta = delta[:, [last_choice]]
            n, cls = distinct_rows(cls[delta])                         # (S_t, c) successor classes
            counts.append(n)
        return counts[::-1]


def worth_it(d: Domain, order: tuple[int, ...] | None = None) -> bool:
    """Whether :func:`build` handles fewer rows than the domain has inputs by a margin (8x),
    from an upper bound on the reachable states: per layer the fewer of the partial inputs
    read so far and (sufficient states V (V+1)^(k(V-1)) + 1) x (symbols pending beyond the
    frontier).  It is not when the alphabet grows with N (the marker family: the state holds
    every data symbol) or |Σ| is large against N; the callers then enumerate."""
    N, V, k = d.N, d.symbols, d.k
    order = tuple(range(N)) if order is None else tuple(order)
    budget_rows = d.size // 8
    Z = V * (V + 1) ** (k * (V - 1)) + 1 if k * (V - 1) < 64 else budget_rows + 1
    read, frontier, partial, rows = set(), 0, 1, 0
    for p in order:
        pending = 1
        for q in read:
            if q >= frontier:
                pending *= d.radix[q]
        rows += min(partial, Z * pending) * d.radix[p]
        if rows > budget_rows:
            return False
        partial *= d.radix[p]
        read.add(p)
        while frontier in read:
            frontier += 1
    return True


def build(d: Domain, order: tuple[int, ...] | None = None, budget: Budget = UNLIMITED,
          on_step: Progress | None = None) -> Layers:
    """The reachable states of every layer of ``d`` read in ``order`` (default 1..N), and their
    transitions.  ``on_step`` is called once per layer."""
    N, V, k = d.N, d.symbols, d.k
    order = tuple(range(N)) if order is None else tuple(order)
    if sorted(order) != list(range(N)):
        raise ValueError(f"order must be a permutation of 0..{N - 1}, got {order}")
    F = 1 + V * k
    dtype = np.uint8 if V < 255 else np.uint16 if V < 65535 else np.uint32
    rows = start(V, k, N, dtype)                                       # (S, F + N)
    read = np.zeros(N, dtype=bool)
    frontier = 0
    delta = []
    answers = np.zeros(0, dtype=np.int64)
    for t, p in enumerate(order):
        budget.check(stage="automaton", layer=t, of=N)
        choices = np.asarray(d.choices[p], dtype=dtype)
        S, c = len(rows), len(choices)
        X = np.repeat(rows, c, axis=0)                                 # (S c, F + N)
        X[:, F + p] = np.tile(choices, S)
        read[p] = True
        reach = frontier
        while reach < N and read[reach]:
            reach += 1
        for q in range(frontier, min(reach, N - 1)):                   # absorb x_{q+1} into the state
            X[:, :F] = step(X[:, :F], X[:, F + q], V, k)
            X[:, F + q] = 0
        frontier = reach
        if t == N - 1:                                                 # everything read: the answer
            answers, inv = np.unique(output(X[:, :F], X[:, F + N - 1], k), return_inverse=True)
        else:
            pending = [F + q for q in range(frontier, N) if read[q]]
            rows, inv = _unique_rows(X, np.array(list(range(F)) + pending), V + 1)
        delta.append(inv.reshape(S, c).astype(np.int64))
        if on_step:
            on_step(1)
    return Layers(order, tuple(delta), answers)
