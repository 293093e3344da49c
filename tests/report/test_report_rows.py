"""Rows and exit codes of ``attncheck report`` on synthetic command outputs (no process runs):
expected refutation, unexpected refutation, unknown, internal error, killed, tabulated."""
from __future__ import annotations

import json

import pytest

from attncheck.cli.report_checks import Check
from attncheck.cli.report_run import Row, classify, exit_code, row_code, run_all

HOLDS = Check("t.holds", ("sht24a.thm4_2",), ("verify", "hop", "--k", "2", "--N", "8"), ("sht24a",))
PAPER = Check("t.paper", ("lemma.sht24a.D2",), ("verify", "induction", "--N", "8", "--variant", "paper"),
              ("sht24a",), expect="refuted", kind="erratum")
TABLE = Check("t.table", ("sht24a.cor5_3",), ("bounds", "table", "--only", "sht24a.cor5_3"), ("sht24a",),
              expect="tabulated", kind="bound")


def out(verdict=None, **kw) -> str:
    obj = {"schema": 1, "command": "verify hop", "params": {}, **kw}
    if verdict:
        obj.update(verdict=verdict, method="exhaustive", claim="c", cases=3, reason="why")
    return json.dumps(obj)


def row(check, rc, stdout, stderr="", killed=False):
    return classify(check, (*check.argv, "--json"), rc, stdout, stderr, 0.5, killed=killed, budget=10.0)


@pytest.mark.parametrize("expect, verdict, code", [
    ("verified", "verified", 0), ("verified", "tabulated", 0), ("tabulated", "tabulated", 0),
    ("verified", "refuted", 1),                       # refuted unexpectedly
    ("refuted", "refuted", 0),                        # a paper-literal variant, refuted as expected
    ("refuted", "verified", 1), ("refuted", "tabulated", 1),   # expected refutation did not happen
    ("verified", "unknown", 3), ("refuted", "unknown", 3),
    ("verified", "error", 4), ("refuted", "error", 4),
])
def test_row_code(expect, verdict, code):
    assert row_code(expect, verdict) == code


def test_exit_code_is_the_worst_row_and_ignores_expected_refutations():
    assert exit_code([]) == 0
    assert exit_code([("verified", "verified"), ("refuted", "refuted")]) == 0
    assert exit_code([("verified", "verified"), ("verified", "refuted")]) == 1
    assert exit_code([("refuted", "verified"), ("verified", "verified")]) == 1
    assert exit_code([("verified", "refuted"), ("verified", "unknown")]) == 3
    assert exit_code([("verified", "unknown"), ("verified", "error"), ("refuted", "refuted")]) == 4


def test_verdicts_come_from_the_json_and_must_agree_with_the_exit_code():
    assert row(HOLDS, 0, out("verified")).verdict == "verified"
    r = row(PAPER, 1, out("refuted", counterexample={"tokens": [0, 0, 0], "position": 1, "expected": None,
                                                      "got": 0}))
    assert (r.verdict, r.code, r.outcome) == ("refuted", 0, "refuted as expected")
    assert "expected ⊥, got a" in r.evidence
    assert row(HOLDS, 1, out("refuted")).code == 1
    assert row(HOLDS, 3, out("unknown")).code == 3
    clash = row(HOLDS, 0, out("refuted"))
    assert clash.verdict == "error" and "contradicts" in clash.evidence


@pytest.mark.parametrize("rc, stdout, stderr, fragment", [
    (4, "", "attncheck: internal error: NameError: x (rerun with --debug)", "NameError"),
    (0, "not json", "", "no JSON"),
    (0, "", "", "no JSON"),
    (2, "", "attncheck: error: --N must be >= 2", "--N must be"),
    (4, out("verified"), "attncheck: internal error: boom", "boom"),
    (-9, out(), "", "exit -9"),
])
def test_internal_errors_are_recorded_never_hidden(rc, stdout, stderr, fragment):
    r = row(HOLDS, rc, stdout, stderr)
    assert r.verdict == "error" and r.code == 4 and fragment in r.evidence, r.evidence


def test_killed_is_unknown_and_names_the_budget():
    r = row(HOLDS, -9, "", killed=True)
    assert (r.verdict, r.code) == ("unknown", 3) and "budget of 10 s" in r.evidence


def test_table_commands_are_tabulated_and_budget_spent_is_unknown():
    bounds = json.dumps({"command": "bounds table", "bounds": [{"title": "t", "params": {"N": 64},
                         "outside_regime": None, "quantities": [{"label": "layers", "display": "8",
                         "formula": "L ≥ k", "ours": [{"construction": "rnn-hop", "uses": 8}]}]}]})
    r = row(TABLE, 0, bounds)
    assert r.verdict == "tabulated" and r.code == 0 and "layers 8 (ours: rnn-hop 8)" in r.evidence
    assert row(TABLE, 3, bounds, "attncheck: budget of 1 s spent").verdict == "unknown"


def test_row_json_has_every_column_and_the_exact_command():
    r = row(HOLDS, 0, out("verified"))
    j = r.to_json()
    for key in ("theorem", "claim", "verdict", "method", "evidence", "time_s", "command", "expect"):
        assert key in j
    assert j["command"] == "attncheck verify hop --k 2 --N 8 --json"


def test_run_all_keeps_registry_order_and_reports_each_row():
    started, done = [], []

    def fake(check, budget):
        return Row(check, "verified", 0, "c", "m", "e", 0.0, check.argv)
    rows = run_all([HOLDS, PAPER, TABLE], 5.0, 3, on_start=lambda c: started.append(c.name),
                   on_done=lambda r: done.append(r.check.name), run=fake)
    assert [r.check.name for r in rows] == ["t.holds", "t.paper", "t.table"]
    assert sorted(started) == sorted(done) == ["t.holds", "t.paper", "t.table"]
