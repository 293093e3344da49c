"""MPC instances run through the one check loop (issue 14): domains, seeded samples, budget."""
import numpy as np
import pytest

from attncheck.constructions.budget import Budget
from attncheck.constructions.mpc.algos import get_algo
from attncheck.constructions.verdict import BadInput, Method, Status
from attncheck.verifiers.mpc_sidebyside import instances_for, side_by_side


def test_enumerated_domain_serves_consecutive_and_repeated_ranges():
    inst = instances_for(get_algo("cycles"), 6, "auto", 100, 0)
    assert inst.exhaustive and inst.count == inst.domain.size == 70
    whole = inst.domain.draw(0, 70)
    assert inst.domain.draw(0, 30) + inst.domain.draw(30, 70) == whole
    assert inst.domain.draw(10, 12) == whole[10:12]                       # restart, then skip
    assert len({tuple(w) for w in whole}) == 70


def test_samples_follow_the_seed_not_the_batch_size():
    algo = get_algo("components")
    inst = instances_for(algo, 16, "sample", 8, 3)
    rng = np.random.default_rng(3)
    eight = inst.domain.sample(rng, 8)
    inst2 = instances_for(algo, 16, "sample", 8, 3)
    rng2 = np.random.default_rng(3)
    four_four = inst2.domain.sample(rng2, 4) + inst2.domain.sample(rng2, 4)
    assert eight == four_four
    assert not inst.exhaustive and "seed 3" in inst.description


def test_loop_wording_and_certificate_upgrade():
    v = side_by_side(get_algo("cycles"), 6).verdict
    assert v.reason.startswith("all 70 instances agree") and "round by round" in v.reason
    assert v.evidence["protocol_vs_truth"] == {"method": "exhaustive", "cases": 70, "errors": 0}
    v = side_by_side(get_algo("sort"), 4, mode="sample", samples=5, seed=2).verdict
    assert v.status is Status.VERIFIED and v.method is Method.CERTIFICATE and v.cases == 5
    assert v.evidence["seed"] == 2 and v.evidence["protocol_vs_truth"]["method"] == "sample"


def test_refutation_names_what_differs_and_budget_is_unknown():
    v = side_by_side(get_algo("cycles"), 6, corrupt="fields").verdict
    assert v.status is Status.REFUTED and v.method is Method.EXHAUSTIVE
    assert v.reason.startswith("instance #0 is wrong") and "transformer memory differs" in v.reason
    budget = Budget(1e-9)
    v = side_by_side(get_algo("cycles"), 8, budget=budget).verdict
    assert v.status is Status.UNKNOWN and "budget" in v.reason and "of 2,835 instances" in v.reason
    assert "protocol_vs_truth" not in v.evidence


@pytest.mark.parametrize("mode", ["exhaustive", "sample"])
def test_bad_mode_arguments_are_refused(mode):
    with pytest.raises(BadInput):
        instances_for(get_algo("cycles"), 14 if mode == "exhaustive" else 6, mode, 0, 0)
