"""verifiers/roles.py and verifiers/inspect.py: roles, the App. G.2 alignment score and the per-head report (issue 16).

The role targets are cross-checked against the plain-Python ground truth (constructions.tasks),
the batched statistics against a direct per-input computation from emulator traces, and the
report against what SHT24a's constructions do (Lemma D.1/D.2, Thm 4.2) and against heads built
to attend nowhere in particular (uniform, random weights).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attncheck.constructions import tasks
from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.precision import EXACT
from attncheck.constructions.spec import MASKS, attention_mask
from attncheck.verifiers import inspect as insp
from attncheck.verifiers import roles
from attncheck.verifiers.emulator import forward
from attncheck.verifiers.mechanism import probe_inputs


def head_map(rep):
    return {(h.layer, h.head): h for h in rep.heads}


def with_heads(c, fn):
    """``c`` with every head replaced by ``fn(layer_index, head)``."""
    layers = tuple(dataclasses.replace(layer, heads=tuple(fn(l, h) for h in layer.heads))
                   for l, layer in enumerate(c.layers))
    return c.replace(layers=layers)


# --- roles against the ground truth -------------------------------------------------------------
def plain_last_occurrence(x, i):
    """1-indexed i: the largest j < i with x_j = x_i, else 0 (a loop, no table)."""
    return max([j for j in range(1, i) if x[j - 1] == x[i - 1]], default=0)


@given(st.lists(st.integers(0, 3), min_size=1, max_size=14), st.integers(1, 5))
def test_role_targets_match_the_ground_truth(x, t):
    X = np.array([x])
    N = len(x)
    assert roles.role_targets("last_occurrence", X)[0].tolist() == [plain_last_occurrence(x, i) for i in range(1, N + 1)]
    assert roles.find_table(X)[0].tolist() == tasks.find1_table(x)
    assert roles.role_targets("find^1", X)[0].tolist() == [tasks.find1(x, i) for i in range(1, N + 1)]
    assert roles.role_targets(f"find^{t}", X)[0].tolist() == [tasks.find(x, i, t) for i in range(1, N + 1)]
    assert roles.role_targets("prev", X)[0].tolist() == list(range(N))
    assert roles.role_targets("self", X)[0].tolist() == list(range(1, N + 1))
    assert roles.role_targets("start", X)[0].tolist() == [0] * N


def test_find1_is_one_after_the_last_occurrence_and_hop_reads_find_k():
    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, size=(200, 12))
    lo, f1 = roles.role_targets("last_occurrence", X), roles.role_targets("find^1", X)
    assert np.array_equal(f1, np.where(lo > 0, lo + 1, 0))
    for x, f4 in zip(X.tolist(), roles.role_targets("find^4", X)):
        want = tasks.hop(x, 4)
        assert [None if p == 0 else x[p - 1] for p in f4.tolist()] == want


def test_role_names_of_hop_are_the_doubling_powers():
    assert roles.role_names("induction") == ("prev", "self", "start", "last_occurrence", "find^1")
    assert roles.role_names("hop", {"k": 1})[-1] == "find^1"
    assert roles.role_names("hop", {"k": 4})[-2:] == ("find^2", "find^4")
    assert roles.role_names("hop", {"k": 5})[-3:] == ("find^2", "find^4", "find^8")     # ceil(log2 5) = 3
    # SHT24a Claim G.2 pairs layer l of a trained L-layer model with find^(2^(l-2)): up to find^16 at L = 6
    assert roles.role_names("hop", {"k": 2}, layers=6)[-4:] == ("find^2", "find^4", "find^8", "find^16")
    assert roles.role_names("hop", {"k": 8}, layers=3) == roles.role_names("hop", {"k": 8})
    assert "find^1 applied 8 times" in roles.role_text("find^8")
    assert roles.role_text("find^2(i-1)") == "a pointer a promise intends: find^2(i-1)"


@pytest.mark.parametrize("V", [2, 3, 5])
def test_no_repeat_probes_follow_the_multi_hop_rule(V):
    X = roles.probe_set(13, V, 300, 7, "no-repeat")
    assert X.shape == (300, 13) and X.min() >= 0 and X.max() < V
    assert all(tasks.hop_multi_sample_ok(x) for x in X.tolist())
    assert np.array_equal(X, roles.probe_set(13, V, 300, 7, "no-repeat"))
    # every allowed transition a -> b (a != b) occurs: the draw is not stuck on a cycle
    pairs = {(a, b) for x in X.tolist() for a, b in zip(x, x[1:])}
    assert pairs == {(a, b) for a in range(V) for b in range(V) if a != b}
    assert np.array_equal(roles.probe_set(6, 3, 5, 1), probe_inputs(6, 3, 5, 1))


# --- the alignment score --------------------------------------------------------------------------
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_alignment_of_a_01_pattern_with_itself_is_one(n, m, seed):
    B = (np.random.default_rng(seed).random((n, m)) < 0.4).astype(float)
    B[0, 0] = 1.0
    assert roles.alignment(B, B) == pytest.approx(1.0, abs=1e-12)


@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_alignment_lies_in_0_1_for_weights_in_0_1(n, m, seed):
    rng = np.random.default_rng(seed)
    A = rng.random((n, m)) ** 3
    B = (rng.random((n, m)) < 0.5).astype(float)
    assert 0.0 <= roles.alignment(A, B) <= 1.0 + 1e-12
    assert roles.alignment(np.zeros((n, m)), B) == 0.0


def test_report_alignment_equals_the_formula_on_each_trace():
    """The batched statistics against a direct computation: per input, alignment(A, B) of the
    query rows 1..N with the role's 0/1 matrix, averaged; mass and argmax per pair."""
    c = build_hop(10, 3, 3, residual="additive")
    rep = insp.inspect_model(c, "hop", {"k": 3}, EXACT, count=12, seed=3)
    X = probe_inputs(c.n, c.alphabet, 12, 3)
    tr = forward(c, X, EXACT, keep=True)
    hm = head_map(rep)
    for role in rep.roles:
        tg = roles.role_targets(role, X)
        for l, w in enumerate(tr.attention):
            A = w[:, 0, 1:, :]                                               # (B, N, T)
            B = np.zeros_like(A)
            B[np.arange(len(X))[:, None], np.arange(c.n)[None, :], tg] = 1.0
            want = np.mean([roles.alignment(A[b], B[b]) for b in range(len(X))])
            mass = A[np.arange(len(X))[:, None], np.arange(c.n)[None, :], tg]
            s = next(s for s in hm[(l + 1, 1)].scores if s.role == role)
            assert s.alignment == pytest.approx(want, rel=1e-12, abs=1e-15)
            assert s.mass == pytest.approx(mass.mean(), rel=1e-12)
            assert s.pairs == X.size


