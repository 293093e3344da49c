"""Exact one-way communication complexity of the answer at position N under a named split.

Alice holds the tokens at positions ``A``, Bob those at ``B`` (a partition of 1..N); Alice
sends one message, Bob outputs ``task(x)_N``.  The communication matrix has a row per Alice
half and a column per Bob half.  A deterministic one-way protocol with b-bit messages exists
iff the matrix has at most ``2^b`` distinct rows (Bob can decode exactly when equal messages
mean equal rows), so the one-way CC is exactly ``ceil(log2 rows)`` (``cc.oneway``).

Splits (1-indexed positions):

* ``interleaved`` -- the INDEX split of ``sht24b.one-layer-ih-lb`` [R]: Alice holds the even
  positions 2, 4, ... < N, Bob the odd positions and the last.  A one-layer transformer whose
  last query is fixed lets Alice send h(m+1)p bits of partial softmax sums, so
  ``h(m+1)p >= ceil(log2 rows_fixed)`` where ``rows_fixed`` counts rows with X_N held fixed.
* ``block`` -- the blackboard split of ``sht24a.propE_4`` [P]: q = floor(N/2k); Alice holds the
  blocks of players P_k .. P_2 (positions 1 .. 2(k-1)q), Bob = P_1 holds the last block and the
  tail.  One round of the protocol is one such message, so (k-1)s >= bits for R = 1, and a
  one-layer RNN's state at the cut has >= bits bits (``sht24a.cor5_2``).
* ``halves`` / ``prefix:T`` -- Alice holds positions 1..floor(N/2) (resp. 1..T): the rows are
  then the Myhill-Nerode classes at that cut (a cross-check of myhill_nerode).
* ``disj`` (task ``qsa`` only) -- the DISJ split of ``sht23.thm4`` [S]: Alice holds the pointer
  set of token 2q+1 (a in {0,1}^q), Bob the data (b in {0,1}^q); see bounds/reductions.py.

Counting.  Two Alice halves have equal rows iff they are equivalent prefixes of the input read
in the order "Alice's positions, then Bob's", so ``rows`` is the Myhill-Nerode count at that cut
of automaton.py's layered automaton: the (A, B) matrix is never built (at |Σ| = 4, N = 13 it
has 6.7e7 cells; the automaton a few ten thousand states).  :func:`communication_matrix` builds
it from the enumerated answers: for the SMT query, as the tests' second method, and where the
automaton is no gain (automaton.worth_it: the marker family).

Shape glossary: A = number of Alice halves, B = number of Bob halves; the matrix is (A, B).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attncheck.bounds.intmath import ceil_log2
from attncheck.bounds.witnesses import automaton
from attncheck.bounds.witnesses.domain import (Progress, answers, check_domain_cost,
                                               distinct_rows, make_domain)
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import BadInput

SPLITS = ("interleaved", "block", "halves", "prefix:T", "disj")
DEFAULT_SPLIT = {"induction": "interleaved", "hop": "block", "qsa": "disj"}
#: (h, m) pairs for which the report lists the largest ruled-out precision p.
EXAMPLE_HM = ((1, 1), (1, 2), (2, 1), (2, 4), (4, 4))


@dataclass(frozen=True)
class OneWayRows:
    """Exact distinct-row count of the communication matrix of ``task(x)_N`` under ``split``."""

    task: str
    N: int
    alphabet: int
    k: int
    split: str
    marker: bool
    alice: tuple[int, ...]
    bob: tuple[int, ...]
    alice_inputs: int
    bob_inputs: int
    rows: int
    rows_fixed_last: int | None         # max over values of X_N of the rows (X_N is Bob's)
    bound: dict[str, Any] = field(default_factory=dict)

    @property
    def bits(self) -> int:
        """Deterministic one-way CC: ``ceil(log2 rows)``."""
        return ceil_log2(self.rows)

    @property
    def log2(self) -> float:
        return float(np.log2(self.rows))

    def claim(self) -> str:
        b = self.bound
        return (f"{b['theorem']} [{b['status']}]: under the {self.split} split every one-way protocol"
                f" for {_task_name(self.task, self.k)} at N={self.N} sends >= {self.bits} bits"
                f" ({self.rows} distinct rows); {b['inequality']}")

    def to_json(self) -> dict:
        return {"task": self.task, "N": self.N, "alphabet": self.alphabet, "k": self.k,
                "split": self.split, "marker": self.marker, "alice": list(self.alice),
                "bob": list(self.bob), "alice_inputs": self.alice_inputs,
                "bob_inputs": self.bob_inputs, "rows": self.rows, "bits": self.bits,
                "log2": round(self.log2, 6), "rows_fixed_last": self.rows_fixed_last,
                "bound": dict(self.bound)}


def _task_name(task: str, k: int) -> str:
    return {"induction": "induction", "hop": f"hop_{k}", "qsa": "qSA (DISJ decision)"}[task]


def split_positions(split: str, N: int, k: int = 1) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(Alice's positions, Bob's positions), 1-indexed, for a named split."""
    if split == "interleaved":
        alice = tuple(range(2, N, 2))
    elif split == "halves":
        alice = tuple(range(1, N // 2 + 1))
    elif split.startswith("prefix:"):
        try:
            T = int(split.split(":", 1)[1])
        except ValueError:
            raise BadInput(f"--split prefix:T needs an integer T, got {split!r}") from None
        if not 0 <= T <= N:
            raise BadInput(f"--split prefix:T needs 0 <= T <= N={N}, got T={T}")
        alice = tuple(range(1, T + 1))
    elif split == "block":
        if k < 2:
            raise BadInput("--split block is the k-player split of sht24a.propE_4 and needs"
                           f" k >= 2 (got k={k}); use halves or prefix:T for k = 1")
        q = N // (2 * k)
        if q < 1:
            raise BadInput(f"--split block needs N >= 2k for q = floor(N/2k) >= 1 (N={N}, k={k})")
        alice = tuple(range(1, 2 * (k - 1) * q + 1))
    else:
        raise BadInput(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    bob = tuple(t for t in range(1, N + 1) if t not in set(alice))
    return alice, bob


def _rules_out(bits: int) -> list[dict[str, int]]:
    """Largest precision p that ``h(m+1)p < bits`` rules out, for a few (h, m)."""
    out = [{"h": h, "m": m, "p_max_ruled_out": -(-bits // (h * (m + 1))) - 1} for h, m in EXAMPLE_HM]
    return [r for r in out if r["p_max_ruled_out"] >= 1]


def _bound(task: str, split: str, k: int, N: int, bits: int, bits_fixed: int | None) -> dict:
    if task == "qsa":
        q = (N - 1) // 2
        return {"theorem": "sht23.thm4", "status": "S", "driving": q,
                "inequality": f"a one-layer head whose query is Alice's sends m·p bits: m·p >= {bits}"
                              f" (paper: m·p >= c·q, q={q}, c unknown)"}
    if split == "interleaved":
        b = bits_fixed if bits_fixed is not None else bits
        rules = f"rules out h(m+1)p <= {b - 1}" if b > 1 else "rules out no model with p >= 1"
        return {"theorem": "sht24b.one-layer-ih-lb", "status": "R", "driving": (N - 1) // 2,
                "inequality": f"one layer with fixed last query: h(m+1)p >= {b} (rows with X_N fixed);"
                              f" {rules}",
                "rules_out": _rules_out(b)}
    if split == "block":
        return {"theorem": "sht24a.propE_4", "status": "P", "driving": round(N / k ** 6, 6),
                "inequality": f"one blackboard round: (k-1)·s >= {bits} with k={k}; a one-layer RNN"
                              f" (sht24a.cor5_2) needs >= {bits} state bits at the cut"}
    return {"theorem": "cc.oneway", "status": "standard", "driving": bits,
            "inequality": f"a prefix/suffix split: any one-pass model carries >= {bits} bits across it"}


def qsa_disj_matrix(q: int) -> np.ndarray:
    """(2^q, 2^q) matrix: entry [a, b] = 1 iff qSA(X(a, b))_{2q+1} = -e_1 (the DISJ decision).

    Vectorised form of the embedding in bounds/reductions.py: the value is
    ``(1/q) sum_i (b_i if a_i else -1)`` with ``b_i`` read as +-1 (tests compare it with
    constructions.tasks.qsa on the built instances)."""
    a = ((np.arange(1 << q)[:, None] >> np.arange(q)) & 1).astype(np.int8)     # (2^q, q)
    total = a @ (2 * a.T.astype(np.int64) - 1) - (q - a.sum(axis=1, keepdims=True))  # (A, B)
    return (total == -q).astype(np.int8)


def one_way_rows(task: str, N: int, alphabet: int, split: str = "interleaved", k: int = 1,
                 budget: Budget | None = None, marker: bool = False,
                 on_step: Progress | None = None) -> OneWayRows:
    """Exact number of distinct rows (Alice half -> function of Bob's half) and the bits.

    ``task`` is ``induction``, ``hop`` or ``qsa`` (only with ``split="disj"``; there
    ``q = floor((N-1)/2)`` and ``alphabet`` is unused)."""
    budget = budget or UNLIMITED
    if task == "qsa" or split == "disj":
        if task != "qsa" or split != "disj":
            raise BadInput(f"the disj split goes with task qsa only (got task={task!r}, split={split!r})")
        if not isinstance(N, int) or N < 3:
            raise BadInput(f"--N must be >= 3 for qsa (q = floor((N-1)/2) >= 1), got {N!r}")
        q = (N - 1) // 2
        # (2^q, 2^q) int64 temporaries: 8 bytes an entry, so 8 cells of the domain cap each.
        check_domain_cost(8, ((2, 2 * q),), what=f"DISJ_{q} (2^q x 2^q = 2^{2 * q} int64 entries)",
                          hint="lower --N (q = floor((N-1)/2))")
        mat = qsa_disj_matrix(q)
        budget.check(stage="DISJ matrix", q=q)
        rows, _ = distinct_rows(mat, budget)
        if on_step:
            on_step(1)
        return OneWayRows(task, N, 2, 1, split, False, ("pointer set of token 2q+1",),
                          ("data z_1..z_2q",), 1 << q, 1 << q, rows, None,
                          _bound(task, split, 1, N, ceil_log2(rows), None))
    d = make_domain(task, N, alphabet, k, marker)
    alice, bob = split_positions(split, d.N, d.k)
    order = tuple(t - 1 for t in alice + bob)                           # Alice's positions first
    if automaton.worth_it(d, order):
        rows, fixed = _rows_by_automaton(d, order, len(alice), budget, on_step)
    else:                                                               # the marker family
        rows, fixed = _rows_by_matrix(d, split, budget, on_step)
    A = int(np.prod([d.radix[t - 1] for t in alice], dtype=object))
    if on_step:
        on_step(1)
    bits = ceil_log2(rows)
    return OneWayRows(task, d.N, d.alphabet, d.k, split, d.marker, alice, bob, A, d.size // A,
                      rows, fixed, _bound(task, split, d.k, d.N, bits,
                                          None if fixed is None else ceil_log2(fixed)))


def _rows_by_automaton(d, order: tuple[int, ...], cut: int, budget: Budget,
                       on_step: Progress | None) -> tuple[int, int | None]:
    """(rows, rows with X_N fixed) as class counts at the cut after Alice's positions."""
    layers = automaton.build(d, order, budget)
    if on_step:
        on_step(d.k)
    rows = layers.class_counts()[cut]
    if d.N - 1 not in order[cut:]:
        return rows, None
    if d.radix[d.N - 1] == 1:
        return rows, rows
    return rows, max(layers.class_counts(c)[cut] for c in range(d.radix[d.N - 1]))   # X_N read last


def _rows_by_matrix(d, split: str, budget: Budget, on_step: Progress | None) -> tuple[int, int | None]:
    """(rows, rows with X_N fixed) by distinct rows of the enumerated matrix."""
    mat, alice, bob = communication_matrix(d.task, d.N, d.alphabet, split, d.k, d.marker, budget, on_step)
    rows, _ = distinct_rows(mat, budget)
    if d.N not in bob:
        return rows, None
    if d.radix[d.N - 1] == 1:
        return rows, rows
    last = mat.reshape(mat.shape[0], -1, d.radix[d.N - 1])             # (A, B/|D_N|, |D_N|)
    return rows, max(distinct_rows(last[:, :, c], budget)[0] for c in range(d.radix[d.N - 1]))


def communication_matrix(task: str, N: int, alphabet: int, split: str = "interleaved", k: int = 1,
                         marker: bool = False, budget: Budget | None = None,
                         on_step: Progress | None = None) -> tuple[np.ndarray, tuple, tuple]:
    """The (A, B) matrix of answer codes (bottom = number of symbols) with Alice's halves as
    rows and Bob's as columns, both in lexicographic order of their positions (so X_N, Bob's
    last position, varies fastest along a row); returns (matrix, alice, bob).  This is the
    object an independent check (e.g. a z3 factorisation) can consume."""
    budget = budget or UNLIMITED
    d = make_domain(task, N, alphabet, k, marker)
    alice, bob = split_positions(split, d.N, d.k)
    ans = answers(d, budget, on_step).reshape(d.radix)                 # (|D_1|, ..., |D_N|)
    budget.check(stage="matrix")
    mat = np.transpose(ans, [t - 1 for t in alice] + [t - 1 for t in bob])
    A = int(np.prod([d.radix[t - 1] for t in alice], dtype=np.int64))
    return np.ascontiguousarray(mat.reshape(A, -1)), alice, bob        # (A, B)
