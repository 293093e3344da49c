"""Attacks on the proof checker's fast paths (issue 19): its integer helpers against Python-int and
Fraction references on adversarial inputs, its lookUp and lastOccurrence bounds against exact
brute force on point boxes, and hand-edited weights and proofs that must never be accepted when
enumerating every input refutes the model."""
from __future__ import annotations

import json
import random
from fractions import Fraction

import numpy as np
import pytest

from attncheck.constructions.induction import build_induction
from attncheck.constructions.verdict import Status
from attncheck.verifiers import proofcheck as pc
from attncheck.verifiers.exhaustive import check_exhaustive

from proofutil import edit, proved, roundtrip


def _accepts(p, m) -> bool:
    try:
        pc.check(roundtrip(p), m)
    except pc.Reject:
        return False
    return True


def _slot(c, name):
    return next(s for s in c.layout.slots if s.name == name)


# --- lookUp with a query blind to its pointer ----------------------------------------------------
def test_lookup_blind_query_is_checked_at_every_position():
    """A layer-1 query that reads only the constant slot has the same box at every position while
    its pointer pos[i-1] moves: checking only the last position (whose pointer N-1 the query
    aims at) accepted a model that attends to the wrong key at every earlier position (before the
    fix: 'accepted', enumeration: 231 of 243 inputs wrong)."""
    N, att = 5, "hardmax"
    c = build_induction(N, 3)
    p = proved(c, "induction", {}, att)
    K = c.pos_embed @ c.layers[0].heads[0].W_K                  # keys (pos slot), one per position

    def aim(a):
        W = np.zeros_like(a["L0H0/W_Q"])
        W[_slot(c, "one").start] = K[N - 1]                       # q = the key of position T-2
        a["L0H0/W_Q"] = W
    m = edit(c, aim)
    q = dict(p, weights_sha256=pc.weights_digest(m))
    q = roundtrip(q)
    for s in q["states"]:
        for h in s.get("heads") or []:
            h["gap"] = "1/1000000"
    assert check_exhaustive(m, "induction", {}, m.fmt, att).status is Status.REFUTED
    with pytest.raises(pc.Reject, match="layer 1 head 1 position"):
        pc.check(q, m)
