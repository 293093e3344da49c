"""Explicit RNN baselines: successor-table RNN (induction heads), streaming INDEX, stacked
successor tables for hop_k.  Exhaustive agreement, state sizes against the exact Myhill-Nerode
minimum, enforced field ranges, and too-shallow stacks that must be refuted."""
import dataclasses
import itertools

import numpy as np
import pytest

from attncheck.constructions import rnn as R
from attncheck.verifiers import rnn_check, rnn_run
from attncheck.constructions import tasks
from attncheck.verifiers.emulator import BOT_CODE
from attncheck.constructions.verdict import BadInput, Method, Status


@pytest.mark.parametrize("V,N", [(2, 8), (3, 7), (4, 6)])
def test_successor_rnn_is_the_induction_head(V, N):
    v, measured = rnn_check.check_rnn(R.build_rnn("induction", N, V), "exhaustive")
    assert v.status is Status.VERIFIED and v.cases == V ** N
    assert measured["states_reached"][0] <= R.successor_cell(V).states


@pytest.mark.parametrize("k", [1, 2, 3])
def test_k_stacked_tables_compute_hop_k_and_k_minus_1_do_not(k):
    good, _ = rnn_check.check_rnn(R.build_rnn("hop", 7, 3, k=k), "exhaustive")
    assert good.status is Status.VERIFIED
    if k > 1:
        bad, _ = rnn_check.check_rnn(R.build_rnn("hop", 7, 3, k=k, layers=k - 1), "exhaustive")
        assert bad.status is Status.REFUTED
        ce = bad.counterexample
        want = tasks.hop(list(ce.tokens), k)[ce.position - 1]
        assert ce.expected == want and ce.got != want and ce.explanation["replayed"]


def test_layer_l_stream_is_hop_l():
    """Mechanism: layer l of the stack outputs hop_l at every position (find^l = find^{l-1} o find^1)."""
    X = np.array(list(itertools.product(range(3), repeat=6)))
    tr = rnn_run.run(R.build_rnn("hop", 6, 3, k=3), X)
    for l, stream in enumerate(tr.streams, start=1):
        want = np.array([[3 if o is None else o for o in tasks.hop(x, l)] for x in X.tolist()])
        assert np.array_equal(stream, want)


@pytest.mark.parametrize("N,data", [(3, 2), (7, 2), (9, 3), (11, 2)])
def test_streaming_index_rnn(N, data):
    rnn = R.build_rnn("index", N, data)
    n = (N - 1) // 2
    v, _ = rnn_check.check_rnn(rnn, "exhaustive")
    assert v.status is Status.VERIFIED and v.cases == n * data ** n
    assert rnn.size()["state_bits"] == n * (data - 1).bit_length() + n.bit_length()


@pytest.mark.parametrize("task,N,V", [("induction", 7, 3), ("induction", 6, 4), ("index", 9, 2), ("index", 7, 3)])
def test_states_at_every_cut_are_at_least_the_myhill_nerode_classes(task, N, V):
    """Any one-pass model needs >= c_t states after t tokens (cross-check with the witness
    module's exact counts); the declared bit width must cover the largest c_t."""
    rnn_state_classes = pytest.importorskip("attncheck.bounds.witnesses.myhill_nerode").rnn_state_classes
    rnn = R.build_rnn(task, N, V)
    X = rnn_check.family_inputs(rnn, 0, rnn_check.family_size(rnn))
    states = rnn_run.run(rnn, X).states[0]                                  # (B, N)
    mn = rnn_state_classes("induction", N, V, marker=task == "index")
    for t, classes in mn.cuts[1:]:
        assert len(np.unique(states[:, t - 1])) >= classes, (t, classes)
    assert rnn.size()["state_bits"] >= mn.bits


def test_field_ranges_are_enforced():
    """A cell that declares fewer values than it stores (no code for bottom) is caught."""
    rnn = R.build_rnn("induction", 5, 3)
    cell = rnn.layers[0]
    lying = dataclasses.replace(cell, fields=(R.Field("prev", 4), R.Field("table", 3, 3)))
    with pytest.raises(RuntimeError, match="left range"):
        rnn_run.run(dataclasses.replace(rnn, layers=(lying,)), [[0, 1, 2, 0, 1]])


def test_declared_bits_of_the_successor_table():
    for V in range(2, 9):
        assert R.successor_cell(V).bits == (V + 1) * V.bit_length()


def test_outputs_use_the_emulator_bottom_code():
    out = rnn_run.run(R.build_rnn("induction", 3, 2), [[0, 1, 0]]).outputs[0].tolist()
    assert R.BOT_CODE == BOT_CODE and out == [BOT_CODE, BOT_CODE, 1]


def test_sampling_never_verifies():
    v, _ = rnn_check.check_rnn(R.build_rnn("hop", 20, 4, k=2), "sample", samples=100)
    assert v.status is Status.UNKNOWN and v.method is Method.SAMPLE


@pytest.mark.parametrize("call,needle", [
    (lambda: R.build_rnn("index", 8), "odd length"), (lambda: R.build_rnn("hop", 6, 3, k=0), "--k"),
    (lambda: R.build_rnn("induction", 6, 13), "alphabet 13"), (lambda: R.build_rnn("ngram", 6), "unknown"),
    (lambda: rnn_check.check_rnn(R.build_rnn("induction", 30, 4), "exhaustive"), "limit"),
    (lambda: rnn_run.run(R.build_rnn("induction", 3, 2), [[0, 2, 1]]), "tokens"),
    # the CLI fuzzer's find: 10^6 layers ran past --budget 0.3 (no exit within 25 s); k > N as in verify hop
    (lambda: R.build_rnn("hop", 2, 3, layers=1_000_000), "--layers"), (lambda: R.build_rnn("hop", 2, 3, k=5), "--k 5 > N"),
])
def test_bad_inputs_are_refused(call, needle):
    with pytest.raises(BadInput, match=needle):
        call()
