"""Fact B.2 of SHT24a: binary matrices in which every small set of rows isolates each member.

``fact.sht24a.B2`` [P]: for any n, b <= n and ``d >= ceil(12 b^2 ln n)`` there is
``A in {0,1}^{n x d}`` such that for every ``S subset [n]``, ``|S| <= b``, the columns of ``A_S``
contain all |S| elementary vectors -- every ``x in S`` owns a column in which it is the only 1
among the rows of S.  Proof: iid Bernoulli(1/(b+1)) entries.  Lemma 3.2 uses it with the
message ids as rows and ``b = s^2`` (all messages of one receiver's senders), so each message
sits alone in some packet slot ("multiple hashing").

Equivalently: no row is covered by the union of ``b - 1`` other rows (a (b-1)-cover-free family).
:func:`covers` checks exactly that by brute force over all ``n * C(n-1, b-1)`` (row, others)
pairs with rows held as integer bit masks.

Exact optimum for tiny b [R]: b = 1 needs one column of ones (d = 1); b = 2 needs pairwise
incomparable non-empty rows, so by Sperner's theorem ``d_min = min{d : C(d, floor(d/2)) >= n}``.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.verdict import BadInput


def paper_width(n: int, b: int) -> int:
    """``ceil(12 b^2 ln n)`` (Fact B.2's sufficient width)."""
    if n < 2 or not 1 <= b <= n:
        raise BadInput(f"Fact B.2 needs n >= 2 and 1 <= b <= n, got n={n}, b={b}")
    return math.ceil(12 * b * b * math.log(n))


def bernoulli_matrix(n: int, d: int, b: int, seed: int) -> np.ndarray:
    """(n, d) 0/1 matrix with iid Bernoulli(1/(b+1)) entries from ``seed``."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, d)) < 1.0 / (b + 1)).astype(np.int8)


def _masks(A: np.ndarray) -> list[int]:
    return [int("".join("1" if v else "0" for v in row) or "0", 2) for row in np.asarray(A)]


def covering_cost(n: int, b: int) -> int:
    """Number of (row, others) pairs the brute force examines."""
    return n * math.comb(n - 1, min(b, n) - 1)


def covers(A: np.ndarray, b: int) -> tuple[bool, tuple[int, tuple[int, ...]] | None]:
    """Fact B.2 property for all |S| <= b, by brute force.  Returns (ok, witness) where the
    witness ``(x, others)`` is a row covered by the union of ``others``."""
    rows = _masks(A)
    n = len(rows)
    k = min(b, n) - 1
    for x in range(n):
        rest = [y for y in range(n) if y != x]
        if rows[x] == 0:
            return False, (x, ())
        for others in itertools.combinations(rest, k):
            union = 0
            for y in others:
                union |= rows[y]
            if rows[x] & ~union == 0:
                return False, (x, others)
    return True, None


def private_columns(A: np.ndarray) -> bool:
    """Every row owns a column where it alone is 1: the property for every b <= n at once."""
    A = np.asarray(A) != 0
    col_counts = A.sum(axis=0)                                    # (d,)
    return bool(np.all((A & (col_counts == 1)[None, :]).any(axis=1)))


def exact_min_width(n: int, b: int) -> int | None:
    """The exact smallest d for b = 1 (1) and b = 2 (Sperner); None otherwise (unknown here)."""
    if b == 1:
        return 1
    if b == 2:
        d = 1
        while math.comb(d, d // 2) < n:
            d += 1
        return d
    return None


def sperner_matrix(n: int, d: int) -> np.ndarray:
    """n distinct middle-layer subsets of [d] as rows (pairwise incomparable): the b = 2 optimum."""
    rows = list(itertools.combinations(range(d), d // 2))[:n]
    if len(rows) < n:
        raise BadInput(f"C({d}, {d // 2}) = {len(rows)} < n = {n}")
    A = np.zeros((n, d), dtype=np.int8)
    for i, r in enumerate(rows):
        A[i, list(r)] = 1
    return A


@dataclass(frozen=True)
class CoveringRow:
    """One (n, b) line of the Fact B.2 table."""

    n: int
    b: int
    paper_d: int
    random_d: int | None          # smallest d where one of ``trials`` seeded draws covers
    random_successes: int         # how many of those draws covered at ``random_d``
    paper_rate: float             # fraction of draws covering at ``paper_d``
    exact_d: int | None           # exact optimum (b <= 2), verified by construction
    trials: int

    def to_json(self) -> dict:
        return dict(self.__dict__)


def covering_row(n: int, b: int, trials: int = 20, seed: int = 0, max_d: int | None = None,
                 budget=None) -> CoveringRow:
    """Scan d = 1, 2, ... for the first width at which a seeded Bernoulli draw covers.
    ``budget`` (a constructions.budget.Budget) is checked before every draw."""
    pd = paper_width(n, b)
    limit = pd if max_d is None else min(pd, max_d)
    random_d, succ = None, 0

    def draw(d: int, s: int) -> bool:
        if budget is not None:
            budget.check(n=n, b=b, d=d)
        return covers(bernoulli_matrix(n, d, b, s), b)[0]

    for d in range(1, limit + 1):
        ok = [draw(d, seed + 1000 * d + t) for t in range(trials)]
        if any(ok):
            random_d, succ = d, sum(ok)
            break
    at_paper = [draw(pd, seed + 7 + t) for t in range(trials)]
    exact = exact_min_width(n, b)
    if exact is not None and b == 2:
        if not covers(sperner_matrix(n, exact), b)[0]:          # pragma: no cover - a bug
            raise AssertionError("Sperner construction fails to cover")
    return CoveringRow(n, b, pd, random_d, succ, sum(at_paper) / trials, exact, trials)
