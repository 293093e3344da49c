"""Exhaustive ``verify mpc`` with the routing certificate standing for the transformer (issue 15).

``check_simulation(..., transformer="auto")`` runs every instance through the protocol and the
ground truth but, when the certificate holds, the transformer only on a spot check
(docs/mpc.md, "Exhaustive runs with a certificate").  It must answer exactly what
``transformer="every"`` (the transformer on every instance) answers: verdict, method, cases and
the first counterexample, on certified simulations, on refuted ones and on a wrong protocol.
"""
import dataclasses

import pytest

from attncheck.constructions.mpc.algos import get_algo
from attncheck.constructions.mpc.simulate import compile_protocol, corrupt_head, with_heads
from attncheck.constructions.precision import EXACT
from attncheck.constructions.verdict import Method, Status
from attncheck.verifiers.mpc_sidebyside import _comparer, check_simulation, instances_for


def both(sim, algo, N, **kw):
    auto = check_simulation(sim, algo, N, mode="exhaustive", transformer="auto", **kw)
    every = check_simulation(sim, algo, N, mode="exhaustive", transformer="every", **kw)
    return auto.verdict, every.verdict, auto.certificate


def same(a, b):
    assert (a.status, a.method, a.cases) == (b.status, b.method, b.cases)
    if a.counterexample is None:
        assert b.counterexample is None
    else:
        assert a.counterexample.to_json() == b.counterexample.to_json()
        assert a.reason == b.reason


@pytest.mark.parametrize("algo,N,s", [("cycles", 6, None), ("cycles", 8, None), ("broadcast", 4, 2),
                                      ("sort", 4, None), ("components", 5, None)])
def test_certified_runs_answer_as_the_full_run(algo, N, s):
    a = get_algo(algo)
    sim = compile_protocol(a.build(N, s))
    auto, every, cert = both(sim, a, N)
    assert cert.ok is True and auto.status is Status.VERIFIED and auto.method is Method.EXHAUSTIVE
    same(auto, every)
    assert auto.evidence["transformer_vs_protocol"]["method"] == "certificate"
    assert "transformer_vs_protocol" not in every.evidence
    assert auto.evidence["protocol_vs_truth"] == every.evidence["protocol_vs_truth"]


@pytest.mark.parametrize("kind", ["start", "fields"])
def test_broken_heads_fail_the_certificate_and_give_the_same_counterexample(kind):
    a = get_algo("cycles")
    sim = compile_protocol(a.build(8, None))
    sim = with_heads(sim, tuple(corrupt_head(sim, kind) for _ in sim.layers))
    auto, every, cert = both(sim, a, 8)
    assert cert.ok is False and auto.status is Status.REFUTED
    same(auto, every)
    assert "transformer_vs_protocol" not in auto.evidence


def test_a_wrong_protocol_is_refuted_at_the_same_instance():
    # the certificate holds (the routing is fine), the ground truth disagrees with the protocol on
    # every graph of two cycles: the first such instance is the counterexample either way
    a = get_algo("cycles")
    liar = dataclasses.replace(a, truth=lambda N, w, s: (1,))
    sim = compile_protocol(a.build(8, None))
    auto, every, cert = both(sim, liar, 8)
    assert cert.ok is True and auto.status is Status.REFUTED
    same(auto, every)
    assert "protocol itself is wrong" in auto.reason


def test_dropped_start_offset_is_not_certified_so_every_instance_runs():
    # docs/mpc.md: without the start key's offset every run agrees but the certificate fails;
    # the transformer then runs on every instance (no certificate evidence), as before
    a = get_algo("cycles")
    sim = compile_protocol(a.build(6, None))
    start = sim.start_row.copy()
    start[sim.layout["kcode"].sl] = 0.0                         # the start token's key offset dropped
    sim = dataclasses.replace(sim, start_row=start)
    auto, every, cert = both(sim, a, 6)
    assert cert.ok is False
    same(auto, every)
    assert "transformer_vs_protocol" not in auto.evidence


def test_the_spot_check_runs_the_transformer():
    # the comparer trusts a certificate it is told holds, yet the spot check still runs the
    # transformer on the first instances of a chunk: a broken head is caught there
    a = get_algo("cycles")
    sim = compile_protocol(a.build(6, None))
    bad = with_heads(sim, tuple(corrupt_head(sim, "fields") for _ in sim.layers))
    heads = tuple(layer.head for layer in bad.layers)
    words = instances_for(a, 6, "exhaustive", 0, 0).domain.draw(0, 20)
    found = _comparer(bad, a, 6, heads, EXACT, "hardmax", covered=True, spot=4)(words)
    assert found is not None and found.index == 0 and found.wrong == 4
    assert _comparer(bad, a, 6, heads, EXACT, "hardmax", covered=True, spot=0)(words) is None


def test_transformer_argument_is_checked():
    a = get_algo("cycles")
    with pytest.raises(ValueError):
        check_simulation(compile_protocol(a.build(6, None)), a, 6, transformer="some")
