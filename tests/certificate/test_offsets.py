"""The O(T) lookUp proof by offsets (verifiers/translation.py) against the general check and
against the definition of the scores it bounds.

* Every true score <q_p, k_j> of every stored query and key (corners of their intervals)
  lies within delta of g(j - p), so the offset bound covers what the general check covers.
* On the shipped constructions both paths verify; the offset path is the one used at large N.
* Keys that are not rotations (random codes, a hand-edited position code) are not given to
  the offset path: it declines, and the certificate falls back or says UNKNOWN.
* The differential fuzzer, with the offset path forced for every lookUp, finds no false
  VERIFIED against exhaustive mode."""
from __future__ import annotations

import numpy as np
import pytest

import attncheck.verifiers.promises as P
from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.verifiers.abstract import Ctx, initial_state, project
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.translation import offset_scores
from attncheck.constructions.verdict import Status


def lookup_bounds(c):
    ctx = Ctx(c, c.fmt, "softmax")
    st, _ = initial_state(ctx)
    h = c.layers[0].heads[0]
    Q = project(ctx, st, h.W_Q, h.promise.query, "query")
    K = project(ctx, st, h.W_K, h.promise.key, "key")
    return ctx, st, Q, K


@pytest.mark.parametrize("N", [5, 16, 100])
def test_every_true_score_lies_within_delta_of_its_offset(N):
    c = build_induction(N, 3)
    ctx, st, Q, K = lookup_bounds(c)
    T = N + 1
    ptr = st[c.layers[0].heads[0].promise.query].rows
    offsets, g, delta = offset_scores(Q, K, T, ptr)
    G = dict(zip(offsets.tolist(), g.tolist()))
    for i in range(1, T):
        for corner_q in (Q.lo[i, 0], Q.hi[i, 0]):
            s = K.lo[:, 0, :] @ corner_q, K.hi[:, 0, :] @ corner_q
            for sj in s:
                for j in range(T):
                    assert abs(sj[j] - G[j - ptr[i]]) <= delta + 1e-12


@pytest.mark.parametrize("build,task,params", [
    (lambda: build_induction(64, 3), "induction", {}),
    (lambda: build_induction(300, 8), "induction", {}),
    (lambda: build_hop(64, 8, 3), "hop", {"k": 8}),
    (lambda: build_hop(64, 5, 3, residual="additive"), "hop", {"k": 5}),
])
@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
def test_both_paths_verify_the_shipped_constructions(monkeypatch, build, task, params, attention):
    c = build()
    general = certify(c, task, params, c.fmt, attention)
    monkeypatch.setattr(P, "GENERAL_LOOKUP_MAX", 0)
    by_offsets = certify(c, task, params, c.fmt, attention)
    assert general.status is Status.VERIFIED and by_offsets.status is Status.VERIFIED
    assert any(h["where"] == "lookup (by offsets)" for h in by_offsets.evidence["heads"])


def test_keys_that_are_not_rotations_are_declined(monkeypatch):
    c = build_induction(64, 3, "random")
    _, st, Q, K = lookup_bounds(c)
    assert offset_scores(Q, K, 65, st["pos_prev"].rows) is None
    monkeypatch.setattr(P, "GENERAL_LOOKUP_MAX", 0)                     # falls back, still verifies
    assert certify(c, "induction", {}, c.fmt).status is Status.VERIFIED


def test_a_key_that_drifts_with_the_position_is_declined(monkeypatch):
    """W_K also reads the scalar position (1e-3 per step): keys are no longer rotations, the
    offset proof's bound exceeds the gap and it declines; with the general check out of reach
    the verdict is UNKNOWN naming why, never VERIFIED."""
    from attncheck.constructions.spec import Layer
    c = build_induction(64, 3)
    h = c.layers[0].heads[0]
    WK = h.W_K.copy()
    WK[c.layout["pos_scalar"].start, 0] = 1e-3
    m = c.with_layer(0, Layer((h.replace(W_K=WK),)))
    _, st, Q, K = lookup_bounds(m)
    res = offset_scores(Q, K, 65, st["pos_prev"].rows)
    assert res is None or res[2] > 1e-2                                 # the drift shows in delta
    monkeypatch.setattr(P, "GENERAL_LOOKUP_MAX", 0)
    monkeypatch.setattr(P, "GENERAL_FALLBACK_MAX", 0)
    v = certify(m, "induction", {}, m.fmt)
    assert v.status is Status.UNKNOWN and "lookup" in v.reason


@pytest.mark.parametrize("n", [3, 65, 700])
def test_min_code_distance_is_a_lower_bound_on_rotation_codes(n):
    from attncheck.constructions import encodings as enc
    from attncheck.verifiers.translation import min_code_distance
    for book in (enc.angles(n, n), enc.angles(n, n + 3), np.round(enc.angles(n, n) * 2 ** 20) / 2 ** 20):
        d = np.sqrt(((book[:, None] - book[None]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        lower = min_code_distance(book)
        assert lower is not None and 0 < lower <= d.min()
    assert min_code_distance(np.random.default_rng(1).normal(size=(40, 2))) is None


def test_large_pointer_codebooks_decode_by_the_distance_bound(monkeypatch):
    """hop's map decodes a position codebook: with the pairwise check out of reach the distance
    bound decides, and the certificate still verifies."""
    import attncheck.verifiers.certificate as C
    c = build_hop(64, 4, 3)
    monkeypatch.setattr(C, "PAIRWISE_DECODE_MAX", 0)
    assert certify(c, "hop", {"k": 4}, c.fmt).status is Status.VERIFIED
