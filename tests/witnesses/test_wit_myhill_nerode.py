"""Myhill-Nerode class counts: two numpy methods, a plain-Python definition, the minimal
automaton that realises them, and a brute-force search over small automata."""
import itertools

import numpy as np
import pytest

from attncheck.bounds.witnesses import myhill_nerode as mn
from attncheck.bounds.witnesses.domain import answers, make_domain
from attncheck.constructions.tasks import hop, induction_heads
from attncheck.constructions.budget import Budget
from attncheck.constructions.verdict import BadInput, BudgetExceeded


def _answer(task, x, k):
    return induction_heads(list(x))[-1] if task == "induction" else hop(list(x), k)[-1]


def classes_by_definition(task, N, alphabet, k):
    """c_t straight from the definition: prefixes are equivalent iff every suffix agrees."""
    out = []
    for t in range(N + 1):
        rows = {tuple(_answer(task, u + v, k) for v in itertools.product(range(alphabet), repeat=N - t))
                for u in itertools.product(range(alphabet), repeat=t)}
        out.append(len(rows))
    return out


CASES = [("induction", 1, 2, 5), ("induction", 1, 3, 4), ("hop", 2, 2, 6), ("hop", 2, 3, 4),
         ("hop", 3, 2, 5)]


@pytest.mark.parametrize("task,k,alphabet,N", CASES)
def test_three_methods_agree(task, k, alphabet, N):
    fast = mn.rnn_state_classes(task, N, alphabet, k)
    rows = mn.rnn_state_classes(task, N, alphabet, k, method="rows")
    slow = classes_by_definition(task, N, alphabet, k)
    assert [c for _, c in fast.cuts] == [c for _, c in rows.cuts] == slow
    assert fast.cuts[0] == (0, 1)
    assert fast.bits == (fast.max_classes - 1).bit_length()


@pytest.mark.parametrize("task,k,alphabet,N,marker", [("induction", 1, 3, 6, False),
                                                      ("hop", 2, 3, 6, False), ("hop", 2, 2, 9, True)])
def test_minimal_automaton_realises_the_counts(task, k, alphabet, N, marker):
    """max_t c_t states suffice: the automaton of classes reproduces the task on every input."""
    auto = mn.minimal_automaton(task, N, alphabet, k, marker)
    d = make_domain(task, N, alphabet, k, marker)
    idx = np.array(list(itertools.product(*[range(r) for r in d.radix])))     # (M, N) choice indices
    assert np.array_equal(auto.run(idx), answers(d))
    res = mn.rnn_state_classes(task, N, alphabet, k, marker)
    sizes = [1] + [t.max() + 1 for t in auto.delta]
    assert sizes == [c for _, c in res.cuts]


def min_uniform_automaton(task, N, alphabet, k, s_max):
    """Smallest s <= s_max such that some time-invariant DFA with s states (start 0) and an
    output map computes task(x)_N on all of Sigma^N, by trying every transition table."""
    xs = list(itertools.product(range(alphabet), repeat=N))
    ans = np.array([-1 if (a := _answer(task, x, k)) is None else a for x in xs]) + 1
    X = np.array(xs)                                                  # (M, N)
    for s in range(1, s_max + 1):
        tables = np.array(list(itertools.product(range(s), repeat=s * alphabet)))   # (T, s*|Sigma|)
        state = np.zeros((tables.shape[0], len(xs)), dtype=np.int64)             # (T, M)
        for t in range(N):
            state = np.take_along_axis(tables, state * alphabet + X[:, t], axis=1)
        key = np.sort(state * 8 + ans, axis=1)
        n_pairs = 1 + (np.diff(key, axis=1) != 0).sum(axis=1)
        n_states = 1 + (np.diff(np.sort(state, axis=1), axis=1) != 0).sum(axis=1)
        if np.any(n_pairs == n_states):                              # some output map is consistent
            return s
    return None


@pytest.mark.parametrize("task,k,N", [("induction", 1, 3), ("induction", 1, 4), ("hop", 2, 5)])
def test_no_smaller_automaton_exists(task, k, N):
    """Brute force: every DFA with fewer than max_t c_t states fails on some input."""
    res = mn.rnn_state_classes(task, N, 2, k)
    assert min_uniform_automaton(task, N, 2, k, res.max_classes - 1) is None


@pytest.mark.parametrize("N", [3, 5, 7, 9])
def test_marker_family_needs_n_prime_bits(N):
    """Streaming INDEX (sht23.rnn-ih): 2^n' prefixes before the query are pairwise inequivalent."""
    res = mn.rnn_state_classes("induction", N, 2, marker=True)
    assert res.bits >= (N - 1) // 2
    assert dict(res.cuts)[N - 1] == 2 ** ((N - 1) // 2)


@pytest.mark.parametrize("alphabet", [2, 3])
def test_fixed_alphabet_stays_under_the_state_bound(alphabet):
    """[R] bound of sht23.rnn-ih: at most |Sigma| (|Sigma|+2)^|Sigma| classes, for every N."""
    for N in range(2, 10):
        assert mn.rnn_state_classes("induction", N, alphabet).max_classes <= \
            alphabet * (alphabet + 2) ** alphabet


def test_budget_and_bad_method():
    with pytest.raises(BudgetExceeded):
        mn.rnn_state_classes("induction", 8, 3, budget=Budget(1e-9))
    with pytest.raises(BadInput, match="method"):
        mn.rnn_state_classes("induction", 5, 2, method="guess")
