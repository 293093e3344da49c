"""``attncheck depth``: how many layers a construction needs -- stated, used, and reachable.

``depth hop`` (``sht24a.thm4_2``, docs/theorems.md section 4.2 flag and section 11 item 1):

* one row per k = 1..k_max: the paper's stated depth ``floor(log2 k) + 2`` [P], the depth our
  construction uses ``2 + ceil(log2 k)`` [R] and its verdict (certificate, at --N), the printed
  recursion built at the paper's depth and its verdict (a replayed counterexample when it
  computes another hop count), whether *any* one-lookup-per-layer pointer program of the
  paper's depth reaches k, and the width of both residual modes;
* the reach analysis: for every depth L the offsets that the exhaustive search over pointer
  programs reaches (1 register, 2 registers, unbounded), beside ``2^(L-2)``.

Exit 0 when every construction of ours is VERIFIED, every printed-recursion verdict is the
expected one and the search matches ``{0..2^(L-2)}``; 1 if one of ours is refuted; 3 otherwise.
"""
from __future__ import annotations

import dataclasses
import time

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli.hop_cmds import residual_option
from attncheck.cli.main import LazyGroup
from attncheck.cli.params import DepthParams, takes

MAX_ESTIMATE_S = 900.0     # refuse runs whose calibrated estimate is larger (without --budget)
REACH_WIDTHS = (1, 2, None)


@click.group(name="depth", cls=LazyGroup, help="Depth evidence: the depth a paper states, the depth a construction"
             " uses, and what each depth can reach.")
def depth():
    pass


def _verdict_json(v) -> dict:
    ce = v.counterexample
    return {"verdict": v.status.value, "method": v.method.value, "reason": v.reason,
            "counterexample": None if ce is None else ce.to_json()}


def hop_row(k: int, N: int, alphabet: int, residual: str, samples: int, seed: int) -> dict:
    """One row of the depth table for hop_k."""
    from attncheck.constructions.hop import build_hop
    from attncheck.constructions.pointer_programs import (corrected_depth, paper_depth,
                                                          printed_schedule, reach)
    from attncheck.verifiers.certificate import certify
    from attncheck.verifiers.sample import check_sample
    ours = build_hop(N, k, alphabet, residual=residual)
    other = build_hop(N, k, alphabet, residual="additive" if residual == "overwrite" else "overwrite")
    v_ours = certify(ours, "hop", {"k": k}, ours.fmt)
    printed = printed_schedule(k)
    pc = build_hop(N, k, alphabet, variant="paper", paper_part="recursion", residual=residual)
    if printed.offset == k:
        v_printed = certify(pc, "hop", {"k": k}, pc.fmt)
    else:
        v_printed = check_sample(pc, "hop", {"k": k}, pc.fmt, samples=samples, seed=seed)
    widths = {residual: ours.width, other.params["residual"]: other.width}
    return {"k": k, "paper_depth": paper_depth(k), "our_depth": corrected_depth(k),
            "layers_built": ours.n_layers, "schedule": ours.params["schedule"],
            "ours": _verdict_json(v_ours),
            "printed_computes": printed.offset, "printed": _verdict_json(v_printed),
            "printed_expected": "verified" if printed.offset == k else "refuted",
            "reachable_at_paper_depth": k in reach(paper_depth(k)).offsets,
            "width_overwrite": widths["overwrite"], "width_additive": widths["additive"]}


def _row_job(args: tuple) -> dict:
    return hop_row(*args)


def hop_rows(p: DepthParams, clock, advance) -> tuple[list[dict], str | None]:
    """``hop_row`` for k = 1..k_max as the chunks of the command's executor (serial unless
    --workers/--scheduler), in k order; (rows, why it stopped) -- the rows finished when the
    budget ran out, and its message."""
    from attncheck.constructions.executor import current
    from attncheck.constructions.verdict import BudgetExceeded
    done: dict[int, dict] = {}
    stopped = None
    stream = current().stream(_row_job, p.k_max,
                              lambda i: (i + 1, p.N, p.alphabet, p.residual, p.samples, p.seed),
                              check=lambda: clock.check(rows_done=len(done), of=p.k_max), budget=clock)
    try:
        with stream:
            for i, row in stream:
                done[i] = row
                advance(1)
    except BudgetExceeded as e:
        stopped = str(e)
    return [done[i] for i in sorted(done)], stopped