# --- our constructions: the heads do what SHT24a's lemmas say -------------------------------------
@pytest.mark.parametrize("N", [8, 11, 16])
@pytest.mark.parametrize("precision", ["declared", "exact"])
def test_induction_layer1_is_prev_and_layer2_is_find1(N, precision):
    c = build_induction(N, 3)
    rep = insp.inspect_model(c, "induction", {}, c.fmt if precision == "declared" else EXACT, count=32)
    h1, h2 = head_map(rep)[(1, 1)], head_map(rep)[(2, 1)]
    assert (h1.best, h1.claimed, h1.intended_role, h1.agrees) == ("prev", "prev", "prev", True)
    assert (h2.best, h2.claimed, h2.intended_role, h2.agrees) == ("find^1", "find^1", "find^1", True)
    assert h1.best_alignment > 0.9 and h2.best_alignment > 0.9
    # the last occurrence itself is the key the layer-2 head matches, not where it attends
    lo = next(s for s in h2.scores if s.role == "last_occurrence")
    assert lo.alignment < 0.5


@pytest.mark.parametrize("residual", ["additive", "overwrite"])
@pytest.mark.parametrize("k", [4, 5])
def test_hop_layer_l_is_find_2_to_the_l_minus_3(k, residual):
    c = build_hop(16, k, 3, residual=residual)
    rep = insp.inspect_model(c, "hop", {"k": k}, c.fmt, count=32)
    hm = head_map(rep)
    assert hm[(1, 1)].best == "prev" and hm[(2, 1)].best == "find^1"
    for l in range(3, c.n_layers + 1):
        h = hm[(l, 1)]
        assert h.best == h.claimed == f"find^{1 << (l - 3)}", (l, h)
        assert h.best_alignment > 0.9 and h.agrees is True


# --- heads that attend nowhere in particular ------------------------------------------------------
def uniform_alignment_with_a_pointer(N: int) -> float:
    """Closed form for a causal uniform head (row i spreads 1/(i+1) over 0..i) against any
    pointer that stays inside the mask: sum 1/(i+1)^2 / (sqrt(sum 1/(i+1)) sqrt(N))."""
    i = np.arange(1, N + 1)
    return float(np.sum(1.0 / (i + 1) ** 2) / (np.sqrt(np.sum(1.0 / (i + 1))) * np.sqrt(N)))


@pytest.mark.parametrize("N", [6, 9, 16])
def test_a_uniform_head_claims_no_role(N):
    c = with_heads(build_induction(N, 3), lambda l, h: h.replace(W_Q=np.zeros_like(h.W_Q), promise=None))
    rep = insp.inspect_model(c, "induction", {}, EXACT, count=16)
    want = uniform_alignment_with_a_pointer(N)
    assert want < 0.2
    for h in rep.heads:
        assert h.claimed is None and h.best_alignment < insp.CLAIM
        assert h.intended is None and h.agrees is None
        for s in h.scores:
            assert s.alignment == pytest.approx(want, rel=1e-9)
            assert s.argmax == 0.0                                   # no unique maximum anywhere


