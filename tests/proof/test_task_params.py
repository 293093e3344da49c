"""check-proof names the task of the weights, not of the proof: a hop proof accepted for k must be
about weights that declare that k (review R1: a proof of k = 1 was accepted for weights declaring
k = 2, which exhaustive enumeration refutes)."""
from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from attncheck.constructions import exchange as ex
from attncheck.constructions.hop import build_hop
from attncheck.constructions.verdict import Status
from attncheck.verifiers import proofcheck as pc
from attncheck.verifiers.exhaustive import check_exhaustive

from proofutil import edit, induction8, proved, roundtrip  # noqa: F401


def _declare_k(arrays, k):
    meta = json.loads(str(arrays["meta"]))
    meta["params"]["k"] = k
    arrays["meta"] = np.array(json.dumps(meta))


def test_a_proof_for_another_k_is_rejected():
    c1 = build_hop(6, 1, 3)
    p = proved(c1, "hop", {"k": 1})
    assert pc.check(roundtrip(p), c1).startswith("accepted")
    c2 = edit(c1, lambda a: _declare_k(a, 2))                  # the same weights, declared hop k = 2
    assert check_exhaustive(c2, "hop", {"k": 2}, c2.fmt).status is Status.REFUTED
    assert pc.weights_digest(c2) == pc.weights_digest(c1)       # the digest does not see the task
    with pytest.raises(pc.Reject) as e:
        pc.check(roundtrip(p), c2)
    assert "k" in str(e.value)
    q = roundtrip(p)
    q["params"] = {"k": 0}                                     # a proof that claims another hop
    with pytest.raises((pc.Reject, pc.Malformed)):
        pc.check(q, c1)


def test_exchange_declared_k_is_the_one_checked(tmp_path):
    from attncheck.verifiers.proof_emit import prove_exchange
    m1 = ex.from_construction(build_hop(6, 1, 3, residual="additive"))
    ex.write_exchange(m1, tmp_path / "d")
    c1 = ex.to_construction(m1)
    p = prove_exchange(str(tmp_path / "d"), c1, "hop", {"k": 1}, c1.fmt, "softmax")
    assert p is not None
    assert pc.check(roundtrip(p), c1, exchange=m1).startswith("accepted: hop")
    m2 = dataclasses.replace(m1, params={"k": 2})
    c2 = ex.to_construction(m2)
    assert check_exhaustive(c2, "hop", {"k": 2}, c2.fmt).status is Status.REFUTED
    with pytest.raises(pc.Reject) as e:
        pc.check(roundtrip(copy.deepcopy(p)), c2, exchange=m2)
    assert "k" in str(e.value)


def test_the_digest_covers_the_read_out(tmp_path):
    """An exchange directory's W_U and b_U are weights: editing one changes the digest."""
    m = ex.from_construction(build_hop(6, 1, 3, residual="additive"))
    b_U = m.b_U.copy()
    b_U[0] += 1e-3                                             # harmless (within the margin), still an edit
    W_U = m.W_U.copy()
    W_U[0, 0] += 1.0
    d0 = pc.weights_digest(ex.to_construction(m))
    for e in (dataclasses.replace(m, b_U=b_U), dataclasses.replace(m, W_U=W_U)):
        assert pc.weights_digest(ex.to_construction(e)) != d0


def test_absurd_numbers_are_rejected_not_crashed(induction8):
    """A hand-edited claim beyond float range (1e400) is a rejection with a line, not an
    OverflowError (exit 4) while formatting the message; a negative leakage is named as such."""
    c, p = induction8
    for where, edit_ in (("decoder", lambda q: q["decoder"].update(margin="1e400")),
                         ("gap", lambda q: _heads(q)[0].update(gap="1e400")),
                         ("gap", lambda q: _heads(q)[0].update(gap="-1e400"))):
        q = roundtrip(p)
        edit_(q)
        with pytest.raises(pc.Reject) as e:
            pc.check(q, c)
        assert where in str(e.value) and "2^" in str(e.value), str(e.value)
    q = roundtrip(p)
    _heads(q)[0].update(leak="-1")
    with pytest.raises(pc.Reject) as e:
        pc.check(q, c)
    assert "leakage" in str(e.value) and "negative" in str(e.value), str(e.value)


def _heads(q):
    return next(s for s in q["states"] if s["after"] == "layer 1")["heads"]
