"""The checker's exchange premise "a start keeper writes exactly 0 at token rows" in a narrow
format: the keeper's stored query, key and score saturate there as the emulator's do (review R1:
the checker computed the score -1024 unsaturated and accepted the premise in fixed:4.11, where
the stored score is -8, exp(-8) 2^11 rounds to 1 and row 0 gets weight at every token row)."""
from __future__ import annotations

import numpy as np
import pytest

from attncheck.constructions import exchange as ex
from attncheck.constructions.induction import build_induction
from attncheck.constructions.precision import parse_format
from attncheck.verifiers import proofcheck as pc
from attncheck.verifiers.emulator import forward


@pytest.mark.parametrize("fmt", ["fixed:3.11", "fixed:4.11", "fixed:5.11", "fixed:4.8", "fixed:15.11"])
def test_keeper_premise_agrees_with_the_emulator(fmt):
    m = ex.from_construction(build_induction(N=4, alphabet=2))
    c = ex.to_construction(m)
    keepers = [tuple(k) for k in m.source[ex.HYPOTHESES]["keepers"]]
    X = np.array([[0, 1, 0, 1], [1, 1, 0, 0]])
    tr = forward(c, X, parse_format(fmt), "softmax", keep=True)
    leaks = any(np.any(tr.attention[l][:, h, 1:, 0] != 0) for l, h in keepers)    # row 0's weight
    proof = {"number_format": fmt, "attention": "softmax"}
    if leaks:
        with pytest.raises(pc.Reject) as e:
            pc.exchange_premises(m, c, proof)
        assert "keeper" in str(e.value) or "row 0" in str(e.value), str(e.value)
    else:
        try:
            pc.exchange_premises(m, c, proof)
        except pc.Reject as e:                       # another premise may fail; not the keeper's
            assert "keeper" not in str(e.value), str(e.value)
    if fmt in ("fixed:3.11", "fixed:4.11"):
        assert leaks                                 # the case the test is about occurs


def test_check_reads_the_construction_from_the_exchange_model(tmp_path):
    """check(proof, c, exchange=m) with c not m's own (an API caller's mix-up) is rejected: the
    premises are derived from m, the claims on c."""
    import dataclasses
    from attncheck.verifiers.proof_emit import prove_exchange
    m = ex.from_construction(build_induction(N=4, alphabet=2))
    ex.write_exchange(m, tmp_path / "d")
    c = ex.to_construction(m)
    p = prove_exchange(str(tmp_path / "d"), c, "induction", {}, c.fmt, "softmax")
    assert pc.check(p, c, exchange=m).startswith("accepted")
    other = dataclasses.replace(m, b_U=m.b_U + 0.25)
    with pytest.raises(pc.Reject) as e:
        pc.check(p, c, exchange=other)
    assert "exchange model" in str(e.value)
