"""Thm 3.1: the compiled transformer equals its protocol round by round (sht24a.thm3_1)."""
import numpy as np
import pytest

from attncheck.constructions.mpc import basic, cycles
from attncheck.verifiers.mpc_certify import certify
from attncheck.constructions.mpc.algos import get_algo
from attncheck.constructions.mpc.simulate import compile_protocol
from attncheck.verifiers.mpc_sidebyside import side_by_side
from attncheck.verifiers.mpc_simulate import run
from attncheck.verifiers.mpc_machine import MPCViolation, run_protocol
from attncheck.constructions.verdict import Method, Status


def test_cycles_exhaustive_N6_verified_with_layers_R_plus_1():
    res = side_by_side(get_algo("cycles"), 6)
    v = res.verdict
    assert v.status is Status.VERIFIED and v.method is Method.EXHAUSTIVE and v.cases == 70
    assert len(res.simulation.layers) == res.simulation.protocol.rounds + 1 == 5
    assert res.certificate.ok is True


def test_every_round_is_compared_not_only_the_output():
    pr = cycles.cycles(6)
    sim = compile_protocol(pr)
    tokens = [0, 1, 1, 2, 2, 0, 3, 4, 4, 5, 5, 3]                      # two triangles
    tr = run(sim, np.array([tokens]))
    ref = run_protocol(pr, tokens)
    assert len(tr.memories) == len(ref.memories) == pr.rounds + 1
    for layer, mem in enumerate(ref.memories):
        assert tuple(tr.memories[layer][0][:pr.limits.q]) == mem
    assert tuple(w for o in tr.outputs[0] for w in o) == ref.output == (2,)


def test_softmax_matches_too():
    v = side_by_side(get_algo("cycles"), 6, attention="softmax", mode="sample", samples=4).verdict
    assert v.status is Status.VERIFIED and v.method is Method.CERTIFICATE


@pytest.mark.parametrize("kind", ["start", "fields"])
def test_corrupted_routing_head_is_refuted_with_a_counterexample(kind):
    res = side_by_side(get_algo("cycles"), 6, corrupt=kind, mode="sample", samples=3)
    v = res.verdict
    assert v.status is Status.REFUTED and res.certificate.ok is False
    ce = v.counterexample.explanation
    assert ce["layer"] == 0 and ce["expected"] != ce["got"] and ce["attention"]


def test_too_narrow_random_hashing_is_refuted_not_certified():
    res = side_by_side(get_algo("cycles"), 8, hashing="random", slots=12, mode="sample", samples=8)
    assert res.verdict.status is Status.REFUTED
    assert res.certificate.ok is not True


def test_certificate_detects_a_head_that_reads_the_wrong_slot():
    sim = compile_protocol(basic.broadcast(6, 2, 8))
    assert certify(sim).ok is True
    W_Q = sim.layers[0].head.W_Q.copy()
    W_Q[sim.layout["recv"].start, 0] = 1.0                             # query now reads packets
    cert = certify(sim, sim.layers[0].head.replace(W_Q=W_Q))
    assert cert.ok is False and "structure" in cert.reason


@pytest.mark.parametrize("algo, N", [("prefix", 4), ("sort", 4), ("broadcast", 5),
                                      ("components", 4)])
def test_other_protocols_exhaustive(algo, N):
    v = side_by_side(get_algo(algo), N).verdict
    assert v.status is Status.VERIFIED and v.method is Method.EXHAUSTIVE, v.reason


def test_memory_violation_surfaces_before_any_verdict():
    with pytest.raises(MPCViolation, match="round 1, machine 0: sends 3 words, limit s = 2"):
        side_by_side(get_algo("cycles"), 6, s=2, mode="sample", samples=1)


@pytest.mark.slow
def test_cycles_N16_certificate_and_samples():
    res = side_by_side(get_algo("cycles"), 16, samples=12)
    assert res.verdict.status is Status.VERIFIED and res.verdict.method is Method.CERTIFICATE
    assert len(res.simulation.layers) == 6


def test_wide_paper_hashing_is_refused_before_allocating_the_head():
    """--hashing paper at N = 12 needs d = 12,578 slots: a 59 GiB W_V was a MemoryError (exit 4)."""
    from attncheck.constructions.verdict import BadInput
    with pytest.raises(BadInput, match="dense weights"):
        compile_protocol(cycles.cycles(12), hashing="paper")
