"""The refute commands' contract: exit codes 1 / 3 / 2, one JSON object, the theorem id."""
from __future__ import annotations

import numpy as np

from attncheck.constructions import tasks
from attncheck.constructions.onelayer import random_one_layer
from attncheck.constructions.io import save_construction
from attncheck.verifiers.emulator import BOT_CODE, forward


def test_one_layer_refuted_json(cli):
    r = cli("refute", "one-layer", "induction", "--N", "9", "--json")
    assert r.code == 1, r.err
    obj = r.json
    assert obj["verdict"] == "refuted" and obj["evidence"]["theorem"] == "sht24b.one-layer-ih-lb"
    for key in ("method", "claim", "cases", "reason", "counterexample", "evidence", "params", "model"):
        assert key in obj
    assert obj["evidence"]["guaranteed"] is True
    x = obj["counterexample"]["tokens"]
    c = random_one_layer(9, 3, seed=0)
    got = forward(c, np.array([x]), c.fmt).outputs[0, -1]
    assert (None if got == BOT_CODE else int(got)) == obj["counterexample"]["got"]
    assert tasks.induction_heads(x)[-1] == obj["counterexample"]["expected"] != obj["counterexample"]["got"]


def test_one_layer_from_file(cli, tmp_path):
    path = tmp_path / "m.npz"
    save_construction(random_one_layer(7, 3, H=2, seed=4), str(path))
    r = cli("refute", "one-layer", "induction", "--from", path)
    assert r.code in (1, 3), r.err
    assert "sht24b.one-layer-ih-lb" in r.out


def test_one_layer_correct_model_unknown(cli):
    r = cli("refute", "one-layer", "induction", "--N", "2", "--model", "match-at-two", "--split", "halves",
            "--attention", "hardmax")
    assert r.code == 3, r.err
    assert "UNKNOWN" in r.out


def test_one_layer_bad_input(cli):
    r = cli("refute", "one-layer", "induction", "--N", "9", "--precision", "exact")
    assert r.code == 2 and "fixed:I.F" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("refute", "one-layer", "induction")
    assert r.code == 2 and "--N" in r.err


def test_one_layer_two_layer_file_refused(cli, tmp_path):
    path = tmp_path / "ih.npz"
    r = cli("build", "induction", "--N", "5", "--out", path)
    assert r.code == 0, r.err
    r = cli("refute", "one-layer", "induction", "--from", path)
    assert r.code == 2 and "one layer" in r.err


def test_rnn_refuted_and_saved(cli, tmp_path):
    path = tmp_path / "r.npz"
    r = cli("refute", "rnn", "--N", "8", "--state-bits", "3", "--out", path, "--json")
    assert r.code == 1, r.err
    assert r.json["evidence"]["theorem"] == "sht23.rnn-ih" and r.json["evidence"]["guaranteed"]
    again = cli("refute", "rnn", "--from", path, "--json")
    assert again.code == 1
    assert again.json["counterexample"] == r.json["counterexample"]


def test_rnn_baseline_unknown(cli):
    r = cli("refute", "rnn", "--N", "7")
    assert r.code == 3 and "UNKNOWN" in r.out


def test_rnn_bad_input(cli):
    r = cli("refute", "rnn", "--N", "7", "--model", "table")
    assert r.code == 2 and "--state-bits" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("refute", "rnn", "--N", "7", "--model", "table", "--state-bits", "2", "--json")
    assert r.code == 1 and r.json["evidence"]["guaranteed"]


def test_budget_spent_is_unknown(cli):
    for args in (("one-layer", "induction", "--N", "9"), ("rnn", "--N", "8")):
        r = cli("refute", *args, "--budget", "0.000001", "--json")
        assert r.code == 3 and r.json["verdict"] == "unknown", r.err


def test_one_layer_from_a_file_below_the_catalogue_form(cli, tmp_path):
    """H(m+1)p = 1 (3+1) 2 = 8 < ceil(log2 345) = 9 at N = 13: refuted, replayed."""
    path = tmp_path / "small.npz"
    c = random_one_layer(13, 3, H=1, head_width=1, fmt="fixed:2.0", seed=7, tok_width=1, pos_width=1, out_width=1)
    save_construction(c, str(path))
    r = cli("refute", "one-layer", "induction", "--from", path, "--json")
    assert r.code == 1, r.err
    ev = r.json["evidence"]
    assert ev["catalogue_below"] and ev["catalogue"]["H(m+1)p"] == 8 and ev["rows_bits"] == 9
    x = r.json["counterexample"]["tokens"]
    got = forward(c, np.array([x]), c.fmt).outputs[0, -1]
    assert (None if got == BOT_CODE else int(got)) == r.json["counterexample"]["got"] != tasks.induction_heads(x)[-1]


def test_one_layer_with_the_last_symbol_fixed(cli):
    """--last: the catalogue's fixed query; rows are those of the matrix with X_N fixed."""
    from attncheck.bounds.witnesses.oneway import one_way_rows
    r = cli("refute", "one-layer", "induction", "--N", "9", "--last", "1", "--json")
    assert r.code in (1, 3), r.err
    assert r.json["evidence"]["rows"] == one_way_rows("induction", 9, 3).rows_fixed_last
    if r.code == 1:
        x = r.json["counterexample"]["tokens"]
        assert x[-1] == 1 and r.json["counterexample"]["explanation"]["partner"][-1] == 1
        c = random_one_layer(9, 3, seed=0)
        got = forward(c, np.array([x]), c.fmt).outputs[0, -1]
        assert (None if got == BOT_CODE else int(got)) == r.json["counterexample"]["got"] != tasks.induction_heads(x)[-1]
    r = cli("refute", "one-layer", "induction", "--N", "9", "--last", "5")
    assert r.code == 2 and "--last" in r.err
