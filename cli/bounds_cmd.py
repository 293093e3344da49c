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
from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli.main import LazyGroup
from attncheck.cli.options import common_options, json_option, table_format, table_format_options
from attncheck.cli.params import BoundsParams, alias, takes
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
        click.option("--D", "D", type=int, default=None,
                     help="Residual width m of the model under test [default: ⌈log2 N⌉]."),
        click.option("--H", "H", type=int, default=None, help="Heads per layer of the model under test [default: 1]."),
        click.option("--word-bits", "word_bits", type=int, default=None,
                     help="Bits p of every stored number of the model under test [default: ⌈log2 N⌉]."),
        alias("--p", "word_bits", type=int),
        click.option("--q", "q", type=int, default=None, help="qSA sparsity q [default: 2]."),
        click.option("--diameter", "diameter", type=int, default=None,
                     help="Graph diameter D (cor3_3/cor3_5) [default: N]."),
        click.option("--eps", "eps", default=None, callback=_frac, help="Exponent slack ε, e.g. 1/4 [default: 1/4]."),
        click.option("--delta", "delta", default=None, callback=_frac, help="MPC memory exponent δ [default: 1/8]."),
        opt.alphabet_option(help_="Alphabet size |Σ| [default: 3]."),
        click.option("--set", "set", multiple=True, metavar="NAME=VALUE",
                     help="Any other bound parameter (see 'bounds show ID'), e.g. --set s=64."),
        click.option("--measure/--no-measure", default=True, show_default=True,
                     help="Build the matching constructions and print their sizes."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _bound_params(p: BoundsParams) -> dict:
    """The bound parameters the options give (bound names: m, H, p, q, diam, eps, delta,
    alphabet) plus every ``--set NAME=VALUE``."""
    return _given(p.set, m=p.D, H=p.H, p=p.word_bits, q=p.q, diam=p.diameter, eps=p.eps, delta=p.delta,
                  alphabet=p.alphabet)


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
@takes(BoundsParams)
def list_cmd(p: BoundsParams):
    """Every registered bound: id, direction, status tag, source."""
    from attncheck.bounds.formulas import BOUNDS
    rows = [(b.id, b.direction, b.source.tag, str(b.source), b.title) for b in BOUNDS.values()]
    obj = render.envelope("bounds list", p.to_json(), verdict=None, bounds=[
        {"id": r[0], "direction": r[1], "status": r[2], "source": r[3], "title": r[4],
         "aliases": list(b.aliases)} for r, b in zip(rows, BOUNDS.values())])
    render.emit(obj, p.json, lambda con: con.print(render.table(
        f"{len(rows)} bounds (docs/theorems.md ids; tags: [P] paper, [P-abs] abstract, [S] notes, [R] ours)",
        ("id", "direction", "status", "source", "title"), [tuple(_plain(c) for c in r) for r in rows])))


@bounds.command("show")
@click.argument("id", metavar="BOUND_ID")
@json_option
@takes(BoundsParams)
def show_cmd(p: BoundsParams):
    """Statement, tags, formulas (unicode and LaTeX), assumptions, how attncheck checks it."""
    from attncheck.bounds import symbolic
    from attncheck.bounds.formulas import get
    b = get(p.id)
    desc = b.describe()
    for q, d in zip(b.quantities, desc["quantities"]):
        expr = symbolic.parse(q.expr, b.symbols)
        d["unicode"], d["latex"] = symbolic.unicode(expr), symbolic.latex(expr)
    obj = render.envelope("bounds show", p.to_json(), libraries=("sympy",), verdict=None, bound=desc)
    render.emit(obj, p.json, lambda con: _draw_show(con, desc))


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
@opt.n_option(default=64)
@opt.k_option(default=8)
@_param_options
@click.option("--only", multiple=True, metavar="ID", help="Only these bound ids (repeatable).")
@table_format_options
@common_options
@takes(BoundsParams)
def table_cmd(p: BoundsParams):
    """Every bound at the given parameters, beside the sizes of our constructions
    (--markdown / --latex: the table alone, for docs and papers)."""
    from attncheck.bounds.evaluate import table
    from attncheck.constructions.budget import Budget
    kind = table_format(p.markdown, p.latex, p.json)
    t0 = time.monotonic()
    given = {"N": p.N, "k": p.k, **_bound_params(p)}
    with render.progress(None, "bounds table", enabled=p.measure):
        result = table(given, do_measure=p.measure, budget=Budget(p.budget), ids=tuple(p.only) or None,
                       seed=p.seed)
    obj = render.envelope("bounds table", p.to_json(), seed=p.seed, timing={"total_s": time.monotonic() - t0},
                          verdict=None, **result.to_json())
    if kind is not None:
        render.text_table(kind, TABLE_COLUMNS, [cells for r in result.rows for cells in _row_cells(r)])
    else:
        render.emit(obj, p.json, lambda con: _draw_table(con, result))
    _finish(click.get_current_context(), result.budget_spent, p.budget)


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
                         + " (override with --D --H --word-bits)"))
    con.print(_plain("  constructions built with |Σ| = 3 unless --alphabet; status tags per docs/theorems.md"))


