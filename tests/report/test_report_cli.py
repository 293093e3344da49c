"""``attncheck report`` end to end on a small subset (a few sub-second checks), bad input, the
theorem table against a stub catalogue, and the figures as real image files."""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

import pytest

from attncheck.cli import figures
from attncheck.cli.report_checks import Check
from attncheck.cli.report_run import Row

SMALL = ("--only", "ih.N64", "--only", "reduction.cycle-gluing", "--only", "erratum.cycle-gluing")
PNG = b"\x89PNG\r\n\x1a\n"


def test_small_real_run_writes_three_valid_files(cli, tmp_path):
    out = tmp_path / "rep"
    r = cli("report", "sht24a", "--out", out, "--workers", "2", "--budget", "60", *SMALL, "--json")
    assert r.code == 0, (r.err, r.out[:2000])
    obj = r.json
    assert obj["verdict"] == "verified" and obj["exit_code"] == 0          # the report judges too
    assert obj["params"] == {"paper": "sht24a", "out": str(out), "workers": 2, "budget": 60.0,
                             "only": list(SMALL[1::2])}
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["checks"] == obj["checks"]
    by_name = {c["name"]: c for c in obj["checks"]}
    assert by_name["ih.N64"]["verdict"] == "verified"
    assert by_name["erratum.cycle-gluing"]["outcome"] == "refuted as expected"
    assert by_name["ih.N64"]["command"] == "attncheck verify induction --N 64 --budget 60 --json"
    ids = {t["id"]: t for t in obj["theorems"]}
    assert ids["sht24a.cor3_5"]["verdict"] == "verified" and "sht24b.two-layer-ub" in ids
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| check | theorem | status | claim | verdict |" in md and "`sht24a.cor3_5`" in md
    assert "<td class='v verified'>VERIFIED</td>" in (out / "report.html").read_text(encoding="utf-8")
    assert "](figures/certificate-margins.png)" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<link" not in html
    m = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m and base64.b64decode(m.group(1)).startswith(PNG)
    assert (out / "figures" / "certificate-margins.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("args, fragment", [
    (("nosuchpaper",), "nosuchpaper"),
    (("sht24a", "--workers", "0"), "--workers"),
    (("sht24a", "--budget", "0"), "--budget"),
    (("sht24a", "--only", "no.such.id"), "no.such.id"),
])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, fragment):
    r = cli("report", *args, "--out", tmp_path / "r")
    assert r.code == 2 and fragment in r.err, (r.code, r.err)
    assert r.err.count("\n") == 1 and "Traceback" not in r.err


