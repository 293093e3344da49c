"""qSA in one head (sht23.thm2 random codes, sht23.thm3 moment codes): certificates, the
symbolic-in-z worst case, the margin bound, and broken heads that must be refuted."""
import dataclasses
import itertools
import math

import numpy as np
import pytest

from attncheck.constructions import qsa
from attncheck.verifiers import qsa_check, qsa_run, qsa_scores, qsa_sweep, qsa_width
from attncheck.constructions.tasks import qsa as qsa_truth
from attncheck.constructions.precision import EXACT, parse_format
from attncheck.constructions.verdict import BadInput, Method, Status


def all_subsets(N, q):
    return np.array(list(itertools.combinations(range(N), q)), dtype=np.int64)


@pytest.mark.parametrize("N,q", [(5, 1), (6, 2), (7, 3), (9, 2)])
def test_moment_coefficients_equal_the_product_form_exactly(N, q):
    """Two derivations of the score p_S(t_j): coefficients x powers (Python ints, exact) and
    1 - prod (t_j - t_s)^2.  Equal on every subset and position; 1 on S, <= 0 off S."""
    S = all_subsets(N, q)
    coef = qsa.moment_certificates(N, q, S).astype(np.int64)
    t = [int(v) for v in qsa.moment_points(N)]
    prod_form = qsa_scores.moment_scores_exact(N, q, S)
    for s, row, want in zip(S, coef, prod_form):
        got = [sum(int(a) * tj ** d for d, a in enumerate(row)) for tj in t]
        assert got == [int(v) for v in want]
        assert all(got[j] == 1 for j in s)
        assert all(got[j] <= 0 for j in range(N) if j not in s)


def test_least_squares_certificates_are_exactly_one_on_the_set():
    c = qsa.build_qsa(10, 3, m=40, seed=3)
    S = all_subsets(10, 3)
    scores, norms = qsa_scores.code_scores(c, S)                          # Gram path, (S, N)
    on = np.take_along_axis(scores, S, axis=1)
    assert np.allclose(on, 1.0, atol=1e-12)
    W = c.query_codes(S)                                            # explicit path
    assert np.allclose(W @ c.keys.T, scores, atol=1e-12)
    assert np.allclose(np.linalg.norm(W, axis=1), norms, atol=1e-12)


@pytest.mark.parametrize("codes", ["random", "moment"])
def test_symbolic_worst_case_equals_brute_force_over_the_z_cube(codes):
    """Output is linear in z, so the sup over ||z_j|| <= 1 is the l1 deviation of the attention
    row from uniform-on-S, attained on {-1, 1}^N.  Enumerate the cube and compare."""
    N, q = 5, 2
    c = qsa.build_qsa(N, q, codes=codes, m=12 if codes == "random" else None, eps=0.9)
    sw = qsa_sweep.sweep(c, "emulator")
    cube = np.array(list(itertools.product([-1.0, 1.0], repeat=N)))[:, :, None]      # (32, N, 1)
    worst = 0.0
    for S in all_subsets(N, q):
        y = np.tile(S, (len(cube), N, 1))
        out, _ = qsa_run.forward(c, cube, y)
        want = (cube[:, S, 0].sum(axis=1) / q)[:, None]
        worst = max(worst, float(np.abs(out[:, :, 0] - want).max()))
    assert worst == pytest.approx(sw.value, rel=1e-9, abs=1e-12)


def test_rounding_slack_is_sound_in_fixed_point():
    """Under fixed:I.F the per-set bound (l1 deviation + value-path rounding slack) must dominate
    every error on the z grid {-1, -1/2, 0, 1/2, 1}^N (exhaustive for N = 4)."""
    from attncheck.verifiers.qsa_proof import ValueStats, prove_head, value_path_slack
    N, q = 4, 2
    c = qsa.build_qsa(N, q, m=10, seed=1, eps=0.9)
    fmt = parse_format("fixed:6.5")
    r = qsa_sweep.sweep(c, "emulator", fmt)
    st = ValueStats(r.stats["sum_a"], r.stats["min_Z"], r.stats["sum_e"], N)
    slack, problems = value_path_slack(prove_head(c), fmt, st)
    assert not problems
    bound = r.value + slack
    grid = np.array(list(itertools.product([-1.0, -0.5, 0.0, 0.5, 1.0], repeat=N)))[:, :, None]
    worst = 0.0
    for S in all_subsets(N, q):
        out, _ = qsa_run.forward(c, grid, np.tile(S, (len(grid), N, 1)), fmt)
        want = grid[:, S, 0].sum(axis=1) / q
        worst = max(worst, float(np.abs(out[:, 0, 0] - want).max()))
    assert worst <= bound + 1e-12


