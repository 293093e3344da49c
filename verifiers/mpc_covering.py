"""Fact B.2 by brute force: does a 0/1 matrix isolate every member of every small row set?

``fact.sht24a.B2`` [P]: for any n, b <= n and ``d >= ceil(12 b^2 ln n)`` some
``A in {0,1}^{n x d}`` isolates every member of every ``S``, ``|S| <= b`` (the matrices and the
exact optimum for b <= 2 are data in :mod:`attncheck.constructions.mpc.covering`).
Equivalently: no row is covered by the union of ``b - 1`` other rows (a (b-1)-cover-free
family).  :func:`covers` checks exactly that by brute force over all ``n * C(n-1, b-1)``
(row, others) pairs with rows held as integer bit masks; :func:`private_columns` is the
one-pass sufficient test (every row owns a column) the routing certificate tries first;
:func:`covering_row` is the ``attncheck mpc covering`` experiment (seeded draws per width).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.covering import (bernoulli_matrix, exact_min_width, paper_width,
                                                  sperner_matrix)


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
