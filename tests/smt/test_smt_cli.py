"""attncheck smt: exit codes, JSON keys, determinism, bad input, lazy z3 import."""
import subprocess
import sys

import pytest

pytest.importorskip("z3")
ONE = ("smt", "one-layer", "induction", "--N", 3, "--alphabet")


def _stable(obj):
    return {k: v for k, v in obj.items() if k not in ("timing", "versions")}


def test_one_layer_unsat_is_exit_0_with_raw_solver_result(cli):
    r = cli(*ONE, 3, "--json")
    assert r.code == 0, r.err
    j = r.json
    assert j["verdict"] == "verified" and j["solver_result"] == "unsat" and j["method"] == "smt"
    assert j["rlimit"] == 50_000_000 and j["solver_seed"] == 0 and j["rlimit_used"] > 0
    assert j["theorem"]["theorem"] == "sht24b.one-layer-ih-lb" and "model" not in j
    assert "fixed:2.0" in j["model_class"]["description"]
    assert ", head width 1, " in j["claim"] and "D=" not in j["claim"]            # --head-width, not --D


@pytest.mark.parametrize("args,option", [
    (("--head-width", 0), "--head-width"), (("--precision", "fixed:1.1"), "--precision"),
    (("--H", 2, "--head-width", 2, "--precision", "fixed:3.0"), "--head-width"),   # 2^(bHD) contexts
])
def test_model_class_errors_name_the_options(cli, args, option):
    r = cli("smt", "separate", "induction", "--N", 3, "--alphabet", 3, *args)
    assert r.code == 2 and r.err.count("\n") == 1 and option in r.err, r.err
    assert not any(old in r.err for old in ("--D ", "--bits", "--frac"))


def test_json_is_byte_reproducible(cli):
    a, b = cli(*ONE, 2, "--json"), cli(*ONE, 2, "--json")
    assert _stable(a.json) == _stable(b.json)


def test_one_layer_sat_is_exit_1_with_replayed_model(cli):
    r = cli(*ONE, 2, "--json")
    assert r.code == 1, r.err
    j = r.json
    assert j["verdict"] == "refuted" and j["solver_result"] == "sat"
    assert j["model"]["replay"]["solves_family"] and j["model"]["replay"]["inputs_checked"] == 8


def test_spent_rlimit_is_exit_3(cli):
    r = cli(*ONE, 3, "--rlimit", 1000, "--json")
    assert r.code == 3 and r.json["solver_result"] == "unknown" and r.json["verdict"] == "unknown"


@pytest.mark.parametrize("args", [("--N", 1), ("--N", 4, "--family", "index"), ("--N", 3, "--precision", "fixed:9.0"),
                                  ("--N", 3, "--precision", "fixed:1.1"), ("--N", 3, "--rlimit", 0),
                                  ("--N", 3, "--H", 0), ("--N", 3, "--family", "index", "--alphabet", 2)])
def test_bad_input_is_one_line_exit_2(cli, args):
    r = cli("smt", "one-layer", "induction", *args)
    assert r.code == 2, (args, r.err)
    assert r.err.count("\n") == 1 and "Traceback" not in r.err


def test_separate_side_by_side(cli):
    r = cli("smt", "separate", "induction", "--N", 3, "--alphabet", 3)
    assert r.code == 0, r.err
    assert "1 layer" in r.out and "2 layers" in r.out and "unsat" in r.out and "sat" in r.out


def test_comm_and_certify(cli):
    r = cli("smt", "comm", "induction", "--N", 5, "--alphabet", 3, "--json")
    assert r.code == 0 and r.json["witness"]["rows"] == 9
    assert [q["solver_result"] for q in r.json["queries"]] == ["unsat", "sat"]
    r = cli("smt", "comm", "induction", "--N", 5, "--alphabet", 3, "--message-bits", 3)
    assert r.code == 0
    r = cli("smt", "comm", "induction", "--N", 5, "--alphabet", 3, "--message-bits", 4)
    assert r.code == 1
    r = cli("smt", "certify", "induction", "--N", 3, "--alphabet", 2, "--json")
    assert r.code == 0 and r.json["solver_result"] == "unsat" and r.json["verdict"] == "verified"
    r = cli("smt", "certify", "induction", "--N", 3, "--alphabet", 3, "--variant", "paper", "--json")
    assert r.code == 1 and r.json["counterexample"]["explanation"]["replayed"]


def test_help_and_smt_module_import_no_z3():
    code = ("import sys, attncheck.cli.main, attncheck.cli.smt, attncheck.verifiers.smt.cegis;"
            " print('z3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
