"""Regression tests for the fuzzer's witness findings (docs/reliability.md): huge sizes are
refused from an estimate in exact integers (one line, exit 2) before anything is allocated,
and counts too large for a float or for int -> str never crash a report."""
import time

import numpy as np
import pytest

from attncheck.bounds.witnesses import domain as dom
from attncheck.bounds.witnesses import ngram as ng
from attncheck.bounds.witnesses.oneway import one_way_rows
from attncheck.constructions.verdict import BadInput


def _refused(cli, *args, needle, seconds=3.0):
    t0 = time.perf_counter()
    r = cli(*args)
    took = time.perf_counter() - t0
    assert r.code == 2, (r.code, r.err[-400:])
    assert r.out == "" and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert needle in r.err, r.err
    assert took < seconds, f"refusal took {took:.1f} s"
    return r.err


# --- the domain estimate ---------------------------------------------------------------------
@pytest.mark.parametrize("N,alphabet,marker", [
    (6, 10 ** 9, False), (4096, 3, False), (10 ** 9, 2, False), (6, 2 ** 100, False),
    (10 ** 9 + 1, 2, True), (3, 10 ** 12, True), (4097, 2, True)])
def test_make_domain_refuses_huge_sizes_before_allocating(N, alphabet, marker):
    with pytest.raises(BadInput, match="over the cap") as e:
        dom.make_domain("induction", N, alphabet, marker=marker)
    assert "\n" not in str(e.value) and "cells" in str(e.value)


def test_cost_decision_is_exact_at_the_cap():
    # 2^27 inputs x 8 positions = 2^30 cells: exactly the cap, accepted without enumerating
    assert dom._capped_product(((2, 27),), 8, dom.MAX_CELLS) == dom.MAX_CELLS
    assert dom._capped_product(((2, 27),), 9, dom.MAX_CELLS) is None
    assert dom._capped_product(((2, 10 ** 18),), 2, dom.MAX_CELLS) is None      # no 2^(10^18)
    dom.check_domain_cost(8, ((2, 27),), "at the cap")
    with pytest.raises(BadInput, match="9.66e\\+09"):                          # 9 x 2^30
        dom.check_domain_cost(9, ((2, 30),), "over")


def test_approx_count_needs_no_float_and_no_int_to_str():
    assert dom.approx_count(np.log10(1.2345e19)) == "1.23e+19"
    assert dom.approx_count(1957.9) == "7.94e+1957"
    assert dom.fmt_count(1234567) == "1,234,567"
    assert dom.fmt_count(3 ** 10000) == "1.63e+4771"                           # 4772 digits


def test_marker_codes_beyond_uint16_are_not_truncated():
    d = dom.make_domain("induction", 3, 70000, marker=True)
    X = dom.inputs(d)
    assert X.dtype == np.uint32 and int(X[0, 0]) == 70000 and int(X[2].max()) == 70000


def test_disj_split_refuses_large_q_from_its_int64_matrix():
    with pytest.raises(BadInput, match="DISJ_14"):
        one_way_rows("qsa", 29, 2, "disj")
    with pytest.raises(BadInput, match="DISJ_499999999"):
        one_way_rows("qsa", 10 ** 9, 2, "disj")                                # no 1 << 10^9


# --- n-gram ----------------------------------------------------------------------------------
def test_ngram_explicit_witness_has_a_length_cap():
    assert ng.explicit_witness(2, ng.MAX_WITNESS_N, 3) is not None
    with pytest.raises(BadInput, match="--N"):
        ng.explicit_witness(2, ng.MAX_WITNESS_N + 1, 3)
    assert ng.explicit_witness(10 ** 9, 10 ** 9, 3) is None                    # N <= n: nothing built


def test_ngram_table_entries_are_exact_or_symbolic():
    assert ng.table_entries(3, 100) == 3 ** 100
    assert ng.table_entries(3, 10 ** 6) == "3^1000000"
    assert ng.table_entries(10 ** 9, 10 ** 9) == "1000000000^1000000000"
    w = ng.ngram_witness(10 ** 6, 6, 3)
    assert w.parameters == "3^1000000" and "3^1000000" in w.claim()


def test_ngram_default_exhaustive_never_builds_a_huge_power():
    assert ng.exhaustive_by_default(20, 2) and not ng.exhaustive_by_default(21, 2)
    assert ng.exhaustive_by_default(12, 3) and not ng.exhaustive_by_default(13, 3)
    t0 = time.perf_counter()
    assert not ng.exhaustive_by_default(10 ** 12, 3) and not ng.exhaustive_by_default(2, 10 ** 12)
    assert time.perf_counter() - t0 < 5.0       # no huge power is built (that would never end)


# --- through the CLI (the fuzzer's reproducers and their siblings) ----------------------------
def test_ngram_huge_N_is_refused_quickly(cli):
    err = _refused(cli, "witness", "ngram", "--N", 1000000000, "--budget", 1, needle="--N 1000000000")
    assert "65,536" in err


@pytest.mark.parametrize("order", [1000000, 1000000000])
def test_ngram_huge_order_reports_the_table_size_symbolically(cli, order):
    r = cli("witness", "ngram", "--order", order, "--budget", "0.3", "--json")
    assert r.code == 0, r.err
    assert r.json["parameters"] == f"3^{order}" and r.json["solvable"]
    h = cli("witness", "ngram", "--order", order)
    assert h.code == 0 and f"3^{order}" in h.out


def test_ngram_huge_alphabet_keeps_its_witness(cli):
    r = cli("witness", "ngram", "--alphabet", 10 ** 9, "--order", 3, "--N", 5000, "--json")
    assert r.code == 0 and r.json["parameters"] == 10 ** 27 and len(r.json["x"]) == 5000


@pytest.mark.parametrize("args,needle", [
    (("witness", "one-way-cc", "induction", "--N", 6, "--alphabet", 1000000000, "--budget", 1), "over the cap"),
    (("witness", "one-way-cc", "induction", "--N", 100000, "--split", "prefix:3"), "over the cap"),
    (("witness", "one-way-cc", "qsa", "--N", 1000000000), "DISJ_499999999"),
    (("witness", "one-way-cc", "hop", "--N", 8, "--k", 0), "--k"),
    (("witness", "rnn-states", "induction", "--N", 4096, "--budget", 0.3), "3^4096"),
    (("witness", "rnn-states", "induction", "--N", 1000001, "--marker", "--alphabet", 2), "over the cap"),
    (("witness", "rnn-states", "hop", "--N", 7, "--k", 0), "--k"),
    (("witness", "rnn-states", "induction", "--N", 6, "--alphabet", 1), "--alphabet"),
    (("witness", "ngram", "--N", 65537), "--N 65537"),
    (("witness", "ngram", "--N", 30, "--exhaustive"), "over the cap"),
    (("witness", "ngram", "--order", -5), "--order"),
])
def test_witness_bad_sizes_are_one_line_exit_2(cli, args, needle):
    _refused(cli, *args, needle=needle)