def reach_rows(max_layers: int) -> list[dict]:
    """The exhaustive pointer-program search for L = 2..max_layers, per register width."""
    from attncheck.constructions.pointer_programs import reach, reach_closed_form
    rows = []
    for L in range(2, max_layers + 1):
        row = {"layers": L, "closed_form_max": 2 ** (L - 2),
               "closed_form_matches": reach(L).offsets == reach_closed_form(L)
               == frozenset(range(2 ** (L - 2) + 1)),
               "first_needing": [2 ** (L - 3) + 1 if L > 2 else 1, 2 ** (L - 2)]}
        for w in REACH_WIDTHS:
            r = reach(L, w)
            row["unbounded" if w is None else f"width_{w}"] = r.to_json()
        rows.append(row)
    return rows


def _estimate(N: int, alphabet: int, k_max: int) -> float:
    """Seconds for the table: per row our certificate and the printed recursion's check."""
    from attncheck.cli.hop_cmds import certificate_seconds
    from attncheck.constructions.pointer_programs import corrected_depth
    return sum(certificate_seconds(N, 2 * corrected_depth(k), alphabet) for k in range(1, k_max + 1))


@depth.command("hop", help="Depth of the k-hop head: the paper's floor(log2 k)+2 vs our 2+ceil(log2 k),"
               " verdicts at --N, and the reach of one-lookup-per-layer pointer programs.")
@click.option("--k-max", "k_max", type=int, default=16, show_default=True, help="Rows k = 1..k_max.")
@opt.n_option(default=64)
@opt.alphabet_option(help_="Alphabet size |Σ|.  [default: min(3, N)]")
@residual_option
@click.option("--samples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Seeded inputs searched for a counterexample to the printed recursion.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also write layers against k (paper vs ours, verdicts) to FILE.png or FILE.svg.")
@opt.dist_options
@opt.common_options
@takes(DepthParams)
def depth_hop(p: DepthParams):
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.hop import MAX_K
    from attncheck.constructions.pointer_programs import corrected_depth
    from attncheck.constructions.verdict import BadInput
    if not 1 <= p.k_max <= MAX_K:
        raise BadInput(f"--k-max must be in 1..{MAX_K}, got {p.k_max}")
    p = p.replace(alphabet=opt.default_alphabet(p.N, p.alphabet))
    if p.plot:
        from attncheck.cli.figures import check_path
        check_path(p.plot)
    t0 = time.perf_counter()
    est = _estimate(p.N, p.alphabet, p.k_max)
    limit = p.budget if p.budget is not None else MAX_ESTIMATE_S
    if est > limit:
        raise BadInput(f"depth hop --k-max {p.k_max} --N {p.N} needs about {est:.3g} s of certificates, more than"
                       f" {'--budget' if p.budget else 'the limit of'} {limit:g} s; use a smaller --N or --k-max")
    clock = Budget(p.budget)
    with render.progress(p.k_max, f"depth hop N={p.N}") as advance:
        rows, stopped = hop_rows(p, clock, advance)
    reach = reach_rows(corrected_depth(p.k_max))
    verdict = summary(rows, reach, p.k_max, p.N, stopped)
    verdict = dataclasses.replace(verdict, evidence={**verdict.evidence, **opt.executor_evidence()})
    report = render.envelope("depth hop", p.to_json(), seed=p.seed, timing={"total_s": time.perf_counter() - t0},
                             theorem="sht24a.thm4_2", **verdict.to_json(), rows=rows, reach=reach)
    if p.plot:
        from attncheck.cli.figures import depth_vs_k
        depth_vs_k(report, p.plot)
    render.emit(report, p.json, _human(report))
    click.get_current_context().exit(verdict.exit_code)


