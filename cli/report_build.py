"""Assemble the ``attncheck report`` object: theorem rows from the catalogue, check rows, figures.

Every catalogue id of the paper gets a theorem row (``attncheck.bounds.theorems.for_paper``):
with the verdicts of the checks that give evidence for it, or with the reason it is not run --
the catalogue's own "not checkable: ..." text, or :data:`report_checks.NOT_RUN`.  Ids that a
check names but the paper's catalogue section does not (shared tasks, standard results) get
rows too, so no evidence is left unattributed.

Figures are drawn from the checks' JSON by :mod:`attncheck.cli.figures` into ``DIR/figures``.
A figure that cannot be drawn is an internal error of the report (exit 4), never dropped.
"""
from __future__ import annotations

import os
from typing import Sequence

from attncheck.cli import figures as fig
from attncheck.cli import render
from attncheck.cli.report_checks import NOT_RUN, PAPERS, papers_of
from attncheck.cli.report_run import Row, exit_code

RESULT = {0: "as expected", 1: "refuted unexpectedly", 3: "undecided", 4: "internal error"}
#: The report's own verdict, from its exit code: "verified" = every check reached its expected verdict.
VERDICT = {0: "verified", 1: "refuted", 3: "unknown", 4: "error"}
NOT_CHECKABLE = "not checkable"


# --- theorem rows ---------------------------------------------------------------------------------
def _catalogue(papers: Sequence[str]):
    from attncheck.bounds import theorems as cat
    return cat, [e for p in papers for e in cat.for_paper(p)]


def _entry(cat, tid: str):
    try:
        return cat.get(tid)
    except Exception:           # an id the catalogue does not (yet) hold: shown, not fatal
        return None


def theorem_verdict(related: Sequence[Row]) -> str:
    """One word for a theorem from the rows that give evidence for it."""
    worst = exit_code(related)
    if worst:
        return {1: "refuted", 3: "unknown", 4: "error"}[worst]
    if any(r.verdict == "verified" for r in related):
        return "verified"
    if any(r.check.expect == "refuted" for r in related):
        return "refuted as printed"
    return "tabulated"


def _theorem_row(tid: str, entry, related: Sequence[Row]) -> dict:
    row = {"id": tid, "paper": getattr(entry, "paper", None),
           "title": getattr(entry, "title", "(not in the theorem catalogue)"),
           "status": getattr(entry, "status", "[?]"), "source": getattr(entry, "source", ""),
           "checks": [r.check.name for r in related]}
    if related:
        n_err = sum(r.check.expect == "refuted" and r.verdict == "refuted" for r in related)
        row["verdict"] = theorem_verdict(related)
        row["reason"] = f"{len(related)} check(s)" + (f", {n_err} paper-literal or broken variant(s)"
                                                       " refuted as expected" if n_err else "")
    elif entry is not None and not entry.checkable:
        row["verdict"] = NOT_CHECKABLE
        row["reason"] = entry.checked_by.split(":", 1)[-1].strip()
    elif tid in NOT_RUN:
        row["verdict"] = "not run"
        row["reason"] = NOT_RUN[tid]
    else:
        row["verdict"] = "not run"
        row["reason"] = ("no check of this report covers it; the catalogue lists: "
                         + (entry.checked_by if entry is not None else "nothing"))
    return row


def theorem_rows(paper: str, rows: Sequence[Row], subset: bool) -> list[dict]:
    """One row per catalogue id of the paper (only ids the selected checks touch when
    ``subset``), then the ids the checks name outside the paper's catalogue entries."""
    cat, entries = _catalogue(papers_of(paper))
    touched = {t for r in rows for t in r.check.theorems}
    ids = [e.id for e in entries if not subset or e.id in touched]
    ids += sorted(touched - set(ids))
    by_id = {e.id: e for e in entries}
    out = []
    for t in ids:
        row = _theorem_row(t, by_id.get(t) or _entry(cat, t), [r for r in rows if t in r.check.theorems])
        row["outside"] = t not in by_id          # an id of another paper that a check touches
        out.append(row)
    return out


