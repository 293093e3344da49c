"""SMT certificate of constructions: agrees with exhaustive and certificate modes; broken
constructions are refuted with a replayed counterexample."""
import itertools

import numpy as np
import pytest

from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.tasks import hop, induction_heads
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.exhaustive import check_exhaustive
from attncheck.verifiers.smt.certify import Forward, certify_smt, truth_terms
from attncheck.verifiers.smt.solver import Limits
from attncheck.constructions.verdict import BadInput, Status

z3 = pytest.importorskip("z3")
LIM = Limits(0, 200_000_000)


@pytest.mark.parametrize("task,k,N,V", [("induction", 1, 4, 3), ("hop", 1, 4, 2), ("hop", 2, 5, 2)])
def test_truth_terms_equal_tasks_py_on_every_input(task, k, N, V):
    c = build_induction(N, V) if task == "induction" else build_hop(N, k, V)
    fw = Forward(c, c.fmt)
    terms = truth_terms(fw, task, k)
    for x in itertools.product(range(V), repeat=N):
        sub = [(fw.x[t + 1], z3.BitVecVal(v, fw.tw)) for t, v in enumerate(x)]
        got = [z3.simplify(z3.substitute(e, *sub)).as_long() for e in terms]
        want = induction_heads(list(x)) if task == "induction" else hop(list(x), k)
        assert got == [V if w is None else w for w in want]


def _three_methods(c, task, params):
    fmt = c.fmt
    smt, _ = certify_smt(c, task, params, fmt, LIM)
    ex = check_exhaustive(c, task, params, fmt, "hardmax")
    cert = certify(c, task, params, fmt, "hardmax")
    return smt, ex, cert


@pytest.mark.parametrize("N", [3, 4])
def test_induction_verified_by_all_three_methods(N):
    smt, ex, cert = _three_methods(build_induction(N, 3), "induction", {})
    assert smt.status == ex.status == cert.status == Status.VERIFIED
    assert smt.evidence["solver_result"] == "unsat"


@pytest.mark.slow
def test_hop2_verified_by_smt_and_exhaustive():
    smt, ex, _ = _three_methods(build_hop(5, 2, 2), "hop", {"k": 2})
    assert smt.status == ex.status == Status.VERIFIED


def _zero_head(c, layer):
    h = c.layers[layer].heads[0]
    return c.with_layer(layer, type(c.layers[layer])((h.replace(W_K=np.zeros_like(h.W_K)),),
                                                     c.layers[layer].map))


@pytest.mark.parametrize("make", [lambda: build_induction(4, 3, variant="paper"),
                                  lambda: _zero_head(build_induction(4, 3), 1)],
                         ids=["paper-lemma-D2", "blind-layer-2"])
def test_broken_constructions_are_refuted_and_replayed(make):
    c = make()
    smt, ex, _ = _three_methods(c, "induction", {})
    assert ex.status == Status.REFUTED
    assert smt.status == Status.REFUTED and smt.counterexample.explanation["replayed"]
    x = list(smt.counterexample.tokens)
    assert induction_heads(x)[smt.counterexample.position - 1] == smt.counterexample.expected


def test_softmax_and_exact_are_refused():
    c = build_induction(3, 2)
    with pytest.raises(BadInput):
        certify_smt(c, "induction", {}, c.fmt, LIM, attention="softmax")
    from attncheck.constructions.precision import EXACT
    with pytest.raises(BadInput):
        certify_smt(c, "induction", {}, EXACT, LIM)
