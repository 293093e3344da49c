"""``attncheck theorems``: the theorem catalogue (docs/theorems.md) on the command line.

\b
  attncheck theorems                       every entry: id, status tag, title
  attncheck theorems --paper sht24b        the entries of one paper
  attncheck theorems sht24a.thm4_2         one whole entry: source, status, check, statement
  attncheck theorems ID --json             the same as one JSON object

Pipeline: params -> attncheck.bounds.theorems (parse the shipped catalogue) -> render.
Exit codes: 0 printed, 2 unknown id or paper (one line, with a suggestion).
"""
from __future__ import annotations

import click

from attncheck.bounds import theorems as catalogue
from attncheck.cli import render
from attncheck.cli.options import json_option
from attncheck.cli.params import ReportParams, takes
from attncheck.constructions.verdict import BadInput


@click.command("theorems")
@click.argument("id", required=False, metavar="[ID]")
@click.option("--paper", type=click.Choice(catalogue.PAPERS, case_sensitive=False), default=None,
              help="Only the entries of this paper.")
@json_option
@takes(ReportParams)
def theorems(p: ReportParams):
    """The theorem catalogue: every id with its status tag and title, or one whole entry."""
    p = p.replace(paper=p.paper.lower() if p.paper else None)
    paper = p.paper
    if p.id is None:
        entries = catalogue.for_paper(paper) if paper else catalogue.load_catalogue()
        obj = render.envelope("theorems", p.to_json(), verdict=None, count=len(entries),
                              theorems=[e.to_json() for e in entries])
        render.emit(obj, p.json, lambda con: _draw_list(con, entries, paper))
        return
    entry = catalogue.get(p.id)
    if paper and entry.paper != paper:
        raise BadInput(f"theorem {p.id} belongs to paper {entry.paper}, not {paper}")
    obj = render.envelope("theorems", p.to_json(), verdict=None, theorem=entry.to_json())
    render.emit(obj, p.json, lambda con: _draw_entry(con, entry))


def _draw_list(con, entries, paper) -> None:
    counts = {p: sum(e.paper == p for e in entries) for p in catalogue.PAPERS}
    caption = ", ".join(f"{p}: {n}" for p, n in counts.items() if n)
    title = f"{len(entries)} catalogue entries" + (f" of {paper}" if paper else "") + \
        " (docs/theorems.md; 'attncheck theorems ID' prints one)"
    con.print(render.table(title, ("id", "status", "title"),
                           [(e.id, e.status, e.title) for e in entries], caption=caption))


def _draw_entry(con, e) -> None:
    con.print(f"{render.esc(e.id)} — {render.esc(e.title)}  {render.esc(e.status)}")
    con.print(render.table(None, ("field", "value"), [
        ("paper", e.paper), ("source", e.source), ("status", e.status),
        ("section", f"docs/theorems.md §{e.section}"), ("checked by", e.checked_by)]))
    con.print(e.statement, markup=False)
