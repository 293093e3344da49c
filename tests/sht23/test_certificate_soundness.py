"""A qSA / Match VERIFIED follows from the weights alone (issue 12; ``sht23.thm2``, ``sht23.thm3``,
``sht23.match2_ub``, ``sht23.match3_variants``).

* Differential: many seeded single-entry edits of built heads (W_Q, W_K, W_V, W_O, a key entry,
  the temperature); certificate VERIFIED => exhaustive VERIFIED => an independent brute force
  (every pointer set, every z in {-1, 1}^N, mixed pointer sets per row; a z grid in fixed point)
  finds no error above eps.
* Targeted: one edit per hypothesis of ``constructions/qsa_proof.py``; the certificate (and the
  exhaustive sweep) must not say VERIFIED.  Comments say what the code before issue 12 answered.
* Match2/Match3 have no certificate: only exhaustive enumeration verifies; checked against an
  independent all-at-once enumeration.
"""
import dataclasses
import itertools
import math

import numpy as np
import pytest

from attncheck.constructions import match, qsa
from attncheck.verifiers import match_check, qsa_check, qsa_run, qsa_sweep
from attncheck.verifiers.qsa_proof import ValueStats, prove_head, value_path_slack
from attncheck.constructions.spec import Layout
from attncheck.constructions.tasks import match2 as match2_truth
from attncheck.constructions.tasks import match3 as match3_truth
from attncheck.constructions.precision import EXACT, parse_format
from attncheck.constructions.verdict import BadInput, Method, Status

V, R, U = Status.VERIFIED, Status.REFUTED, Status.UNKNOWN


# --- an independent oracle: enumerate z on a grid and pointer sets, run the head, compare ----------
def brute_error(c, fmt=EXACT, attention="softmax", grid=(-1.0, 1.0), mixed=8, seed=0) -> float:
    """Largest ||f(X)_i - qSA(X)_i|| over: every q-subset S with every row pointing at S and z_j in
    ``grid`` (first coordinate; d' = 1), plus ``mixed`` seeded inputs whose rows point at
    different sets.  A lower bound on the true worst error (any value above eps refutes)."""
    N, q = c.N, c.q
    cube = np.array(list(itertools.product(grid, repeat=N)))[:, :, None]            # (G, N, 1)
    worst = 0.0
    for S in itertools.combinations(range(N), q):
        y = np.tile(np.array(S), (len(cube), N, 1))
        out, _ = qsa_run.forward(c, cube, y, fmt, attention)
        want = cube[:, list(S), :].mean(axis=1)                                        # (G, 1)
        worst = max(worst, float(np.nan_to_num(np.abs(out - want[:, None, :]), nan=np.inf).max()))
    rng = np.random.default_rng(seed)
    for _ in range(mixed):
        y = np.sort(rng.random((len(cube), N, N)).argsort(axis=2)[..., :q], axis=2)
        out, _ = qsa_run.forward(c, cube, y, fmt, attention)
        want = np.take_along_axis(np.broadcast_to(cube[:, None, :, 0], (len(cube), N, N)), y, axis=2).mean(axis=2)
        worst = max(worst, float(np.nan_to_num(np.abs(out[..., 0] - want), nan=np.inf).max()))
    return worst


def edit_head(c, **changes):
    """Copy of c whose head has ``name=[(index, value), ...]`` entries replaced (or temperature=)."""
    h, new = c.head, {}
    for name, items in changes.items():
        if name == "temperature":
            new[name] = items
            continue
        W = getattr(h, name).copy()
        for idx, val in items:
            W[idx] = val
        new[name] = W
    return dataclasses.replace(c, head=h.replace(**new))


# --- differential: random single-entry edits ---------------------------------------------------------
def random_edit(c, rng):
    """One seeded single-entry edit; half of the weight edits stay inside the declared blocks so
    that the structural hypotheses hold and the score / copy bounds are what decides."""
    L = c.layout
    what = rng.choice(["W_Q", "W_K", "W_V", "W_O", "keys", "temperature"], p=[.22, .22, .16, .16, .14, .10])
    if what == "temperature":
        return edit_head(c, temperature=c.head.temperature * float(rng.choice([-1.0, 0.3, 0.9, 1.5, 4.0])))
    if what == "keys":
        k = c.keys.copy()
        i, j = rng.integers(k.shape[0]), rng.integers(k.shape[1])
        k[i, j] = k[i, j] * float(rng.choice([-1.0, 0.0, 1.01, 3.0])) + float(rng.choice([0.0, 1e-3, 0.2]))
        return dataclasses.replace(c, keys=k)
    W = getattr(c.head, what)
    block = {"W_Q": L["qry"].sl, "W_K": L["key"].sl, "W_V": L["z"].sl}.get(what)
    if what == "W_O":
        i, j = rng.integers(W.shape[0]), (L["out"].start if rng.random() < 0.5 else rng.integers(W.shape[1]))
    elif rng.random() < 0.5:
        i, j = rng.integers(block.start, block.stop), rng.integers(W.shape[1])
    else:
        i, j = rng.integers(W.shape[0]), rng.integers(W.shape[1])
    old = W[i, j]
    val = float(rng.choice([0.0, old + 1e-4, old + 0.05, old - 0.5, -old, 2 * old + 0.3, rng.normal()]))
    return edit_head(c, **{what: [((i, j), val)]})


