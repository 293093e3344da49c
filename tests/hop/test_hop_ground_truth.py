"""task.hopk ground truth (docs/theorems.md 2.2 and the 9.1 identities) as property tests."""
import itertools

from hypothesis import given
from hypothesis import strategies as st

from attncheck.constructions import tasks

seqs = st.integers(2, 4).flatmap(lambda V: st.lists(st.integers(0, V - 1), min_size=1, max_size=14))


def test_paper_example():
    x = [ord(ch) - ord("a") for ch in "baebcabebdea"]             # SHT24a Def 4.1 example
    assert tasks.hop(x, 1)[-1] == ord("b") - ord("a")
    assert tasks.hop(x, 2)[-1] == ord("c") - ord("a")


@given(seqs)
def test_hop1_is_the_induction_head(x):
    assert tasks.hop(x, 1) == tasks.induction_heads(x)


@given(seqs, st.integers(0, 6), st.integers(0, 6))
def test_find_composes(x, a, b):
    for i in range(len(x) + 1):
        assert tasks.find(x, i, a + b) == tasks.find(x, tasks.find(x, i, b), a)


@given(seqs, st.integers(1, 9))
def test_bottom_absorbs_and_pointers_go_left(x, k):
    assert tasks.find(x, 0, k) == 0
    for i in range(1, len(x) + 1):
        p = tasks.find(x, i, k)
        assert 0 <= p <= i
        if p == 0:
            assert all(tasks.find(x, i, k + d) == 0 for d in range(3))
        if i >= 2 and x[i - 2] == x[i - 1]:                          # X_{i-1} = X_i: fixed point
            assert p == i and tasks.hop(x, k)[i - 1] == x[i - 1]


@given(seqs, st.integers(0, 9))
def test_hop_is_causal_and_matches_the_definition(x, k):
    out = tasks.hop(x, k)
    for i in range(1, len(x) + 1):
        assert tasks.hop(x[:i], k) == out[:i]                        # depends on X_1..X_i only
        p = tasks.find(x, i, k)
        assert out[i - 1] == (None if p == 0 else x[p - 1])
    if k == 0:
        assert out == list(x)                                        # hop_0 = identity


def test_find1_table_equals_find1_exhaustively():
    for V, N in ((2, 7), (3, 5)):
        for x in itertools.product(range(V), repeat=N):
            assert tasks.find1_table(x) == [tasks.find1(x, i) for i in range(N + 1)]
