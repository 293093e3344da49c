"""The batched MPC simulation (verifiers/mpc_engine.py) computes what the per-token reference
computes (``sht24a.thm3_1``): the same memories after every layer, the same psi outputs and fault
flags, on seeded instances of every protocol, for compiled and hand-edited heads; its sparse
routing is taken only where the numbers allow it."""
import dataclasses
import random

import numpy as np
import pytest

from attncheck.constructions.mpc.algos import ALGOS, get_algo
from attncheck.constructions.mpc.model import Limits, Protocol
from attncheck.constructions.mpc.simulate import compile_protocol, corrupt_head
from attncheck.constructions.precision import EXACT
from attncheck.verifiers.mpc_batch import run_batch
from attncheck.verifiers.mpc_engine import Engine
from attncheck.verifiers.mpc_sparse import sparse_plan
from attncheck.verifiers.mpc_memo import Memories, Outboxes, Steps
from attncheck.verifiers.mpc_simulate import reference_run, run, run_ids, trace_of
from test_routing_soundness import random_edit


def same(a, b):
    return a.memories == b.memories and a.outputs == b.outputs and np.array_equal(a.faults, b.faults)


def instances(name, N, n, seed=0):
    a = get_algo(name)
    rng = random.Random(seed)
    return np.array([a.sample(N, rng) for _ in range(n)])


SIZES = {"cycles": 8, "components": 6, "broadcast": 6, "prefix": 8, "sort": 8}


@pytest.mark.parametrize("name", sorted(ALGOS))
@pytest.mark.parametrize("attention", ["hardmax", "softmax"])
def test_engine_is_the_reference(name, attention):
    N = SIZES[name]
    sim = compile_protocol(get_algo(name).build(N, None))
    W = instances(name, N, 24)
    heads = [layer.head for layer in sim.layers]
    eng = Engine(sim, heads, EXACT, attention)
    assert eng.sparse is (attention == "hardmax")
    assert same(run(sim, W, attention=attention, engine=eng), reference_run(sim, W, attention=attention))


@pytest.mark.parametrize("slots", [6, 12, 40])
def test_random_hashing_sums_shared_slots_like_the_reference(slots):
    """Bernoulli hashing puts several senders' packets in one slot: the sparse sums add them."""
    sim = compile_protocol(get_algo("cycles").build(8, None), hashing="random", slots=slots, seed=1)
    W = instances("cycles", 8, 16, slots)
    eng = Engine(sim, [layer.head for layer in sim.layers], EXACT, "hardmax")
    assert eng.sparse and same(run(sim, W, engine=eng), reference_run(sim, W))


@pytest.mark.parametrize("kind", ["start", "fields"])
def test_corrupted_heads_run_the_same(kind):
    sim = compile_protocol(get_algo("cycles").build(6, None))
    heads = tuple(corrupt_head(sim, kind) for _ in sim.layers)
    W = instances("cycles", 6, 12)
    for attention in ("hardmax", "softmax"):
        got = run(sim, W, attention=attention, heads=heads)
        assert same(got, reference_run(sim, W, attention=attention, heads=heads))
        assert any(m != () for layer in got.memories for row in layer for m in row) or kind == "start"


@pytest.mark.parametrize("algo, N, s, attention, seed", [("broadcast", 4, 2, "hardmax", 1),
                                                          ("sort", 4, 2, "hardmax", 3),
                                                          ("cycles", 6, None, "hardmax", 5),
                                                          ("broadcast", 4, 2, "softmax", 2)])
def test_hand_edited_simulations_run_the_same(algo, N, s, attention, seed):
    """Seeded single-entry edits (weights, temperature, query codes, start row, hashing): the
    engine picks sparse or dense from the edited numbers and still matches the reference."""
    base = compile_protocol(get_algo(algo).build(N, s))
    rng = np.random.default_rng(seed)
    W = instances(algo, N, 8, seed)
    paths = set()
    for _ in range(40):
        sim = random_edit(base, rng)
        eng = Engine(sim, [layer.head for layer in sim.layers], EXACT, attention)
        paths.add(eng.sparse)
        assert same(run(sim, W, attention=attention, engine=eng),
                    reference_run(sim, W, attention=attention))
    assert paths == ({True, False} if attention == "hardmax" else {False})


def test_sparse_plan_is_read_from_the_numbers():
    sim = compile_protocol(get_algo("cycles").build(6, None))
    h = sim.layers[0].head
    assert sparse_plan(sim, h) is not None
    W_O = h.W_O.copy()
    W_O[0, sim.layout["qcode"].start] = 1.0                        # writes a query code too
    assert sparse_plan(sim, h.replace(W_O=W_O)) is None
    W_V = h.W_V.copy()
    W_V[W_V != 0] = 0.5                                            # not a selection
    assert sparse_plan(sim, h.replace(W_V=W_V)) is None
    assert sparse_plan(sim, h.replace(temperature=-1.0)) is None
    assert sparse_plan(sim, corrupt_head(sim, "fields")) is not None   # still selections into recv


def test_the_sparse_path_hands_a_batch_to_the_dense_one_when_values_are_not_integers():
    sim = compile_protocol(get_algo("broadcast").build(4, 2))
    st = sim.start_row.copy()
    st[sim.layout["send"].start] = 0.5                             # the start row's value: 1/2
    sim2 = dataclasses.replace(sim, start_row=st)
    W = instances("broadcast", 4, 6)
    eng = Engine(sim2, [layer.head for layer in sim2.layers], EXACT, "hardmax")
    assert eng.sparse
    assert same(run(sim2, W, engine=eng), reference_run(sim2, W))


def test_memories_and_steps_are_shared_with_the_protocol_side():
    """One table for both runtimes: agreeing memories are the same ids, and a round map settles
    the protocol side's step instead of stepping again."""
    a = get_algo("cycles")
    sim = compile_protocol(a.build(8, None))
    steps = Steps(sim.protocol, Memories(), Outboxes())
    eng = Engine(sim, [layer.head for layer in sim.layers], EXACT, "hardmax", steps)
    W = instances("cycles", 8, 30)
    b = run_batch(steps, W.tolist())
    calls = []
    step = sim.protocol.step
    object.__setattr__(sim.protocol, "step", lambda *x: calls.append(x) or step(*x))
    try:
        ids = run_ids(eng, W)
    finally:
        object.__setattr__(sim.protocol, "step", step)
    assert np.array_equal(ids.memories[:, :, :sim.protocol.limits.q], b.memories)
    assert calls == []                                             # every step came from the table
    assert same(trace_of(eng, ids), reference_run(sim, W))


def test_an_unhashable_outbox_runs_the_reference():
    lim = Limits(4, 2, 4)
    p = Protocol("lists", "model.mpc", "R", lim, 4, 1,
                 lambda r, i, m: [[i, 1]] if i < 2 else (), lambda i, m: tuple(w for _, w in m))
    sim = compile_protocol(p)
    W = np.array([[1, 2, 3, 4], [0, 0, 0, 0]])
    assert same(run(sim, W), reference_run(sim, W))