@pytest.mark.parametrize("codes,m", [("random", 30), ("moment", None), ("random", 5)])
def test_margin_bound_dominates_the_emulated_deviation_on_every_set(codes, m):
    """Leakage bound from the score margins (no softmax) >= the l1 deviation the emulator
    produces, set by set -- including for a too-narrow head whose bound is useless."""
    N, q = 7, 2
    c = qsa.build_qsa(N, q, codes=codes, m=m, seed=2)
    S = all_subsets(N, q)
    scores, _ = qsa_scores.code_scores(c, S)
    inset = qsa_run.uniform_on(S, N) > 0
    lo = np.where(inset, scores, np.inf).min(1)
    hi = np.where(inset, scores, -np.inf).max(1)
    off = np.where(inset, -np.inf, scores).max(1)
    T = c.head.temperature
    with np.errstate(over="ignore"):
        cert = 2 * (N - q) / q * np.exp(-T * (lo - off)) + np.expm1(T * (hi - lo))
    _, w = qsa_run.forward(c, np.zeros((len(S), N, 1)), np.tile(S[:, None, :], (1, N, 1)))
    dev = np.abs(w[:, 0, :] - qsa_run.uniform_on(S, N)).sum(1)
    assert np.all(dev <= cert + 1e-12)
    assert qsa_sweep.sweep(c, "certificate").value == pytest.approx(cert.max(), rel=1e-6)


@pytest.mark.parametrize("codes", ["random", "moment"])
def test_default_constructions_verify_exhaustively_in_their_declared_format(codes):
    c = qsa.build_qsa(8, 2, codes=codes)
    v = qsa_check.check_qsa(c, "exhaustive", c.fmt)
    assert v.status is Status.VERIFIED and v.method is Method.EXHAUSTIVE and v.cases == math.comb(8, 2)
    v2 = qsa_check.check_qsa(c, "certificate", EXACT)
    assert v2.status is Status.VERIFIED and v2.method is Method.CERTIFICATE
    assert v.evidence["worst_error_bound"] <= v2.evidence["worst_error_bound"] + 1e-12


def test_too_narrow_codes_are_refuted_with_a_replayed_counterexample():
    c = qsa.build_qsa(8, 2, m=4, seed=0)
    v = qsa_check.check_qsa(c, "exhaustive", EXACT)
    assert v.status is Status.REFUTED
    ce = v.counterexample
    S = [p - 1 for p in ce.tokens]
    z = np.array(ce.explanation["z_first_coordinate"])[:, None]
    truth = qsa_truth(z.tolist(), [S] * 8)[ce.position - 1]
    assert np.allclose(ce.expected, truth)
    assert np.linalg.norm(np.subtract(ce.got, ce.expected)) > c.eps


def test_a_cold_head_is_refuted_and_the_certificate_does_not_pass_it():
    c = qsa.build_qsa(6, 2, codes="moment")
    cold = dataclasses.replace(c, head=c.head.replace(temperature=0.01))
    assert qsa_check.check_qsa(cold, "exhaustive", EXACT).status is Status.REFUTED
    assert qsa_check.check_qsa(cold, "certificate", EXACT).status is Status.UNKNOWN


def test_sampling_never_verifies_but_can_refute():
    good = qsa.build_qsa(8, 2, codes="moment")
    assert qsa_check.check_qsa(good, "sample", EXACT, samples=20).status is Status.UNKNOWN
    bad = qsa.build_qsa(8, 2, m=3)
    assert qsa_check.check_qsa(bad, "sample", EXACT, samples=200).status is Status.REFUTED


def test_smallest_width_is_a_working_width_whose_predecessor_fails():
    res = qsa_width.smallest_width(10, 2, seed=0)
    assert res["found"] and res["m_minus_1_fails"]
    m = res["m"]
    ok = qsa_sweep.sweep(qsa.build_qsa(10, 2, m=m, seed=res["seed"]), "margin")
    bad = qsa_sweep.sweep(qsa.build_qsa(10, 2, m=m - 1, seed=res["seed"]), "margin")
    assert ok.value <= 0.5 < bad.value


@pytest.mark.parametrize("kwargs,needle", [
    (dict(N=1, q=1), "--N"), (dict(N=5, q=5), "--q"), (dict(N=5, q=2, eps=1.5), "--accuracy"),
    (dict(N=5, q=2, codes="moment", m=4), r"2q \+ 1"), (dict(N=5, q=2, d_prime=0), "--d-prime"),
])
def test_bad_parameters_are_refused(kwargs, needle):
    with pytest.raises(BadInput, match=needle):
        qsa.build_qsa(**kwargs)


def test_certificate_mode_refuses_fixed_point_and_hardmax():
    c = qsa.build_qsa(6, 2)
    with pytest.raises(BadInput, match="certificate"):
        qsa_check.check_qsa(c, "certificate", c.fmt)
    with pytest.raises(BadInput, match="certificate"):
        qsa_check.check_qsa(c, "certificate", EXACT, "hardmax")
