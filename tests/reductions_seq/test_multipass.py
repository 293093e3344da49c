"""Multi-layer RNNs as blackboard protocols (sht24a.cor5_2): the L-round and 1-round simulations
against the whole-input run, the successor layers against verifiers/rnn_run.py, the players'
locality, the rectangle property of transcripts, and broken encoders refuted."""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from attncheck.bounds import multipass
from attncheck.bounds.reduction_instances import pointer_hop_encode
from attncheck.bounds.seq_reductions import (check, player_block, pointer_instances, pointer_spans,
                                             pointer_tokens)
from attncheck.constructions.rnn import build_rnn
from attncheck.constructions.tasks import hop
from attncheck.constructions.verdict import BadInput, Status
from attncheck.verifiers.rnn_run import run


@pytest.mark.parametrize("L", [1, 2, 3])
def test_successor_layers_match_the_verifiers_runner_on_every_input(L):
    """The protocol's successor step is a second implementation of verifiers/rnn_run.py's."""
    N, V = 6, 3
    layers = multipass.from_rnn(build_rnn("hop", N, V, k=L, layers=L))
    X = np.array(list(itertools.product(range(V), repeat=N)))
    trace = run(build_rnn("hop", N, V, k=L, layers=L), X)
    for b, x in enumerate(X.tolist()):
        streams = multipass.run_stack(layers, x)
        for l in range(L):
            assert streams[l] == trace.streams[l][b].tolist()


def test_successor_stack_computes_hop_k():
    layers = multipass.build_model("successor", 3, 3, None, 0)
    for x in itertools.product(range(3), repeat=7):
        assert multipass.run_stack(layers, list(x))[-1][-1] == (hop(list(x), 3)[-1] if hop(list(x), 3)[-1]
                                                                 is not None else 3)


@pytest.mark.parametrize("model,bits", [("successor", None), ("table", 1), ("table", 3), ("elman", 2), ("elman", 6)])
@pytest.mark.parametrize("players", [1, 2, 3, 5])
def test_both_protocols_equal_the_model_on_every_input(model, bits, players):
    v = check("rnn-multipass", {"N": 5, "alphabet": 3, "players": players, "layers": 3, "model": model,
                                "state_bits": bits}, seed=7)
    assert v.status is Status.VERIFIED and v.cases == 3 ** 5
    proto = v.evidence["protocol"]
    assert proto["rounds"] == 3 and proto["players"] == players
    assert proto["one_round_message_bits"] == sum(proto["message_bits_per_round"])


def test_message_lengths_are_the_state_bits():
    rnd = random.Random(3)
    layers = multipass.random_model("table", 3, 2, 4, seed=11)
    spans = multipass.blocks(9, 4)
    for _ in range(50):
        x = [rnd.randrange(4) for _ in range(9)]
        multi = multipass.layer_rounds(layers, x, spans)
        assert len(multi.messages) == 3 * 4
        assert all(len(m.bits) == 2 for m in multi.messages[:-1])
        assert len(multi.messages[-1].bits) == multipass.out_bits(layers)
        single = multipass.one_round(layers, x, spans)
        assert [len(m.bits) for m in single.messages] == [6, 6, 6, multipass.out_bits(layers)]


def test_state_codes_round_trip_and_refuse_out_of_range():
    lay = multipass.successor_layer(5)
    h = (5, 0, 1, 2, 3, 5)                      # prev, then table[c] for c < 5 (5 = bottom)
    bits = multipass.encode_state(lay, h)
    assert len(bits) == lay.bits == 6 * 3 and multipass.decode_state(lay, bits) == h
    with pytest.raises(RuntimeError):
        multipass.encode_state(lay, (6, 0, 0, 0, 0, 0))
    with pytest.raises(RuntimeError):
        multipass.decode_state(lay, bits[:-1])


