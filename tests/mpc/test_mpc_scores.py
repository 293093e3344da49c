"""Fact 4 of the routing certificate proved two ways (verifiers/mpc_scores.py, ``lemma.sht24a.3_2``):
the O(q T) structured proof for poly codes agrees with the pair-by-pair enumeration wherever its
form holds, falls back to the enumeration where it does not, and certifies N = 64."""
import dataclasses

import numpy as np
import pytest

from attncheck.constructions.mpc.algos import get_algo
from attncheck.constructions.mpc.simulate import compile_protocol, with_heads
from attncheck.verifiers.mpc_certify import certify
from attncheck.verifiers.mpc_scores import enumerated_scores, score_facts, structured_scores
from test_routing_soundness import random_edit

FACTS = ("ok", "exact_order", "int_path", "min_sender", "max_non_sender", "start_score", "spread", "gap")


def same(a, b):
    diff = {}
    for k in FACTS:
        x, y = a[k], b[k]
        if x != y and not (isinstance(x, float) and isinstance(y, float) and abs(x - y) <= 1e-9 * max(1.0, abs(x))):
            diff[k] = (x, y)
    return diff


def sim_of(algo, N, s=None):
    return compile_protocol(get_algo(algo).build(N, s))


@pytest.mark.parametrize("algo, N, s", [("broadcast", 4, 2), ("sort", 4, 2), ("cycles", 6, None),
                                         ("components", 5, None), ("cycles", 8, None)])
def test_structured_equals_enumerated_on_seeded_edits(algo, N, s):
    base = sim_of(algo, N, s)
    rng = np.random.default_rng(7)
    form = 0
    for i in range(60):
        sim = base if i == 0 else random_edit(base, rng)
        for h in {id(l.head): l.head for l in sim.layers}.values():
            a = structured_scores(sim, h)
            if a.get("form"):
                form += 1
                assert not same(a, enumerated_scores(sim, h)), (i, same(a, enumerated_scores(sim, h)))
    assert form >= 30


def _codes(sim, **kw):
    return dataclasses.replace(sim, codes=dataclasses.replace(sim.codes, **kw))


def _cases():
    base = sim_of("cycles", 6)
    h, lay = base.layers[0].head, base.layout
    Q = base.codes.queries.copy()
    Q[8] = Q[2]                                                      # a pad takes machine 2's point
    Q2 = base.codes.queries.copy()
    Q2[1] = Q2[2]                                                    # machine 1 takes machine 2's point
    pts = list(base.codes.points)
    pts[1] = pts[3]                                                  # machine 1's key factor moves
    st = base.start_row.copy()
    st[lay["kcode"].stop - 1] = -3.0                                 # start row below the non-senders
    W_K = h.W_K.copy()
    W_K[lay["kcode"].stop - 1, -1] = 3.0
    return [  # (id, simulation, structured form holds, certificate scores ok)
        ("compiled", base, True, True),
        ("pad-shares-a-point", _codes(base, queries=Q), True, False),
        ("machine-query-moved", _codes(base, queries=Q2), False, False),
        ("machine-key-point-moved", _codes(base, points=tuple(pts)), False, False),
        ("positive-scale", _codes(base, scale=2), False, False),
        ("scale-minus-one", _codes(base, scale=-1), True, False),
        ("start-too-low", dataclasses.replace(base, start_row=st), True, False),
        ("negative-temperature", with_heads(base, tuple(h.replace(temperature=-1.0) for _ in base.layers)), True, False),
        ("start-flag-times-3", with_heads(base, tuple(h.replace(W_K=W_K) for _ in base.layers)), True, False),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_targeted_edits_agree_with_the_enumeration(case):
    _, sim, form, ok = case
    h = sim.layers[0].head
    a, b = structured_scores(sim, h), enumerated_scores(sim, h)
    assert bool(a.get("form")) is form and b["ok"] is ok
    if form:
        assert not same(a, b)
    assert score_facts(sim, h)["ok"] is ok


def test_n64_default_is_certified_by_the_structured_proof():
    """87 million (receiver, set) pairs at N = 64, proved in O(q T); the enumeration refuses."""
    sim = sim_of("cycles", 64)
    cert = certify(sim)
    assert cert.ok is True, cert.reason
    sc = cert.checks["scores"]
    assert sc["how"].startswith("structured") and sc["pairs"] > 80_000_000 and sc["int_path"]
    assert cert.checks["arithmetic"]["how"].startswith("exact int64")
    assert enumerated_scores(sim, sim.layers[0].head)["checked"] is False


def test_n64_broken_start_row_fails_without_enumerating():
    sim = sim_of("cycles", 64)
    st = sim.start_row.copy()
    st[sim.layout["kcode"].stop - 1] = -5.0                          # start below non-senders (-2)
    cert = certify(dataclasses.replace(sim, start_row=st))
    assert cert.ok is False and "scores" in cert.reason


def test_n64_edited_query_is_unproven_not_certified():
    """The form fails (a query is no moment vector) and the enumeration is too large: None."""
    sim = sim_of("cycles", 64)
    Q = sim.codes.queries.copy()
    Q[5, 3] += 1.0
    cert = certify(_codes(sim, queries=Q))
    assert cert.ok is None and "scores" in cert.reason
