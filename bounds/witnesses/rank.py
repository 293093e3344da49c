"""Exact rank (over Q and over GF(2)) and large fooling sets of communication matrices.

Witnesses for ``sht23.thm4`` [S] (qSA via DISJ_q: rank 2^q, fooling set {(S, S^c)} of size
2^q, docs/theorems.md ``task.disj``) and for INDEX (``cc.oneway``): any deterministic protocol
needs >= log2 rank bits (log-rank bound) and >= log2 |fooling set| bits.

* GF(2) rank: Gaussian elimination on rows packed into uint64 words (XOR of whole rows).
* Rank over Q: elimination modulo the prime p = 2^31 - 1 gives ``rank_p <= rank_Q`` (a minor
  that is nonzero mod p is nonzero over Z), and ``rank_GF2 <= rank_Q`` likewise; with the
  trivial ``rank_Q <= min(R, C)`` the value is *exact* whenever the lower bound meets it.
  Otherwise small matrices get exact fraction-free (Bareiss) elimination in Python integers;
  larger ones are reported as a lower bound with ``rank_q_exact = False``.
* Fooling set for value z: pairs (r, c) with M[r, c] = z such that for any two pairs
  M[r, c'] != z or M[r', c] != z.  Two pairs can share neither a row nor a column, nor sit
  in equal rows or columns, so ``min(#distinct rows, #distinct columns)`` bounds its size;
  a greedy search that reaches the bound has found a largest one.

Shape glossary: R rows, C columns, W = ceil(C / 64) packed words per row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.bounds.intmath import ceil_log2
from attncheck.bounds.witnesses.domain import Progress, distinct_rows
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import BadInput

PRIME = (1 << 31) - 1
MATRICES = ("disj", "index")
#: Cost caps (element operations) for each method; beyond them the method is skipped.
MAX_MODP_OPS = 1 << 33
MAX_GF2_WORD_OPS = 2 * 10 ** 9
MAX_BAREISS_DIM = 96
MAX_SIZE = {"disj": 12, "index": 16}


def disj_matrix(q: int) -> np.ndarray:
    """(2^q, 2^q) DISJ_q: entry [a, b] = 1 iff a & b = 0 (subsets as bit masks)."""
    a = np.arange(1 << q)
    return ((a[:, None] & a[None, :]) == 0).astype(np.int8)


def index_matrix(n: int) -> np.ndarray:
    """(2^n, n) INDEX_n: entry [a, i] = a_i (bit i of a)."""
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.int8)


def rank_gf2(mat: np.ndarray, budget: Budget = UNLIMITED) -> int:
    """Rank over GF(2) of a 0/1 matrix (rows packed into uint64 words)."""
    R, C = mat.shape
    W = -(-C // 64)
    bits = np.zeros((R, W * 64), dtype=np.uint8)
    bits[:, :C] = mat & 1
    words = np.packbits(bits, axis=1, bitorder="little").view(np.uint64).copy()   # (R, W)
    rank = 0
    for col in range(C):
        if col % 64 == 0:
            budget.check(stage="gf2", column=col)
        w, b = divmod(col, 64)
        has = ((words[rank:, w] >> np.uint64(b)) & np.uint64(1)).astype(bool)
        nz = np.flatnonzero(has)
        if nz.size == 0:
            continue
        piv = rank + nz[0]
        words[[rank, piv]] = words[[piv, rank]]
        others = np.flatnonzero(((words[rank + 1:, w] >> np.uint64(b)) & np.uint64(1)).astype(bool))
        words[rank + 1 + others] ^= words[rank]
        rank += 1
        if rank == R:
            break
    return rank


def rank_mod_p(mat: np.ndarray, p: int = PRIME, budget: Budget = UNLIMITED) -> int:
    """Rank over GF(p), p < 2^31 (int64 products stay exact)."""
    a = np.mod(mat.astype(np.int64), p)
    R, C = a.shape
    rank = 0
    for col in range(C):
        if col % 32 == 0:
            budget.check(stage="mod p", column=col)
        nz = np.flatnonzero(a[rank:, col])
        if nz.size == 0:
            continue
        piv = rank + nz[0]
        a[[rank, piv]] = a[[piv, rank]]
        inv = pow(int(a[rank, col]), p - 2, p)
        a[rank] = (a[rank] * inv) % p
        below = rank + 1 + np.flatnonzero(a[rank + 1:, col])
        if below.size:
            a[below] = (a[below] - np.outer(a[below, col], a[rank]) % p) % p
        rank += 1
        if rank == R:
            break
    return rank


def rank_bareiss(mat: np.ndarray) -> int:
    """Exact rank over Q by fraction-free elimination in Python integers (small matrices)."""
    a = [[int(v) for v in row] for row in mat]
    R, C = len(a), len(a[0]) if a else 0
    rank, prev = 0, 1
    for col in range(C):
        piv = next((r for r in range(rank, R) if a[r][col] != 0), None)
        if piv is None:
            continue
        a[rank], a[piv] = a[piv], a[rank]
        for r in range(rank + 1, R):
            a[r] = [(a[rank][col] * a[r][j] - a[r][col] * a[rank][j]) // prev for j in range(C)]
        prev = a[rank][col]
        rank += 1
    return rank


def rank_rational(mat: np.ndarray, budget: Budget = UNLIMITED,
                  lower: int = 0) -> tuple[int | None, bool, str]:
    """(rank over Q or a lower bound, exact?, method).  ``lower`` is a known lower bound (the
    GF(2) rank); when it already equals min(R, C) no elimination over Q is needed."""
    R, C = mat.shape
    n = min(R, C)
    if max(R, C) <= MAX_BAREISS_DIM:
        return rank_bareiss(mat), True, "Bareiss (exact integers)"
    if R * C * n <= MAX_MODP_OPS:
        r = max(rank_mod_p(mat, budget=budget), lower)
        return r, r == n, f"mod {PRIME} meets min(R, C)" if r == n else f"mod {PRIME} (lower bound)"
    if lower == n:
        return n, True, "GF(2) rank meets min(R, C)"
    return (lower or None), False, "lower bound from GF(2)" if lower else "skipped (cost)"


def greedy_fooling_set(mat: np.ndarray, value: int = 1,
                       budget: Budget = UNLIMITED) -> list[tuple[int, int]]:
    """A fooling set for ``value``: rows in order of fewest ``value`` entries, each paired
    with the free column of fewest ``value`` entries that conflicts with no chosen pair."""
    hit = mat == value                                        # (R, C)
    row_w, col_w = hit.sum(axis=1), hit.sum(axis=0)
    used_c = np.zeros(mat.shape[1], dtype=bool)
    R_ch: list[int] = []
    C_ch: list[int] = []
    for n, r in enumerate(np.argsort(row_w, kind="stable")):
        if n % 256 == 0:
            budget.check(stage="fooling set", rows_done=n)
        cands = np.flatnonzero(hit[r] & ~used_c)
        for c in cands[np.argsort(col_w[cands], kind="stable")]:
            # conflict with a chosen (r', c'): M[r, c'] = value and M[r', c] = value
            if not np.any(hit[r, C_ch] & hit[R_ch, c]):
                R_ch.append(int(r))
                C_ch.append(int(c))
                used_c[c] = True
                break
    return list(zip(R_ch, C_ch))


def is_fooling_set(mat: np.ndarray, pairs, value: int = 1) -> bool:
    """Check the definition pair by pair (used to validate every reported set)."""
    pairs = np.asarray(list(pairs), dtype=np.int64).reshape(-1, 2)
    rows, cols = pairs[:, 0], pairs[:, 1]
    if np.any(mat[rows, cols] != value):
        return False
    cross = mat[np.ix_(rows, cols)] == value                  # (n, n): M[r_i, c_j] = value
    clash = cross & cross.T
    np.fill_diagonal(clash, False)
    return not clash.any()


@dataclass(frozen=True)
class RankWitness:
    matrix: str
    size: int
    shape: tuple[int, int]
    rank_q: int | None
    rank_q_exact: bool
    rank_q_method: str
    rank_gf2: int | None
    fooling_value: int
    fooling_set: tuple[tuple[int, int], ...] | None
    fooling_upper: int

    @property
    def fooling_size(self) -> int | None:
        return None if self.fooling_set is None else len(self.fooling_set)

    @property
    def bits(self) -> int:
        """Best lower bound on deterministic CC witnessed here: log2 of rank or fooling set."""
        cands = [v for v in (self.rank_q, self.rank_gf2, self.fooling_size) if v]
        return ceil_log2(max(cands)) if cands else 0

    @property
    def theorem(self) -> tuple[str, str]:
        return ("sht23.thm4", "S") if self.matrix == "disj" else ("cc.oneway", "standard")

    def claim(self) -> str:
        tid, tag = self.theorem
        rq = "-" if self.rank_q is None else f"{self.rank_q}{'' if self.rank_q_exact else ' (lower bound)'}"
        fs = "-" if self.fooling_set is None else str(self.fooling_size)
        return (f"{tid} [{tag}]: {self.matrix.upper()}_{self.size} ({self.shape[0]}x{self.shape[1]})"
                f" has rank_Q {rq}, rank_GF2 {self.rank_gf2 if self.rank_gf2 is not None else '-'},"
                f" a fooling set of size {fs} (max possible {self.fooling_upper});"
                f" any deterministic protocol needs >= {self.bits} bits")

    def to_json(self) -> dict:
        tid, tag = self.theorem
        return {"theorem": tid, "status_tag": tag, "matrix": self.matrix, "size": self.size,
                "shape": list(self.shape), "rank_q": self.rank_q, "rank_q_exact": self.rank_q_exact,
                "rank_q_method": self.rank_q_method,
                "rank_gf2": self.rank_gf2, "fooling_value": self.fooling_value,
                "fooling_size": self.fooling_size, "fooling_upper": self.fooling_upper,
                "fooling_certified_max": self.fooling_size == self.fooling_upper,
                "fooling_set": None if self.fooling_set is None else [list(p) for p in self.fooling_set],
                "bits": self.bits}


def rank_witness(matrix: str, size: int, budget: Budget | None = None, fooling: bool = True,
                 on_step: Progress | None = None) -> RankWitness:
    """Ranks and a fooling set of ``DISJ_size`` (q = size) or ``INDEX_size`` (n = size)."""
    budget = budget or UNLIMITED
    if matrix not in MATRICES:
        raise BadInput(f"unknown matrix {matrix!r}; choose one of {', '.join(MATRICES)}")
    if not isinstance(size, int) or not 1 <= size <= MAX_SIZE[matrix]:
        raise BadInput(f"{matrix} size must be 1..{MAX_SIZE[matrix]} (the matrix has 2^size rows;"
                       f" rank costs ~ rows^3), got {size!r}")
    mat = disj_matrix(size) if matrix == "disj" else index_matrix(size)
    R, C = mat.shape
    step = on_step or (lambda n=1: None)
    r2 = rank_gf2(mat, budget) if R * C * min(R, C) // 64 <= MAX_GF2_WORD_OPS else None
    step(1)
    rq, exact, how = rank_rational(mat, budget, lower=r2 or 0)
    step(1)
    upper = min(distinct_rows(mat)[0], distinct_rows(mat.T)[0])
    fs = tuple(greedy_fooling_set(mat, 1, budget)) if fooling else None
    if fs is not None and not is_fooling_set(mat, fs, 1):       # never report an unchecked set
        raise AssertionError("greedy_fooling_set returned a pair set that is not a fooling set")
    step(1)
    return RankWitness(matrix, size, (R, C), rq, exact, how, r2, 1, fs, upper)
