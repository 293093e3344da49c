"""The CLI contract for the induction commands: exit codes, one-line errors, JSON keys."""
import json

import pytest

from attncheck.constructions.verdict import JSON_SCHEMA

VERIFY_KEYS = {"schema", "command", "params", "verdict", "method", "claim", "cases", "reason",
               "counterexample", "evidence", "construction", "seed", "versions", "timing"}


def test_main_job_verifies_by_certificate(cli):
    r = cli("verify", "induction", "--N", 64, "--json")
    assert r.code == 0, r.err
    j = r.json
    assert VERIFY_KEYS <= set(j)
    assert j["schema"] == JSON_SCHEMA and j["verdict"] == "verified" and j["method"] == "certificate"
    assert j["cases"] == "3^64" and j["counterexample"] is None
    c = j["construction"]
    assert (c["layers"], c["heads"], c["width"]) == (2, 1, 13)
    used = j["format"]
    assert used.startswith("fixed:") and c["format"] == used
    assert c["bits"] == sum(int(b) for b in used.split(":")[1].split("."))


def test_human_output_names_theorem_and_status(cli):
    r = cli("verify", "induction", "--N", 16)
    assert r.code == 0
    assert "VERIFIED" in r.out and "sht24b.two-layer-ub" in r.out and "[R]" in r.out
    assert "fixed:" in r.out   # the format is always printed


def test_auto_mode_enumerates_small_cases(cli):
    j = cli("verify", "induction", "--N", 6, "--json").json
    assert j["method"] == "exhaustive" and j["cases"] == 3 ** 6


def test_paper_variant_refuted_exit_1(cli):
    r = cli("verify", "induction", "--N", 5, "--variant", "paper", "--json")
    assert r.code == 1
    ce = r.json["counterexample"]
    assert ce["explanation"]["replayed"] and len(ce["tokens"]) == 5


def test_sample_never_verifies(cli):
    r = cli("verify", "induction", "--N", 32, "--mode", "sample", "--samples", 50, "--json")
    assert r.code == 3 and r.json["verdict"] == "unknown" and r.json["method"] == "sample"


@pytest.mark.parametrize("args,needle", [
    (["--N", 1], "N must be"),
    (["--N", 4, "--alphabet", 9], "alphabet 9 > N"),
    (["--N", 4, "--alphabet", 1], "alphabet must be"),
    (["--N", 64, "--encoding", "random", "--D", 3], "too small"),
    (["--N", 8, "--precision", "fixed:8"], "precision"),
    (["--N", 8, "--precision", "banana"], "precision"),
    (["--N", 40, "--mode", "exhaustive"], "exceeds"),
    (["--N", 12, "--mode", "exhaustive", "--budget", "0.001"], "budget"),
    (["--N", "x"], "not a valid integer"),
    (["--N", 8, "--budget", "-1"], "budget"),
    (["--N", 8, "--mode", "banana"], "banana"),
])
def test_bad_input_is_one_line_exit_2(cli, args, needle):
    r = cli("verify", "induction", *args)
    assert r.code == 2, (r.out, r.err)
    lines = [l for l in r.err.splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.err


def test_unknown_task_exit_2(cli):
    r = cli("verify", "nosuchtask", "--N", 8)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


def test_run_reports_outputs_truth_and_attention(cli):
    r = cli("run", "induction", "--input", "abcab", "--json")
    assert r.code == 0
    j = r.json
    assert j["outputs"] == [None, None, None, 1, 2] == j["truth"] and j["correct"]
    assert j["attention_argmax"][0] == [0, 1, 2, 3, 4]        # previous token
    assert cli("run", "induction", "--input", "0,1,0", "--json").json["outputs"] == [None, None, 1]
    assert cli("run", "induction", "--input", "abz").code == 2
    assert cli("run", "induction", "--input", "abc", "--N", 5).code == 2


def test_build_save_load_roundtrip(cli, tmp_path):
    from attncheck.constructions.io import load_construction
    from attncheck.verifiers.certificate import certify
    path = tmp_path / "ih.npz"
    r = cli("build", "induction", "--N", 12, "--alphabet", 4, "--out", path, "--json")
    assert r.code == 0 and r.json["construction"]["width"] == 13
    c = load_construction(str(path))
    assert certify(c, "induction", {}, c.fmt).status.value == "verified"
    path.write_bytes(path.read_bytes()[:200])
    from attncheck.constructions.verdict import BadInput
    with pytest.raises(BadInput):
        load_construction(str(path))
    assert cli("build", "induction", "--N", 8, "--out", "/nonexistent/dir/x.npz").code == 2


def test_precision_finds_a_minimum_that_verifies(cli):
    r = cli("precision", "induction", "--N", 16, "--json")
    assert r.code == 0
    j = r.json
    I, F = j["int_bits"], j["frac_bits"]
    probes = {p["format"]: p["verdict"] for p in j["probes"]}
    assert probes[f"fixed:{I}.{F}"] == "verified"
    assert probes.get(f"fixed:{I}.{F - 1}") == "unknown" and probes.get(f"fixed:{I - 1}.{F}") == "unknown"
    assert j["bits"] <= int(j["declared"].split(":")[1].split(".")[0]) + int(j["declared"].split(".")[1])


def test_json_is_reproducible_apart_from_timing(cli):
    a = cli("verify", "induction", "--N", 20, "--json").json
    b = cli("verify", "induction", "--N", 20, "--json").json
    a.pop("timing"), b.pop("timing")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
