"""Fact B.2 of SHT24a: binary matrices in which every small set of rows isolates each member.

``fact.sht24a.B2`` [P]: for any n, b <= n and ``d >= ceil(12 b^2 ln n)`` there is
``A in {0,1}^{n x d}`` such that for every ``S subset [n]``, ``|S| <= b``, the columns of ``A_S``
contain all |S| elementary vectors -- every ``x in S`` owns a column in which it is the only 1
among the rows of S.  Proof: iid Bernoulli(1/(b+1)) entries.  Lemma 3.2 uses it with the
message ids as rows and ``b = s^2`` (all messages of one receiver's senders), so each message
sits alone in some packet slot ("multiple hashing").

Equivalently: no row is covered by the union of ``b - 1`` other rows (a (b-1)-cover-free family).
This module holds the matrices (data); the brute-force check of that property and the seeded
width experiment are :mod:`attncheck.verifiers.mpc_covering`.

Exact optimum for tiny b [R]: b = 1 needs one column of ones (d = 1); b = 2 needs pairwise
incomparable non-empty rows, so by Sperner's theorem ``d_min = min{d : C(d, floor(d/2)) >= n}``.
"""
from __future__ import annotations

import itertools
import math

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
