"""``attncheck bounds``: golden tables, measured sizes beside bounds, exit codes.

Golden files (tests/golden/bounds/) hold the formula side of ``bounds table`` at two settings
with ``--no-measure``, so they change only when a bound changes; construction sizes are
checked against the builders themselves below.  Regenerate after an intended change with
``ATTNCHECK_REGEN_GOLDEN=1 python -m pytest tests/bounds/test_bounds_cli.py``.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attncheck.bounds.formulas import BOUNDS

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bounds"
SETTINGS = {"n64_k8": ("--N", "64", "--k", "8"), "n256_k6": ("--N", "256", "--k", "6")}


def reproducible(obj: dict) -> dict:
    """The JSON envelope without the two machine-dependent keys."""
    return {k: v for k, v in obj.items() if k not in ("versions", "timing")}


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ATTNCHECK_REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; regenerate with ATTNCHECK_REGEN_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_table_text_golden(cli, setting):
    r = cli("bounds", "table", *SETTINGS[setting], "--no-measure")
    assert r.code == 0, r.err
    check_golden(f"table_{setting}.txt", r.out)


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_table_json_golden(cli, setting):
    r = cli("bounds", "table", *SETTINGS[setting], "--no-measure", "--json")
    assert r.code == 0, r.err
    obj = r.json
    assert obj["command"] == "bounds table" and "timing" in obj and "versions" in obj
    check_golden(f"table_{setting}.json", json.dumps(reproducible(obj), indent=2, ensure_ascii=False) + "\n")


def test_acceptance_table_lists_every_bound_with_value_status_and_source(cli):
    r = cli("bounds", "table", "--N", "64", "--k", "8", "--json")
    assert r.code == 0, r.err
    rows = {b["id"]: b for b in r.json["bounds"]}
    assert set(rows) == set(BOUNDS)
    for b in rows.values():
        assert b["status"] and b["source"]
        assert b["outside_regime"] or all(q["display"] for q in b["quantities"])
    assert rows["sht24a.cor4_3"]["outside_regime"].startswith("the cycle gadget needs N ≥ 4.5k² + 1 = 289")


def test_depth_row_shows_both_depths_with_their_tags(cli):
    r = cli("bounds", "table", "--N", "64", "--k", "6", "--only", "sht24a.thm4_2", "--no-measure")
    assert r.code == 0
    assert "L = ⌊log₂ k⌋ + 2" in r.out and "L = 2 + ⌈log₂ k⌉  [R]" in r.out and "[P]" in r.out
    assert "open check" in r.out                  # k = 6: the paper's 4 vs the needed 5
    q = {x["key"]: x for x in cli("bounds", "table", "--N", "64", "--k", "6", "--only", "sht24a.thm4_2",
                                  "--no-measure", "--json").json["bounds"][0]["quantities"]}
    assert (q["layers_paper"]["exact"], q["layers_paper"]["tag"]) == (4, "[P]")
    assert (q["layers_needed"]["exact"], q["layers_needed"]["tag"]) == (5, "[R]")


def test_induction_rows_carry_the_built_construction_sizes(cli):
    from attncheck.constructions.induction import build_induction
    size = build_induction(64, alphabet=3).size()
    r = cli("bounds", "table", "--N", "64", "--k", "8", "--only", "sht24b.two-layer-ub",
            "--only", "sht24b.one-layer-ih-lb", "--json")
    rows = {b["id"]: b for b in r.json["bounds"]}
    ub = {q["resource"]: q["ours"][0] for q in rows["sht24b.two-layer-ub"]["quantities"]}
    for res in ("layers", "heads", "width", "bits"):
        assert ub[res]["construction"] == "induction" and ub[res]["uses"] == size[res], res
    assert ub["layers"]["ratio"]["exact"] == "1" or ub["layers"]["ratio"]["exact"] == 1
    lb = {q["key"]: q for q in rows["sht24b.one-layer-ih-lb"]["quantities"]}
    assert lb["hm1p"]["ours"][0]["uses"] == size["heads"] * (size["width"] + 1) * size["bits"]
    text = cli("bounds", "table", "--N", "64", "--k", "8", "--only", "sht24b.two-layer-ub").out
    assert f"induction: {size['width']}" in text and f"induction: {size['bits']}" in text


def test_hop_rows_carry_the_built_construction_sizes(cli):
    hop = pytest.importorskip("attncheck.constructions.hop")
    size = hop.build_hop(64, 8, alphabet=3, residual="overwrite").size()
    r = cli("bounds", "table", "--N", "64", "--k", "8", "--only", "sht24a.thm4_2", "--json")
    q = {x["key"]: x for x in r.json["bounds"][0]["quantities"]}
    ours = {c["construction"]: c for c in q["layers_needed"]["ours"]}
    assert ours["hop"]["uses"] == size["layers"]
    assert size["layers"] >= q["layers_needed"]["exact"]        # a construction cannot beat [R]
    assert q["width"]["ours"][0]["uses"] == size["width"] and q["bits"]["ours"][0]["uses"] == size["bits"]


def test_hop_depth_equals_the_needed_depth_for_every_k(cli):
    """Our k-hop construction uses exactly 2 + ⌈log2 k⌉ layers [R] (more than the paper's
    ⌊log2 k⌋ + 2 [P] exactly when k is not a power of two)."""
    pytest.importorskip("attncheck.constructions.hop")
    r = cli("bounds", "sweep", "sht24a.thm4_2", "--N", "32", "--k", "1..12", "--csv")
    assert r.code == 0, r.err
    for row in csv.DictReader(io.StringIO(r.out)):
        assert int(row["hop.layers"]) == int(row["layers_needed"]), row
        assert int(row["hop-additive.layers"]) == int(row["layers_needed"]), row


def test_list_and_show(cli):
    r = cli("bounds", "list", "--json")
    assert r.code == 0 and len(r.json["bounds"]) == len(BOUNDS)
    assert "sht24a.thm4_2" in cli("bounds", "list").out
    r = cli("bounds", "show", "sht24a.lemma3_2", "--json")           # alias of lemma.sht24a.3_2
    assert r.code == 0 and r.json["bound"]["id"] == "lemma.sht24a.3_2"
    q = r.json["bound"]["quantities"][1]
    assert q["latex"].startswith(r"\left\lceil") and "log" in q["unicode"]
    text = cli("bounds", "show", "sht24a.thm4_2").out
    for needle in ("[P]", "[R]", "LaTeX:", "how attncheck checks it", "⌈log₂(k)⌉ + 2"):
        assert needle in text


def test_sweep_csv_matches_evaluate(cli):
    r = cli("bounds", "sweep", "sht24a.thm4_2", "--N", "64", "--k", "1..9", "--csv", "--no-measure")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [int(x["k"]) for x in rows] == list(range(1, 10))
    for x in rows:
        res = BOUNDS["sht24a.thm4_2"].evaluate(N=64, k=int(x["k"]))
        assert int(x["layers_paper"]) == res.exact
        assert int(x["layers_needed"]) == res.part("layers_needed").value.exact


def test_sweep_over_n_measures_the_induction_head(cli):
    from attncheck.constructions.induction import build_induction
    r = cli("bounds", "sweep", "sht24b.two-layer-ub", "--N", "16..64", "--json")
    assert r.code == 0, r.err
    pts = r.json["points"]
    assert [p["params"]["N"] for p in pts] == [16, 32, 64]
    for p in pts:
        bits = {q["key"]: q for q in p["quantities"]}["bits"]["ours"][0]["uses"]
        assert bits == build_induction(p["params"]["N"], alphabet=3).size()["bits"]


@pytest.mark.parametrize("args,fragment", [
    (("table", "--N", "0"), "N = 0"),
    (("table", "--N", "-5"), "N = -5"),
    (("table", "--k", "0"), "k = 0"),
    (("table", "--N", "8", "--k", "9"), "k ≤ N"),
    (("table", "--eps", "0"), "ε"),
    (("table", "--eps", "abc"), "1/4"),
    (("table", "--word-bits", "0"), "p (--word-bits) = 0"),
    (("table", "--set", "nosuch=3"), "nosuch"),
    (("table", "--set", "s=abc"), "must be a number"),
    (("table", "--set", "s"), "NAME=VALUE"),
    (("table", "--only", "sht24a.thm4_3"), "did you mean"),
    (("show", "nope"), "unknown bound id"),
    (("sweep", "sht24a.thm4_2", "--N", "4096..16"), "range"),
    (("sweep", "sht23.thm7", "--k", "1..3"), "does not take k"),
    (("sweep", "sht24a.thm4_2", "--N", "16..4096:+1"), "more than 200"),
    (("sweep", "sht24a.cor4_3", "--N", "16..64", "--k", "8"), "every point"),
    (("sweep", "sht24a.thm4_2", "--N", "64", "--plot", "out.pdf"), ".svg or .png"),
    (("sweep", "sht24a.thm4_2", "--N", "64", "--csv", "--json"), "exclusive"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, fragment):
    r = cli("bounds", *args)
    assert r.code == 2, (args, r.code, r.err)
    assert fragment in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err, r.err


def test_plot_writes_the_file(cli, tmp_path):
    """matplotlib is a regular dependency: --plot works on a default install."""
    out = tmp_path / "sweep.svg"
    r = cli("bounds", "sweep", "sht24a.thm4_2", "--N", "64", "--k", "1..4", "--no-measure", "--plot", out)
    assert r.code == 0 and out.read_text().lstrip().startswith("<?xml")
    png = tmp_path / "sweep.png"
    r = cli("bounds", "sweep", "sht24a.thm4_2", "--N", "16..4096", "--k", "8", "--plot", png)
    assert r.code == 0 and png.read_bytes().startswith(b"\x89PNG")


def test_spent_budget_is_exit_3_with_unmeasured_sizes(cli):
    r = cli("bounds", "table", "--N", "64", "--k", "8", "--budget", "1e-9", "--json")
    assert r.code == 3 and "budget" in r.err
    assert r.json["budget_spent"] is True and r.json["constructions"] == []


def test_table_path_does_not_import_sympy():
    code = ("import sys; from attncheck.bounds.evaluate import table; table({'N': 64, 'k': 8}, do_measure=False);"
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_latex_table_spells_every_symbol_in_plain_latex(cli, setting):
    """Issue 13: --latex is one booktabs tabular, ASCII only, every unicode symbol of every bound
    given a plain-LaTeX spelling (an unknown one would show as '?')."""
    r = cli("bounds", "table", *SETTINGS[setting], "--no-measure", "--latex")
    assert r.code == 0 and r.err == ""
    assert r.out.isascii() and "?" not in r.out
    assert r.out.startswith("\\begin{tabular}") and r.out.rstrip().endswith("\\end{tabular}")
    assert [r.out.count(c) for c in ("\\toprule", "\\midrule", "\\bottomrule")] == [1, 1, 1]
    rows = len(cli("bounds", "table", *SETTINGS[setting], "--no-measure", "--markdown").out.splitlines())
    assert rows - 2 == r.out.split("\\midrule")[1].count("\\\\\n")


def test_table_formats_exclude_json(cli):
    r = cli("bounds", "table", "--latex", "--json")
    assert r.code == 2 and r.err.count("\n") == 1 and "exclusive" in r.err
