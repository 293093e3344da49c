"""Fact B.2 (fact.sht24a.B2): brute force against the definition, exact optima for b <= 2."""
import itertools
import math

import numpy as np
import pytest

from attncheck.constructions.mpc.covering import (bernoulli_matrix, exact_min_width, paper_width,
                                                   sperner_matrix)
from attncheck.verifiers.mpc_covering import covering_row, covers, private_columns


def covers_by_definition(A, b):
    """Literal Fact B.2: for every S with |S| <= b, the columns of A_S contain every e_x."""
    n = A.shape[0]
    for k in range(1, b + 1):
        for S in itertools.combinations(range(n), k):
            sub = A[list(S)]                                 # (|S|, d)
            for t in range(k):
                e = np.zeros(k, dtype=sub.dtype)
                e[t] = 1
                if not any(np.array_equal(sub[:, c], e) for c in range(A.shape[1])):
                    return False
    return True


@pytest.mark.parametrize("seed", range(40))
def test_bitmask_check_agrees_with_the_definition(seed):
    rng = np.random.default_rng(seed)
    n, d, b = int(rng.integers(2, 7)), int(rng.integers(1, 8)), int(rng.integers(1, 4))
    A = (rng.random((n, d)) < 0.4).astype(np.int8)
    assert covers(A, b)[0] == covers_by_definition(A, min(b, n))


def test_witness_is_a_real_failure():
    A = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int8)       # row 2 = row 0 | row 1
    ok, (x, others) = covers(A, 3)
    assert not ok and x not in others and len(others) == 2
    assert np.all(A[x] <= A[list(others)].max(axis=0))         # row x is covered by the others
    assert covers(A, 2)[0] is False and covers(A[:2], 2)[0] is True


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_exact_min_width_for_b2_by_exhaustive_search(n):
    """No n x (d*-1) matrix covers pairs; some n x d* matrix does (Sperner's bound)."""
    d_star = exact_min_width(n, 2)
    assert covers(sperner_matrix(n, d_star), 2)[0]
    d = d_star - 1
    if d >= 1:
        for rows in itertools.product(range(1 << d), repeat=n):
            A = np.array([[(r >> c) & 1 for c in range(d)] for r in rows], dtype=np.int8)
            assert not covers(A, 2)[0]


def test_private_columns_imply_covering_for_every_b():
    A = np.eye(6, dtype=np.int8)
    assert private_columns(A) and all(covers(A, b)[0] for b in range(1, 7))
    A[0, 1] = 1                     # row 0 still owns column 0; row 1 lost its private column
    assert not private_columns(A) and not covers(A, 6)[0]


def test_paper_width_and_random_draws():
    assert paper_width(16, 2) == math.ceil(48 * math.log(16)) == 134
    row = covering_row(8, 2, trials=10, seed=0)
    assert row.paper_rate == 1.0                 # Fact B.2's width: every seeded draw covers
    assert row.exact_d <= row.random_d <= row.paper_d
    A = bernoulli_matrix(8, row.random_d, 2, 0)
    assert A.shape == (8, row.random_d) and set(np.unique(A)) <= {0, 1}