def test_a_players_round_one_message_ignores_later_blocks():
    """Locality: changing blocks after player j leaves the first j round-1 messages unchanged."""
    layers = multipass.random_model("elman", 2, 4, 3, seed=5)
    spans = multipass.blocks(8, 4)
    rnd = random.Random(0)
    for _ in range(40):
        x = [rnd.randrange(3) for _ in range(8)]
        y = x[:spans[2][0]] + [rnd.randrange(3) for _ in range(8 - spans[2][0])]
        mx, my = multipass.layer_rounds(layers, x, spans), multipass.layer_rounds(layers, y, spans)
        assert mx.messages[:2] == my.messages[:2]


def test_blackboard_transcripts_are_rectangles():
    """Two pointer instances with one board: every mix of their players' inputs writes it too."""
    from attncheck.bounds.rnn_collide import mixes
    q, k = 2, 3
    layers = multipass.random_model("table", 2, 2, 2 * q + 3, seed=1)
    spans = pointer_spans(q, k)
    by_key = {}
    for inst in pointer_instances({"q": q, "k": k}):
        by_key.setdefault(multipass.layer_rounds(layers, pointer_tokens(inst, q, k)[0], spans).key(), []).append(inst)
    pairs = [(a, b) for group in by_key.values() for a, b in itertools.combinations(group[:4], 2)]
    assert pairs
    for a, b in pairs:
        key = multipass.layer_rounds(layers, pointer_tokens(a, q, k)[0], spans).key()
        for z in mixes(a, b, k):
            assert multipass.layer_rounds(layers, pointer_tokens(z, q, k)[0], spans).key() == key


def test_player_blocks_concatenate_to_the_checked_layout():
    for q, k in [(1, 1), (2, 3), (3, 2)]:
        for m, half in itertools.islice(pointer_instances({"q": q, "k": k}), 200):
            x = pointer_hop_encode(m, half, q)
            assert x == [t for j in range(k, 0, -1) for t in player_block(j, m[j - 1], q, k, half)]
            assert [b - a for a, b in pointer_spans(q, k)] == [2 * q] * (k - 1) + [2 * q + 1]


def test_chain_with_k_layers_solves_pointer_chasing():
    v = check("rnn-pointer", {"q": 3, "k": 2})
    assert v.status is Status.VERIFIED and v.cases == 36 * 8
    assert v.evidence["premise"]["holds_on"] == v.cases
    assert v.evidence["bound"]["R"] == 2 and "first disjunct" in v.evidence["bound"]["reading"]
    assert "solves (3,2)-pointer chasing" in v.evidence["conclusion"]


def test_chain_with_fewer_layers_holds_but_gives_no_protocol():
    v = check("rnn-pointer", {"q": 2, "k": 3, "layers": 2})
    assert v.status is Status.VERIFIED
    assert v.evidence["premise"]["holds_on"] < v.cases
    assert "no pointer-chasing protocol follows" in v.evidence["conclusion"]
    assert "asks s = Omega(q/k^5)" in v.evidence["bound"]["reading"]


def _swap_blocks(matchings, first_half, q):
    x = pointer_hop_encode(matchings, first_half, q)
    return x[2 * q:4 * q] + x[:2 * q] + x[4 * q:]


def _wrong_split(matchings, first_half, q):
    return pointer_hop_encode(matchings, frozenset(range(q)) - first_half, q)


@pytest.mark.parametrize("broken", [_swap_blocks, _wrong_split])
def test_broken_layouts_are_refuted(broken):
    v = check("rnn-pointer", {"q": 2, "k": 3}, encoder=broken)
    assert v.status is Status.REFUTED and v.counterexample is not None


def test_samples_are_unknown_and_bad_sizes_are_bad_input():
    v = check("rnn-pointer", {"q": 2, "k": 3}, mode="sample", samples=20)
    assert v.status is Status.UNKNOWN
    for params in ({"q": 5, "k": 2}, {"q": 2, "k": 3, "alphabet": 4}, {"q": 2, "k": 2, "model": "table",
                                                                        "state_bits": 9}):
        with pytest.raises(BadInput):
            check("rnn-pointer", params)
    with pytest.raises(BadInput):
        check("rnn-multipass", {"N": 4, "players": 5})
    with pytest.raises(BadInput):
        check("rnn-multipass", {"model": "successor", "state_bits": 3})
