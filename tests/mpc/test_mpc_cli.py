"""CLI contract for the mpc commands: exit codes, one JSON object, one-line errors."""
import pytest


def test_verify_mpc_cycles_exhaustive_json(cli):
    r = cli("verify", "mpc", "cycles", "--N", "6", "--json")
    assert r.code == 0, r.err
    j = r.json
    assert j["verdict"] == "verified" and j["method"] == "exhaustive" and j["cases"] == 70
    assert j["construction"]["layers"] == j["construction"]["rounds"] + 1
    assert j["log2_N"] == pytest.approx(2.584963)
    assert set(j) >= {"schema", "command", "params", "claim", "evidence", "seed", "versions", "timing"}


def test_verify_mpc_corrupted_head_exit_1(cli):
    r = cli("verify", "mpc", "cycles", "--N", "6", "--mode", "sample", "--samples", "2",
            "--corrupt", "fields")
    assert r.code == 1 and "REFUTED" in r.out and "counterexample input" in r.out


@pytest.mark.parametrize("args, needle", [
    (("verify", "mpc", "cycles", "--N", "7"), "N must be even"),
    (("verify", "mpc", "cycles", "--N", "1"), "--N must be >= 2"),
    (("verify", "mpc", "cycles", "--N", "8", "--s", "2"), "sends 3 words, limit s = 2"),
    (("verify", "mpc", "cycles", "--N", "8", "--hashing", "random"), "--slots"),
    (("verify", "mpc", "cycles", "--N", "12", "--mode", "exhaustive"), "instances through"),
    (("mpc", "covering", "--rows", "64", "--set-size", "4"), "limit is 200000"),
    (("mpc", "covering", "--rows", "4", "--set-size", "5"), "1 <= b <= n (--set-size), got n=4, b=5"),
    (("verify", "mpc", "cycles", "--N", "1000000000", "--budget", "1"), "dense head weights"),
    (("verify", "mpc", "sort", "--N", "1000000000"), "dense head weights"),
])
def test_bad_input_is_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2 and needle in r.err and len(r.err.strip().splitlines()) == 1


def test_compile_reports_sizes(cli):
    r = cli("mpc", "compile", "cycles", "--N", "16", "--json")
    assert r.code == 0
    c = r.json["construction"]
    assert c["layers"] == 6 and c["heads"] == 1 and c["hashing"]["kind"] == "onehot"
    assert r.json["paper"]["fact_b2_slots"] > c["slots"]
    r = cli("mpc", "compile", "cycles", "--N", "16")
    assert "layers L = R + 1" in r.out and "log2 N = 4" in r.out


def test_covering_and_reverse_commands(cli):
    r = cli("mpc", "covering", "--rows", "6", "--set-size", "2", "--trials", "4", "--json")
    assert r.code == 0 and r.json["evidence"]["rows"][0]["exact_d"] == 4
    r = cli("mpc", "reverse", "--N", "3", "--json")
    assert r.code == 0 and r.json["verdict"] == "verified"
    r = cli("mpc", "reverse", "--N", "9", "--samples", "1")
    assert r.code == 3 and "UNKNOWN" in r.out


def test_budget_gives_unknown_exit_3_and_huge_compiles_are_refused(cli):
    r = cli("verify", "mpc", "cycles", "--N", "8", "--budget", "0.01", "--json")
    assert r.code == 3 and r.json["verdict"] == "unknown" and "budget" in r.json["reason"]
    r = cli("mpc", "compile", "cycles", "--N", "100000")
    assert r.code == 2 and "dense head weights" in r.err
