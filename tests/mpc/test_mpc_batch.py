"""The batch forms of the MPC maps and runtime give what the one-at-a-time forms give
(``model.mpc``, ``lemma.sht24a.3_2``): decode_batch vs decode, encode_batch vs encode, write_rows
vs write_row, run_batch vs run_protocol (limits broken: None, and run_protocol raises)."""
import random

import numpy as np
import pytest

from attncheck.constructions.mpc.algos import ALGOS, get_algo
from attncheck.constructions.mpc.model import Limits, Protocol
from attncheck.constructions.mpc.routing import (ERRORS, F, ONE_BY_ONE, decode, decode_batch, encode,
                                                 encode_batch, make_hashing, memory_of)
from attncheck.constructions.mpc.simulate import RoundLocal, compile_protocol, write_row, write_rows
from attncheck.verifiers.mpc_batch import run_batch
from attncheck.verifiers.mpc_machine import MPCViolation, run_protocol
from attncheck.verifiers.mpc_memo import Memories, Outboxes, Steps, unique_rows


def _decoded(recv, j, s, input_layer):
    try:
        with np.errstate(all="ignore"):
            return decode(recv, j, s, input_src=j if input_layer else None)
    except Exception as e:
        return ("error", type(e).__name__)


def _random_recv(rng, d, s):
    """Averaged packets as a head makes them, then damaged in the ways a broken head damages them."""
    z = int(rng.integers(1, s + 2))
    P = np.zeros((d, F))
    for _ in range(int(rng.integers(0, 2 * s))):
        c = int(rng.integers(d))
        P[c] += (1.0, float(rng.integers(0, 300)), float(rng.integers(0, 9)), float(rng.integers(0, s)),
                 float(rng.integers(0, 4)))
    R = P / z
    kind = rng.integers(6)
    if kind == 1:
        R += rng.normal(0, 0.05, R.shape)                              # softmax leakage
    elif kind == 2:
        R[rng.integers(d), rng.integers(F)] = float(rng.choice([np.nan, np.inf, -np.inf]))
    elif kind == 3:
        R[rng.integers(d)] = (1.0, 2.0 ** 70, 1.0, 0.0, 1.0)                # beyond int64
    elif kind == 4 and d > 1:
        R[0], R[1] = (1.0, 5.0, 2.0, 0.0, 1.0), (1.0, 6.0, 2.0, 0.0, 1.0)    # one message, two words
    return R


@pytest.mark.parametrize("input_layer", [False, True])
def test_decode_batch_is_decode(input_layer):
    rng = np.random.default_rng(4)
    d, s, n = 12, 3, 400
    recv = np.stack([_random_recv(rng, d, s) for _ in range(n)])
    j = rng.integers(0, 4, size=n)
    rows = decode_batch(recv, j, s, input_layer)
    kinds = set()
    for i in range(n):
        want = _decoded(recv[i], int(j[i]), s, input_layer)
        got = _decoded(recv[i], int(j[i]), s, input_layer) if rows[i, 0] == ONE_BY_ONE else memory_of(rows[i])
        assert got == want, (i, got, want)
        kinds.add(int(rows[i, 0]))
    assert {0, 1, ONE_BY_ONE} <= kinds and ERRORS[0] == "ValueError"


def test_decode_batch_reads_only_the_slots_it_is_given():
    """Zero slots left out change nothing (the sparse routing decodes the filled slots only)."""
    rng = np.random.default_rng(1)
    recv = np.stack([_random_recv(rng, 10, 2) for _ in range(50)])
    recv[~np.isfinite(recv)] = 0.0
    recv[:, 5:] = 0.0
    j = rng.integers(0, 4, size=50)
    assert np.array_equal(decode_batch(recv, j, 2)[:, :2], decode_batch(recv[:, :5], j, 2)[:, :2])