CASES = [("random", dict(N=5, q=2, seed=0), 90, 101), ("moment", dict(N=5, q=2, codes="moment"), 70, 102),
         ("random-narrow", dict(N=5, q=2, m=24, seed=1, eps=0.45), 50, 103)]


@pytest.mark.parametrize("name,kw,n,seed", CASES, ids=[c[0] for c in CASES])
def test_certificate_verified_implies_exhaustive_verified_implies_no_error(name, kw, n, seed):
    base = qsa.build_qsa(**kw)
    rng = np.random.default_rng(seed)
    seen = {V: 0, R: 0, U: 0}
    for _ in range(n):
        c = random_edit(base, rng)
        cert = qsa_check.check_qsa(c, "certificate", EXACT)
        exh = qsa_check.check_qsa(c, "exhaustive", EXACT)
        seen[cert.status] += 1
        if cert.status is V:
            assert exh.status is V, (cert.reason, exh.reason)
        if exh.status is V:
            assert brute_error(c) <= c.eps, exh.reason
        if exh.status is R:
            assert exh.evidence["replayed_error"] > c.eps
    assert seen[V] >= n // 10 and seen[U] >= n // 10                # both verdicts exercised


def test_fixed_point_exhaustive_verified_implies_no_error_on_a_z_grid():
    base = qsa.build_qsa(4, 2, seed=3)
    fmt = parse_format("fixed:6.6")
    rng = np.random.default_rng(12)
    grid = (-1.0, -0.53, 0.47, 1.0)
    verified = 0
    for _ in range(30):
        c = random_edit(base, rng)
        v = qsa_check.check_qsa(c, "exhaustive", fmt)
        if v.status is V:
            verified += 1
            assert brute_error(c, fmt, grid=grid, mixed=0) <= c.eps, v.reason
    assert verified >= 5


# --- targeted: one edit per hypothesis ----------------------------------------------------------------
def _layout_out_on_key(c):
    L = c.layout
    slots = tuple(dataclasses.replace(s, start=L["key"].start, stop=L["key"].start + s.width)
                  if s.name == "out" else s for s in L.slots)
    return dataclasses.replace(c, layout=Layout(slots))


def _moment_key_row(c):
    k = c.keys.copy()
    k[2, 1] += 1.0
    return dataclasses.replace(c, keys=k)


R6 = qsa.build_qsa(6, 2)                                   # m = 72, eps = 1/4
M5 = qsa.build_qsa(5, 2, codes="moment", eps=0.5)
L6 = R6.layout
TARGETED = [
    # (id, construction, hypothesis named in the certificate's reason, before issue 12: cert / exhaustive)
    ("copy-scaled", edit_head(R6, W_O=[((0, L6["out"].start), 2.0)]), "copy", "V/V"),
    ("value-reads-key", edit_head(R6, W_V=[((L6["key"].start, 0), 3.0)]), "value", "V/V"),
    ("value-reads-qry", edit_head(R6, W_V=[((L6["qry"].start, 0), 3.0)]), "value", "V/V"),
    ("query-reads-z", edit_head(R6, W_Q=[((L6["z"].start, 0), 50.0)]), "query", "V/V"),
    ("query-reads-position", edit_head(R6, W_Q=[((L6["key"].start, 0), 50.0)]), "query", "V/U"),
    ("key-reads-pointer-set", edit_head(R6, W_K=[((L6["qry"].start, 0), 50.0)]), "key", "V/U"),
    ("key-reads-z", edit_head(R6, W_K=[((L6["z"].start, 0), 50.0)]), "key", "V/V"),
    ("query-entry", edit_head(R6, W_Q=[((L6["qry"].start + 3, 0), 40.0)]), "bound", "V/R"),
    ("key-entry", edit_head(R6, W_K=[((L6["key"].start + 3, 3), -40.0)]), "bound", "V/R"),
    ("moment-key-row", _moment_key_row(M5), "bound", "V/R"),
    ("negative-temperature", edit_head(R6, temperature=-R6.head.temperature), "bound", "U/R"),
    ("nan-temperature", edit_head(R6, temperature=math.nan), "finite", "V/V"),      # NaN bound <= eps
    ("out-slot-on-key-slot", _layout_out_on_key(R6), "layout", "V/crash"),
]