# --- figures -----------------------------------------------------------------------------------
def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)


def draw_figures(rows: Sequence[Row], out_dir: str) -> list[dict]:
    """Draw every figure the rows' JSON allows into ``out_dir/figures``; returns
    ``{"name", "file", "caption", "error"}`` records (file relative to ``out_dir``)."""
    os.makedirs(os.path.join(out_dir, "figures"), exist_ok=True)
    jobs = []
    for r in rows:
        kind = r.check.figure
        if kind == "sweep":
            jobs.append((f"sweep-{_slug(r.check.argv[2])}", r, [r],
                         f"{r.check.argv[2]}: the bound's quantities (dashed) beside our construction"
                         " sizes (solid) as N grows", fig.bounds_sweep))
        elif kind == "depth":
            jobs.append(("depth-hop", r, [r], "sht24a.thm4_2: layers against k — the paper's"
                         " ⌊log2 k⌋+2 [P] and our 2+⌈log2 k⌉ [R], with verdicts", fig.depth_vs_k))
        elif kind == "witness":
            jobs.append(("witness-growth", r, [r], "minimal RNN state bits and one-way CC bits against N,"
                         " per alphabet (exact, by enumeration)", fig.witness_growth))
    margins = [r for r in rows if r.check.figure == "margins"]
    if margins:
        jobs.append(("certificate-margins", margins[0], margins, "certificate margins per head: minimum"
                     " score gap, and output error against the decoder radius", None))
    out = []
    for name, first, group, caption, draw in jobs:
        rel = os.path.join("figures", f"{name}.png")
        rec = {"name": name, "file": rel, "caption": caption, "checks": [g.check.name for g in group],
               "error": None}
        data = [g.data for g in group if g.data]
        try:
            if not data:
                rec["error"] = f"not drawn: check {first.check.name} produced no JSON ({first.verdict})"
                rec["file"] = None
            elif draw is None:
                fig.certificate_margins(data, os.path.join(out_dir, rel))
            else:
                draw(data[0], os.path.join(out_dir, rel))
        except Exception as e:  # noqa: BLE001 - recorded in the report and turned into exit 4
            rec["error"] = f"internal error drawing {name}: {type(e).__name__}: {e}"
            rec["file"] = None
        out.append(rec)
    return out


# --- the report object ----------------------------------------------------------------------------
def report_code(rows: Sequence[Row], figures: Sequence[dict]) -> int:
    """Worst row code; a figure that failed for another reason than a missing JSON is 4."""
    code = exit_code(rows)
    if any(f["error"] and f["error"].startswith("internal error") for f in figures):
        code = 4
    return code


def build_report(paper: str, params: dict, rows: Sequence[Row], theorems: list[dict],
                 figures: list[dict], total_s: float) -> dict:
    """The report as one JSON-ready object (render.envelope): what report.json holds and what
    report.md / report.html are rendered from."""
    code = report_code(rows, figures)
    verdicts = {v: sum(r.verdict == v for r in rows) for v in ("verified", "refuted", "unknown", "error",
                                                                 "tabulated")}
    summary = {"checks": len(rows), **verdicts,
               "refuted_as_expected": sum(r.check.expect == "refuted" and r.verdict == "refuted" for r in rows),
               "unexpected": [r.check.name for r in rows if r.code],
               "theorems": len(theorems),
               "theorems_with_verdict": sum(t["verdict"] not in (NOT_CHECKABLE, "not run") for t in theorems),
               "theorems_not_checkable": sum(t["verdict"] == NOT_CHECKABLE for t in theorems),
               "theorems_not_run": sum(t["verdict"] == "not run" for t in theorems)}
    title = "all papers" if paper not in PAPERS else PAPERS[paper]
    return render.envelope("report", params, timing={"total_s": total_s,
                                                     "checks_s": sum(r.time_s for r in rows)},
                           libraries=("matplotlib",), paper=paper, title=title, verdict=VERDICT[code],
                           result=RESULT[code],
                           exit_code=code, summary=summary, theorems=theorems,
                           checks=[r.to_json() for r in rows], figures=figures)
