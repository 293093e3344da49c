"""Finite input domains, the task's answer on every input, and exact distinct-row counting.

A witness (docs/theorems.md section 9.2) is a count over a *product* domain
``D_1 x ... x D_N`` of token sequences: every prefix set and suffix set is then a product
too, so "prefix u and suffix v" always combine into a valid input and the counts are exact
minima (not just lower bounds) for models that must be right on the domain.

Two families of domains:

* ``full``: ``D_t = Sigma = {0 .. |Sigma|-1}`` at every position (a fixed alphabet);
* ``marker`` (the streaming INDEX family of ``sht23.rnn-ih``, N = 2n'+1): position ``2j-1``
  holds the distinct marker ``m_j`` (code ``|Sigma| + j - 1``), position ``2j`` a data symbol
  from ``Sigma``, and position N any marker ``m_1 .. m_n'`` (the query).  The alphabet then
  grows with N: ``|Sigma| + n'`` symbols.

Shape glossary: N positions, M = |D_1|...|D_N| inputs, R rows, C columns.  Inputs are listed
in lexicographic order with position 1 most significant, so ``answers(d).reshape(radix)`` is
the answer tensor and reshaping it to ``(|D_1..t|, |D_t+1..N|)`` is the prefix/suffix matrix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import BadInput

#: Tasks with a per-token answer at position N (ground truth in constructions/tasks.py).
SEQ_TASKS = ("induction", "hop")
#: Largest M * N (input cells) of a witness domain.  What enumerates the domain (``--method
#: rows``, :func:`answers`, oneway.communication_matrix, the n-gram table) takes about 15-20 s
#: and 1.5 GiB at the cap on the reference machine (2 cores; benchmarks/witnesses.py); the
#: default counts walk automaton.py's reachable states instead (milliseconds at the cap), but
#: keep the same cap, so every witness refuses the same sizes and the published tables stay.
MAX_CELLS = 1 << 30

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Domain:
    """The product domain of one witness computation (see the module docstring)."""

    task: str
    N: int
    alphabet: int
    k: int
    marker: bool
    choices: tuple[tuple[int, ...], ...]     # allowed symbol codes at positions 1..N

    @property
    def radix(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.choices)

    @property
    def size(self) -> int:
        return int(np.prod(self.radix, dtype=object))

    @property
    def symbols(self) -> int:
        """Number of symbol codes in use (data symbols plus markers)."""
        return self.alphabet + (self.N - 1) // 2 if self.marker else self.alphabet

    @property
    def bot(self) -> int:
        """Answer code of the bottom symbol (no earlier occurrence)."""
        return self.symbols

    def describe(self) -> str:
        if self.marker:
            return f"marker family: {(self.N - 1) // 2} markers + |Σ|={self.alphabet} data symbols"
        return f"|Σ|^N = {self.alphabet}^{self.N}"


def validate_sizes(N: int, alphabet: int, k: int = 1) -> None:
    if not isinstance(N, (int, np.integer)) or N < 2:
        raise BadInput(f"--N must be an integer >= 2, got {N!r}")
    if not isinstance(alphabet, (int, np.integer)) or alphabet < 2:
        raise BadInput(f"--alphabet must be an integer >= 2, got {alphabet!r}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise BadInput(f"--k must be an integer >= 1, got {k!r}")
    if k > N:
        raise BadInput(f"--k must be <= N (k={k}, N={N})")


def make_domain(task: str, N: int, alphabet: int, k: int = 1, marker: bool = False) -> Domain:
    """Validate the parameters and build the product domain (nothing is enumerated yet).

    The cost is checked against :data:`MAX_CELLS` from the radices alone, before any per-position
    or per-symbol tuple is built, so a huge ``N`` or ``alphabet`` is refused at once."""
    if task not in SEQ_TASKS:
        raise BadInput(f"unknown task {task!r}; choose one of {', '.join(SEQ_TASKS)}")
    if task == "induction" and k != 1:
        raise BadInput(f"--k applies to hop only (induction is hop_1), got k={k}")
    validate_sizes(N, alphabet, k)
    N, alphabet = int(N), int(alphabet)
    if marker:
        if N < 3 or N % 2 == 0:
            raise BadInput(f"the marker family needs odd N = 2n'+1 >= 3, got N={N}")
        n1 = (N - 1) // 2
        check_domain_cost(N, ((alphabet, n1), (n1, 1)),
                          what=f"the marker domain ({alphabet}^{n1} x {n1} inputs x {N} positions)")
        data = tuple(range(alphabet))
        markers = tuple(alphabet + j for j in range(n1))
        choices = []
        for j in range(n1):
            choices += [(markers[j],), data]
        choices.append(markers)
    else:
        check_domain_cost(N, ((alphabet, N),), what=f"the domain (|Σ|^N = {alphabet}^{N} inputs x {N} positions)")
        choices = [tuple(range(alphabet))] * N
    return Domain(task, N, alphabet, int(k), bool(marker), tuple(choices))


def _capped_product(powers, start: int, cap: int) -> int | None:
    """``start * prod(base ** exp for base, exp in powers)`` exactly, or None as soon as it
    exceeds ``cap`` (bases >= 2 make that happen within ``log2(cap)`` factors, so a huge
    exponent or base costs nothing)."""
    total = start
    if total > cap:
        return None
    for base, exp in powers:
        if exp <= 0 or base == 1:
            continue
        if base > cap or exp > cap.bit_length():        # one factor alone, or 2^exp, passes the cap
            return None
        for _ in range(exp):
            total *= base
            if total > cap:
                return None
    return total


def approx_count(log10: float) -> str:
    """``1.22e+19``-style text from a base-10 logarithm (no float overflow, no huge int)."""
    e = math.floor(log10)
    m = 10 ** (log10 - e)
    if m >= 9.995:
        m, e = 1.0, e + 1
    return f"{m:.2f}e+{e:02d}"


def fmt_count(x: int) -> str:
    """An exact count as ``1,234,567`` while it is short, else ``1.22e+19`` (via its logarithm:
    no float overflow, no int -> str digit limit)."""
    return f"{x:,}" if x < 10 ** 15 else approx_count(math.log10(x))


def check_domain_cost(positions: int, powers, what: str, hint: str = "lower --N or --alphabet") -> None:
    """Refuse a domain of ``prod(base ** exp)`` inputs x ``positions`` cells over :data:`MAX_CELLS`,
    deciding with exact integer arithmetic that stops at the cap, and naming the estimate."""
    if _capped_product(powers, int(positions), MAX_CELLS) is not None:
        return
    log10 = math.log10(positions) + sum(exp * math.log10(base) for base, exp in powers if exp > 0)
    raise BadInput(f"{what} needs about {approx_count(log10)} cells, over the cap of {MAX_CELLS:.2e}"
                   f" (the witness enumeration cap); {hint}")


def check_cost(inputs: int, positions: int, what: str) -> None:
    """Refuse enumerations over :data:`MAX_CELLS` before starting, with the estimate."""
    cells = inputs * positions
    if cells > MAX_CELLS:
        raise BadInput(f"{what} has {fmt_count(inputs)} inputs x {positions} positions"
                       f" = {approx_count(math.log10(cells))} cells, over the cap of {MAX_CELLS:.2e}"
                       f" (the witness enumeration cap); lower --N or --alphabet")


def inputs(d: Domain, budget: Budget = UNLIMITED) -> np.ndarray:
    """All inputs as columns: ``X[t-1]`` is the (M,) array of tokens at position t."""
    dtype = np.uint8 if d.symbols < 255 else np.uint16 if d.symbols < 65535 else np.uint32
    radix = d.radix
    M = d.size
    X = np.empty((d.N, M), dtype=dtype)                     # (N, M)
    after = M
    for t, ch in enumerate(d.choices):
        budget.check(stage="inputs", position=t + 1)
        after //= radix[t]
        col = np.repeat(np.asarray(ch, dtype=dtype), after)  # one period of column t
        X[t] = np.tile(col, M // col.size)
    return X


def _find1(X: np.ndarray, p: np.ndarray, budget: Budget = UNLIMITED) -> np.ndarray:
    """Vectorised ``find^1_X(p)`` (SHT24a Def 4.1) for every input: the largest j <= p with
    ``X_{j-1} = X_p``, else 0; ``p = 0`` stays 0.  X: (N, M), p: (M,) 1-indexed positions."""
    N, M = X.shape
    target = np.zeros(M, dtype=X.dtype)
    for i in range(1, N + 1):                               # gather X_p without an (M,) int64 index
        budget.check(stage="find1 gather", position=i)
        np.copyto(target, X[i - 1], where=(p == i))
    out = np.zeros(M, dtype=p.dtype)
    open_ = p > 0                                           # (M,) rows still searching
    for j in range(N, 1, -1):
        budget.check(stage="find1 scan", position=j)
        hit = open_ & (p >= j) & (X[j - 2] == target)
        out[hit] = j
        open_ &= ~hit
    return out


def answers(d: Domain, budget: Budget | None = None, on_step: Progress | None = None) -> np.ndarray:
    """The task's answer at position N on every input of ``d``, as codes (bottom = ``d.bot``).

    ``induction`` is ``hop_1`` at position N (``tau_N = X_{j*+1}``, ``find^1(N) = j*+1``);
    ``hop`` follows ``find^1`` k times (docs/theorems.md ``task.hopk``).  Agreement with the
    plain-Python ground truth is checked exhaustively in tests/witnesses.
    """
    budget = budget or UNLIMITED
    X = inputs(d, budget)                                   # (N, M)
    p = np.full(d.size, d.N, dtype=np.int16 if d.N < 32000 else np.int32)
    for hop in range(d.k):
        budget.check(stage="answers", hop=hop)
        p = _find1(X, p, budget)
        if on_step:
            on_step(1)
    ans = np.full(d.size, d.bot, dtype=np.int32)
    for i in range(1, d.N + 1):
        np.copyto(ans, X[i - 1], where=(p == i))
    return ans


# --- exact distinct rows -------------------------------------------------------------------
_HASH_SEED = 20240214
_CHUNK = 1 << 22          # cells per hashing chunk (bounds the uint64 temporary)


def _row_hash(mat: np.ndarray, budget: Budget = UNLIMITED) -> np.ndarray:
    """One 64-bit polynomial hash per row (arithmetic mod 2^64, random odd weights)."""
    R, C = mat.shape
    w = np.random.default_rng(_HASH_SEED).integers(1, 1 << 63, size=C, dtype=np.uint64) | np.uint64(1)
    h = np.empty(R, dtype=np.uint64)
    step = max(1, _CHUNK // max(C, 1))
    for s in range(0, R, step):
        budget.check(stage="hash rows", row=s)
        block = mat[s:s + step].astype(np.uint64) + np.uint64(1)      # (r, C)
        h[s:s + step] = (block * w).sum(axis=1, dtype=np.uint64)
    return h


def distinct_rows(mat: np.ndarray, budget: Budget = UNLIMITED) -> tuple[int, np.ndarray]:
    """Exact number of distinct rows of an (R, C) integer matrix and each row's class id.

    Narrow matrices are keyed exactly by mixed radix; wide ones are hashed and every row is
    then compared with its class representative, so a hash collision can only cost time
    (it falls back to a sort), never give a wrong count."""
    mat = np.ascontiguousarray(mat)
    R, C = mat.shape
    if R == 0:
        return 0, np.zeros(0, dtype=np.int64)
    base = int(mat.max()) + 1 if mat.size else 1
    if C == 0:
        return 1, np.zeros(R, dtype=np.int64)
    if base ** C < (1 << 62):
        key = np.zeros(R, dtype=np.int64)
        for c in range(C):
            key = key * base + mat[:, c].astype(np.int64)
        if base ** C <= max(4 * R, 1 << 20):                 # dense relabelling, no sort
            present = np.zeros(base ** C, dtype=bool)
            present[key] = True
            relabel = np.cumsum(present) - 1
            return int(relabel[-1]) + 1, relabel[key]
        _, inv = np.unique(key, return_inverse=True)
        return int(inv.max()) + 1, inv.reshape(-1)
    _, first, inv = np.unique(_row_hash(mat, budget), return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    step = max(1, _CHUNK // C)
    for s in range(0, R, step):
        if not np.array_equal(mat[s:s + step], mat[first[inv[s:s + step]]]):
            _, inv = np.unique(mat, axis=0, return_inverse=True)       # collision: exact sort
            return int(inv.max()) + 1, inv.reshape(-1)
    return int(first.size), inv