@pytest.mark.parametrize("case", TARGETED, ids=[t[0] for t in TARGETED])
def test_each_unproven_hypothesis_blocks_verified(case):
    _, c, hyp, _before = case
    cert = qsa_check.check_qsa(c, "certificate", EXACT)
    assert cert.status is not V
    assert (hyp in cert.reason) if hyp not in ("bound", "copy") else ("bound" in cert.reason)
    assert qsa_check.check_qsa(c, "exhaustive", EXACT).status is not V


@pytest.mark.parametrize("case", [t for t in TARGETED if t[3].endswith("/R") or t[0] in
                                  ("copy-scaled", "value-reads-qry", "query-reads-z", "key-reads-z")],
                         ids=lambda t: t[0])
def test_the_gaps_were_real(case):
    """Each of these edits has an input with error > eps (so a VERIFIED was false)."""
    _, c, _, _ = case
    assert brute_error(c, mixed=2) > c.eps


def test_untouched_builds_verify_by_both_methods_and_declared_formats():
    for c in (qsa.build_qsa(6, 2), qsa.build_qsa(6, 2, codes="moment"), qsa.build_qsa(7, 3, d_prime=2)):
        assert qsa_check.check_qsa(c, "certificate", EXACT).status is V
        assert qsa_check.check_qsa(c, "exhaustive", EXACT).status is V
        assert qsa_check.check_qsa(c, "exhaustive", c.fmt).status is V
        assert all(h["ok"] for h in qsa_check.check_qsa(c, "certificate", EXACT).evidence["hypotheses"]["hypotheses"])


def test_a_small_copy_error_is_absorbed_by_the_bound():
    c = edit_head(R6, W_O=[((0, L6["out"].start), 1.0 + 1e-4)])
    v = qsa_check.check_qsa(c, "certificate", EXACT)
    assert v.status is V and v.evidence["bound_parts"]["copy_error"] >= 1e-4
    assert brute_error(c, mixed=1) <= v.evidence["worst_error_bound"]


# --- fixed point: rounding that scales with the magnitudes, range checks ---------------------------
R5 = qsa.build_qsa(5, 2, seed=0)
F64 = parse_format("fixed:6.4")
Z_375 = np.array([-0.75, -0.5, -1.0, -1.0, -1.0])[:, None]


def test_value_rounding_scaled_by_W_O_is_not_verified():
    """v = Q(z/8) then x 8: each value rounding is multiplied by 8.  Before issue 12 the slack
    sqrt(d') ulp (1 + ulp) = 0.066 was added and the head VERIFIED; z below gives 0.375 > 1/4."""
    c = edit_head(R5, W_V=[((R5.layout["z"].start, 0), 0.125)], W_O=[((0, R5.layout["out"].start), 8.0)])
    y = np.tile(np.array([0, 1]), (5, 1))
    out, _ = qsa_run.forward(c, Z_375[None], y[None], F64)
    assert abs(out[0, 0, 0] - Z_375[:2, 0].mean()) == pytest.approx(0.375)
    assert qsa_check.check_qsa(c, "exhaustive", F64).status is not V
    r = qsa_sweep.sweep(c, "emulator", F64)
    facts = prove_head(c)
    slack, _ = value_path_slack(facts, F64, ValueStats(r.stats["sum_a"], r.stats["min_Z"], r.stats["sum_e"], 5))
    assert 0.375 <= r.value + slack + facts.copy_error


def test_saturating_values_are_range_checked():
    """W_V = 64: values reach 64 > 2^5 and saturate (before issue 12: VERIFIED)."""
    c = edit_head(R5, W_V=[((R5.layout["z"].start, 0), 64.0)], W_O=[((0, R5.layout["out"].start), 1 / 64)])
    v = qsa_check.check_qsa(c, "exhaustive", F64)
    assert v.status is R and v.evidence["replayed_error"] > c.eps


def test_a_format_without_room_for_z_is_not_verified():
    v = qsa_check.check_qsa(R5, "exhaustive", parse_format("fixed:1.12"))
    assert v.status is not V


