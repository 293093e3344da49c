"""Shared builders of the proof tests (issue 19)."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.io import from_arrays, to_arrays
from attncheck.verifiers.proof_emit import prove


def edit(c, fn):
    """``fn(arrays)`` edits the saved arrays of ``c``; the strict loader reads them back."""
    arrays = {k: (v.copy() if k != "meta" else v) for k, v in to_arrays(c).items()}
    fn(arrays)
    return from_arrays(arrays, "edited")


def proved(c, task, params, attention="softmax"):
    v, p = prove(c, task, params, c.fmt, attention)
    assert p is not None, v.reason
    return p


FAMILIES = {
    "induction sinusoidal N=8": (lambda: build_induction(8, 3), "induction", {}),
    "induction random N=8": (lambda: build_induction(8, 3, encoding="random"), "induction", {}),
    "induction onehot N=8": (lambda: build_induction(8, 3, encoding="onehot"), "induction", {}),
    "induction N=16 |S|=2": (lambda: build_induction(16, 2), "induction", {}),
    "hop k=1 N=8": (lambda: build_hop(8, 1, 3), "hop", {"k": 1}),
    "hop k=2 N=8 overwrite": (lambda: build_hop(8, 2, 3), "hop", {"k": 2}),
    "hop k=3 N=9 additive": (lambda: build_hop(9, 3, 2, residual="additive"), "hop", {"k": 3}),
}


@pytest.fixture(scope="module")
def induction8():
    c = build_induction(8, 3)
    return c, proved(c, "induction", {})


def clone(p):
    return copy.deepcopy(p)


def roundtrip(p):
    return json.loads(json.dumps(p))
