"""The rough edges a new user hits (issue 13): bare groups, ``help``, typo suggestions, exit codes
of ``run``, exactly one stderr line for bad input, per-command ``--mode`` choices, ``--precision``
messages, defaults at the minimum sizes, ``run --from`` on a prefix, reduction sizes, table
formats and progress bars.

Every case drives the real entry point (``attncheck.cli.main.main``) in-process.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
import time
import warnings

import click
import pytest

from attncheck.cli.main import COMMANDS, cli as root_cli


def groups() -> list[tuple[str, ...]]:
    """Every click group reachable from ``attncheck`` (the root included), as command paths."""
    out = [()]
    for name, (mod, attr, _) in COMMANDS.items():
        if importlib.util.find_spec(mod) is None:
            continue
        cmd = getattr(importlib.import_module(mod), attr)
        if isinstance(cmd, click.Group):
            out.append((name,))
    return out


def subcommands(path: tuple[str, ...]) -> list[str]:
    group = root_cli
    ctx = click.Context(root_cli, info_name="attncheck")
    for name in path:
        group = group.get_command(ctx, name)
        ctx = click.Context(group, info_name=name, parent=ctx)
    return group.list_commands(ctx)


def one_error_line(r) -> str:
    """Exit 2 with exactly one non-empty stderr line (no blank line before or after it)."""
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.err.endswith("\n") and r.err.count("\n") == 1, repr(r.err)
    assert r.err.strip() and "Traceback" not in r.err, repr(r.err)
    return r.err.strip()


# --- 1. bare groups print their help and exit 0 ----------------------------------------------
@pytest.mark.parametrize("path", groups(), ids=lambda p: " ".join(p) or "attncheck")
def test_bare_group_prints_multiline_help_to_stdout(cli, path):
    r = cli(*path)
    assert r.code == 0, r.err
    assert r.err == ""
    assert r.out.startswith(f"Usage: {' '.join(('attncheck',) + path)} ")
    assert r.out.count("\n") > 5 and "Commands:" in r.out
    assert r.out == cli(*path, "--help").out


def test_every_group_uses_the_shared_group_class():
    """One mechanism for bare groups and typos: every group is a LazyGroup."""
    from attncheck.cli.main import LazyGroup
    ctx = click.Context(root_cli, info_name="attncheck")
    for path in groups():
        group = root_cli
        for name in path:
            group = group.get_command(ctx, name)
        assert isinstance(group, LazyGroup), path


# --- 2. attncheck help [COMMAND ...] ------------------------------------------------------------
@pytest.mark.parametrize("path", [(), ("verify",), ("verify", "induction"), ("bounds", "table"),
                                  ("witness", "table"), ("help",)], ids=" ".join)
def test_help_command_prints_the_commands_help(cli, path):
    r = cli("help", *path)
    assert r.code == 0 and r.err == ""
    assert r.out == cli(*path, "--help").out


def test_help_is_listed_at_top_level(cli):
    assert re.search(r"^\s+help\s", cli("--help").out, re.M)


@pytest.mark.parametrize("argv,suggested", [(("verfy",), "verify"), (("verify", "inducton"), "induction"),
                                            (("bounds", "tabel"), "table")])
def test_help_of_an_unknown_command_suggests(cli, argv, suggested):
    line = one_error_line(cli("help", *argv))
    assert f"'{argv[-1]}'" in line and f"'{suggested}'" in line


def test_help_below_a_leaf_is_bad_input(cli):
    line = one_error_line(cli("help", "verify", "induction", "extra"))
    assert "extra" in line


# --- 3. typo suggestions at every level ----------------------------------------------------------
def _typo_cases():
    for path in groups():
        for name in subcommands(path):
            if len(name) >= 3:
                yield path, name
TYPO_CASES = list(_typo_cases())


@pytest.mark.parametrize("path,name", TYPO_CASES, ids=[" ".join(p + (n,)) for p, n in TYPO_CASES])
def test_mistyped_command_suggests_the_closest_name(cli, path, name):
    typo = name[:-2] + name[-1] if name[-2] != name[-1] else name[:-1]   # drop the next-to-last letter
    line = one_error_line(cli(*path, typo))
    assert f"'{typo}'" in line
    assert "did you mean" in line and f"'{name}'" in line


def test_hopeless_typo_lists_the_choices(cli):
    line = one_error_line(cli("verify", "zzzzzz"))
    assert "induction" in line and "hop" in line


# --- 4. run exits 1 when the outputs differ from the ground truth ------------------------------
@pytest.mark.parametrize("argv,code", [
    (("run", "induction", "--input", "aaaaaaaa", "--variant", "paper"), 1),
    (("run", "induction", "--input", "aaaaaaaa"), 0),
    (("run", "hop", "--k", "2", "--input", "aaaaaaaa", "--variant", "paper"), 1),
    (("run", "hop", "--k", "2", "--input", "aaaaaaaa"), 0),
])
def test_run_exit_code_says_whether_outputs_agree(cli, argv, code):
    r = cli(*argv)
    assert r.code == code, r.err
    assert ("differ from the ground truth" in r.out) == (code == 1)
    j = cli(*argv, "--json")
    assert j.code == code and j.json["correct"] == (code == 0)


# --- 5. exactly one stderr line for bad input (no blank line from the progress bar) -------------
BAD_INPUTS = [
    ("verify", "induction", "--N", "1"),
    ("verify", "induction", "--N", "8", "--mode", "sample", "--samples", "0"),
    ("verify", "induction", "--N", "12", "--mode", "exhaustive", "--budget", "0.001"),
    ("verify", "hop", "--k", "0", "--N", "8"),
    ("verify", "qsa", "--N", "4", "--q", "0"),
    ("verify", "match2", "--N", "3", "--alphabet", "1", "--mode", "sample", "--samples", "0"),
    ("verify", "rnn", "induction", "--N", "1"),
    ("run", "induction", "--input", "abz"),
    ("build", "induction", "--N", "0"),
    ("precision", "induction", "--N", "1"),
    ("witness", "rnn-states", "induction", "--N", "1"),
    ("witness", "table", "--N", "5,x"),
    ("reduction", "check", "nope"),
    ("reduction", "check", "index-ih", "--n", "0"),
    ("bounds", "table", "--N", "1"),
    ("bounds", "show", "nosuch"),
    ("smt", "one-layer", "induction", "--N", "1"),
    ("mpc", "covering", "--N", "0"),
    ("search", "width", "qsa", "--N", "1", "--q", "1"),
    ("depth", "hop", "--k-max", "0"),
    ("verify", "induction", "--N", "8", "--precision", "fixed:x"),
    ("verfy",),
]


@pytest.mark.parametrize("argv", BAD_INPUTS, ids=" ".join)
def test_bad_input_is_exactly_one_stderr_line(cli, argv):
    one_error_line(cli(*argv))


def test_successful_runs_leave_stderr_empty_when_not_interactive(cli):
    assert cli("verify", "induction", "--N", "5", "--mode", "exhaustive").err == ""
    assert cli("verify", "induction", "--N", "8", "--mode", "sample", "--samples", "20").err == ""


def test_progress_still_draws_on_an_interactive_stderr(monkeypatch):
    import io

    from rich.console import Console

    from attncheck.cli import render
    buf = io.StringIO()
    monkeypatch.setattr(render, "console", lambda stderr=False: Console(
        file=buf, force_terminal=True, force_interactive=True, width=render.WIDTH))
    with render.progress(4, "demo") as advance:
        advance(2)
    assert "demo" in buf.getvalue()


# --- 6. --mode offers only the modes a command supports ----------------------------------------
@pytest.mark.parametrize("argv", [("verify", "rnn", "induction", "--N", "4"), ("verify", "match2", "--N", "3", "--alphabet", "2"),
                                  ("verify", "match3", "--N", "3", "--alphabet", "2")], ids=" ".join)
def test_unsupported_mode_is_a_usage_error_listing_the_choices(cli, argv):
    line = one_error_line(cli(*argv, "--mode", "certificate"))
    assert "'certificate' is not one of" in line and "'exhaustive'" in line and "'sample'" in line
    help_text = cli(*argv[:3 if argv[1] == "rnn" else 2], "--help").out
    mode_help = help_text[help_text.index("--mode"):]
    assert "certificate" not in mode_help.split("--samples")[0]


def test_full_mode_choice_where_the_certificate_exists(cli):
    for argv in (("verify", "induction"), ("verify", "hop"), ("verify", "qsa")):
        text = cli(*argv, "--help").out
        assert "auto|exhaustive|certificate|sample" in text.replace("\n", "").replace(" ", ""), argv


# --- 7. --precision names all three forms ------------------------------------------------------
@pytest.mark.parametrize("argv", [("verify", "induction", "--N", "8"), ("run", "induction", "--input", "abc"),
                                  ("verify", "qsa", "--N", "4", "--q", "1"),
                                  ("verify", "match2", "--N", "3", "--alphabet", "2")], ids=" ".join)
@pytest.mark.parametrize("bad", ["bogus", "fixed:1", "fixed:a.b"])
def test_precision_error_lists_declared_exact_and_fixed(cli, argv, bad):
    line = one_error_line(cli(*argv, "--precision", bad))
    assert "declared" in line and "exact" in line and "fixed:I.F" in line and bad in line


def test_precision_out_of_range_is_one_line(cli):
    line = one_error_line(cli("verify", "induction", "--N", "8", "--precision", "fixed:0.4"))
    assert "fixed:0.4" in line


# --- 8. defaults work at the documented minimum sizes ------------------------------------------
@pytest.mark.parametrize("argv", [("verify", "induction", "--N", "2"), ("verify", "hop", "--k", "1", "--N", "2"),
                                  ("build", "induction", "--N", "2"), ("precision", "induction", "--N", "2"),
                                  ("build", "hop", "--k", "1", "--N", "2")], ids=" ".join)
def test_default_alphabet_is_min_3_N(cli, argv):
    r = cli(*argv, "--json")
    assert r.code == 0, r.err
    assert r.json["params"]["alphabet"] == 2 and r.json["construction"]["params"]["alphabet"] == 2


def test_depth_hop_default_alphabet_is_min_3_N(cli):
    r = cli("depth", "hop", "--N", "2", "--k-max", "1", "--json")
    assert r.code == 0 and r.json["params"]["alphabet"] == 2
    assert "alphabet" in one_error_line(cli("depth", "hop", "--N", "2", "--k-max", "1", "--alphabet", "3"))


def test_default_alphabet_stays_3_from_N_3(cli):
    assert cli("verify", "induction", "--N", "3", "--json").json["params"]["alphabet"] == 3


def test_run_at_N_2_uses_the_smaller_default(cli):
    r = cli("run", "induction", "--input", "ab", "--json")
    assert r.code == 0 and r.json["construction"]["params"]["alphabet"] == 2
    one_error_line(cli("run", "induction", "--input", "ac"))       # 'c' is outside {a, b}


@pytest.mark.parametrize("argv", [("verify", "induction", "--N", "2"), ("verify", "hop", "--k", "1", "--N", "2")],
                         ids=" ".join)
def test_explicit_alphabet_above_N_is_still_bad_input(cli, argv):
    assert "alphabet" in one_error_line(cli(*argv, "--alphabet", "3"))


# --- 9. run --from on a prefix ------------------------------------------------------------------
@pytest.mark.parametrize("task,opts", [("induction", ()), ("hop", ("--k", "3"))])
def test_run_from_file_on_a_prefix(cli, tmp_path, task, opts):
    path = str(tmp_path / f"{task}.npz")
    assert cli("build", task, "--N", "10", *opts, "--out", path).code == 0
    word = "abcabbacab"
    full = cli("run", task, "--from", path, "--input", word, "--json")
    assert full.code == 0, full.err
    for n in (2, 5, 9):
        r = cli("run", task, "--from", path, "--input", word[:n], "--json")
        assert r.code == 0, r.err
        assert r.json["correct"] and r.json["truth"] == full.json["truth"][:n]
        assert r.json["outputs"] == full.json["outputs"][:n]              # causal: a prefix is a prefix
        assert [a[:n] for a in full.json["attention_argmax"]] == r.json["attention_argmax"]


def test_run_from_file_refuses_longer_input(cli, tmp_path):
    path = str(tmp_path / "ih.npz")
    assert cli("build", "induction", "--N", "6", "--out", path).code == 0
    line = one_error_line(cli("run", "induction", "--from", path, "--input", "abcabca"))
    assert "7" in line and "6" in line


# --- 10. reduction verdict lines name the sizes ------------------------------------------------
def test_reduction_verdict_names_the_sizes(cli):
    r = cli("reduction", "check", "index-ih", "--n", "6")
    first = r.out.splitlines()[0]
    assert r.code == 0 and "n = 6" in first and "384 instances" in first
    j = cli("reduction", "check", "index-ih", "--n", "6", "--json").json
    assert "n = 6" in j["claim"]


def test_sampled_reduction_says_sampled_of_how_many(cli):
    r = cli("reduction", "check", "index-ih", "--n", "6", "--mode", "sample", "--samples", "50")
    first = r.out.splitlines()[0]
    assert r.code == 3 and "n = 6" in first and "50 sampled of 384 instances" in first


# --- 11. no deprecation warnings ---------------------------------------------------------------
def test_bounds_sweep_raises_no_deprecation_warning(cli):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        r = cli("bounds", "sweep", "sht24a.thm4_2", "--N", "16,32", "--k", "2")
    assert r.code == 0, r.err


# --- 12. witness table: Markdown, LaTeX, budget ------------------------------------------------
WITNESS_HEADER = ("| N | ih states \\|Σ\\|=2 | 3 | 4 | marker | ih 1-way \\|Σ\\|=2 | 3 | 4 | marker"
                  " | hop_2 states \\|Σ\\|=2 | 3 | 4 | marker | hop_2 1-way (block) \\|Σ\\|=2 | 3 | 4 | marker |")


def test_witness_table_markdown_is_one_pure_table(cli):
    r = cli("witness", "table", "--N", "3,5", "--markdown")
    assert r.code == 0 and r.err == ""
    lines = r.out.splitlines()
    assert lines[0] == WITNESS_HEADER
    assert lines[1] == "|" + "---|" * 17
    assert [l.split(" | ")[0] for l in lines[2:]] == ["| 3", "| 5"]
    assert all(l.startswith("| ") and l.endswith(" |") for l in lines[:1] + lines[2:])


def test_witness_table_latex_uses_booktabs_only(cli):
    r = cli("witness", "table", "--N", "3,5", "--latex")
    assert r.code == 0 and r.err == ""
    for cmd in ("\\begin{tabular}", "\\toprule", "\\midrule", "\\bottomrule", "\\end{tabular}"):
        assert r.out.count(cmd) == 1, cmd
    assert r.out.isascii()
    assert "\\usepackage" not in r.out and "\\hline" not in r.out
    body = r.out.split("\\midrule")[1].split("\\bottomrule")[0].strip().splitlines()
    assert [row.split("&")[0].strip() for row in body] == ["3", "5"]


def test_table_formats_are_exclusive(cli):
    one_error_line(cli("witness", "table", "--N", "3", "--markdown", "--latex"))
    one_error_line(cli("witness", "table", "--N", "3", "--markdown", "--json"))


def test_witness_table_honours_the_budget(cli):
    t0 = time.perf_counter()
    r = cli("witness", "table", "--N", "5,9,13", "--budget", "0.05", "--markdown")
    elapsed = time.perf_counter() - t0
    assert r.code == 3
    assert elapsed < 0.05 * 200                      # generous: the full table takes far longer
    assert r.out.splitlines()[0] == WITNESS_HEADER and "?" in r.out
    assert r.err.count("\n") == 1 and "budget" in r.err
    human = cli("witness", "table", "--N", "5,9,13", "--budget", "0.05")
    assert human.code == 3 and "UNKNOWN" in human.out and "?" in human.out      # the partial table


@pytest.mark.slow
def test_witness_table_markdown_matches_the_readme(cli):
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme[readme.index(WITNESS_HEADER):].split("\n\n")[0]
    r = cli("witness", "table", "--N", "5,9,13", "--markdown")
    assert r.code == 0 and r.out.strip() == block.strip()


def test_bounds_table_latex_and_markdown(cli):
    base = ("bounds", "table", "--N", "64", "--k", "6", "--only", "sht24a.thm4_2")
    tex = cli(*base, "--latex")
    assert tex.code == 0 and tex.out.isascii()
    assert [tex.out.count(c) for c in ("\\toprule", "\\midrule", "\\bottomrule")] == [1, 1, 1]
    assert "\\lfloor" in tex.out and "sht24a.thm4\\_2" in tex.out
    md = cli(*base, "--markdown")
    assert md.code == 0
    lines = md.out.splitlines()
    assert lines[0].startswith("| bound | says |") and set(lines[1]) <= set("|-")
    assert all(l.startswith("| ") and l.endswith(" |") for l in lines[:1] + lines[2:])


# --- 13. progress bars for the long commands ---------------------------------------------------
@pytest.mark.parametrize("argv,what", [
    (("witness", "table", "--N", "3"), "witness table"),
    (("reduction", "check", "index-ih", "--n", "4"), "reduction index-ih"),
    (("search", "width", "qsa", "--N", "6", "--q", "2"), "search width"),
    (("depth", "hop", "--k-max", "1", "--N", "8"), "depth hop"),
    (("verify", "induction", "--N", "16"), "certificate"),
    (("verify", "hop", "--k", "2", "--N", "16"), "certificate"),
    (("precision", "induction", "--N", "8"), "precision"),
    (("bounds", "table", "--N", "16", "--k", "2"), "bounds table"),
    (("smt", "certify", "induction", "--N", "3", "--alphabet", "2"), "z3 certify"),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_long_commands_show_progress(cli, monkeypatch, argv, what):
    import contextlib

    from attncheck.cli import render
    seen = []

    @contextlib.contextmanager
    def recorder(total, description, enabled=True):
        seen.append((total, description))
        yield lambda n=1: None
    monkeypatch.setattr(render, "progress", recorder)
    r = cli(*argv)
    assert r.code in (0, 1, 3), r.err
    assert any(what in d for _, d in seen), seen


def test_reduction_progress_has_a_total(cli, monkeypatch):
    import contextlib

    from attncheck.cli import render
    seen = []

    @contextlib.contextmanager
    def recorder(total, description, enabled=True):
        seen.append(total)
        yield lambda n=1: None
    monkeypatch.setattr(render, "progress", recorder)
    assert cli("reduction", "check", "index-ih", "--n", "6").code == 0
    assert seen == [384]


# --- shell completion (README) -----------------------------------------------------------------
def test_shell_completion_with_the_console_script():
    import os
    import subprocess
    import sys
    from pathlib import Path
    script = Path(sys.executable).parent / "attncheck"
    if not script.exists():
        pytest.skip("console script not installed")
    env = {**os.environ, "_ATTNCHECK_COMPLETE": "bash_source"}
    src = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert src.returncode == 0 and "complete -o nosort -F _attncheck_completion attncheck" in src.stdout
    env.update(_ATTNCHECK_COMPLETE="bash_complete", COMP_WORDS="attncheck verify rnn induction --mode ",
               COMP_CWORD="5")
    words = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60).stdout.split()
    assert words == ["plain,auto", "plain,exhaustive", "plain,sample"]
