"""``attncheck search width qsa``: the smallest width for which a construction works.

``search width qsa --N N --q q`` finds the least query/key width m at which seeded random sign
codes admit least-squares certificates (``sht23.thm2`` recipe, [R]) for EVERY q-subset --
off-set scores <= theta -- and prints it beside ``q log2 N`` (the theorem's driving quantity)
and the moment-curve width ``2q + 1`` of ``sht23.thm3`` (checked on all subsets the same way).
Exit 0 (verdict verified) when a width was found, 3 (unknown) when none up to ``--head-width-max``
or the budget ran out, 2 bad input.
"""
from __future__ import annotations

import math
import time

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli.main import LazyGroup
from attncheck.cli.params import Sht23Params, alias, takes


@click.group(name="search", cls=LazyGroup,
             help="Search the smallest size for which a construction works.")
def search():
    """Search groups: ``width``."""


@search.command(name="width", help="Smallest query/key width m with certificates for every q-subset"
                " (random sign codes, least squares, sht23.thm2), beside q log2 N and the moment-curve"
                " width 2q+1 (sht23.thm3).  Exit 0 found, 3 not found / budget spent, 2 bad input.")
@click.argument("task", type=click.Choice(["qsa"]))
@opt.n_option()
@click.option("--q", "q", type=int, required=True, help="Pointer-set size q (1 <= q < N).")
@click.option("--theta", type=float, default=0.5, show_default=True,
              help="Off-set score bound a certificate must meet (the thm2 recipe uses 1/2).")
@click.option("--tries", type=int, default=1, show_default=True, help="Seeds tried per width (seed, seed+1, ...).")
@click.option("--head-width-max", "head_width_max", type=int, default=None,
              help="Largest query/key width m tried (default 4 x 8 q ln(N C(N,q))).")
@alias("--m-max", "head_width_max", type=int)
@opt.common_options
@takes(Sht23Params)
def width(p: Sht23Params):
    from attncheck.constructions.qsa import (build_qsa, check_footprint, default_width, n_subsets, sci_count,
                                             validate)
    from attncheck.verifiers.qsa_check import MAX_WORK
    from attncheck.verifiers.qsa_sweep import sweep
    from attncheck.verifiers.qsa_width import smallest_width
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.verdict import BadInput, BudgetExceeded, Status
    n, q, theta, tries, m_max, seed = p.N, p.q, p.theta, p.tries, p.head_width_max, p.seed
    validate(n, q, 1, None, "random", None)                           # N, q and the default width
    if not 0 < theta < 1:
        raise BadInput(f"--theta must lie in (0, 1), got {theta}")
    if tries < 1 or (m_max is not None and m_max < q):
        raise BadInput(f"--tries must be >= 1 and {p.flag('head_width_max')} >= q; got --tries {tries},"
                       f" {p.flag('head_width_max')} {m_max}")
    per_width = n_subsets(n, q) * n * q
    if per_width > MAX_WORK // 10:
        raise BadInput(f"C({n},{q}) = {sci_count(n_subsets(n, q))} subsets x N x q = {sci_count(per_width)} multiply-adds"
                       f" per width (limit {MAX_WORK // 10:.0e}); use smaller N or q")
    m_top = m_max or 4 * default_width(n, q)                          # widest construction built
    check_footprint(n, q, m_top, 1, p.flag("head_width_max") if m_max else
                    "the default --head-width-max (4 x 8 q ln(N C(N,q)))",
                    rows=0, lower="--head-width-max")                # margin sweeps use the Gram matrix
    moment, moment_why = None, None
    try:
        moment = build_qsa(n, q, codes="moment")
    except BadInput as e:                                             # too many bits: a row, not a failure
        moment_why = str(e)
    t0 = time.perf_counter()
    b = Budget(p.budget)
    with render.progress(None, f"search width qSA N={n} q={q}") as adv:
        try:
            res = smallest_width(n, q, theta, seed, tries, m_max, b, adv)
        except BudgetExceeded as e:
            res = {"found": False, "m": None, "reason": f"{e}", "checked": {}}
        r = None if moment is None else sweep(moment, "margin")
    drive = q * math.log2(n)
    rows = [{"codes": "random (thm2)", "theta": theta, "m": res["m"],
             "q_log2_N": round(drive, 4), "ratio": None if res["m"] is None else round(res["m"] / drive, 3),
             "seed": res.get("seed"), "m_minus_1_fails": res.get("m_minus_1_fails"),
             "note": f"least squares, seed {res.get('seed')}; m-1 fails: {res.get('m_minus_1_fails')}" if res["found"]
             else res.get("reason") or f"none up to m = {res.get('m_max')}"},
            _moment_row(moment, r, drive, moment_why)]
    status = Status.VERIFIED if res["found"] else Status.UNKNOWN
    report = render.envelope("search width qsa", p.to_json(), seed=seed, timing={"total_s": time.perf_counter() - t0},
                             verdict=status.value, found=res["found"], subsets=n_subsets(n, q), rows=rows,
                             checked=res.get("checked", {}), reason=res.get("reason", ""))
    render.emit(report, p.json, _human(report))
    click.get_current_context().exit(status.exit_code)


def _moment_row(moment, r, drive: float, why: str | None) -> dict:
    """The moment-curve row: its width 2q+1 checked on all subsets, or why it cannot be built."""
    from attncheck.constructions.precision import int_bits_for
    m = (moment.m if moment is not None else None)
    row = {"codes": "moment (thm3)", "theta": 0.0, "m": m, "q_log2_N": round(drive, 4),
           "ratio": None if m is None else round(m / drive, 3), "seed": None}
    if moment is None:
        return {**row, "certificates_ok": None, "key_bits": None, "note": f"not built: {why}"}
    ok = bool(r.complete and r.value <= 0.0)
    key_bits = int_bits_for(moment.size()["key_magnitude"])
    return {**row, "certificates_ok": ok, "key_bits": key_bits,
            "note": f"exact arithmetic; {'ok' if ok else 'FAIL'}, margin >= 1; keys {key_bits} int bits"}


def _human(report: dict):
    def draw(con):
        p = report["params"]
        con.print(f"sht23.thm2 [S] / sht23.thm3 [S/M]: smallest query/key width with certificates for all"
                  f" C({p['N']},{p['q']}) = {report['subsets']} pointer sets")
        con.print(render.table(None, ("codes", "theta", "smallest m", "q log2 N", "m / (q log2 N)", "note"),
                               [(r["codes"], r["theta"], r["m"] if r["m"] is not None else
                                 "n/a" if r["note"].startswith("not built") else "not found",
                                 r["q_log2_N"], r["ratio"], r["note"]) for r in report["rows"]]))
        tried = ", ".join(f"{m}:{'ok' if v['ok'] else 'no'}" for m, v in report["checked"].items())
        if tried:
            con.print(f"  widths tried (doubling, then bisection): {tried}")
        if report.get("reason"):
            con.print(f"  {render.esc(report['reason'])}")
        con.print(f"  time: {report['timing']['total_s']:.2f} s")
    return draw
