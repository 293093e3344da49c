"""Lemma 3.2 routing pieces: sparse-propagation scores, packets, decoding (lemma.sht24a.3_2)."""
import itertools
import math
import random

import numpy as np
import pytest

from attncheck.constructions.mpc.routing import F, decode, encode, make_codes, make_hashing
from attncheck.constructions.verdict import BadInput


@pytest.mark.parametrize("T, s", [(8, 2), (12, 3), (20, 4)])
def test_poly_scores_are_exact_and_separated(T, s):
    C = make_codes(T, s, "poly")
    for k in range(s + 1):
        for S in itertools.combinations(range(T), k):
            sc = C.queries @ C.key(S)                                 # (T,)
            inside = np.zeros(T, dtype=bool)
            inside[list(S)] = True
            assert np.all(sc[inside] == 0.0)                          # exact ties
            assert np.all(sc[~inside] <= -2.0)
    assert np.all(C.queries @ C.start_key == -1.0)


def test_poly_codes_are_integers_and_int64_scores_exact_at_N64():
    """T = 128 (cycles at N = 64): codes are integers below 2^53, scores reach 2^57 (beyond
    float64's 2^53) and are exact in int64 -- against Python integers on a seeded draw of sets."""
    T, s = 128, 4
    C = make_codes(T, s, "poly")
    Q = C.queries.astype(np.int64)
    assert np.array_equal(Q, C.queries) and np.abs(C.queries).max() < 2.0 ** 53
    rng = random.Random(5)
    beyond = 0
    for _ in range(300):
        S = rng.sample(range(64), rng.randint(0, s))
        w = C.key(S)
        assert np.array_equal(w, np.rint(w)) and np.abs(w).max() < 2.0 ** 53
        got = Q @ w.astype(np.int64)                                       # (T,) exact int64
        want = [-2 * math.prod((x - C.points[l]) ** 2 for l in S) for x in C.points]
        assert got.tolist() == want
        beyond += any(abs(v) > 2 ** 53 for v in want)
    assert beyond > 0                                                      # float64 would round these
    assert (Q @ C.start_key.astype(np.int64)).tolist() == [-1] * T


def test_random_codes_separate_small_sets():
    C = make_codes(16, 2, "random", seed=1)
    for S in itertools.combinations(range(16), 2):
        sc = C.queries @ C.key(S)
        assert np.allclose(sc[list(S)], 1.0)
    assert make_codes(16, 2, "random").width > 2


def test_poly_codes_refuse_inexact_sizes():
    with pytest.raises(BadInput, match="beyond exact float64"):
        make_codes(400, 4, "poly")
    make_codes(180, 4, "poly")                                       # cycles up to N = 90 fit


def _route(sends, q, s, H):
    """Average the packets of the senders of each receiver, as the hardmax head does."""
    recv = {}
    for j in range(q):
        senders = [i for i, out in sends.items() if any(d == j for d, _ in out)]
        if senders:
            recv[j] = sum(encode(i, sends[i], H) for i in senders) / len(senders)
        else:
            recv[j] = np.zeros((H.d, F))
    return recv


@pytest.mark.parametrize("kind", ["onehot", "paper"])
def test_decode_recovers_every_valid_routing(kind):
    q, s = 6, 2
    H = make_hashing(q, q, s, kind, seed=3)
    rng = random.Random(0)
    for _ in range(60):
        # a random valid routing: each machine sends <= s words, each receives <= s
        load = [0] * q
        sends = {}
        for i in range(q):
            out = []
            for _ in range(rng.randint(0, s)):
                free = [j for j in range(q) if load[j] < s]
                if not free:
                    break
                j = rng.choice(free)
                load[j] += 1
                out.append((j, rng.randrange(100)))
            sends[i] = tuple(out)
        recv = _route(sends, q, s, H)
        for j in range(q):
            want = tuple((i, w) for i in range(q) for d, w in sends[i] if d == j)
            assert decode(recv[j], j, s) == want


def test_too_narrow_random_hashing_loses_messages():
    """With one slot every message collides; the decoder sees no clean slot."""
    q, s = 4, 2
    H = make_hashing(q, q, s, "random", slots=1, seed=0)
    if not H.A.any():
        H = make_hashing(q, q, s, "random", slots=1, seed=5)
    sends = {0: ((2, 7),), 1: ((2, 9),), 2: (), 3: ()}
    assert decode(_route(sends, q, s, H)[2], 2, s) != ((0, 7), (1, 9))
