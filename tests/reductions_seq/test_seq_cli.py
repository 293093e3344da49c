"""The CLI of the sequential checks: JSON keys, exit codes, one-line bad input."""
from __future__ import annotations

import pytest


def test_rnn_pointer_json_has_protocol_premise_and_bound(cli):
    r = cli("reduction", "check", "rnn-pointer", "--q", "2", "--k", "3", "--json")
    assert r.code == 0
    obj = r.json
    assert obj["verdict"] == "verified" and obj["params"]["q"] == 2 and obj["params"]["state_bits"] is None
    ev = obj["evidence"]
    assert ev["protocol"]["rounds"] == 3 and ev["premise"]["holds_on"] == 32
    assert ev["bound"]["id"] == "an21.prop4_12"


@pytest.mark.parametrize("rid,extra", [("rnn-multipass", ()), ("cot-rounds", ("--cot", "1")),
                                       ("disj-match3", ("--n", "3"))])
def test_each_check_verifies_and_prints_its_rows(cli, rid, extra):
    r = cli("reduction", "check", rid, *extra)
    assert r.code == 0 and r.out.startswith("VERIFIED")
    assert ("protocol:" in r.out) or ("embedding:" in r.out)


def test_collide_refutes_with_exit_1(cli):
    r = cli("reduction", "collide", "--q", "2", "--k", "3", "--layers", "2", "--json")
    assert r.code == 1 and r.json["verdict"] == "refuted" and r.json["counterexample"]["explanation"]["replayed"]


@pytest.mark.parametrize("argv", [
    ("reduction", "check", "rnn-pointer", "--players", "3"),
    ("reduction", "check", "pointer-hop", "--layers", "2"),
    ("reduction", "check", "disj-match3", "--n", "9"),
    ("reduction", "check", "rnn-multipass", "--model", "table", "--state-bits", "0"),
    ("reduction", "collide", "--q", "7"),
])
def test_bad_input_is_one_line(cli, argv):
    r = cli(*argv)
    assert r.code == 2 and r.err.count("\n") == 1, r.err


def test_list_names_the_new_ids(cli):
    r = cli("reduction", "list", "--json")
    ids = {row["id"] for row in r.json["reductions"]}
    assert {"rnn-multipass", "rnn-pointer", "cot-rounds", "disj-match3", "pointer-hop"} <= ids
