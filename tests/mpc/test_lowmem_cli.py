"""CLI contract of ``verify mpc ALGO --delta D`` and ``mpc compile --delta``."""
import pytest


def test_rounds_table_json(cli):
    r = cli("verify", "mpc", "prefix", "--N", "16,64", "--delta", "0.5", "--samples", "3", "--json")
    assert r.code == 3, r.err                                  # N = 64 is sampled at the protocol level
    rows = r.json["evidence"]["rows"]
    assert [(x["N"], x["s"], x["rounds"]) for x in rows] == [(16, 4, 5), (64, 8, 5)]
    assert rows[0]["verdict"] == "verified" and rows[1]["verdict"] == "unknown"
    assert r.json["params"]["N"] == [16, 64] and r.json["params"]["delta"] == "0.5"


def test_one_compiled_N_with_delta_runs_side_by_side(cli):
    r = cli("verify", "mpc", "sort", "--N", "16", "--delta", "1/2", "--json")
    assert r.code == 0, r.err
    assert r.json["s"] == 4 and r.json["construction"]["rounds"] == 6
    assert r.json["method"] == "certificate" and r.json["evidence"]["certificate"]["ok"] is True


def test_msf_defaults_to_delta_one_half(cli):
    r = cli("verify", "mpc", "msf", "--N", "6", "--samples", "5", "--json")
    assert r.code == 0, r.err
    assert r.json["verdict"] == "verified" and r.json["s"] == 3


def test_compile_with_delta(cli):
    r = cli("mpc", "compile", "components", "--N", "8", "--delta", "0.5", "--json")
    assert r.code == 0, r.err
    assert r.json["construction"]["layers"] == r.json["construction"]["rounds"] + 1


@pytest.mark.parametrize("args, needle", [
    (("verify", "mpc", "prefix", "--N", "16", "--delta", "0.5", "--s", "4"), "--s and --delta"),
    (("verify", "mpc", "prefix", "--N", "16,32"), "needs --delta"),
    (("verify", "mpc", "prefix", "--N", "16", "--delta", "1"), "strictly between 0 and 1"),
    (("verify", "mpc", "cycles", "--N", "16", "--delta", "0.5"), "no low-memory protocol"),
    (("verify", "mpc", "components", "--N", "4", "--delta", "0.5"), "s >= 3"),
    (("mpc", "compile", "sort", "--N", "16", "--delta", "0.5", "--s", "4"), "--s and --delta"),
])
def test_bad_input_is_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2 and needle in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_reach_exhaustive_at_N5(cli):
    r = cli("verify", "mpc", "reach", "--N", "5", "--json")
    assert r.code == 0, r.err
    assert r.json["method"] == "exhaustive" and r.json["cases"] == 638
    assert r.json["construction"]["rounds"] == 16            # K = ceil(log2 4) = 2 squarings


def test_reach_with_a_diameter_promise(cli):
    r = cli("verify", "mpc", "reach", "--N", "16,32", "--diameter", "4", "--samples", "2", "--json")
    assert r.code == 3, r.err                       # protocol-only rows (the transformer does not fit)
    assert [x["rounds"] for x in r.json["evidence"]["rows"]] == [22, 22]


@pytest.mark.parametrize("args, needle", [
    (("verify", "mpc", "sort", "--N", "16", "--delta", "0.5", "--diameter", "3"), "promise of reach"),
    (("verify", "mpc", "reach", "--N", "8", "--diameter", "9"), "exceeds N - 1"),
    (("verify", "mpc", "reach", "--N", "8", "--diameter", "0"), "--diameter must be >= 1"),
])
def test_diameter_misuse_is_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2 and needle in r.err and len(r.err.strip().splitlines()) == 1, r.err
