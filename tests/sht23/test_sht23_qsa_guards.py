"""Regression tests for the fuzzer's qSA findings (docs/reliability.md): --q 0 divided by zero
(exit 4) in verify qsa and search width qsa; their siblings -- widths / value dimensions whose
arrays do not fit, and sampled inputs too big to stop at --budget -- are refused from an exact
integer estimate, one line, exit 2, before anything is built."""
import time

import pytest

from attncheck.constructions import qsa
from attncheck.verifiers import qsa_check
from attncheck.constructions.precision import EXACT
from attncheck.constructions.verdict import BadInput


@pytest.mark.parametrize("q", [0, -1, 6, 7, 10 ** 9])
def test_build_refuses_q_outside_1_to_N_minus_1_before_using_it(q):
    with pytest.raises(BadInput, match=f"--q must satisfy 1 <= q < N = 6, got {q}"):
        qsa.build_qsa(6, q)


def test_default_eps_still_follows_q():
    assert qsa.build_qsa(6, 2).eps == pytest.approx(0.25)
    with pytest.raises(BadInput, match="--accuracy"):
        qsa.build_qsa(6, 2, eps=0.0)


@pytest.mark.parametrize("kw,needle", [
    ({"m": 10 ** 9}, "--head-width = 1000000000"),
    ({"d_prime": 10 ** 9}, "d' = 1000000000"),
])
def test_build_refuses_arrays_over_the_entry_limit(kw, needle):
    with pytest.raises(BadInput, match=needle) as e:
        qsa.build_qsa(6, 2, **kw)
    assert "float64 entries" in str(e.value)


def test_footprint_is_exact_integer_arithmetic():
    need = qsa.footprint(4096, 2048, 46_580_759, 1)         # default width at q = N/2
    assert isinstance(need, int) and need > qsa.MAX_ENTRIES
    assert qsa.footprint(8, 2, 4, 1, rows=0) == 8 * 4 + 2 * 10 * 5
    assert qsa.sci_count(qsa.n_subsets(4096, 2048)) == "1.3e+1231"           # no float overflow


def test_sample_refuses_inputs_too_big_to_stop_at_the_budget():
    c = qsa.build_qsa(1024, 150, m=1)
    with pytest.raises(BadInput, match="one input at N = 1024"):
        qsa_check.check_qsa(c, "sample", EXACT, samples=1)
    assert qsa_check.pick_mode(qsa.build_qsa(8, 2), "auto", EXACT, "softmax") == "exhaustive"


def test_sample_gives_up_at_once_when_the_budget_cannot_cover_one_input():
    # one input at N = 4096 is an indivisible ~6.5e9 multiply-adds (seconds); a 0.3 s budget is
    # answered with UNKNOWN before it starts, not after the input overran it
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.verdict import Status
    c = qsa.build_qsa(4096, 2)
    v = qsa_check.check_qsa(c, "sample", samples=5, budget=Budget(0.3))
    assert v.status is Status.UNKNOWN and v.cases == 0 and "cannot cover one input" in v.reason
    small = qsa_check.check_qsa(qsa.build_qsa(16, 2), "sample", samples=3, budget=Budget(600))
    assert small.cases == 3 and "cannot cover" not in (small.reason or "")


@pytest.mark.parametrize("args,needle", [
    (["verify", "qsa", "--N", 6, "--q", 0], "got 0"),
    (["search", "width", "qsa", "--N", 6, "--q", 0], "got 0"),
    (["verify", "qsa", "--N", 6, "--q", -3], "got -3"),
    (["search", "width", "qsa", "--N", 6, "--q", 7], "got 7"),
    (["verify", "qsa", "--N", 4096, "--q", 2048, "--budget", 1], "float64 entries"),
    (["verify", "qsa", "--N", 4096, "--q", 180, "--head-width", 1, "--mode", "exhaustive"], "pointer sets needs"),
    (["verify", "qsa", "--N", 4096, "--q", 2048, "--head-width", 1, "--budget", 1], "float64 entries"),
    (["verify", "qsa", "--N", 6, "--q", 2, "--head-width", 10 ** 9], "--head-width"),
    (["verify", "qsa", "--N", 6, "--q", 2, "--d-prime", 10 ** 9], "--d-prime"),
    (["verify", "qsa", "--N", 4096, "--q", 4, "--budget", 0.5], "one input"),
    (["search", "width", "qsa", "--N", 4096, "--q", 2048, "--budget", 1], "float64 entries"),
    (["search", "width", "qsa", "--N", 6, "--q", 2, "--head-width-max", 10 ** 9, "--budget", 1], "--head-width-max"),
])
def test_bad_sizes_are_one_line_exit_2_and_quick(cli, args, needle):
    t0 = time.perf_counter()
    r = cli(*args)
    assert r.code == 2 and r.out == "", (r.code, r.err[-300:])
    assert len(r.err.strip().splitlines()) == 1 and needle in r.err and "Traceback" not in r.err
    assert time.perf_counter() - t0 < 20.0      # a refusal computes nothing; generous for a loaded machine


def test_search_width_reports_an_unbuildable_moment_row_instead_of_failing(cli):
    # q = 6 at N = 33: the moment codes need 2 q log2 N = 60.5 > 60 bits (int64); before, the
    # search ran and then failed with exit 2; now it reports the random row and says why
    r = cli("search", "width", "qsa", "--N", 33, "--q", 6, "--head-width-max", 8, "--json")
    assert r.code in (0, 3), r.err
    moment = r.json["rows"][1]
    assert moment["m"] is None and moment["note"].startswith("not built:") and "bits" in moment["note"]
