"""The enumerated domain and the vectorised answers agree with plain-Python ground truth."""
import itertools

import numpy as np
import pytest

from attncheck.bounds.witnesses import domain as dom
from attncheck.constructions.tasks import hop, induction_heads
from attncheck.constructions.verdict import BadInput


def _truth(task, x, k):
    return induction_heads(x)[-1] if task == "induction" else hop(x, k)[-1]


@pytest.mark.parametrize("task,k,alphabet,N", [
    (task, k, a, N) for task, k in [("induction", 1), ("hop", 1), ("hop", 2), ("hop", 3)]
    for a, N in [(2, 2), (2, 6), (3, 5), (4, 4)] if k <= N])
def test_answers_match_tasks_on_every_input(task, k, alphabet, N):
    d = dom.make_domain(task, N, alphabet, k)
    ans = dom.answers(d)
    for code, x in enumerate(itertools.product(range(alphabet), repeat=N)):   # lexicographic
        want = _truth(task, list(x), k)
        assert ans[code] == (d.bot if want is None else want), (x, ans[code], want)


@pytest.mark.parametrize("task,k", [("induction", 1), ("hop", 2)])
@pytest.mark.parametrize("N", [3, 5, 7])
def test_marker_family_enumeration_and_answers(task, k, N):
    d = dom.make_domain(task, N, 2, k, marker=True)
    n1 = (N - 1) // 2
    X = dom.inputs(d)                                                 # (N, M)
    assert X.shape == (N, 2 ** n1 * n1)
    ans = dom.answers(d)
    for m in range(X.shape[1]):
        x = [int(v) for v in X[:, m]]
        assert x[0:2 * n1:2] == [2 + j for j in range(n1)]            # markers m_1..m_n'
        want = _truth(task, x, k)
        assert ans[m] == (d.bot if want is None else want)


def _rows_by_python(mat):
    return len({tuple(r) for r in mat.tolist()})


@pytest.mark.parametrize("shape,high", [((50, 1), 3), ((200, 3), 4), ((300, 40), 2), ((64, 130), 5)])
def test_distinct_rows_exact(shape, high):
    rng = np.random.default_rng(1)
    mat = rng.integers(0, high, size=shape)
    mat[shape[0] // 2:] = mat[: shape[0] - shape[0] // 2]            # force repeats
    count, inv = dom.distinct_rows(mat)
    assert count == _rows_by_python(mat)
    for i in range(0, shape[0], 7):                                   # same id <=> same row
        for j in range(0, shape[0], 5):
            assert (inv[i] == inv[j]) == bool(np.array_equal(mat[i], mat[j]))


def test_distinct_rows_survives_hash_collisions(monkeypatch):
    """A hash that maps every row to one value must not change the count (exact fallback)."""
    rng = np.random.default_rng(2)
    mat = rng.integers(0, 3, size=(120, 60))
    monkeypatch.setattr(dom, "_row_hash", lambda m, budget=None: np.zeros(m.shape[0], dtype=np.uint64))
    assert dom.distinct_rows(mat)[0] == _rows_by_python(mat)


@pytest.mark.parametrize("args,needle", [
    (("induction", 1, 3), "--N"), (("induction", 4, 1), "--alphabet"), (("hop", 4, 2, 0), "--k"),
    (("hop", 3, 2, 4), "k must be <= N"), (("induction", 4, 2, 2), "hop only"),
    (("rnn", 4, 2), "unknown task"), (("induction", 40, 4), "cap"),
])
def test_bad_input_is_refused_with_the_value(args, needle):
    with pytest.raises(BadInput, match=needle):
        dom.make_domain(*args)


def test_marker_family_needs_odd_N():
    with pytest.raises(BadInput, match="odd"):
        dom.make_domain("induction", 6, 2, marker=True)
