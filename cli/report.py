"""``attncheck report PAPER --out DIR``: run every check of a paper, write report.md/.html/.json.

Pipeline (STYLE.md 1): params -> registry (report_checks) -> run (report_run, one process per
check, ``--workers`` at a time) -> figures and report object (report_build) -> files
(report_write) -> render.  ``--proof DIR``: every certificate row also writes its proof and
weights into DIR and checks them (report_proof; DIR/index.json).  See docs/report.md.

\b
Exit codes: the worst row over the checks --
  0  every check reached its expected verdict (paper-literal variants refuted, as expected)
  1  a check was refuted unexpectedly, or an expected refutation was not refuted
  2  bad input (unknown paper, unwritable --out or --proof, bad --workers / --budget / --only)
  3  a check is undecided: UNKNOWN, or killed for overrunning its budget
  4  internal error: a check exited 4 or printed no JSON, or a figure failed
"""
from __future__ import annotations

import os
import tempfile
import time

import click

from attncheck.cli import render
from attncheck.cli.options import json_option
from attncheck.cli.params import ReportParams, takes
from attncheck.cli.report_checks import ALL, PAPERS
from attncheck.constructions.verdict import BadInput

DEFAULT_BUDGET = 60.0
MAX_BUDGET = 86400.0


def _budget(ctx, param, value):
    if not 0 < value <= MAX_BUDGET:
        raise click.BadParameter(f"must be > 0 and <= {MAX_BUDGET:g} seconds, got {value:g}")
    return value


def prepare_out(out: str) -> str:
    """Create ``out`` (and its figures/ folder) and prove it is writable, or raise BadInput."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise BadInput(f"--out {out!r} is a file, not a directory")
    try:
        os.makedirs(os.path.join(out, "figures"), exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as e:
        raise BadInput(f"--out {out!r}: cannot write there ({e.strerror or e})") from None
    return out


def _store_proof_dir(ctx, param, value):
    ctx.meta["attncheck.report_proof"] = value
    return value


@click.command("report", help="Run every check of PAPER (sht24a, sht24b, sht23 or all) and write"
               " DIR/report.md, DIR/report.html (self-contained, figures embedded) and DIR/report.json."
               "  Exit: the worst row -- 0 as expected, 1 refuted unexpectedly, 2 bad input,"
               " 3 undecided, 4 internal error.")
@click.argument("paper", type=click.Choice([*PAPERS, ALL], case_sensitive=False))
@click.option("--out", "out", required=True, type=click.Path(), metavar="DIR",
              help="Directory for report.md, report.html, report.json and figures/ (created).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Checks run in parallel, each in its own process.")
@click.option("--budget", type=float, default=DEFAULT_BUDGET, show_default=True, callback=_budget,
              help="Seconds per check, passed on as the command's --budget; a check that overruns"
                   " it is UNKNOWN.")
@click.option("--only", multiple=True, metavar="ID",
              help="Only the checks with this name or covering this theorem id (repeatable).")
@click.option("--proof", "proof", type=click.Path(), default=None, metavar="DIR", expose_value=False,
              callback=_store_proof_dir, help="Write the proof of every certificate-VERIFIED induction/hop row"
              " (DIR/ROW.proof.json), the weights it is about (DIR/ROW.npz) and DIR/index.json, and check"
              " each proof as 'check-proof' does.")
@json_option
@takes(ReportParams)
def report(p: ReportParams):
    from attncheck.cli import report_proof
    from attncheck.cli.report_build import build_report, draw_figures, theorem_rows
    from attncheck.cli.report_checks import checks_for, select
    from attncheck.cli.report_run import run_all, run_check
    from attncheck.cli.report_write import write_all
    p = p.replace(paper=p.paper.lower())
    checks = select(checks_for(p.paper), p.only)
    if not checks:
        raise BadInput(f"--only {', '.join(p.only)}: no check of {p.paper} has this name or covers this id")
    prepare_out(p.out)
    proof_dir = click.get_current_context().meta.get("attncheck.report_proof")
    extra = {}
    if proof_dir is not None:
        report_proof.prepare_dir(proof_dir)
        extra = {c.name: report_proof.plan(c, proof_dir) for c in checks}
    t0 = time.perf_counter()
    names = [c.name for c in checks]
    with render.task_progress(names, f"report {p.paper}", enabled=not p.json) as (start, finish):
        rows = run_all(checks, p.budget, p.workers, on_start=lambda c: start(c.name),
                       on_done=lambda r: finish(r.check.name, f"{r.verdict.upper()}  {r.time_s:.1f} s"),
                       run=lambda c, b: run_check(c, b, extra=extra.get(c.name, ())))
    figures = draw_figures(rows, p.out)
    obj = build_report(p.paper, p.to_json(), rows, theorem_rows(p.paper, rows, subset=bool(p.only)), figures,
                       time.perf_counter() - t0)
    if proof_dir is not None:
        by_row = report_proof.entries(rows, proof_dir)
        for c in obj["checks"]:
            c["proof"] = by_row[c["name"]]
        obj["proofs"] = {"dir": proof_dir, "index": report_proof.write_index(rows, by_row, proof_dir, p.paper),
                         **report_proof.summary(by_row)}
    files = write_all(obj, p.out)
    obj["files"] = files
    render.emit(obj, p.json, _human(obj))
    click.get_current_context().exit(obj["exit_code"])


def _human(obj: dict):
    def draw(con):
        rows = [(c["name"], c["theorem"], c["verdict"].upper(), c["expect"], c["outcome"], f"{c['time_s']:.1f}")
                for c in obj["checks"]]
        t = render.table(f"attncheck report {obj['paper']}: {len(rows)} checks",
                         ("check", "theorem", "verdict", "expected", "outcome", "s"), rows)
        con.print(t)
        s = obj["summary"]
        con.print(f"  theorems: {s['theorems_with_verdict']} of {s['theorems']} with a verdict,"
                  f" {s['theorems_not_checkable']} not checkable, {s['theorems_not_run']} not run")
        if "proofs" in obj:
            con.print(_proof_table(obj))
        for f in obj["figures"]:
            if f["error"]:
                con.print(f"  figure {render.esc(f['name'])}: {render.esc(f['error'])}")
        con.print("  wrote " + ", ".join(render.esc(p) for p in obj["files"].values()))
        style = {0: "bold green", 1: "bold red", 3: "bold yellow"}.get(obj["exit_code"], "bold red")
        con.print(f"[{style}]{obj['result'].upper()}[/]  exit {obj['exit_code']}  "
                  f"({obj['timing']['total_s']:.1f} s)")
    return draw


def _proof_table(obj: dict):
    """The rows' proofs (``--proof DIR``): file and the independent checker's outcome, or why none."""
    pr = obj["proofs"]
    rows = [(c["name"], c["proof"]["proof"] or "-", c["proof"].get("check") or c["proof"].get("why", ""))
            for c in obj["checks"] if c["proof"]["proof"] or "not a sequence-task" not in c["proof"]["why"]]
    return render.table(f"proofs in {render.esc(pr['dir'])}: {pr['proofs']} written, {pr['accepted']} accepted,"
                        f" {pr['rejected']} rejected, {pr['unknown']} unknown (index: {render.esc(pr['index'])})",
                        ("check", "proof file", "checker / why none"), rows)
