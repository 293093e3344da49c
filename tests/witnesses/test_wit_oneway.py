"""One-way CC: distinct rows vs a brute-force search over protocols, vs Myhill-Nerode at a
prefix cut, vs the INDEX embedding, and the DISJ matrix vs tasks.qsa."""
import itertools

import numpy as np
import pytest

from attncheck.bounds.reductions import disj_qsa_encode
from attncheck.bounds.witnesses.myhill_nerode import rnn_state_classes
from attncheck.bounds.witnesses.oneway import one_way_rows, qsa_disj_matrix, split_positions
from attncheck.constructions.tasks import hop, induction_heads, qsa
from attncheck.constructions.verdict import BadInput


def _answer(task, x, k):
    return induction_heads(list(x))[-1] if task == "induction" else hop(list(x), k)[-1]


def min_protocol_bits(task, N, alphabet, k, alice):
    """Fewest b for which some message map Alice-half -> {0..2^b-1} lets Bob decode: try every
    map (plain Python, no row counting).  Decodable iff equal messages never meet a Bob half
    on which the answers differ."""
    bob = [t for t in range(1, N + 1) if t not in alice]
    halves_a = list(itertools.product(range(alphabet), repeat=len(alice)))
    halves_b = list(itertools.product(range(alphabet), repeat=len(bob)))

    def answer(ha, hb):
        x = [0] * N
        for t, v in zip(alice, ha):
            x[t - 1] = v
        for t, v in zip(bob, hb):
            x[t - 1] = v
        return _answer(task, x, k)

    table = [tuple(answer(ha, hb) for hb in halves_b) for ha in halves_a]

    def extend(i, blocks, limit):
        """Backtrack over message maps up to renaming the messages (restricted growth)."""
        if i == len(table):
            return True
        for m in range(min(len(blocks) + 1, limit)):
            if m == len(blocks):
                if extend(i + 1, blocks + [table[i]], limit):
                    return True
            elif blocks[m] == table[i] and extend(i + 1, blocks, limit):
                return True
        return False

    for b in range(0, 8):
        if extend(0, [], 2 ** b):
            return b
    raise AssertionError("no protocol with < 8 bits")


@pytest.mark.parametrize("task,k,alphabet,N,split", [
    ("induction", 1, 2, 5, "interleaved"), ("induction", 1, 3, 5, "interleaved"),
    ("hop", 2, 2, 5, "interleaved"), ("hop", 2, 2, 6, "block"), ("hop", 2, 3, 4, "block"),
    ("induction", 1, 2, 6, "halves")])
def test_rows_match_brute_force_protocols(task, k, alphabet, N, split):
    res = one_way_rows(task, N, alphabet, split, k)
    assert min_protocol_bits(task, N, alphabet, k, res.alice) == res.bits


@pytest.mark.parametrize("task,k,alphabet,N", [("induction", 1, 3, 6), ("hop", 2, 3, 6), ("hop", 3, 2, 9)])
def test_prefix_split_equals_myhill_nerode_classes(task, k, alphabet, N):
    cuts = dict(rnn_state_classes(task, N, alphabet, k).cuts)
    for T in range(N + 1):
        assert one_way_rows(task, N, alphabet, f"prefix:{T}", k).rows == cuts[T]


@pytest.mark.parametrize("N", [5, 7, 9])
def test_interleaved_split_contains_the_index_family(N):
    """sht24b: with |Sigma| = 3 and X_N = '?' fixed, Alice's bits give 2^n' distinct rows."""
    res = one_way_rows("induction", N, 3, "interleaved")
    assert res.rows_fixed_last >= 2 ** ((N - 1) // 2)
    assert res.rows <= 3 ** ((N - 1) // 2) == res.alice_inputs


def test_marker_family_interleaved_is_index():
    res = one_way_rows("induction", 9, 2, "interleaved", marker=True)
    assert res.rows == 2 ** 4 and res.rows_fixed_last == 2   # Bob's query in X_N: fixed => 1 bit


@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_qsa_disj_matrix_matches_tasks_qsa(q):
    mat = qsa_disj_matrix(q)
    for a in range(2 ** q):
        for b in range(2 ** q):
            abits = [(a >> i) & 1 for i in range(q)]
            bbits = [(b >> i) & 1 for i in range(q)]
            z, y = disj_qsa_encode(abits, bbits)
            assert mat[a, b] == int(abs(qsa(z, y)[2 * q][0] + 1) < 1e-12)
    assert one_way_rows("qsa", 2 * q + 1, 2, "disj").rows == len({tuple(r) for r in mat.tolist()})


def test_splits_partition_the_positions():
    for split, N, k in [("interleaved", 9, 1), ("interleaved", 8, 1), ("block", 13, 3), ("halves", 7, 1)]:
        alice, bob = split_positions(split, N, k)
        assert sorted(alice + bob) == list(range(1, N + 1)) and N in bob
    assert split_positions("block", 13, 3)[0] == tuple(range(1, 9))     # q = 2: blocks of P_3, P_2


@pytest.mark.parametrize("args,needle", [
    (("induction", 5, 2, "zigzag"), "unknown split"), (("induction", 5, 2, "block"), "k >= 2"),
    (("hop", 3, 2, "block", 2), "N >= 2k"), (("induction", 5, 2, "disj"), "qsa only"),
    (("induction", 5, 2, "prefix:9"), "0 <= T"), (("qsa", 2, 2, "disj"), ">= 3")])
def test_bad_splits_are_refused(args, needle):
    with pytest.raises(BadInput, match=needle):
        one_way_rows(*args)


def test_communication_matrix_layout():
    """Row = Alice half, column = Bob half, both lexicographic: entry equals the ground truth."""
    from attncheck.bounds.witnesses.oneway import communication_matrix
    mat, alice, bob = communication_matrix("hop", 7, 2, "interleaved", 2)
    for ra, ha in enumerate(itertools.product(range(2), repeat=len(alice))):
        for cb, hb in enumerate(itertools.product(range(2), repeat=len(bob))):
            x = [0] * 7
            for t, v in zip(alice + bob, ha + hb):
                x[t - 1] = v
            want = hop(x, 2)[-1]
            assert mat[ra, cb] == (2 if want is None else want)
