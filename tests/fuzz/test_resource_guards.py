"""Resource guards (issue 9): enumerations estimate their cost first and refuse (exit 2, with the
estimate), or stop at --budget (exit 3, with the progress so far); memory stays bounded because
the enumeration is chunked.

The generic part ("every command with a --budget ends within budget + slack") is in the fuzz
suite (cli_harness.violation); here are the exact messages and the mechanisms behind them.
"""
from __future__ import annotations

import json
import re
import time
import tracemalloc

import pytest

import cli_harness as H
from attncheck.constructions.induction import build_induction
from attncheck.verifiers import exhaustive
from attncheck.constructions.budget import Budget
from attncheck.constructions.verdict import BadInput, Status


def one_line(o: H.Outcome) -> str:
    assert H.violation(o) is None, (o.line, H.violation(o))
    return o.err.strip()


def test_enumeration_beyond_the_limit_is_refused_with_its_size():
    o = H.invoke(["verify", "induction", "--N", "40", "--mode", "exhaustive"])
    assert o.code == 2
    msg = one_line(o)
    assert "3^40" in msg and "1.22e+19" in msg and f"{exhaustive.MAX_INPUTS:,}" in msg


def test_enumeration_beyond_the_budget_is_refused_with_the_estimate():
    o = H.invoke(["verify", "induction", "--N", "12", "--mode", "exhaustive", "--budget", "0.01"])
    assert o.code == 2
    m = re.search(r"3\^12 = 531,441 inputs needs about ([0-9.e+]+) s, more than --budget 0.01 s", one_line(o))
    assert m and float(m.group(1)) > 0.01
    assert o.seconds < H.BUDGET_SLACK_S                      # refused after one calibration chunk


def test_a_run_that_overruns_stops_unknown_with_progress():
    """The estimate fits, the clock runs out mid-way: UNKNOWN with how far it got (a budget whose
    clock started 0.2 s before its end, so the estimate passes and the run cannot finish)."""
    c = build_induction(12, 3)
    total = 3 ** 12
    late = Budget(1000.0, start=time.monotonic() - 999.8)
    v = exhaustive.check_exhaustive(c, "induction", {}, c.fmt, "softmax", late)
    assert v.status is Status.UNKNOWN
    p = v.evidence["progress"]
    step = exhaustive.block_size(c) if v.evidence["evaluation"] == "shared prefixes" else exhaustive.chunk_size(c)
    assert p["of"] == total and 0 <= p["inputs_checked"] < total and p["inputs_checked"] % step == 0
    assert f"of {total:,} inputs checked" in v.reason and v.cases == p["inputs_checked"]


def test_sampling_stops_at_the_budget_exit_3_with_progress():
    o = H.invoke(["verify", "induction", "--N", "20", "--mode", "sample", "--samples", "100000000",
                  "--budget", "0.5", "--json"])
    assert o.code == 3 and H.violation(o) is None
    j = json.loads(o.out)
    m = re.search(r"budget of 0.5 s spent: (\d+) samples checked", j["reason"])
    assert j["verdict"] == "unknown" and m and 0 < int(m.group(1)) < 10 ** 8 == j["params"]["samples"]
    assert o.seconds < 0.5 + H.BUDGET_SLACK_S


@pytest.mark.parametrize("cmd", [["verify", "induction"], ["precision", "induction"]])
def test_large_certificate_honours_a_small_budget(cmd):
    """At N = 4096 the build and the certificate's O(N^2) steps check the clock (issue 12):
    exit 3 (or 0 if it finished) within the budget plus the generous CLI slack."""
    o = H.invoke([*cmd, "--N", "4096", "--alphabet", "8", "--budget", "0.3"])
    assert o.code in (0, 3) and H.violation(o) is None, (o.code, o.err)
    assert o.seconds < 0.3 + H.BUDGET_SLACK_S


def test_the_certificate_stops_at_an_expired_clock_naming_the_layer():
    """The mechanism, independent of the machine's speed: a clock that has already run out."""
    from attncheck.verifiers.certificate import certify
    c = build_induction(64, 3)
    spent = Budget(1000.0, start=time.monotonic() - 2000.0)
    v = certify(c, "induction", {}, c.fmt, "softmax", spent)
    assert v.status is Status.UNKNOWN and "budget of 1000 s spent while certifying layer" in v.reason


def test_auto_mode_never_starts_an_enumeration_it_cannot_finish():
    """--mode auto with a budget picks the certificate when the estimate is over budget."""
    o = H.invoke(["verify", "induction", "--N", "12", "--budget", "0.05", "--json"])
    assert o.code in (0, 3) and json.loads(o.out)["method"] == "certificate"


def test_library_refuses_before_allocating():
    c = build_induction(30, 3)
    with pytest.raises(BadInput, match="exceeds the limit"):
        exhaustive.check_exhaustive(c, "induction", {}, c.fmt)


@pytest.mark.parametrize("N", [9, 12])
def test_chunks_bound_the_attention_tensor(N):
    c = build_induction(N, 3)
    B = exhaustive.chunk_size(c)
    T = N + 1
    assert B * T * T * c.max_heads <= exhaustive.ELEMS_PER_CHUNK < (B + 1) * T * T * c.max_heads


def test_peak_memory_does_not_grow_with_the_number_of_inputs(monkeypatch):
    """Same N, 38x more inputs (2^9 vs 3^9), small chunks (and small shared-prefix blocks): the
    traced peak stays within 2x."""
    monkeypatch.setattr(exhaustive, "ELEMS_PER_CHUNK", 20_000)
    monkeypatch.setattr(exhaustive, "PREFIX_ELEMS", 20_000)
    peaks = {}
    for S in (2, 3):
        c = build_induction(9, S)
        tracemalloc.start()
        v = exhaustive.check_exhaustive(c, "induction", {}, c.fmt)
        peaks[S] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert v.status is Status.VERIFIED and v.cases == S ** 9
    assert peaks[3] < 2 * peaks[2], peaks
