"""One contract for every command (issue 14): option names, the parameter object, the JSON
``params`` keys, old spellings kept as hidden aliases, the JSON error object, the verdict key,
one way to print a counterexample, and the hop mechanism rule living in verifiers/.

Commands are found by introspection (tests/fuzz/cli_harness.py), so a new command or option is
held to the table of docs/cli.md without editing this file.
"""
from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path

import click
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
import cli_harness as H  # noqa: E402

from attncheck.cli.params import NOT_IN_JSON, AliasOption  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
LEAVES = [leaf for entry in H.entries() for leaf in H.leaves(entry)]


def long_name(p: click.Option) -> str:
    return next(o for o in p.opts if o.startswith("--"))


def json_keys(leaf) -> set[str]:
    """The ``params`` keys a command must print: its options and arguments, by name."""
    return {p.name.rstrip("_") for p in leaf.command.params
            if p.expose_value and not isinstance(p, AliasOption) and p.name not in NOT_IN_JSON}


def without_timing(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "timing"}


# --- 1. names: click name = option name = parameter field = JSON key -----------------------------
@pytest.mark.parametrize("leaf", LEAVES, ids=lambda l: l.name)
def test_click_name_is_the_option_name(leaf):
    for p in leaf.options:
        if isinstance(p, AliasOption) or not p.expose_value or p.name == "help":
            continue
        want = long_name(p).lstrip("-").replace("-", "_")
        assert p.name in (want, want + "_"), f"{leaf.name}: {long_name(p)} is read as {p.name!r}"


def documented_options() -> tuple[set[str], set[str]]:
    """Option spellings in the name table and in the old-spelling table of docs/cli.md."""
    text = DOCS.read_text(encoding="utf-8")
    names, old = text.split("## Old spellings", 1)
    pick = lambda part: set(re.findall(r"(?<![\w-])(--[A-Za-z][\w-]*)", part))      # noqa: E731
    return pick(names), pick(old.split("\n## ", 1)[0])


def test_every_option_is_in_the_table_of_docs_cli_md():
    names, old = documented_options()
    missing, undocumented_aliases = set(), set()
    for leaf in LEAVES:
        for p in leaf.options:
            if isinstance(p, AliasOption):
                if p.old not in old:
                    undocumented_aliases.add(f"{leaf.name} {p.old}")
            elif p.name != "help":
                for o in p.opts + p.secondary_opts:
                    if o.startswith("--") and o not in names:
                        missing.add(f"{leaf.name} {o}")
    assert not missing, f"options missing from the table of docs/cli.md: {sorted(missing)}"
    assert not undocumented_aliases, f"old spellings missing from docs/cli.md: {sorted(undocumented_aliases)}"


def test_old_spellings_are_hidden_from_help(cli):
    for argv, old in [(("verify", "match2"), "--M"), (("witness", "table"), "--Ns"), (("witness", "ngram"), "--n"),
                      (("smt", "one-layer"), "--bits"), (("smt", "comm"), "--B"), (("bounds", "table"), "--p"),
                      (("mpc", "covering"), "--b"), (("verify", "qsa"), "--eps")]:
        text = cli(*argv, "--help").out
        assert f" {old} " not in text and f" {old}," not in text, (argv, old)


# --- 2. JSON params keys equal option names ------------------------------------------------------
RUNS = [
    ("verify", "induction", "--N", "5"),
    ("verify", "hop", "--k", "2", "--N", "5", "--mechanism-inputs", "2"),
    ("run", "induction", "--input", "abcab"),
    ("build", "induction", "--N", "6"),
    ("verify", "match2", "--N", "4", "--alphabet", "3"),
    ("verify", "qsa", "--N", "6", "--q", "2"),
    ("verify", "rnn", "induction", "--N", "5"),
    ("witness", "ngram", "--order", "2", "--N", "5", "--alphabet", "2"),
    ("witness", "table", "--N", "3,5"),
    ("reduction", "check", "index-ih", "--n", "4"),
    ("smt", "comm", "induction", "--N", "5", "--alphabet", "2"),
    ("bounds", "table", "--N", "16", "--k", "2", "--no-measure", "--only", "sht24a.thm4_2"),
    ("mpc", "covering", "--rows", "4", "--set-size", "1", "--trials", "2"),
    ("depth", "hop", "--k-max", "1", "--N", "4"),
    ("theorems", "sht24a.thm4_2"),
]


