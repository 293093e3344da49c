"""The n-gram witness against the ground truth, and the best table against a plain count."""
import itertools
from collections import Counter, defaultdict

import pytest

from attncheck.bounds.witnesses import ngram as ng
from attncheck.constructions.tasks import induction_heads
from attncheck.constructions.verdict import BadInput


@pytest.mark.parametrize("n,N,alphabet", [(n, N, a) for n in (1, 2, 3, 5) for N in (2, 3, 6, 9)
                                          for a in (2, 4)])
def test_explicit_witness(n, N, alphabet):
    pair = ng.explicit_witness(n, N, alphabet)
    if N <= n:
        assert pair is None
        return
    x, xp = pair
    assert len(x) == len(xp) == N and x[-n:] == xp[-n:]
    assert induction_heads(list(x))[-1] != induction_heads(list(xp))[-1]


def best_errors_by_counting(n, N, alphabet):
    by_window = defaultdict(Counter)
    for x in itertools.product(range(alphabet), repeat=N):
        by_window[x[max(0, N - n):]][induction_heads(list(x))[-1]] += 1
    return sum(sum(c.values()) - max(c.values()) for c in by_window.values())


@pytest.mark.parametrize("n,N,alphabet", [(1, 2, 2), (1, 4, 3), (2, 2, 3), (2, 5, 3), (3, 3, 2),
                                          (3, 6, 2), (4, 3, 2)])
def test_best_table_errors_and_threshold(n, N, alphabet):
    table = ng.best_table(n, N, alphabet)
    assert table.errors == best_errors_by_counting(n, N, alphabet)
    assert (table.errors == 0) == (N <= n)                # exact threshold N = n + 1
    wrong = sum(table(x) != (alphabet if (a := induction_heads(list(x))[-1]) is None else a)
                for x in itertools.product(range(alphabet), repeat=N))
    assert wrong == table.errors


def test_bad_order_refused():
    with pytest.raises(BadInput, match="--order"):
        ng.ngram_witness(0, 5, 2)