@pytest.mark.parametrize("kind", ["onehot", "random"])
def test_encode_batch_is_encode(kind):
    q, s, T = 5, 3, 7
    H = make_hashing(T, q, s, kind, slots=6, seed=2)
    rng = random.Random(3)
    src, boxes = [], []
    for _ in range(60):
        t = rng.randrange(T)
        n = rng.randint(0, s) if t < q else rng.randint(0, 1)
        src.append(t)
        boxes.append(tuple((rng.randrange(q), rng.randrange(1 << 40)) for _ in range(n)))
    m = max(len(b) for b in boxes)
    dest = np.array([[d for d, _ in b] + [0] * (m - len(b)) for b in boxes])
    word = np.array([[w for _, w in b] + [0] * (m - len(b)) for b in boxes])
    got = encode_batch(np.array(src), dest, word, np.array([len(b) for b in boxes]), H)
    want = np.stack([encode(t, b, H) for t, b in zip(src, boxes)])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_write_rows_is_write_row():
    sim = compile_protocol(get_algo("cycles").build(6, None))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, sim.layout.width))
    t = rng.integers(0, sim.tokens, size=20)
    boxes = [tuple((int(rng.integers(6)), int(rng.integers(100))) for _ in range(int(rng.integers(0, 3)) if tt < 6 else 0))
             for tt in t]
    failed = rng.random(20) < 0.3
    want = np.stack([write_row(X[n], int(t[n]), boxes[n], bool(failed[n]), sim.layout, sim.hashing, sim.codes)
                     for n in range(20)])
    m = max(len(b) for b in boxes)
    dest = np.array([[d for d, _ in b] + [0] * (m - len(b)) for b in boxes])
    word = np.array([[w for _, w in b] + [0] * (m - len(b)) for b in boxes])
    keys = np.stack([sim.codes.key({d for d, _ in b}) for b in boxes])
    got = X.copy()
    write_rows(got, t, dest, word, np.array([len(b) for b in boxes]), keys, failed, sim.layout, sim.hashing)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_round_local_settles_what_it_would_compute():
    """``RoundLocal(t, m) == settle(tuple(step(r, t, m)))``: the engine settles the protocol
    side's step results instead of stepping again."""
    a = get_algo("cycles")
    p = a.build(8, None)
    rng = random.Random(2)
    seen = 0
    for _ in range(30):
        run_ = run_protocol(p, a.sample(8, rng))
        for r in range(p.rounds):
            local = RoundLocal(p, r)
            for t, m in enumerate(run_.memories[r]):
                assert local(t, m) == local.settle(tuple(p.step(r, t, m)))
                seen += 1
    assert local(0, ("error", "ValueError")) == ((), True) and local(99, ()) == ((), False)
    assert seen > 500


def _steps(p):
    return Steps(p, Memories(), Outboxes())


@pytest.mark.parametrize("name", sorted(ALGOS))
def test_run_batch_is_run_protocol(name):
    a = get_algo(name)
    N = 6 if name in ("cycles", "components") else 5
    p = a.build(N, None)
    rng = random.Random(7)
    inputs = [a.sample(N, rng) for _ in range(40)]
    steps = _steps(p)
    b = run_batch(steps, inputs)
    assert b is not None
    mem = steps.memories.items
    for n, w in enumerate(inputs):
        ref = run_protocol(p, w)
        assert tuple(tuple(mem[i] for i in layer[n]) for layer in b.memories) == ref.memories
        assert b.output[n] == ref.output
        assert tuple(steps.outs.items[o] for o in b.outputs[n]) == ref.outputs


def _toy(step, q=4, s=2, p=4, n_in=4, rounds=1, output=lambda i, m: ()):
    return Protocol("toy", "model.mpc", "R", Limits(q, s, p), n_in, rounds, step, output)


@pytest.mark.parametrize("proto, needle", [
    (_toy(lambda r, i, m: tuple((0, 1) for _ in range(3)) if i == 1 else ()), "sends 3 words"),
    (_toy(lambda r, i, m: ((0, 1),)), "receives 4 words"),
    (_toy(lambda r, i, m: ((7, 1),) if i == 2 else ()), "does not exist"),
    (_toy(lambda r, i, m: ((0, 99),) if i == 3 else ()), "does not fit"),
    (_toy(lambda r, i, m: ((0, True),) if i == 3 else ()), "is not an integer word"),
    (_toy(lambda r, i, m: (), output=lambda i, m: (1, 2, 3)), "outputs 3 words"),
])
def test_run_batch_leaves_every_broken_limit_to_run_protocol(proto, needle):
    assert run_batch(_steps(proto), [[1, 2, 3, 4], [0, 0, 0, 0]]) is None
    with pytest.raises(MPCViolation, match=needle):
        run_protocol(proto, [1, 2, 3, 4])


def test_run_batch_refuses_bad_input_words():
    p = _toy(lambda r, i, m: ())
    assert run_batch(_steps(p), [[1, 2, 3, 16]]) is None                       # p = 4 bits
    assert run_batch(_steps(p), [[1, 2, 3, True]]) is None
    assert run_batch(_steps(p), [[1, 2, 3]]) is None
    assert run_batch(_steps(p), [[1, 2, 3, 15]]) is not None


def test_a_step_that_raises_is_left_to_run_protocol():
    p = _toy(lambda r, i, m: 1 // 0 if m and m[0][1] == 3 else ())
    assert run_batch(_steps(p), [[0, 0, 0, 0], [3, 0, 0, 0]]) is None
    with pytest.raises(ZeroDivisionError):
        run_protocol(p, [3, 0, 0, 0])


def test_unique_rows_groups_equal_rows():
    rng = np.random.default_rng(0)
    for cols, hi in [(2, 50), (6, 2 ** 40), (3, 2 ** 62)]:
        a = rng.integers(0, hi, size=(300, cols), dtype=np.int64)
        a = a[rng.integers(0, 300, size=900)]
        first, inv = unique_rows(a)
        assert np.array_equal(a, a[first][inv])
        assert len(first) == len({tuple(r) for r in a.tolist()})
    M = 0x5BD1E995                                                   # two rows with one hash
    a = np.array([[0, 0, 2 ** 40], [0, 1, 2 ** 40 - M], [2 ** 40, 0, 0], [0, 0, 2 ** 40]], dtype=np.int64)
    first, inv = unique_rows(a)
    assert len(first) == 3 and inv[0] == inv[3] and len({inv[0], inv[1], inv[2]}) == 3