def test_random_weights_get_a_report_in_range():
    rng = np.random.default_rng(0)
    c = with_heads(build_hop(9, 2, 3), lambda l, h: h.replace(
        W_Q=rng.normal(size=h.W_Q.shape), W_K=rng.normal(size=h.W_K.shape), W_V=rng.normal(size=h.W_V.shape),
        W_O=rng.normal(size=h.W_O.shape), temperature=1.0, promise=None))
    rep = insp.inspect_model(c, "hop", {"k": 2}, EXACT, count=20, seed=1)
    assert len(rep.heads) == c.n_layers and rep.inputs == 20
    for h in rep.heads:
        assert h.intended is None
        for s in h.scores:
            assert 0.0 <= s.alignment <= 1.0 + 1e-12 and 0.0 <= s.mass <= 1.0 and 0.0 <= s.argmax <= 1.0


def test_a_broken_head_disagrees_with_its_promise():
    """Layer 1's query zeroed, its promise kept: the head spreads its mass and claims nothing,
    so it no longer agrees with the prev it promises (its best role is prev only by the tie)."""
    c = build_induction(10, 3)
    l1, l2 = c.layers
    broken = c.with_layer(0, dataclasses.replace(l1, heads=(l1.heads[0].replace(
        W_Q=np.zeros_like(l1.heads[0].W_Q)),)))
    rep = insp.inspect_model(broken, "induction", {}, EXACT, count=16)
    h1 = head_map(rep)[(1, 1)]
    assert h1.intended_role == "prev" and h1.claimed is None and h1.agrees is False
    assert head_map(insp.inspect_model(c, "induction", {}, EXACT, count=16))[(1, 1)].agrees is True


# --- heads a converter adds, and models without a start row ---------------------------------------
def test_converter_heads_are_labelled():
    c = build_induction(8, 3)
    c = c.replace(params={**c.params, "extra_heads": [{"layer": 2, "head": 1, "kind": "start keeper"}]})
    rep = insp.inspect_model(c, "induction", {}, EXACT, count=4)
    assert head_map(rep)[(2, 1)].kind == "start keeper" and head_map(rep)[(1, 1)].kind is None


@pytest.mark.skipif("causal-nostart" not in MASKS, reason="no mask kind without a start row yet")
def test_without_a_start_row_pointers_to_0_are_no_claim():
    c = build_induction(8, 3).replace(mask="causal-nostart")
    assert insp.start_kind(c) == "absent"
    rep = insp.inspect_model(c, "induction", {}, EXACT, count=8)
    assert "start" not in rep.roles
    X = probe_inputs(8, 3, 8, 0)
    for h in rep.heads:
        prev = next(s for s in h.scores if s.role == "prev")
        assert prev.pairs == 8 * 7                                     # position 1 points at row 0
        lo = next(s for s in h.scores if s.role == "last_occurrence")
        assert lo.pairs == int((roles.role_targets("last_occurrence", X) > 0).sum())
    assert not attention_mask(c.mask, 9)[1:, 0].any()


# --- batching and the budget ------------------------------------------------------------------
def test_batches_under_the_memory_cap_give_the_same_report(monkeypatch):
    c = build_hop(9, 2, 3)
    whole = insp.inspect_model(c, "hop", {"k": 2}, c.fmt, count=23, seed=2)
    per_input = (c.n + 1) ** 2 * c.n_layers * 8
    monkeypatch.setattr(insp, "BATCH_BYTES", 4 * per_input)                 # batches of 4 inputs
    cut = insp.inspect_model(c, "hop", {"k": 2}, c.fmt, count=23, seed=2)
    assert _close(cut.to_json(), whole.to_json())


def _close(a, b) -> bool:
    """Equal JSON up to float rounding in the last bits (sums in another order)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return b == pytest.approx(a, rel=1e-12, abs=1e-15)
    return a == b


class SpentAfter:
    """A budget that allows ``n`` batches, then is spent."""

    seconds = 1.0

    def __init__(self, n: int):
        self.left = n

    def check(self, **progress):
        from attncheck.constructions.verdict import BudgetExceeded
        if self.left == 0:
            raise BudgetExceeded("budget of 1 s spent", progress)
        self.left -= 1

    def expired(self) -> bool:
        return self.left == 0


def test_a_spent_budget_reports_the_inputs_done(monkeypatch):
    c = build_induction(8, 3)
    monkeypatch.setattr(insp, "BATCH_BYTES", 5 * (c.n + 1) ** 2 * c.n_layers * 8)
    rep = insp.inspect_model(c, "induction", {}, EXACT, count=20, budget=SpentAfter(2))
    assert rep.inputs == 10 and rep.requested == 20 and "after 10 of 20" in rep.stopped
    assert all(s.pairs == 10 * 8 for h in rep.heads for s in h.scores)
    none = insp.inspect_model(c, "induction", {}, EXACT, count=20, budget=SpentAfter(0))
    assert none.inputs == 0 and none.heads == ()