def _model_params(result) -> dict:
    for r in result.rows:
        if {"m", "H", "p"} <= set(r.params):
            return {"m": r.params["m"], "H": r.params["H"], "p": r.params["p"]}
    return {}


@bounds.command("sweep")
@click.argument("id", metavar="BOUND_ID")
@click.option("--N", "N", type=opt.Range(), default="16..4096", show_default=True,
              help="N values: 64 | 16,64,256 | 16..4096 (doubling) | a..b:*r | a..b:+d.")
@click.option("--k", "k", type=opt.Range(geometric=False), default=None,
              help="k values: 8 | 1..16 (step +1) | 3,5,6 | a..b:*r  [default: 8 where the bound takes k].")
@_param_options
@click.option("--csv", "csv", is_flag=True, help="Print CSV (one row per point) for plotting.")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), default=None,
              help="Also write the sweep as a figure, FILE.png or FILE.svg.")
@opt.dist_options
@common_options
@takes(BoundsParams)
def sweep_cmd(p: BoundsParams):
    """How a bound and our construction scale over N (and k)."""
    from attncheck.bounds.evaluate import sweep, sweep_columns, sweep_grid, sweep_records
    from attncheck.bounds.formulas import get
    from attncheck.constructions.budget import Budget
    t0 = time.monotonic()
    if p.csv and p.json:
        raise BadInput("--csv and --json are exclusive; pick one")
    if p.plot and not p.plot.lower().endswith((".svg", ".png")):
        raise BadInput(f"--plot {p.plot!r}: the file name must end in .svg or .png")
    b = get(p.id)
    Ns, ks = p.N, p.k
    given = _bound_params(p)
    grid = sweep_grid(b.id, Ns, ks, given)[1]                   # validate every point first
    show = p.measure and not (p.json or p.csv)          # render.progress draws only on a terminal
    with render.progress(len(grid), f"sweep {b.id}", enabled=show) as advance:
        s = sweep(b.id, Ns, ks, given, do_measure=p.measure, budget=Budget(p.budget), advance=advance,
                  seed=p.seed)
    cols, recs = sweep_columns(s), sweep_records(s)
    if p.plot:
        _plot(p.plot, s)
    if p.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
        click.echo(buf.getvalue(), nl=False)
    else:
        obj = render.envelope("bounds sweep", {**p.to_json(), "id": b.id}, seed=p.seed,
                              timing={"total_s": time.monotonic() - t0}, verdict=None, **s.to_json(),
                              **opt.executor_evidence())
        render.emit(obj, p.json, lambda con: _draw_sweep(con, s, cols, recs))
    _finish(click.get_current_context(), s.budget_spent, p.budget)


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