def test_fixed_point_bound_dominates_a_z_grid_for_an_edited_copy():
    """value_path_slack with A_v = 1/2, B_o = 2 (not selections) still dominates every error."""
    c = edit_head(qsa.build_qsa(4, 2, m=10, seed=1, eps=0.9),
                  W_V=[((0, 0), 0.5)], W_O=[((0, qsa.build_qsa(4, 2, m=10).layout["out"].start), 2.0)])
    fmt = parse_format("fixed:6.5")
    r = qsa_sweep.sweep(c, "emulator", fmt)
    facts = prove_head(c)
    slack, problems = value_path_slack(facts, fmt, ValueStats(r.stats["sum_a"], r.stats["min_Z"], r.stats["sum_e"], 4))
    assert not problems
    grid = (-1.0, -0.77, -0.5, -0.03, 0.0, 0.27, 0.5, 1.0)
    assert brute_error(c, fmt, grid=grid, mixed=0) <= r.value + slack + r.stats["sum_a"] * facts.copy_error


def test_hardmax_in_exact_needs_provably_exact_ties():
    assert qsa_check.check_qsa(qsa.build_qsa(6, 2, codes="moment"), "exhaustive", EXACT, "hardmax").status is V
    assert qsa_check.check_qsa(qsa.build_qsa(6, 2), "exhaustive", EXACT, "hardmax").status is not V


def test_auto_uses_the_exact_certificate_for_moment_codes():
    c = qsa.build_qsa(24, 3, codes="moment")
    assert qsa_check.pick_mode(c, "auto", EXACT, "softmax") == "certificate"
    assert qsa_check.check_qsa(c, "auto", EXACT).status is V
    v = qsa_check.check_qsa(c, "exhaustive", EXACT)                  # float64 products reach ~1e13
    assert v.status is U and v.evidence["bound_parts"]["float64_attention"] > c.eps / 2


# --- Match2 / Match3: no certificate; exhaustive is the only VERIFIED --------------------------------
def test_match_has_no_certificate_and_sampling_never_verifies():
    for c in (match.build_match2(4, 3), match.build_match3(3, 3)):
        with pytest.raises(BadInput, match="no certificate"):
            match_check.check_match(c, "certificate")
        assert match_check.check_match(c, "sample", samples=50).status is U
        v = match_check.check_match(c, "exhaustive", c.fmt)
        assert v.status is V and v.method is Method.EXHAUSTIVE and v.cases == 3 ** match_check.spec_of(c)["N"]


def _all_outputs(c, fmt):
    """Independent enumeration: every input of [M]^N in one batch (itertools.product, not the
    checker's chunks or enumerate_inputs), plain-Python truth."""
    s = match_check.spec_of(c)
    X = np.array(list(itertools.product(range(s["M"]), repeat=s["N"])))
    got, _ = s["forward"](c, X, fmt)
    want = np.array([s["truth"](list(x)) for x in X])
    return got, want


def _match_edit(c, rng):
    h = match.head_of(c)
    what = str(rng.choice(["W_Q", "W_K", "W_V", "W_O", "temperature"]))
    if what == "temperature":
        h2 = h.replace(temperature=h.temperature * float(rng.choice([0.05, 0.5, 2.0, -1.0])))
    else:
        W = getattr(h, what).copy()
        nz = np.argwhere(W != 0)
        i, j = nz[rng.integers(len(nz))] if rng.random() < 0.7 else (rng.integers(W.shape[0]), rng.integers(W.shape[1]))
        W[i, j] = float(rng.choice([0.0, W[i, j] + 0.05, -W[i, j], 1.0, W[i, j] * 1.5]))
        h2 = h.replace(**{what: W})
    if isinstance(c, match.Match3Construction):
        return dataclasses.replace(c, head=h2)
    return c.with_layer(0, dataclasses.replace(c.layers[0], heads=(h2,)))


@pytest.mark.parametrize("build", [lambda: match.build_match2(4, 3), lambda: match.build_match2(4, 3, allow_self=False),
                                   lambda: match.build_match3(3, 3)], ids=["match2", "match2-noself", "match3"])
def test_match_exhaustive_verdicts_agree_with_an_independent_enumeration(build):
    base = build()
    rng = np.random.default_rng(5)
    verdicts = {V: 0, R: 0}
    for _ in range(25):
        c = _match_edit(base, rng)
        v = match_check.check_match(c, "exhaustive", base.fmt)
        got, want = _all_outputs(c, base.fmt)
        verdicts[v.status] += 1
        assert (v.status is V) == bool(np.all(got == want))
    assert verdicts[V] and verdicts[R]


def test_match_truth_is_independent_of_the_construction():
    assert match2_truth([1, 2, 0], 3) == [1, 1, 1] and match3_truth([1, 1, 1], 3, True, True) == [1, 1, 1]