def leaf_of(argv) -> H.Leaf:
    for leaf in LEAVES:
        if tuple(argv[:len(leaf.path)]) == leaf.path:
            return leaf
    raise AssertionError(f"no command for {argv}")


@pytest.mark.parametrize("argv", RUNS, ids=" ".join)
def test_json_params_keys_are_the_option_names(cli, argv):
    r = cli(*argv, "--json")
    assert r.code in (0, 1, 3), r.err
    params = r.json["params"]
    assert set(params) == json_keys(leaf_of(argv))
    assert not {"as_json", "json", "precision_used"} & set(params)
    assert "n" not in params or argv[:2] == ("reduction", "check")      # the reduction's own size n
    assert "verdict" in r.json


def test_sequence_length_is_N_in_every_params_object(cli):
    for argv in RUNS:
        leaf = leaf_of(argv)
        if any(long_name(p) == "--N" for p in leaf.options if not isinstance(p, AliasOption)):
            assert "N" in json_keys(leaf), leaf.name


# --- 3. old spellings still work and mean the same ------------------------------------------------
ALIASES = [
    (("verify", "match2", "--N", "5", "--M", "5"), ("verify", "match2", "--N", "5", "--alphabet", "5")),
    (("verify", "match3", "--N", "3", "--M", "4"), ("verify", "match3", "--N", "3", "--alphabet", "4")),
    (("witness", "table", "--Ns", "3,5"), ("witness", "table", "--N", "3,5")),
    (("witness", "ngram", "--n", "2", "--N", "5"), ("witness", "ngram", "--order", "2", "--N", "5")),
    (("smt", "one-layer", "induction", "--N", "3", "--alphabet", "2", "--D", "1", "--bits", "3", "--frac", "1"),
     ("smt", "one-layer", "induction", "--N", "3", "--alphabet", "2", "--head-width", "1", "--precision",
      "fixed:2.1")),
    (("smt", "comm", "induction", "--N", "5", "--alphabet", "3", "--B", "3"),
     ("smt", "comm", "induction", "--N", "5", "--alphabet", "3", "--message-bits", "3")),
    (("bounds", "table", "--N", "64", "--p", "6", "--no-measure", "--only", "sht24b.one-layer-ih-lb"),
     ("bounds", "table", "--N", "64", "--word-bits", "6", "--no-measure", "--only", "sht24b.one-layer-ih-lb")),
    (("verify", "qsa", "--N", "8", "--q", "2", "--m", "4", "--eps", "0.25"),
     ("verify", "qsa", "--N", "8", "--q", "2", "--head-width", "4", "--accuracy", "0.25")),
    (("search", "width", "qsa", "--N", "6", "--q", "1", "--m-max", "8"),
     ("search", "width", "qsa", "--N", "6", "--q", "1", "--head-width-max", "8")),
    (("mpc", "covering", "--n", "4", "--n", "6", "--b", "2", "--trials", "2"),
     ("mpc", "covering", "--rows", "4,6", "--set-size", "2", "--trials", "2")),
]


@pytest.mark.parametrize("old,new", ALIASES, ids=lambda a: " ".join(a))
def test_old_spelling_gives_the_same_json_as_the_new_one(cli, old, new):
    a, b = cli(*old, "--json"), cli(*new, "--json")
    assert a.code == b.code and a.code in (0, 1, 3), (a.err, b.err)
    assert without_timing(a.json) == without_timing(b.json)


def test_match2_takes_the_alphabet(cli):
    r = cli("verify", "match2", "--N", "5", "--alphabet", "5", "--json")
    assert r.code == 0, r.err
    assert r.json["params"]["alphabet"] == 5 and r.json["verdict"] == "verified"


def test_old_and_new_spelling_together_is_one_error_line(cli):
    r = cli("verify", "match2", "--N", "4", "--M", "3", "--alphabet", "3")
    assert r.code == 2 and r.err.count("\n") == 1 and "--M" in r.err and "--alphabet" in r.err