def test_unwritable_out_is_exit_2(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        r = cli("report", "sht24a", "--out", out, "--only", "ih.N64")
        assert r.code == 2 and "--out" in r.err and r.err.count("\n") == 1, r.err


# --- theorem rows against a stub catalogue ------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    id: str
    paper: str
    title: str
    status: str
    checked_by: str

    @property
    def checkable(self):
        return not self.checked_by.startswith("not checkable")


def test_every_catalogue_id_gets_a_verdict_or_a_reason(monkeypatch):
    from attncheck.cli import report_build
    stub = [Entry("a.thm", "sht24a", "a theorem", "[P]", "attncheck verify hop --k 2 --N 8"),
            Entry("a.conj", "sht24a", "a conjecture", "[P]", "not checkable: an open conjecture"),
            Entry("a.lemma", "sht24a", "a lemma", "[P]", "attncheck mpc covering")]

    class Cat:
        @staticmethod
        def get(tid):
            raise KeyError(tid)
    monkeypatch.setattr(report_build, "_catalogue", lambda papers: (Cat, stub))
    check = Check("c", ("a.thm", "x.other"), ("verify", "hop"), ("sht24a",))
    paper = Check("p", ("a.thm",), ("verify", "hop", "--variant", "paper"), ("sht24a",), expect="refuted")
    rows = [Row(check, "verified", 0, "", "", "", 0.1, ()), Row(paper, "refuted", 1, "", "", "", 0.1, ())]
    t = {r["id"]: r for r in report_build.theorem_rows("sht24a", rows, subset=False)}
    assert list(t) == ["a.thm", "a.conj", "a.lemma", "x.other"]
    assert t["a.thm"]["verdict"] == "verified" and "refuted as expected" in t["a.thm"]["reason"]
    assert t["a.conj"] == {**t["a.conj"], "verdict": "not checkable", "reason": "an open conjecture"}
    assert t["a.lemma"]["verdict"] == "not run" and "attncheck mpc covering" in t["a.lemma"]["reason"]
    assert t["x.other"]["outside"] and t["x.other"]["status"] == "[?]"
    only = report_build.theorem_verdict([Row(paper, "refuted", 1, "", "", "", 0.1, ())])
    assert only == "refuted as printed"


# --- figures -----------------------------------------------------------------------------------
SWEEP = {"id": "b", "source": "S", "status": "[P]", "points": [
    {"params": {"N": n, "k": 8}, "outside_regime": None, "quantities": [
        {"key": "width", "tag": "[P]", "resource": "width", "value": 1.0,
         "ours": [{"construction": "hop", "uses": 19}]}]} for n in (16, 32, 64)]}
DEPTH = {"params": {"N": 16, "alphabet": 3}, "rows": [
    {"k": k, "paper_depth": k.bit_length() + 1, "our_depth": 2 + (k - 1).bit_length(),
     "ours": {"verdict": "verified"}, "printed": {"verdict": "refuted" if k > 1 else "verified"}}
    for k in range(1, 6)]}
WITNESS = {"cells": [{"task": "induction", "alphabet": a, "N": n, "state_bits": 2, "oneway_bits": None}
                     for a in (2, "marker") for n in (5, 7)]}
MARGINS = [{"construction": {"name": "induction", "params": {"N": 64}},
            "evidence": {"decode": {"radius": 0.5}, "heads": [
                {"layer": 1, "head": 1, "min_gap": 13.7, "out_error": 1e-4, "ok": True},
                {"layer": 2, "head": 1, "min_gap": 7.9, "out_error": 0.0, "ok": False}]}}]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_figures_write_real_images(tmp_path, suffix):
    paths = [figures.bounds_sweep(SWEEP, str(tmp_path / f"a{suffix}")),
             figures.depth_vs_k(DEPTH, str(tmp_path / f"b{suffix}")),
             figures.witness_growth(WITNESS, str(tmp_path / f"c{suffix}")),
             figures.certificate_margins(MARGINS, str(tmp_path / f"d{suffix}")),
             figures.certificate_margins([], str(tmp_path / f"e{suffix}"))]
    for p in paths:
        data = open(p, "rb").read()
        assert data.startswith(PNG) if suffix == ".png" else b"<svg" in data[:2000], p


def test_figure_series_are_the_json_numbers():
    xkey, panels = figures.sweep_series(SWEEP)
    assert xkey == "N" and panels["width"][0] == ("width [P]", True, [(16, 1.0), (32, 1.0), (64, 1.0)])
    assert panels["width"][1] == ("hop", False, [(16, 19.0), (32, 19.0), (64, 19.0)])
    assert figures.witness_series(WITNESS["cells"], "state_bits") == {
        "induction |Σ|=2": [(5, 2.0), (7, 2.0)], "induction marker": [(5, 2.0), (7, 2.0)]}


def test_figure_suffix_is_checked():
    from attncheck.constructions.verdict import BadInput
    with pytest.raises(BadInput, match=r"\.png or \.svg"):
        figures.check_path("x.pdf")


@pytest.mark.parametrize("args", [
    ("depth", "hop", "--k-max", "3", "--N", "8"),
    ("witness", "table", "--N", "5,7"),
    ("bounds", "sweep", "sht24a.thm4_2", "--N", "16..64", "--k", "8"),
])
def test_plot_options_write_images_and_refuse_other_suffixes(cli, tmp_path, args):
    png = tmp_path / "f.png"
    r = cli(*args, "--plot", png)
    assert r.code == 0, r.err
    assert png.read_bytes().startswith(PNG)
    r = cli(*args, "--plot", tmp_path / "f.pdf")
    assert r.code == 2 and "--plot" in r.err and r.err.count("\n") == 1


def test_unwritable_plot_path_is_bad_input(tmp_path):
    from attncheck.constructions.verdict import BadInput
    with pytest.raises(BadInput, match="cannot write"):
        figures.depth_vs_k(DEPTH, str(tmp_path / "no" / "such" / "f.png"))
