"""``attncheck bounds``: every bound as an exact formula, beside what our constructions use.

\b
  attncheck bounds list                      ids, direction, status tag, source
  attncheck bounds show sht24a.thm4_2        statement, tags, formula (unicode, LaTeX), checks
  attncheck bounds table --N 64 --k 8        every bound evaluated, with measured construction sizes
  attncheck bounds sweep sht24a.thm4_2 --N 16..4096 --k 1..16 [--csv] [--plot f.svg]

Pipeline: params -> attncheck.bounds.evaluate (bounds + measured constructions) -> render.
Exit codes: 0 printed, 2 bad input or outside a bound's regime, 3 budget spent before every
construction was measured.
"""
from __future__ import annotations

import csv
import io
import re
import time

import click

from attncheck.bounds.sizes import COMPANIONS
from attncheck.cli import render
from attncheck.cli.main import LazyGroup
from attncheck.cli.options import common_options, json_option, table_format, table_format_options
from attncheck.constructions.verdict import EXIT_UNDECIDED, BadInput

_MARKUP = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _plain(s) -> str:
    """Escape rich markup so '[k]' or '[standard]' print literally."""
    return _MARKUP.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), str(s))


def _frac(ctx, param, value):
    if value is None:
        return None
    from fractions import Fraction
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise click.BadParameter(f"expected a number like 1/4 or 0.25, got {value!r}") from None


