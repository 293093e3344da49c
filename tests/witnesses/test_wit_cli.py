"""CLI contract of 'witness' and 'reduction': JSON keys, exit codes, one-line errors."""
import subprocess
import sys

import pytest

VERDICT_KEYS = {"verdict", "method", "claim", "cases", "reason", "counterexample", "evidence"}
ENVELOPE = {"schema", "command", "params", "seed", "versions", "timing"}


def test_rnn_states_json_lists_every_cut(cli):
    r = cli("witness", "rnn-states", "induction", "--N", 7, "--alphabet", 3, "--json")
    assert r.code == 0, r.err
    j = r.json
    assert VERDICT_KEYS | ENVELOPE <= set(j) and j["verdict"] == "verified"
    assert [c["t"] for c in j["cuts"]] == list(range(8))
    assert j["max_classes"] == max(c["classes"] for c in j["cuts"])
    assert j["bits"] == (j["max_classes"] - 1).bit_length() and j["log2"] <= j["bits"]
    assert j["theorem"] == "sht23.rnn-ih" and "sht23.rnn-ih [R]" in j["claim"]


def test_json_is_reproducible_apart_from_timing(cli):
    args = ("witness", "one-way-cc", "hop", "--N", 8, "--alphabet", 2, "--json")
    a, b = cli(*args).json, cli(*args).json
    a.pop("timing"), b.pop("timing")
    assert a == b


def test_one_way_cc_reports_rows_bits_and_split(cli):
    j = cli("witness", "one-way-cc", "induction", "--N", 9, "--alphabet", 3, "--json").json
    assert j["split"] == "interleaved" and j["alice"] == [2, 4, 6, 8]
    assert j["bits"] == (j["rows"] - 1).bit_length()
    assert j["bound"]["theorem"] == "sht24b.one-layer-ih-lb"
    j = cli("witness", "one-way-cc", "hop", "--N", 9, "--alphabet", 2, "--json").json
    assert j["split"] == "block" and j["params"]["k"] == 2


def test_human_output_prints_theorem_ids(cli):
    r = cli("witness", "rank", "disj", "--q", 4)
    assert r.code == 0 and "sht23.thm4 [S]" in r.out and "16 of at most 16" in r.out
    r = cli("witness", "ngram", "--order", 2, "--N", 5, "--alphabet", 2)
    assert r.code == 0 and "ngram.ih [R]" in r.out
    r = cli("reduction", "list")
    assert r.code == 0 and "sht24a.cor4_3" in r.out


@pytest.mark.parametrize("args,needle", [
    (("witness", "rnn-states", "induction", "--N", 1), "--N"),
    (("witness", "rnn-states", "hop", "--N", 30, "--alphabet", 4), "cap"),
    (("witness", "one-way-cc", "induction", "--N", 6, "--split", "zigzag"), "unknown split"),
    (("witness", "rank", "disj", "--q", 40), "size"),
    (("reduction", "check", "nope"), "unknown reduction"),
    (("reduction", "check", "index-ih", "--q", 3), "not --q"),
])
def test_bad_input_is_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2 and needle in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err


def test_budget_spent_is_unknown_exit_3(cli):
    r = cli("witness", "rnn-states", "hop", "--N", 9, "--alphabet", 3, "--budget", 1e-9, "--json")
    assert r.code == 3 and r.json["verdict"] == "unknown" and "budget" in r.json["reason"]


def test_reduction_exit_codes(cli):
    r = cli("reduction", "check", "pointer-hop", "--q", 2, "--k", 2, "--json")
    assert r.code == 0 and r.json["verdict"] == "verified" and r.json["cases"] == 16
    r = cli("reduction", "check", "cycle-gluing", "--variant", "paper", "--json")
    assert r.code == 1 and r.json["counterexample"]["explanation"]["graph"] in ("C1", "C2")
    r = cli("reduction", "check", "cycle-gadget", "--k", 6, "--samples", 20, "--json")
    assert r.code == 3 and r.json["method"] == "sample"


@pytest.mark.parametrize("rid", ["index-ih", "index-stream", "pointer-hop", "cycle-gadget", "disj-qsa",
                                 "cycle-gluing"])
def test_reduction_verdict_line_names_sizes_and_instances(cli, rid):
    """Issue 13: the verdict line says which sizes were checked, e.g. '(n = 10; 10,240 instances)'."""
    r = cli("reduction", "check", rid, "--json")
    assert r.code == 0
    sizes = "; ".join([", ".join(f"{k} = {v}" for k, v in r.json["evidence"]["params"].items() if v is not None),
                       f"{r.json['evidence']['instances']:,} instances"])
    assert r.json["claim"].endswith(f"({sizes})")
    assert cli("reduction", "check", rid).out.splitlines()[0].endswith(f"({sizes})")


def test_witness_table_markdown_and_latex_are_one_table(cli):
    md = cli("witness", "table", "--N", "3", "--markdown").out.splitlines()
    assert len(md) == 3 and md[0].startswith("| N | ih states")
    tex = cli("witness", "table", "--N", "3", "--latex").out
    assert tex.startswith("\\begin{tabular}") and tex.rstrip().endswith("\\end{tabular}")


def test_witness_table_small(cli):
    r = cli("witness", "table", "--N", "3,5", "--json")
    assert r.code == 0
    cells = r.json["cells"]
    assert len(cells) == 2 * 8
    ih5 = next(c for c in cells if c["task"] == "induction" and c["N"] == 5 and c["alphabet"] == "marker")
    assert ih5["state_bits"] == 2 and ih5["oneway_bits"] == 2


def test_witness_module_imports_neither_z3_nor_sympy():
    code = ("import sys, attncheck.cli.witness;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('z3', 'sympy', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
