"""Ground truth (docs/theorems.md section 2 and 9.1): definitions, edge cases, identities."""
import itertools

from hypothesis import given
from hypothesis import strategies as st

from attncheck.constructions import tasks

seqs = st.lists(st.integers(0, 3), min_size=1, max_size=14)


def test_induction_heads_examples():
    assert tasks.induction_heads([0, 1, 0, 1]) == [None, None, 1, 0]
    # sigma_{i-1} = sigma_i: j* = i-1 so tau_i = sigma_i
    assert tasks.induction_heads([2, 2, 2]) == [None, 2, 2]
    assert tasks.induction_heads([0]) == [None]


def test_hop_paper_example():
    # SHT24a Def 4.1 example: X = baebcabebdea, hop_1 at the last token = b, hop_2 = c
    x = [ord(ch) - ord("a") for ch in "baebcabebdea"]
    assert tasks.hop(x, 1)[-1] == ord("b") - ord("a")
    assert tasks.hop(x, 2)[-1] == ord("c") - ord("a")


@given(seqs)
def test_hop1_is_induction_heads_and_hop0_identity(x):
    assert tasks.hop(x, 1) == tasks.induction_heads(x)
    assert tasks.hop(x, 0) == list(x)


@given(seqs, st.integers(0, 4), st.integers(0, 4))
def test_find_composes(x, a, b):
    for i in range(len(x) + 1):
        assert tasks.find(x, i, a + b) == tasks.find(x, tasks.find(x, i, b), a)


@given(seqs)
def test_find1_table_matches_definition_and_fixed_points(x):
    table = tasks.find1_table(x)
    for i in range(len(x) + 1):
        assert table[i] == tasks.find1(x, i)
        assert table[i] <= i
    for i in range(2, len(x) + 1):
        if x[i - 2] == x[i - 1]:
            assert tasks.find1(x, i) == i           # fixed point
            assert all(tasks.hop(x, k)[i - 1] == x[i - 1] for k in range(1, 4))


def test_bottom_absorbs():
    x = [0, 1, 2]
    assert tasks.find(x, 0, 5) == 0
    assert all(tasks.hop(x, k) == [None, None, None] for k in (1, 2, 3))


def test_match_conventions_differ():
    # X = (1,): 1+1 = 2 = 0 mod 2 only with a self pair
    assert tasks.match2([1], 2, allow_self=True) == [1]
    assert tasks.match2([1], 2, allow_self=False) == [0]
    assert tasks.match3([1, 2], 3, allow_self=False, allow_repeat=True) == [0, 0]
    assert tasks.match3([1, 1], 3, allow_self=False, allow_repeat=False) == [0, 0]
    assert tasks.match3([1, 1], 3, allow_self=False, allow_repeat=True) == [1, 1]   # j1 = j2
    assert tasks.match3([1, 1, 1], 3, allow_self=False, allow_repeat=False) == [1, 1, 1]


def test_small_tasks():
    assert tasks.index([0, 1, 1], 2) == 1
    assert tasks.disj([1, 0], [0, 1]) == 1 and tasks.disj([1, 1], [0, 1]) == 0
    assert tasks.pointer_chasing([[1, 0], [0, 1]], 0, {1}) == 1
    assert tasks.cycle_count([(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)]) == 2
    for x in itertools.product(range(2), repeat=4):
        assert tasks.hop_multi_sample_ok(x) == all(a != b for a, b in zip(x, x[1:]))
