"""refute one-layer (sht24b.one-layer-ih-lb via cc.oneway): the message argument checked against
brute force, the guaranteed case at several (N, |Σ|, H, m, p), and never a claim the emulator and
tasks.py do not confirm."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from attncheck.bounds.witnesses.domain import distinct_rows, make_domain
from attncheck.bounds.witnesses.oneway import communication_matrix, one_way_rows
from attncheck.constructions import tasks
from attncheck.constructions.induction import build_induction
from attncheck.constructions.onelayer import layer_of, match_at_two, random_one_layer
from attncheck.constructions.precision import parse_format
from attncheck.constructions.verdict import BadInput, Status
from attncheck.verifiers import refute_oneway as ro
from attncheck.verifiers.emulator import BOT_CODE, forward


def instance(task, N, V, split="interleaved", k=1):
    mat, alice, bob = communication_matrix(task, N, V, split, k)
    rows, ids = distinct_rows(mat)
    return ro.Instance(task, N, k, split, alice, bob, make_domain(task, N, V, k).choices, mat, ids, rows)


def truth_at_n(task, k, x):
    out = tasks.induction_heads(x) if task == "induction" else tasks.hop(x, k)
    return out[-1]


def output_matrix(c, fmt, attention, inst):
    """The model's output at N on every input, as an (Alice, Bob) matrix in the instance's order."""
    V = len(inst.choices[0])
    X = np.array(list(itertools.product(range(V), repeat=inst.N)))            # (V^N, N)
    out = forward(c, X, fmt, attention, keep=False).outputs[:, inst.N - 1]
    ten = out.reshape((V,) * inst.N)
    order = [t - 1 for t in inst.alice] + [t - 1 for t in inst.bob]
    return np.transpose(ten, order).reshape(V ** len(inst.alice), -1)


def canonical_all(c, fmt, attention, inst):
    msg = ro.build_messages(c, fmt, attention, inst.N, inst.alice, inst.bob, inst.choices)
    radix = tuple(len(ch) for ch in msg.choices)
    idx = np.arange(int(np.prod(radix)))
    return ro.message_keys(ro.canonical(msg, ro.raw_messages(msg, ro.digits(idx, radix))))


MODELS = [  # (N, V, H, head_width, format, attention, seed)
    (5, 3, 1, 1, "fixed:3.1", "softmax", 0),
    (5, 3, 2, 2, "fixed:4.3", "softmax", 1),
    (6, 2, 2, 1, "fixed:3.2", "hardmax", 2),
    (5, 2, 1, 2, "fixed:2.0", "softmax", 3),
    (5, 3, 1, 1, "fixed:30.30", "softmax", 4),       # object (Python int) container
    (6, 3, 1, 1, "fixed:5.4", "softmax", 5),
]


def assert_messages_decide(c, fmt, attention, inst):
    """Brute force: Alice inputs with equal messages give equal outputs for every Bob input."""
    keys = canonical_all(c, fmt, attention, inst)
    outs = output_matrix(c, fmt, attention, inst)
    first = {}
    for a, key in enumerate(keys):
        first.setdefault(key, a)
        assert np.array_equal(outs[a], outs[first[key]]), (a, first[key])


@pytest.mark.parametrize("N,V,H,hw,fmt,att,seed", MODELS)
@pytest.mark.parametrize("split", ["interleaved", "halves"])
@pytest.mark.parametrize("index_specific", [False, True])
def test_equal_messages_give_equal_outputs_for_every_bob_input(N, V, H, hw, fmt, att, seed, split, index_specific):
    """The claim of the module docstring, by brute force: run the emulator on every input
    (position-free and index-specific W_Q, W_K, W_V)."""
    c = random_one_layer(N, V, H=H, head_width=hw, fmt=fmt, seed=seed, index_specific=index_specific)
    inst = instance("induction", N, V, split)
    assert_messages_decide(c, c.fmt, att, inst)


def test_messages_are_not_trivially_coarse():
    """Models whose outputs depend on Alice get more than one message (the check above is not vacuous)."""
    counts = []
    for seed in range(6):
        c = random_one_layer(5, 3, H=2, head_width=2, fmt="fixed:4.3", seed=seed)
        counts.append(len(set(canonical_all(c, c.fmt, "softmax", instance("induction", 5, 3)))))
    assert max(counts) > 1


GUARANTEED = [  # (N, |Σ|, H, head width, format): models whose messages are fewer than the rows
    (7, 3, 1, 1, "fixed:3.1"),
    (9, 3, 1, 1, "fixed:3.1"),
    (9, 3, 2, 1, "fixed:2.0"),
    (11, 3, 2, 1, "fixed:3.1"),
    (13, 3, 1, 1, "fixed:2.0"),
    (13, 3, 1, 1, "fixed:1.1"),
]


def confirm(c, fmt, att, task, k, v):
    """Independent confirmation of a REFUTED verdict: the emulator is wrong at N on the
    counterexample and gives the same output on its partner, whose answer differs."""
    ce = v.counterexample
    x, partner = list(ce.tokens), list(ce.explanation["partner"])
    out = forward(c, np.array([x, partner]), fmt, att).outputs[:, len(x) - 1]
    got = [None if o == BOT_CODE else int(o) for o in out]
    assert got[0] == got[1] == ce.got
    assert truth_at_n(task, k, x) == ce.expected != ce.got
    assert truth_at_n(task, k, partner) != ce.expected


@pytest.mark.parametrize("N,V,H,hw,fmt", GUARANTEED)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_guaranteed_case_always_refuted_and_replayed(N, V, H, hw, fmt, seed):
    c = random_one_layer(N, V, H=H, head_width=hw, fmt=fmt, seed=seed, tok_width=1, pos_width=1, out_width=1)
    inst = instance("induction", N, V)
    v = ro.refute_one_layer(c, c.fmt, "softmax", inst)
    assert v.evidence["guaranteed"], v.evidence
    assert v.evidence["rows"] == one_way_rows("induction", N, V).rows     # automaton count, independently
    assert v.status is Status.REFUTED
    confirm(c, c.fmt, "softmax", "induction", 1, v)


@pytest.mark.parametrize("N", [9, 11, 13])
def test_catalogue_form_below_the_bound_is_refuted(N):
    """Models with H(m+1)p below ceil(log2 rows): every one tested is refuted (and replayed)."""
    inst = instance("induction", N, 3)
    seen = 0
    for seed in range(4):
        for fmt in ("fixed:2.0", "fixed:1.1"):
            c = random_one_layer(N, 3, H=1, head_width=1, fmt=fmt, seed=seed, tok_width=1, pos_width=1, out_width=1)
            v = ro.refute_one_layer(c, c.fmt, "softmax", inst)
            if not v.evidence["catalogue_below"]:
                continue
            seen += 1
            assert v.status is Status.REFUTED
            confirm(c, c.fmt, "softmax", "induction", 1, v)
    assert seen or N < 13


@pytest.mark.parametrize("layer", [0, 1])
def test_induction_layer_alone_is_refuted(layer):
    c = layer_of(build_induction(7, 3), layer)
    v = ro.refute_one_layer(c, c.fmt, "softmax", instance("induction", 7, 3))
    assert v.status is Status.REFUTED
    confirm(c, c.fmt, "softmax", "induction", 1, v)


def test_hop_under_the_block_split():
    c = random_one_layer(8, 2, H=1, head_width=1, fmt="fixed:3.1", seed=0)
    v = ro.refute_one_layer(c, c.fmt, "softmax", instance("hop", 8, 2, "block", 2))
    assert v.status in (Status.REFUTED, Status.UNKNOWN)
    if v.status is Status.REFUTED:
        confirm(c, c.fmt, "softmax", "hop", 2, v)


@pytest.mark.parametrize("V", [2, 3])
def test_a_correct_model_is_never_refuted(V):
    c = match_at_two(V)
    X = np.array(list(itertools.product(range(V), repeat=2)))
    out = forward(c, X, c.fmt, "hardmax").outputs[:, 1]
    assert [None if o == BOT_CODE else int(o) for o in out] == [truth_at_n("induction", 1, x) for x in X.tolist()]
    v = ro.refute_one_layer(c, c.fmt, "hardmax", instance("induction", 2, V, "halves"))
    assert v.status is Status.UNKNOWN and v.counterexample is None


def test_wrong_message_function_never_yields_an_unconfirmed_claim(monkeypatch):
    """With a broken (constant) message every Alice pair collides; the replay must either refuse
    (internal error) or report an input the model really gets wrong."""
    monkeypatch.setattr(ro, "canonical", lambda msg, raw: np.zeros((len(raw), 1), dtype=np.int64))
    for seed in range(6):
        c = random_one_layer(7, 3, H=1, head_width=2, fmt="fixed:4.3", seed=seed)
        try:
            v = ro.refute_one_layer(c, c.fmt, "softmax", instance("induction", 7, 3))
        except RuntimeError as e:
            assert "do not match the emulator" in str(e) or "different outputs" in str(e)
            continue
        assert v.status is Status.REFUTED
        confirm(c, c.fmt, "softmax", "induction", 1, v)


def test_bad_models_are_refused():
    two = build_induction(5, 3)
    with pytest.raises(BadInput, match="exactly one layer"):
        ro.check_model(two, two.fmt, 5, 3)
    one = layer_of(two, 0)
    with pytest.raises(BadInput, match="fixed:I.F"):
        ro.check_model(one, parse_format("exact"), 5, 3)
    with pytest.raises(BadInput, match="exceeds"):
        ro.check_model(one, one.fmt, 9, 3)


def test_sampled_search_is_honest():
    """Above the enumeration limit the search samples; no collision is UNKNOWN, never VERIFIED."""
    c = random_one_layer(9, 3, H=1, head_width=1, fmt="fixed:3.1", seed=0)
    v = ro.refute_one_layer(c, c.fmt, "softmax", instance("induction", 9, 3), samples=5, max_alice=10)
    assert v.status in (Status.REFUTED, Status.UNKNOWN)
    assert not v.evidence["guaranteed"] and v.evidence["scanned"] == 5
    if v.status is Status.REFUTED:
        confirm(c, c.fmt, "softmax", "induction", 1, v)


def test_budget_spent_during_the_scan_is_unknown():
    import time
    from attncheck.constructions.budget import Budget
    c = random_one_layer(9, 3, seed=0)
    inst = instance("induction", 9, 3)
    budget = Budget(1e-6)
    time.sleep(0.01)
    v = ro.refute_one_layer(c, c.fmt, "softmax", inst, budget=budget)
    assert v.status is Status.UNKNOWN and not v.evidence["messages_exact"] and not v.evidence["guaranteed"]


@pytest.mark.parametrize("split", ["halves", "prefix:2"])
def test_a_layer_with_an_elementwise_map(split):
    """Layer 3 of the k-hop construction carries a snap map: the argument holds row by row."""
    from attncheck.constructions.hop import build_hop
    c = layer_of(build_hop(6, 2, 2), 2)
    assert c.layers[0].map is not None
    inst = instance("hop", 6, 2, split, 2)
    assert_messages_decide(c, c.fmt, "softmax", inst)
    v = ro.refute_one_layer(c, c.fmt, "softmax", inst)
    if v.status is Status.REFUTED:
        confirm(c, c.fmt, "softmax", "hop", 2, v)


@pytest.mark.parametrize("N,V,H,hw,fmt,att,seed", MODELS)
def test_closed_form_bounds_the_counted_messages(N, V, H, hw, fmt, att, seed):
    c = random_one_layer(N, V, H=H, head_width=hw, fmt=fmt, seed=seed)
    inst = instance("induction", N, V)
    msg = ro.build_messages(c, c.fmt, att, N, inst.alice, inst.bob, inst.choices)
    assert len(set(canonical_all(c, c.fmt, att, inst))) <= 2 ** ro.closed_form_bits(msg, c.fmt, att)
