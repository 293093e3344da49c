"""CLI contract of verify qsa|match2|match3|rnn and search width qsa: exit codes, one-line
errors, JSON keys, reproducible JSON, no sympy/z3 at import."""
import json
import subprocess
import sys

import pytest

VERIFY_KEYS = {"schema", "command", "params", "verdict", "method", "claim", "cases", "reason",
               "counterexample", "evidence", "construction", "seed", "versions", "timing", "bounds"}


@pytest.mark.parametrize("args,code,method", [
    (["verify", "qsa", "--N", 8, "--q", 2], 0, "exhaustive"),
    (["verify", "qsa", "--N", 8, "--q", 2, "--codes", "moment", "--mode", "certificate"], 0, "certificate"),
    (["verify", "qsa", "--N", 8, "--q", 2, "--head-width", 4], 1, "exhaustive"),
    (["verify", "qsa", "--N", 8, "--q", 2, "--mode", "sample", "--samples", 20], 3, "sample"),
    (["verify", "match2", "--N", 4, "--alphabet", 5, "--no-allow-self"], 0, "exhaustive"),
    (["verify", "match2", "--N", 4, "--alphabet", 5, "--variant", "no-threshold"], 1, "exhaustive"),
    (["verify", "match3", "--N", 3, "--alphabet", 5, "--no-allow-repeat", "--attention", "hardmax"], 0, "exhaustive"),
    (["verify", "rnn", "hop", "--N", 6, "--k", 2], 0, "exhaustive"),
    (["verify", "rnn", "hop", "--N", 6, "--k", 2, "--layers", 1], 1, "exhaustive"),
    (["verify", "rnn", "index", "--N", 7], 0, "exhaustive"),
])
def test_exit_codes_and_json_keys(cli, args, code, method):
    r = cli(*args, "--json")
    assert r.code == code, r.err
    j = r.json
    assert VERIFY_KEYS <= set(j) and j["method"] == method
    assert (j["counterexample"] is not None) == (code == 1)
    if code == 1:
        assert j["counterexample"]["explanation"]["replayed"]


def test_rnn_report_puts_state_bits_beside_the_minimum_and_the_formula(cli):
    pytest.importorskip("attncheck.bounds.witnesses.myhill_nerode")
    j = cli("verify", "rnn", "index", "--N", 9, "--json").json
    n = 4
    assert j["state_minimum"]["available"] and j["state_minimum"]["bits"] == n
    assert j["construction"]["state_bits"] >= j["state_minimum"]["bits"]
    assert any(b["theorem"] == "sht23.rnn-ih" and b["value"] == str(n) for b in j["bounds"])
    h = cli("verify", "rnn", "induction", "--N", 6)
    assert h.code == 0 and "Myhill-Nerode" in h.out and "sht23.rnn-ih" in h.out and "[R]" in h.out


def test_human_output_names_theorem_status_and_format(cli):
    r = cli("verify", "qsa", "--N", 6, "--q", 2)
    assert r.code == 0 and "VERIFIED" in r.out and "sht23.thm2" in r.out and "[S]" in r.out
    assert "fixed:" in r.out and "sht23.thm4" in r.out
    r = cli("verify", "match3", "--N", 3, "--alphabet", 4, "--variant", "no-threshold")
    assert r.code == 1 and "REFUTED" in r.out and "counterexample" in r.out


def test_json_is_reproducible_except_timing(cli):
    args = ("verify", "qsa", "--N", 7, "--q", 2, "--json")
    a, b = cli(*args).json, cli(*args).json
    for j in (a, b):
        j.pop("timing")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("args,needle", [
    (["verify", "qsa", "--N", 6, "--q", 6], "--q"),
    (["verify", "qsa", "--N", 6, "--q", 2, "--mode", "certificate", "--precision", "fixed:8.8"], "certificate"),
    (["verify", "qsa", "--N", 4000, "--q", 3, "--mode", "exhaustive"], "multiply-adds"),
    (["verify", "match2", "--N", 4, "--alphabet", 1], "--alphabet"),
    (["verify", "match3", "--N", 20, "--alphabet", 7, "--mode", "exhaustive"], "limit"),
    (["verify", "rnn", "index", "--N", 8], "odd length"),
    (["verify", "rnn", "induction", "--N", 6, "--k", 3], "--k"),
    (["verify", "rnn", "hop", "--N", 30, "--alphabet", 4, "--mode", "exhaustive"], "limit"),
    (["search", "width", "qsa", "--N", 1, "--q", 1], "--N"),
    (["search", "width", "qsa", "--N", 8, "--q", 2, "--theta", 1.5], "--theta"),
])
def test_bad_input_is_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2 and r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and needle in r.err and "Traceback" not in r.err


def test_budget_gives_unknown(cli):
    r = cli("verify", "match2", "--N", 7, "--alphabet", 6, "--budget", "0.000001", "--json")
    assert r.code == 3 and r.json["verdict"] == "unknown"


def test_search_width_reports_the_least_working_width(cli):
    j = cli("search", "width", "qsa", "--N", 10, "--q", 2, "--json").json
    assert j["found"] and j["subsets"] == 45
    rand, moment = j["rows"]
    assert rand["m"] >= 2 and rand["m_minus_1_fails"] and rand["ratio"] == pytest.approx(rand["m"] / rand["q_log2_N"], rel=1e-3)
    assert moment["m"] == 5 and moment["certificates_ok"]
    assert cli("search", "width", "qsa", "--N", 10, "--q", 2, "--budget", "0.000001").code == 3


def test_commands_import_neither_sympy_nor_z3():
    code = ("import sys; from attncheck.cli.main import main\n"
            "for args in (['verify', 'qsa', '--N', '6', '--q', '2', '--json'],"
            " ['verify', 'rnn', 'induction', '--N', '5', '--json'],"
            " ['search', 'width', 'qsa', '--N', '6', '--q', '1', '--json']):\n"
            "    try: main(args)\n"
            "    except SystemExit: pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('z3', 'sympy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "LOADED []"