def test_library_messages_name_the_spelling_typed(cli):
    new = cli("verify", "match2", "--N", "4", "--alphabet", "1")
    old = cli("verify", "match2", "--N", "4", "--M", "1")
    assert new.code == old.code == 2
    assert "--alphabet" in new.err and "--M" not in new.err
    assert old.err == new.err.rstrip("\n") + " (--M is the old spelling of --alphabet)\n"
    other = cli("verify", "match2", "--N", "1", "--M", "3")            # the error is not about --M
    assert other.code == 2 and "--M" not in other.err and "old spelling" not in other.err


def test_library_code_names_no_retired_spelling():
    """Library messages use the new names (docs/cli.md); the old spellings that are no longer
    any command's option appear only where cli/ declares them as aliases."""
    names, _ = documented_options()
    section = DOCS.read_text(encoding="utf-8").split("## Old spellings", 1)[1].split("\n## ", 1)[0]
    old = {o for row in re.findall(r"^\| (.*?) \|", section, flags=re.M)
           for o in re.findall(r"(?<![\w-])(--[A-Za-z][\w-]*)", row)}            # first column
    retired = sorted(old - names)
    assert "--M" in retired and "--bits" in retired and "--m-max" in retired
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, retired)) + r")(?![\w-])")
    found = [f"{path.relative_to(root)}:{i}: {line.strip()}"
             for layer in ("constructions", "verifiers", "bounds")
             for path in sorted((root / layer).rglob("*.py"))
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert not found, found


def test_match_without_alphabet_is_a_missing_option(cli):
    r = cli("verify", "match2", "--N", "4")
    assert r.code == 2 and r.err.count("\n") == 1 and "--alphabet" in r.err


@pytest.mark.parametrize("argv,values", [
    (("bounds", "sweep", "sht24a.thm4_2", "--N", "16,32", "--k", "2"), [16, 32]),
    (("bounds", "sweep", "sht24a.thm4_2", "--N", "16..64", "--k", "2"), [16, 32, 64]),
    (("witness", "table", "--N", "3..7:+2"), [3, 5, 7]),
    (("witness", "table", "--N", "5"), [5]),
])
def test_one_range_syntax(cli, argv, values):
    r = cli(*argv, "--json")
    assert r.code == 0, r.err
    assert r.json["params"]["N"] == values


def test_bad_range_is_one_line(cli):
    r = cli("witness", "table", "--N", "5,x")
    assert r.code == 2 and r.err.count("\n") == 1 and "5,x" in r.err


# --- 4. --json errors are one JSON object too -----------------------------------------------------
@pytest.mark.parametrize("argv,command", [
    (("verify", "induction", "--N", "1"), "verify induction"),
    (("verify", "induction", "--N", "8", "--precision", "banana"), "verify induction"),
    (("verify", "match2", "--N", "4", "--alphabet", "1"), "verify match2"),
    (("bounds", "sweep", "sht24a.thm4_2", "--N", "4096..16"), "bounds sweep"),
    (("witness", "table", "--N", "3", "--markdown"), "witness table"),
    (("verify", "nosuchtask"), "verify"),
])
def test_error_under_json_prints_one_error_object(cli, argv, command):
    r = cli(*argv, "--json")
    assert r.code == 2
    line = r.err.strip()
    assert r.err.count("\n") == 1 and line.startswith("attncheck: error: ")
    obj = json.loads(r.out)
    assert obj["schema"] == 1 and obj["command"] == command
    assert obj["verdict"] == "error" and obj["exit_code"] == 2
    assert obj["error"] == line[len("attncheck: error: "):]


def test_brief_example_induction_N1(cli):
    r = cli("verify", "induction", "--N", "1", "--json")
    assert r.code == 2 and r.json["verdict"] == "error" and "N" in r.json["error"]


def test_error_without_json_prints_nothing_on_stdout(cli):
    r = cli("verify", "induction", "--N", "1")
    assert r.code == 2 and r.out == ""


# --- 5. counterexamples print one way ---------------------------------------------------------
REFUTATIONS = [
    ("verify", "induction", "--N", "5", "--variant", "paper"),
    ("verify", "hop", "--k", "3", "--N", "8", "--alphabet", "2", "--variant", "paper", "--paper-part",
     "recursion", "--mode", "exhaustive"),
    ("run", "induction", "--input", "aaaaaaaa", "--variant", "paper"),
    ("verify", "match2", "--N", "4", "--alphabet", "5", "--variant", "no-threshold"),
    ("verify", "qsa", "--N", "8", "--q", "2", "--head-width", "4"),
    ("verify", "rnn", "hop", "--N", "6", "--k", "2", "--layers", "1"),
    ("verify", "mpc", "cycles", "--N", "6", "--mode", "sample", "--samples", "2", "--corrupt", "fields"),
    ("reduction", "check", "cycle-gluing", "--n", "4", "--N", "12", "--variant", "paper"),
    ("smt", "certify", "induction", "--N", "3", "--alphabet", "3", "--variant", "paper"),
]


@pytest.mark.parametrize("argv", REFUTATIONS, ids=" ".join)
def test_counterexamples_print_the_same_way_everywhere(cli, argv):
    r = cli(*argv)
    assert r.code == 1, r.err
    lines = [l.strip() for l in r.out.splitlines()]
    first = next(i for i, l in enumerate(lines) if l.startswith("counterexample "))
    head = lines[first]
    assert re.match(r"counterexample (input|pointer set|instance): \S", head), head
    shown = " ".join(lines[first:first + 2])
    assert not re.search(r"None|\[|\]|'\w+'", shown), shown          # no Python repr
    j = cli(*argv, "--json").json
    ce = j["counterexample"]
    assert all(isinstance(t, int) for t in ce["tokens"])


def test_symbols_are_letters_and_no_match_is_bottom(cli):
    r = cli("verify", "induction", "--N", "5", "--variant", "paper")
    assert "counterexample input: a a a a a" in r.out and "expected ⊥, got a" in r.out
    j = cli("verify", "induction", "--N", "5", "--variant", "paper", "--json").json
    assert j["counterexample"]["tokens"] == [0] * 5 and j["counterexample"]["expected"] is None


def test_refutation_says_what_cases_counts(cli):
    r = cli("verify", "induction", "--N", "5", "--variant", "paper")
    assert "cases: 1 (inputs checked up to and including the first counterexample)" in r.out
    j = cli("verify", "induction", "--N", "5", "--variant", "paper", "--json").json
    assert j["cases"] == 1 and "first counterexample" in j["evidence"]["cases_count"]


def test_run_refutation_has_a_verdict_and_agreement_has_none(cli):
    bad = cli("run", "induction", "--input", "aaaaaaaa", "--variant", "paper", "--json")
    good = cli("run", "induction", "--input", "abcab", "--json")
    assert bad.code == 1 and bad.json["verdict"] == "refuted" and bad.json["counterexample"]["position"] == 1
    assert good.code == 0 and good.json["verdict"] is None and good.json["counterexample"] is None


# --- 6. the hop mechanism rule lives in verifiers/ ------------------------------------------------
def test_hop_demotion_rule_is_a_verifier_function():
    from attncheck.constructions.verdict import Method, Status, Verdict
    from attncheck.verifiers.mechanism import with_mechanism
    ok = Verdict(Status.VERIFIED, Method.CERTIFICATE, "claim", "3^8", "fine")
    bad_mech = {"skipped": None, "ok": False, "heads": []}
    skipped = {"skipped": "no probe inputs requested", "ok": False, "heads": []}
    demoted = with_mechanism(ok, bad_mech, residual_modes=[])
    assert demoted.status is Status.UNKNOWN and "mechanism" in demoted.reason
    assert demoted.evidence["mechanism"] is bad_mech and demoted.evidence["residual_modes"] == []
    assert with_mechanism(ok, skipped).status is Status.VERIFIED
    refuted = Verdict(Status.REFUTED, Method.EXHAUSTIVE, "claim", 1)
    assert with_mechanism(refuted, bad_mech).status is Status.REFUTED


def test_hop_commands_decide_no_verdict_themselves():
    from attncheck.cli import hop_cmds
    src = inspect.getsource(hop_cmds)
    assert "Status." not in src and "with_mechanism" in src


# --- 7. the sequence-task commands are built from short functions ----------------------------------
def test_cli_functions_and_files_are_short():
    import ast
    root = Path(__file__).resolve().parents[2] / "cli"
    for path in root.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 400, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno < 80, f"{path.name}: {node.name}"