def _param_options(f):
    """Model and problem parameters shared by ``table`` and ``sweep``."""
    opts = [
        click.option("--D", "m", type=int, default=None, help="Width m of the model under test [default: ⌈log2 N⌉]."),
        click.option("--H", "H", type=int, default=None, help="Heads per layer of the model under test [default: 1]."),
        click.option("--p", "p", type=int, default=None, help="Precision bits of the model under test [default: ⌈log2 N⌉]."),
        click.option("--q", "q", type=int, default=None, help="qSA sparsity q [default: 2]."),
        click.option("--diameter", "diam", type=int, default=None, help="Graph diameter D (cor3_3/cor3_5) [default: N]."),
        click.option("--eps", "eps", default=None, callback=_frac, help="Exponent ε, e.g. 1/4 [default: 1/4]."),
        click.option("--delta", "delta", default=None, callback=_frac, help="MPC memory exponent δ [default: 1/8]."),
        click.option("--alphabet", "alphabet", type=int, default=None, help="Alphabet size |Σ| [default: 3]."),
        click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Any other bound parameter (see 'bounds show ID'), e.g. --set s=64."),
        click.option("--measure/--no-measure", default=True, show_default=True,
                     help="Build the matching constructions and print their sizes."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _given(sets, **named) -> dict:
    from fractions import Fraction
    given = {k: v for k, v in named.items() if v is not None}
    for item in sets:
        name, eq, raw = item.partition("=")
        if not eq or not name.strip():
            raise BadInput(f"--set {item!r}: expected NAME=VALUE")
        try:
            value = Fraction(raw.strip())
        except (ValueError, ZeroDivisionError):
            raise BadInput(f"--set {item!r}: VALUE must be a number like 3, 1/4 or 0.25") from None
        given[name.strip()] = int(value) if value.denominator == 1 and "/" not in raw and "." not in raw else value
    return given


@click.group("bounds", cls=LazyGroup)
def bounds():
    """Lower and upper bounds as exact formulas, tables beside our constructions, sweeps."""


@bounds.command("list")
@json_option
def list_cmd(as_json):
    """Every registered bound: id, direction, status tag, source."""
    from attncheck.bounds.formulas import BOUNDS
    rows = [(b.id, b.direction, b.source.tag, str(b.source), b.title) for b in BOUNDS.values()]
    obj = render.envelope("bounds list", {}, bounds=[
        {"id": r[0], "direction": r[1], "status": r[2], "source": r[3], "title": r[4],
         "aliases": list(b.aliases)} for r, b in zip(rows, BOUNDS.values())])
    render.emit(obj, as_json, lambda con: con.print(render.table(
        f"{len(rows)} bounds (docs/theorems.md ids; tags: [P] paper, [P-abs] abstract, [S] notes, [R] ours)",
        ("id", "direction", "status", "source", "title"), [tuple(_plain(c) for c in r) for r in rows])))


@bounds.command("show")
@click.argument("bound_id")
@json_option
def show_cmd(bound_id, as_json):
    """Statement, tags, formulas (unicode and LaTeX), assumptions, how attncheck checks it."""
    from attncheck.bounds import symbolic
    from attncheck.bounds.formulas import get
    b = get(bound_id)
    desc = b.describe()
    for q, d in zip(b.quantities, desc["quantities"]):
        expr = symbolic.parse(q.expr, b.symbols)
        d["unicode"], d["latex"] = symbolic.unicode(expr), symbolic.latex(expr)
    obj = render.envelope("bounds show", {"id": bound_id}, libraries=("sympy",), bound=desc)
    render.emit(obj, as_json, lambda con: _draw_show(con, desc))


def _draw_show(con, d: dict) -> None:
    p = con.print
    p(_plain(f"{d['id']} — {d['title']}"))
    p(_plain(f"  source: {d['source']['paper']} {d['source']['item']}  {d['source']['tag']}"
             f"   direction: {d['direction']}" + (f"   conditional on {d['conditional_on']}"
                                                  if d["conditional_on"] else "")))
    p(_plain(f"  statement: {d['statement']}"))
    p(_plain(f"  constant: {d['constant']}"))
    p(render.table("parameters", ("name", "symbol", "meaning", "domain", "default"),
                   [tuple(_plain(x[k]) for k in ("name", "symbol", "meaning", "domain", "default"))
                    for x in d["params"]]))
    for q in d["quantities"]:
        p(_plain(f"  {q['label']} {q['tag']} ({q['constant']}): {q['formula']}"))
        p("    " + q["unicode"].replace("\n", "\n    "), markup=False)
        p(f"    LaTeX: {q['latex']}", markup=False)
    p(_plain("  assumptions: " + "; ".join(d["assumptions"])))
    p(_plain(f"  how attncheck checks it: {d['check']}"))
    if d["construction"]:
        p(_plain(f"  construction: {d['construction']}" + (f" ({d['construction_note']})"
                                                          if d["construction_note"] else "")))
    if d["aliases"]:
        p(_plain(f"  aliases: {', '.join(d['aliases'])}"))


@bounds.command("table")
@click.option("--N", "n", type=int, default=64, show_default=True, help="Sequence length N (>= 2).")
@click.option("--k", "k", type=int, default=8, show_default=True, help="Number of hops k (>= 1).")
@_param_options
@click.option("--only", multiple=True, metavar="ID", help="Only these bound ids (repeatable).")
@table_format_options
@common_options
@click.pass_context
def table_cmd(ctx, n, k, m, H, p, q, diam, eps, delta, alphabet, sets, measure, only, markdown, latex,
              as_json, seed, budget):
    """Every bound at the given parameters, beside the sizes of our constructions
    (--markdown / --latex: the table alone, for docs and papers)."""
    from attncheck.bounds.evaluate import table
    from attncheck.constructions.budget import Budget
    kind = table_format(markdown, latex, as_json)
    t0 = time.monotonic()
    given = _given(sets, N=n, k=k, m=m, H=H, p=p, q=q, diam=diam, eps=eps, delta=delta, alphabet=alphabet)
    with render.progress(None, "bounds table", enabled=measure):
        result = table(given, do_measure=measure, budget=Budget(budget), ids=tuple(only) or None, seed=seed)
    params = {key: str(v) if not isinstance(v, int) else v for key, v in given.items()}
    params["measure"] = measure
    obj = render.envelope("bounds table", params, seed=seed, timing={"total_s": time.monotonic() - t0},
                          **result.to_json())
    if kind is not None:
        render.text_table(kind, TABLE_COLUMNS, [cells for r in result.rows for cells in _row_cells(r)])
    else:
        render.emit(obj, as_json, lambda con: _draw_table(con, result))
    _finish(ctx, result.budget_spent, budget)


def _finish(ctx, spent: bool, budget) -> None:
    if spent:
        click.echo(f"attncheck: budget of {budget:g} s spent: some constructions were not measured"
                   " (UNKNOWN sizes, exit 3)", err=True)
        ctx.exit(EXIT_UNDECIDED)


KIND = {"lower": "lower", "upper": "upper", "conditional": "cond."}


def _ours_cells(part) -> tuple[str, str]:
    uses = "\n".join(f"{c.construction}: {'n/a' if c.uses is None else c.uses}" for c in part.ours)
    ratios = "\n".join("—" if c.ratio is None else c.ratio.display for c in part.ours)
    return uses, ratios


def _row_cells(row) -> list[tuple]:
    b = row.bound
    head = f"{b.id}\n{b.source.paper} {b.source.item.split(' (')[0]} {b.source.tag}\n{b.direction}"
    if row.problem:
        return [(head, f"outside regime: {row.problem}", "—", "", "")]
    out = []
    for i, part in enumerate(row.parts):
        q, v = part.value.quantity, part.value.value
        uses, ratios = _ours_cells(part)
        tag = "" if q.tag == b.source.tag else f"  {q.tag}"
        out.append((head if i == 0 else "", f"{q.text}{tag}", v.display, uses, ratios))
    return out


def _table_notes(result) -> list[str]:
    notes = [f"{r.bound.id}: {n}" for r in result.rows if r.result for n in r.result.notes]
    notes += [f"{r.bound.id}: {r.bound.construction_note}" for r in result.rows
              if r.bound.construction_note and r.measured]
    missing = {m.name: m.reason for r in result.rows for m in r.measured if m.size is None}
    notes += [f"{name}: not measured ({why})" for name, why in sorted(missing.items())]
    return notes


TABLE_COLUMNS = ("bound", "says", "value", "ours (measured)", "ratio")


def _draw_table(con, result) -> None:
    rows = [cells for r in result.rows for cells in _row_cells(r)]
    prm = result.params
    t = render.table(_plain(f"bounds at N = {prm.get('N')}, k = {prm.get('k')}: value = the driving quantity"
                            " (its constant is hidden where the bound says O/Ω)"),
                     TABLE_COLUMNS, rows)
    for col, width in zip(t.columns, (24, 30, 12, 18, 8)):
        col.width = width
    con.print(t)
    for note in _table_notes(result):
        con.print(_plain(f"  note — {note}"))
    model = _model_params(result)
    if model:
        con.print(_plain("  model under test: " + ", ".join(f"{k} = {v}" for k, v in model.items())
                         + " (override with --D --H --p)"))
    con.print(_plain("  constructions built with |Σ| = 3 unless --alphabet; status tags per docs/theorems.md"))


def _model_params(result) -> dict:
    for r in result.rows:
        if {"m", "H", "p"} <= set(r.params):
            return {"m": r.params["m"], "H": r.params["H"], "p": r.params["p"]}
    return {}


@bounds.command("sweep")
@click.argument("bound_id")
@click.option("--N", "n_range", default="16..4096", show_default=True,
              help="N values: 64 | 16,64,256 | 16..4096 (doubling) | a..b:*r | a..b:+d.")
@click.option("--k", "k_range", default=None,
              help="k values: 8 | 1..16 (step +1) | 3,5,6 | a..b:*r  [default: 8 where the bound takes k].")
@_param_options
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per point) for plotting.")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), default=None,
              help="Also write the sweep as a figure, FILE.png or FILE.svg.")
