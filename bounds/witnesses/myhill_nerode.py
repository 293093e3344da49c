"""Minimal RNN state: exact Myhill-Nerode class counts for the answer at position N.

Witnesses ``sht23.rnn-ih`` [R] (induction heads, one-pass models) and the one-layer case of
``sht24a.cor5_2`` [P] (RNN/SSM computing hop_k: with L = 1 < k layers the m-bit state is a
one-way message).

Definition.  Fix a product domain ``D = D_1 x ... x D_N`` and ``f(x) = task(x)_N``.  For a cut
``0 <= t <= N`` two prefixes ``u, u'`` of length t are *equivalent* iff ``f(u v) = f(u' v)``
for every suffix v.  Let ``c_t`` be the number of classes.  Any deterministic one-pass model
(an RNN whose cell may even depend on the position) that outputs f after reading x must be in
distinct states after inequivalent prefixes, so it has at least ``c_t`` states at time t; and
the layered automaton whose states *are* the classes achieves ``c_t`` at every t.  Hence

    minimum number of states = max_t c_t,   minimum state bits = ceil(log2 max_t c_t).

Fast method (``refine``): backward refinement, ``u ~_t u'  iff  u a ~_{t+1} u' a`` for every
symbol a, starting from ``c_N`` = classes of answers, over the reachable states of hop_k's
sufficient-state automaton (automaton.py): equal states are equivalent prefixes, so the domain
is never enumerated and the cost is the number of reachable states (116 per layer for the
induction head at |Σ| = 4, not 4^t).  Where that bound is no gain (the marker family, whose
state holds every data symbol, or |Σ| large against N) the same refinement runs over the
enumerated prefixes (:func:`refine_ids`): O(M).  Second method (``rows``): enumerate the domain, reshape
the answer vector into the (prefix x suffix) matrix per cut and count distinct rows by hashing
(domain.distinct_rows): O(N M).  Tests cross-check both, the enumerated refinement
(:func:`refine_ids`, behind :func:`minimal_automaton`), a plain-Python count over tasks.py and a
brute-force search over small automata.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.bounds.intmath import ceil_log2
from attncheck.bounds.witnesses import automaton
from attncheck.bounds.witnesses.domain import (Domain, Progress, answers,
                                               distinct_rows, make_domain)
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import BadInput

METHODS = ("refine", "rows")

#: task -> (theorem id, status tag, what the count bounds)
THEOREM = {
    "induction": ("sht23.rnn-ih", "R", "any deterministic one-pass model (RNN/SSM)"),
    "hop": ("sht24a.cor5_2", "P", "a one-layer RNN/SSM (L = 1 < k), like any one-pass model,"),
}


@dataclass(frozen=True)
class StateClasses:
    """Exact class counts per cut.  ``cuts[t] = (t, c_t)`` for t = 0..N."""

    task: str
    N: int
    alphabet: int
    k: int
    marker: bool
    inputs: int
    cuts: tuple[tuple[int, int], ...]
    method: str

    @property
    def max_classes(self) -> int:
        return max(c for _, c in self.cuts)

    @property
    def widest_cut(self) -> int:
        """The first cut t where ``c_t`` is maximal."""
        return next(t for t, c in self.cuts if c == self.max_classes)

    @property
    def bits(self) -> int:
        """Minimum state bits ``ceil(log2 max_t c_t)``."""
        return ceil_log2(self.max_classes)

    @property
    def log2(self) -> float:
        return float(np.log2(self.max_classes))

    @property
    def theorem(self) -> tuple[str, str]:
        tid, tag, _ = THEOREM[self.task]
        return tid, tag

    def claim(self) -> str:
        tid, tag, what = THEOREM[self.task]
        name = "induction" if self.task == "induction" else f"hop_{self.k}"
        dom = "marker family" if self.marker else f"|Σ|={self.alphabet}"
        return (f"{tid} [{tag}]: {what} computing {name} at position N={self.N} over {dom}"
                f" needs >= {self.max_classes} states ({self.bits} bits) at cut t={self.widest_cut};"
                f" the minimal layered automaton has exactly that many")

    def to_json(self) -> dict:
        tid, tag = self.theorem
        return {"theorem": tid, "status_tag": tag, "task": self.task, "N": self.N,
                "alphabet": self.alphabet, "k": self.k, "marker": self.marker,
                "inputs": self.inputs, "method": self.method,
                "cuts": [{"t": t, "classes": c} for t, c in self.cuts],
                "max_classes": self.max_classes, "widest_cut": self.widest_cut,
                "log2": round(self.log2, 6), "bits": self.bits}


def refine_ids(ans: np.ndarray, radix: tuple[int, ...], budget: Budget = UNLIMITED,
               on_step: Progress | None = None) -> list[np.ndarray]:
    """Class ids of every prefix at every cut, by backward refinement.

    Returns ``ids`` with ``ids[t]`` of shape ``(|D_1|...|D_t|,)``: the class of each length-t
    prefix (lexicographic order).  ``ids[N]`` classifies complete inputs by their answer."""
    N = len(radix)
    ids: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * (N + 1)
    _, ids[N] = distinct_rows(ans.reshape(-1, 1), budget)
    for t in range(N - 1, -1, -1):
        budget.check(stage="refine", cut=t)
        _, ids[t] = distinct_rows(ids[t + 1].reshape(-1, radix[t]), budget)   # (|D_<=t|, |D_t+1|)
        if on_step:
            on_step(1)
    return ids


def counts_by_rows(ans: np.ndarray, radix: tuple[int, ...], budget: Budget = UNLIMITED,
                   on_step: Progress | None = None) -> list[int]:
    """``c_t`` for every cut by counting distinct rows of the (prefix x suffix) answer matrix."""
    N = len(radix)
    out = []
    prefixes = 1
    for t in range(N + 1):
        budget.check(stage="rows", cut=t)
        c, _ = distinct_rows(ans.reshape(prefixes, -1), budget)         # (|D_<=t|, |D_>t|)
        out.append(c)
        if t < N:
            prefixes *= radix[t]
        if on_step:
            on_step(1)
    return out


def rnn_state_classes(task: str, N: int, alphabet: int, k: int = 1, marker: bool = False,
                      budget: Budget | None = None, method: str = "refine",
                      on_step: Progress | None = None) -> StateClasses:
    """Exact Myhill-Nerode counts ``c_0 .. c_N`` for ``task(x)_N`` over the product domain.

    ``task`` is ``"induction"`` or ``"hop"`` (with ``k`` hops); ``marker=True`` uses the
    streaming INDEX family with ``alphabet`` data symbols (N odd).  Raises BadInput for bad
    sizes or enumerations over the cap, BudgetExceeded when ``budget`` runs out.
    ``on_step(n)`` advances a progress bar by k + N + 1 in all."""
    if method not in METHODS:
        raise BadInput(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    budget = budget or UNLIMITED
    d: Domain = make_domain(task, N, alphabet, k, marker)
    if method == "refine" and automaton.worth_it(d):
        counts = automaton.build(d, budget=budget, on_step=on_step).class_counts()
        if on_step:
            on_step(k + 1)
    elif method == "refine":                    # the marker family, or |Σ| large against N
        ans = answers(d, budget, on_step)
        counts = [int(i.max()) + 1 for i in refine_ids(ans, d.radix, budget, on_step)]
        if on_step:
            on_step(1)
    else:
        ans = answers(d, budget, on_step)
        counts = counts_by_rows(ans, d.radix, budget, on_step)
    return StateClasses(task, d.N, d.alphabet, d.k, d.marker, d.size,
                        tuple(enumerate(counts)), method)


@dataclass(frozen=True, eq=False)
class LayeredAutomaton:
    """The minimal layered automaton: ``delta[t][s, a]`` is the state after reading the a-th
    choice of position t+1 from state s at time t; ``output[s]`` the answer code at time N."""

    radix: tuple[int, ...]
    delta: tuple[np.ndarray, ...]
    output: np.ndarray

    def __post_init__(self):
        frozen = []
        for table in self.delta:
            table = np.array(table, dtype=np.int64)
            table.setflags(write=False)
            frozen.append(table)
        out = np.array(self.output, dtype=np.int64)
        out.setflags(write=False)
        object.__setattr__(self, "delta", tuple(frozen))
        object.__setattr__(self, "output", out)

    def run(self, choice_index: np.ndarray) -> np.ndarray:
        """Answers for inputs given as (B, N) arrays of choice indices."""
        s = np.zeros(choice_index.shape[0], dtype=np.int64)
        for t, table in enumerate(self.delta):
            s = table[s, choice_index[:, t]]
        return self.output[s]


def minimal_automaton(task: str, N: int, alphabet: int, k: int = 1,
                      marker: bool = False) -> LayeredAutomaton:
    """Build the automaton whose states are the classes (shows that max c_t states suffice)."""
    d = make_domain(task, N, alphabet, k, marker)
    ans = answers(d)
    ids = refine_ids(ans, d.radix)
    delta = []
    for t in range(N):
        nxt = ids[t + 1].reshape(-1, d.radix[t])             # (|D_<=t|, |D_t+1|)
        rep = np.zeros(int(ids[t].max()) + 1, dtype=np.int64)
        rep[ids[t]] = np.arange(ids[t].size)                # any representative prefix per class
        delta.append(nxt[rep])
    output = np.zeros(int(ids[N].max()) + 1, dtype=np.int64)
    output[ids[N]] = ans
    return LayeredAutomaton(d.radix, tuple(delta), output)
