"""refute rnn (sht23.rnn-ih): the Myhill-Nerode search on RNNs, table cells, the RNN file."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from attncheck.bounds.witnesses.domain import answers, make_domain
from attncheck.bounds.witnesses.myhill_nerode import refine_ids, rnn_state_classes
from attncheck.constructions import tasks
from attncheck.constructions.rnn import BOT_CODE, build_rnn
from attncheck.constructions.rnn_table import (load_rnn, quantised_successor, random_table_rnn,
                                               save_rnn, successor_states, table_cell)
from attncheck.constructions.verdict import BadInput, Status
from attncheck.verifiers.refute_rnn import Classes, joint_states, refute_rnn
from attncheck.verifiers.rnn_run import run


def classes(task, N, V, k=1):
    d = make_domain(task, N, V, k)
    ans = answers(d)
    return Classes(task, N, V, k, tuple(refine_ids(ans, d.radix)), ans)


def truth(task, k, x):
    return (tasks.induction_heads(x) if task == "induction" else tasks.hop(x, k))[-1]


def confirm(rnn, task, k, v):
    ce = v.counterexample
    x, partner = list(ce.tokens), list(ce.explanation["partner"])
    out = run(rnn, np.array([x, partner])).outputs[:, -1]
    got = [None if o == BOT_CODE else int(o) for o in out]
    assert got[0] == got[1] == ce.got
    assert truth(task, k, x) == ce.expected != ce.got
    assert truth(task, k, partner) != ce.expected


@pytest.mark.parametrize("N,V", [(6, 2), (7, 3), (8, 3), (6, 4)])
def test_successor_baseline_is_never_refuted(N, V):
    v = refute_rnn(build_rnn("induction", N, V), classes("induction", N, V))
    assert v.status is Status.UNKNOWN and v.counterexample is None


@pytest.mark.parametrize("N,V", [(6, 2), (8, 3), (7, 4)])
def test_below_the_classes_always_refuted(N, V):
    widest = rnn_state_classes("induction", N, V).max_classes
    cls = classes("induction", N, V)
    for b in range(0, 10):
        rnn = quantised_successor(N, V, b)
        if joint_states(rnn) >= widest:
            break
        v = refute_rnn(rnn, cls)
        assert v.evidence["guaranteed"] and v.status is Status.REFUTED
        confirm(rnn, "induction", 1, v)


@pytest.mark.parametrize("seed", range(5))
def test_random_tables_below_the_classes(seed):
    cls = classes("induction", 7, 3)
    rnn = random_table_rnn(7, 3, 1 + seed * 3, seed)
    v = refute_rnn(rnn, cls)
    assert v.status is Status.REFUTED
    assert v.evidence["guaranteed"]
    confirm(rnn, "induction", 1, v)


def test_too_few_hop_layers_refuted():
    rnn = build_rnn("hop", 7, 2, k=2, layers=1)
    v = refute_rnn(rnn, classes("hop", 7, 2, 2))
    assert v.status is Status.REFUTED
    confirm(rnn, "hop", 2, v)
    assert refute_rnn(build_rnn("hop", 7, 2, k=2), classes("hop", 7, 2, 2)).status is Status.UNKNOWN


@pytest.mark.parametrize("V", [2, 3])
def test_quantised_with_enough_states_is_the_successor(V):
    N = 6
    full = quantised_successor(N, V, successor_states(V).bit_length())
    X = np.array(list(itertools.product(range(V), repeat=N)))
    assert np.array_equal(run(full, X).outputs, run(build_rnn("induction", N, V), X).outputs)


def test_table_cell_is_the_mealy_machine():
    rng = np.random.default_rng(0)
    delta, out = rng.integers(0, 4, (4, 3)), rng.integers(0, 3, (4, 3))
    rnn = random_table_rnn(5, 2, 4, 0)
    cell = table_cell(delta, out, 2)
    rnn = type(rnn)(rnn.name, rnn.task, rnn.theorem, rnn.status, 2, (cell,), "all", rnn.params)
    for x in itertools.product(range(2), repeat=5):
        s, want = 0, []
        for a in x:
            want.append(out[s, a])
            s = delta[s, a]
        got = run(rnn, np.array([x])).outputs[0]
        assert [BOT_CODE if w == 2 else w for w in want] == got.tolist()


def test_rnn_file_round_trip_and_strict_loading(tmp_path):
    rnn = quantised_successor(8, 3, 3)
    path = tmp_path / "r.npz"
    save_rnn(rnn, str(path))
    back = load_rnn(str(path))
    X = np.array(list(itertools.product(range(3), repeat=6)))
    assert np.array_equal(run(rnn, X).outputs, run(back, X).outputs)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))

    def write(m, arr, name):
        p = tmp_path / name
        np.savez(p, meta=np.array(json.dumps(m)), **arr)
        return str(p)

    bad = dict(arrays)
    bad["L0/delta"] = arrays["L0/delta"] + 100
    with pytest.raises(BadInput, match="delta entries"):
        load_rnn(write(meta, {k: v for k, v in bad.items() if k != "meta"}, "a.npz"))
    with pytest.raises(BadInput, match="unexpected arrays"):
        load_rnn(write(meta, {**{k: v for k, v in arrays.items() if k != "meta"}, "junk": np.zeros(1)}, "b.npz"))
    with pytest.raises(BadInput, match="meta keys"):
        load_rnn(write({**meta, "extra": 1}, {k: v for k, v in arrays.items() if k != "meta"}, "c.npz"))
    with pytest.raises(BadInput, match="kind"):
        load_rnn(write({**meta, "cells": [{"kind": "lstm", "params": {}}]}, {}, "d.npz"))
    (tmp_path / "e.npz").write_bytes(b"not a zip")
    with pytest.raises(BadInput):
        load_rnn(str(tmp_path / "e.npz"))


def test_budget_spent_during_the_search_is_unknown():
    import time
    from attncheck.constructions.budget import Budget
    budget = Budget(1e-6)
    time.sleep(0.01)
    v = refute_rnn(quantised_successor(8, 3, 2), classes("induction", 8, 3), budget)
    assert v.status is Status.UNKNOWN and v.counterexample is None