def summary(rows: list, reach: list, k_max: int, N: int, stopped: str | None):
    """One verdict for the whole table (the verdict keys go to the top level of the JSON)."""
    from attncheck.constructions.verdict import Method, Status, Verdict
    claim = (f"for k = 1..{k_max} at N = {N} our hop_k construction verifies at depth 2+ceil(log2 k), the"
             f" printed recursion is refuted wherever it computes another hop count, and one-lookup"
             f" pointer programs of depth L reach exactly k <= 2^(L-2)")
    status, reason = _status(rows, reach, k_max, stopped)
    return Verdict(Status(status), Method.CERTIFICATE, claim, len(rows), reason=reason,
                   evidence={"stopped": stopped, "printed_counterexamples": sum(
                       r["printed"]["counterexample"] is not None for r in rows)})


def _status(rows: list, reach: list, k_max: int, stopped: str | None) -> tuple[str, str]:
    if any(r["ours"]["verdict"] == "refuted" for r in rows):
        return "refuted", "a construction of ours was refuted"
    problems = []
    if stopped or len(rows) < k_max:
        problems.append(f"{stopped or 'stopped'} after {len(rows)} of {k_max} rows")
    problems += [f"k={r['k']}: ours {r['ours']['verdict']}" for r in rows if r["ours"]["verdict"] != "verified"]
    problems += [f"k={r['k']}: printed recursion {r['printed']['verdict']} (expected {r['printed_expected']})"
                 for r in rows if r["printed"]["verdict"] != r["printed_expected"]]
    problems += [f"L={r['layers']}: reach differs from 0..2^(L-2)" for r in reach if not r["closed_form_matches"]]
    if problems:
        return "unknown", "; ".join(problems)
    return "verified", (f"all {k_max} constructions verified at depth 2+ceil(log2 k);"
                        " the printed recursion is refuted wherever it computes another hop count;"
                        " one-lookup pointer programs of depth L reach exactly k <= 2^(L-2)")


def _human(report):
    def draw(con):
        p = report["params"]
        con.print(render.esc(f"sht24a.thm4_2: stated depth floor(log2 k)+2 [P]; construction depth"
                             f" 2+ceil(log2 k) [R]; N={p['N']}, |Σ|={p['alphabet']}, residual {p['residual']}"))
        rows = []
        for r in report["rows"]:
            ce = r["printed"]["counterexample"]
            pv = r["printed"]["verdict"].upper()
            if ce:
                pv += f" i={ce['position']}: want {render.fmt_token(ce['expected'])}, got {render.fmt_token(ce['got'])}"
            rows.append((r["k"], r["paper_depth"], r["our_depth"], r["ours"]["verdict"].upper(),
                         f"hop_{r['printed_computes']}", pv, "yes" if r["reachable_at_paper_depth"] else "no",
                         f"{r['width_overwrite']} / {r['width_additive']}"))
        con.print(render.table("depth of hop_k (ours: certificate; printed recursion: replayed counterexample)",
                               ("k", "paper L", "our L", "ours", "printed", "printed verdict",
                                "reach @ paper L", "width ow / add"), rows))
        reach = [(r["layers"], r["closed_form_max"], _span(r["width_1"]),
                  _span(r["width_2"]), _span(r["unbounded"]), r["unbounded"]["states"],
                  "{}..{}".format(*r["first_needing"]))
                 for r in report["reach"]]
        con.print(render.table("reach of one-lookup-per-layer pointer programs (exhaustive search)",
                               ("L", "2^(L-2)", "1 register", "2 registers", "unbounded", "states",
                                "k first needing L"), reach,
                               caption="1 register reaches only powers of two; 2 registers (jump + accumulator)"
                                       " reach every k <= 2^(L-2), as does any width."))
        style = render.STATUS_STYLE.get(report["verdict"], "bold")
        con.print(f"[{style}]{report['verdict'].upper()}[/]  {render.esc(report['reason'])}")
    return draw


def _span(r: dict) -> str:
    return f"0..{r['max_offset']}" if r["contiguous"] else ",".join(map(str, r["offsets"]))
