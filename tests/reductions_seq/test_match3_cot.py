"""DISJ in Match3 (sht23.thm7) and one layer with chain of thought as an (N_CoT + 1)-round
protocol (sht24a.cor5_6, erratum.6): the identities on every instance, broken embeddings refuted,
the protocol's partial sums against the model's own attention."""
from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest

from attncheck.bounds import cot_rounds, match3_embed
from attncheck.bounds.seq_reductions import check, pointer_spans, pointer_tokens, pointer_sample
from attncheck.constructions.tasks import disj, match3
from attncheck.constructions.verdict import Status


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_match3_at_position_1_is_not_disj_under_every_convention(n):
    v = check("disj-match3", {"n": n})
    assert v.status is Status.VERIFIED and v.cases == 4 ** n


def test_the_zero_triples_are_exactly_the_common_elements():
    """Brute force over j1, j2 (any positions): a zero triple through position 1 uses Alice's
    token of some t and Bob's token of the same t."""
    n = 3
    for a, b in itertools.product(itertools.product((0, 1), repeat=n), repeat=2):
        x, M = match3_embed.disj_match3_encode(a, b)
        zero = {(j1, j2) for j1 in range(len(x)) for j2 in range(len(x)) if (x[0] + x[j1] + x[j2]) % M == 0}
        want = {(t, n + t) for t in range(1, n + 1) if a[t - 1] and b[t - 1]}
        assert zero == want | {(j2, j1) for j1, j2 in want}
        assert match3(x, M)[0] == 1 - disj(a, b)


def _no_offset(a, b):
    """Bob writes -t instead of -(c0 + t): triples (x_1, alpha, beta) no longer cancel."""
    n, M = len(a), match3_embed.modulus(len(a))
    return [3 * n] + match3_embed.alice_tokens(a) + [(-t) % M if bt else n + 1 for t, bt in enumerate(b, 1)], M


def _small_modulus(a, b):
    x, _ = match3_embed.disj_match3_encode(a, b)
    return x, 3 * len(a)              # c0 = 0 mod M: x_1 + x_1 + x_1 = 0 always


@pytest.mark.parametrize("broken", [_no_offset, _small_modulus])
def test_broken_embeddings_are_refuted(broken):
    v = check("disj-match3", {"n": 3}, encoder=broken)
    assert v.status is Status.REFUTED


@pytest.mark.parametrize("C,H", [(0, 1), (1, 2), (2, 1), (3, 3)])
def test_cot_protocol_equals_the_model_on_every_pointer_instance(C, H):
    v = check("cot-rounds", {"q": 2, "k": 3, "cot": C, "H": H}, seed=C + 10 * H)
    assert v.status is Status.VERIFIED and v.cases == 32
    assert v.evidence["protocol"]["rounds"] == C + 1
    assert "erratum.6" in v.evidence["note"]


def test_partial_sums_add_up_to_the_models_attention():
    """Each head's sum of the players' (numerator, denominator) is the model's full attention."""
    q, k = 2, 2
    spans = pointer_spans(q, k)
    rnd = random.Random(2)
    for seed in range(5):
        inst = pointer_sample({"q": q, "k": k}, rnd)
        x, _ = pointer_tokens(inst, q, k)
        M = cot_rounds.random_cot_model(2 * q + 3, len(x) + 1, 2, 2, 3, seed)
        i = len(x) - 1
        parts = [cot_rounds.partial(M, x[i], i, x[a:b], range(a, b)) for a, b in spans]
        for h in range(M.H):
            num = [sum(p[h][0][c] for p in parts) for c in range(M.m)]
            den = sum(p[h][1] for p in parts)
            ws = [Fraction(2) ** (sum(u * w for u, w in zip(M.Q[h][x[i]][i], M.K[h][x[j]][j])) + M.shift)
                  for j in range(len(x))]
            assert den == sum(ws)
            assert num == [sum(w * M.Vv[h][x[j]][j][c] for j, w in enumerate(ws)) for c in range(M.m)]
        p = cot_rounds.int_bits(max(b - a for a, b in spans), M)
        assert all(-(1 << (p - 1)) <= v < 1 << (p - 1) for part in parts for num, den in part for v in (*num, den))


def test_cot_rounds_is_one_more_than_the_tokens():
    M = cot_rounds.random_cot_model(7, 20, 1, 2, 2, 0)
    x, _ = pointer_tokens(pointer_sample({"q": 2, "k": 3}, random.Random(0)), 2, 3)
    for C in range(4):
        tr = cot_rounds.protocol(M, x, C, pointer_spans(2, 3))
        assert tr.rounds == C + 1 and {r for r, _, _ in tr.messages} == set(range(1, C + 2))
        assert list(tr.tokens) == cot_rounds.generate(M, x, C)