@common_options
@click.pass_context
def sweep_cmd(ctx, bound_id, n_range, k_range, m, H, p, q, diam, eps, delta, alphabet, sets, measure,
              as_csv, plot, as_json, seed, budget):
    """How a bound and our construction scale over N (and k)."""
    from attncheck.bounds.evaluate import parse_range, sweep, sweep_columns, sweep_grid, sweep_records
    from attncheck.bounds.formulas import get
    from attncheck.constructions.budget import Budget
    t0 = time.monotonic()
    if as_csv and as_json:
        raise BadInput("--csv and --json are exclusive; pick one")
    if plot and not plot.lower().endswith((".svg", ".png")):
        raise BadInput(f"--plot {plot!r}: the file name must end in .svg or .png")
    b = get(bound_id)
    Ns = parse_range(n_range, "N", geometric=True)
    ks = parse_range(k_range, "k", geometric=False) if k_range is not None else None
    given = _given(sets, m=m, H=H, p=p, q=q, diam=diam, eps=eps, delta=delta, alphabet=alphabet)
    grid = sweep_grid(b.id, Ns, ks, given)[1]                   # validate every point first
    show = measure and not (as_json or as_csv)          # render.progress draws only on a terminal
    with render.progress(len(grid), f"sweep {b.id}", enabled=show) as advance:
        s = sweep(b.id, Ns, ks, given, do_measure=measure, budget=Budget(budget), advance=advance, seed=seed)
    cols, recs = sweep_columns(s), sweep_records(s)
    if plot:
        _plot(plot, s)
    if as_csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
        click.echo(buf.getvalue(), nl=False)
    else:
        params = {"id": b.id, "N": list(Ns), "k": None if ks is None else list(ks), "measure": measure,
                  **{key: str(v) if not isinstance(v, int) else v for key, v in given.items()}}
        obj = render.envelope("bounds sweep", params, seed=seed, timing={"total_s": time.monotonic() - t0},
                              **s.to_json())
        render.emit(obj, as_json, lambda con: _draw_sweep(con, s, cols, recs))
    _finish(ctx, s.budget_spent, budget)


def _draw_sweep(con, s, cols, recs) -> None:
    def cell(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    b = s.bound
    companions = COMPANIONS.get(b.construction, ())
    cols = [c for c in cols if c.split(".")[0] not in companions]    # companions: --csv / --json
    lead = 2 if "k" in cols else 1
    rows = [[cell(rec[c]) for c in cols[:lead]]
            + (["outside regime"] + [""] * (len(cols) - lead - 1) if pt.problem else
               [cell(rec[c]) for c in cols[lead:]])
            for pt, rec in zip(s.points, recs)]
    con.print(render.table(_plain(f"sweep {b.id} — {b.source} {b.source.tag} ({b.direction})"), cols, rows))
    if companions:
        con.print(_plain(f"  columns of {', '.join(companions)} are in --csv and --json"))
    for q in b.quantities:
        con.print(_plain(f"  {q.key}: {q.text}  {q.tag} ({q.constant})"))
    problems = [pt.problem for pt in s.points if pt.problem]
    if problems:
        con.print(_plain(f"  outside regime at {len(problems)} of {len(s.points)} points, e.g. {problems[0]}"))
    missing = {m.name: m.reason for pt in s.points for m in pt.measured if m.size is None}
    for name, why in sorted(missing.items()):
        con.print(_plain(f"  {name}: not measured ({why})"))


def _plot(path: str, s) -> None:
    """The sweep as a figure: attncheck.cli.figures.bounds_sweep of the --json object."""
    from attncheck.cli import figures
    figures.bounds_sweep(s.to_json(), path)
