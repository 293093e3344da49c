"""``attncheck witness ...`` and ``attncheck reduction ...``: exact finite witnesses of lower
bounds and reductions checked as identities (bounds/witnesses, bounds/reductions.py).

Every command is ``params -> compute -> verdict -> render``.  A witness is an exact count over
an enumerated domain, so its verdict is VERIFIED (exhaustive) or, when ``--budget`` runs out,
UNKNOWN (exit 3).  numpy is imported inside the commands, never at ``--help`` time.
"""
from __future__ import annotations

import dataclasses
import time

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli.main import LazyGroup
from attncheck.cli.options import common_options, k_option, n_option, table_format, table_format_options
from attncheck.cli.params import WitnessParams, alias, takes
from attncheck.cli.reduction_seq import SEQ_IDS, run_seq_check, seq_given, seq_options
from attncheck.constructions.verdict import BudgetExceeded, Method, Status, Verdict

TASKS = click.Choice(["induction", "hop"])
MARKER = "marker"


def _alphabet_option(f):
    return opt.alphabet_option(default=3, help_="Alphabet size |Σ| (>= 2); with --marker, the number of"
                               " data symbols.")(f)


def _marker_option(f):
    return click.option("--marker", is_flag=True,
                        help="Streaming INDEX family (sht23.rnn-ih): distinct markers at odd positions,"
                             " an alphabet that grows with N (N odd).")(f)


def _budget(seconds):
    from attncheck.constructions.budget import Budget
    return Budget(seconds)


def _progress(total: int | None, what: str):
    return render.progress(total, what)


def _finish(p: WitnessParams, verdict: Verdict, body: dict, t0: float, human) -> None:
    """Render the report (JSON: verdict keys at top level) and exit with the verdict's code."""
    obj = render.envelope(f"{p.meta.command}", p.to_json(), seed=p.seed,
                          timing={"total_s": time.perf_counter() - t0}, **verdict.to_json(), **body)
    render.emit(obj, p.json, lambda con: _human(con, obj, human))
    click.get_current_context().exit(verdict.exit_code)


def _human(con, report: dict, draw) -> None:
    render.headline(con, report, soft_wrap=True)
    if draw is not None:                      # UNKNOWN with a draw: the partial table (cells "?")
        draw(con)


def _unknown(claim: str, e: BudgetExceeded, cases="partial") -> Verdict:
    return Verdict(Status.UNKNOWN, Method.EXHAUSTIVE, claim, cases,
                   f"{e}; stopped at {e.progress}")


@click.group(name="witness", cls=LazyGroup)
def witness():
    """Exact finite witnesses of lower bounds (docs/theorems.md section 9.2): minimal RNN state,
    one-way communication, rank and fooling sets, the n-gram baseline."""


@witness.command("rnn-states")
@click.argument("task", type=TASKS)
@n_option()
@_alphabet_option
@k_option()
@_marker_option
@click.option("--method", type=click.Choice(["refine", "rows"]), default="refine", show_default=True,
              help="refine: backward refinement O(|D|); rows: hash every prefix's row per cut.")
@common_options
@takes(WitnessParams)
def rnn_states(p: WitnessParams):
    """Myhill-Nerode classes of prefixes at every cut t for the answer at position N: the exact
    minimum states (and bits) of any deterministic one-pass model (sht23.rnn-ih, sht24a.cor5_2)."""
    from attncheck.bounds.witnesses.myhill_nerode import rnn_state_classes
    p = p.replace(k=(2 if p.task == "hop" else 1) if p.k is None else p.k)
    t0 = time.perf_counter()
    claim = f"minimal RNN state for {p.task} (k={p.k}) at N={p.N}"
    try:
        with _progress(p.k + p.N + 1, "counting classes") as step:
            res = rnn_state_classes(p.task, p.N, p.alphabet, p.k, p.marker, _budget(p.budget), p.method, step)
    except BudgetExceeded as e:
        return _finish(p, _unknown(claim, e), {}, t0, None)
    v = Verdict(Status.VERIFIED, Method.EXHAUSTIVE, res.claim(), res.inputs,
                evidence={"theorem": res.theorem[0], "status_tag": res.theorem[1]})
    body = {k_: v_ for k_, v_ in res.to_json().items() if k_ in ("theorem", "status_tag", "cuts",
                                                                  "max_classes", "widest_cut", "log2", "bits")}

    def draw(con):
        con.print(render.table(None, ("cut t", "classes c_t", "ceil log2"),
                               [(t, c, (c - 1).bit_length()) for t, c in res.cuts]))
        con.print(f"  max classes {res.max_classes} at t={res.widest_cut}: {res.bits} state bits"
                  f" (log2 = {res.log2:.3f}); inputs enumerated: {res.inputs:,}")
    _finish(p, v, body, t0, draw)


@witness.command("one-way-cc")
@click.argument("task", type=click.Choice(["induction", "hop", "qsa"]))
@n_option()
@_alphabet_option
@k_option()
@_marker_option
@click.option("--split", default=None,
              help="interleaved (INDEX split, default for induction), block (sht24a.propE_4, default"
                   " for hop), halves, prefix:T, disj (qsa).")
@common_options
@takes(WitnessParams)
def one_way_cc(p: WitnessParams):
    """Distinct rows of the communication matrix (Alice's half -> function of Bob's half):
    the exact deterministic one-way CC, printed beside the bound it witnesses."""
    from attncheck.bounds.witnesses.oneway import DEFAULT_SPLIT, one_way_rows
    p = p.replace(k=(2 if p.task == "hop" else 1) if p.k is None else p.k,
                  split=p.split or DEFAULT_SPLIT[p.task])
    t0 = time.perf_counter()
    try:
        with _progress(p.k + 1, "communication matrix") as step:
            res = one_way_rows(p.task, p.N, p.alphabet, p.split, p.k, _budget(p.budget), p.marker, step)
    except BudgetExceeded as e:
        return _finish(p, _unknown(f"one-way CC of {p.task} at N={p.N}", e), {}, t0, None)
    v = Verdict(Status.VERIFIED, Method.EXHAUSTIVE, res.claim(), res.alice_inputs * res.bob_inputs,
                evidence={"theorem": res.bound["theorem"], "status_tag": res.bound["status"]})
    body = {k_: v_ for k_, v_ in res.to_json().items()
            if k_ in ("split", "alice", "bob", "alice_inputs", "bob_inputs", "rows", "bits", "log2",
                      "rows_fixed_last", "bound")}

    def draw(con):
        rows = [("split", res.split), ("Alice holds", _positions(res.alice)),
                ("Bob holds", _positions(res.bob)), ("Alice halves", f"{res.alice_inputs:,}"),
                ("distinct rows", f"{res.rows:,}"), ("one-way CC (bits)", res.bits),
                ("rows with X_N fixed", res.rows_fixed_last),
                ("bound", f"{res.bound['theorem']} [{res.bound['status']}]"),
                ("witnesses", res.bound["inequality"])]
        con.print(render.table(None, ("quantity", "value"), rows))
        if res.bound.get("rules_out"):
            con.print(render.table("one-layer models ruled out (h(m+1)p below the bound)",
                                   ("h", "m", "largest p ruled out"),
                                   [(r["h"], r["m"], r["p_max_ruled_out"]) for r in res.bound["rules_out"]]))
    _finish(p, v, body, t0, draw)


def _positions(pos) -> str:
    pos = list(pos)
    if pos and isinstance(pos[0], str):
        return ", ".join(pos)
    return ", ".join(map(str, pos)) if len(pos) <= 12 else f"{', '.join(map(str, pos[:10]))}, ... ({len(pos)})"


@witness.command("rank")
@click.argument("matrix", type=click.Choice(["disj", "index"]))
@click.option("--q", "q", type=int, default=6, show_default=True,
              help="Size: q for DISJ_q (2^q x 2^q), n for INDEX_n (2^n x n).")
@click.option("--fooling/--no-fooling", default=True, show_default=True,
              help="Search a largest fooling set (greedy; certified when it meets the upper bound).")
@common_options
@takes(WitnessParams)
def rank_cmd(p: WitnessParams):
    """Exact rank over Q and GF(2) and a largest fooling set of DISJ_q or INDEX_n
    (sht23.thm4: rank(DISJ_q) = 2^q; log-rank and fooling-set bounds on deterministic CC)."""
    from attncheck.bounds.witnesses.rank import rank_witness
    matrix, q = p.matrix, p.q
    t0 = time.perf_counter()
    try:
        with _progress(3, "rank and fooling set") as step:
            res = rank_witness(matrix, q, _budget(p.budget), p.fooling, step)
    except BudgetExceeded as e:
        return _finish(p, _unknown(f"rank of {matrix}_{q}", e), {}, t0, None)
    v = Verdict(Status.VERIFIED, Method.EXHAUSTIVE, res.claim(), res.shape[0] * res.shape[1],
                evidence={"theorem": res.theorem[0], "status_tag": res.theorem[1]})
    body = res.to_json()
    if not p.json or len(res.fooling_set or ()) > 64:
        body["fooling_set"] = None if res.fooling_set is None else f"{len(res.fooling_set)} pairs (omitted)"

    def draw(con):
        con.print(render.table(None, ("quantity", "value"), [
            ("matrix", f"{matrix.upper()}_{q}: {res.shape[0]} x {res.shape[1]}"),
            ("rank over Q", f"{res.rank_q} ({'exact' if res.rank_q_exact else 'lower bound'};"
                            f" {res.rank_q_method})"),
            ("rank over GF(2)", res.rank_gf2),
            ("fooling set (value 1)", f"{res.fooling_size} of at most {res.fooling_upper}"
                                      f"{' (largest)' if res.fooling_size == res.fooling_upper else ''}"),
            ("deterministic CC >=", f"{res.bits} bits")]))
    _finish(p, v, body, t0, draw)


@witness.command("ngram")
@click.option("--order", "order", type=int, default=2, show_default=True,
              help="Order n of the model: it sees the last n tokens (|Σ|^n table entries).")
@alias("--n", "order", type=int)
@n_option(default=6)
@_alphabet_option
@click.option("--exhaustive/--no-exhaustive", default=None,
              help="Also build the best order-n table over Σ^N and count its errors"
                   " (default: when |Σ|^N <= 2^20).")
@common_options
@takes(WitnessParams)
def ngram_cmd(p: WitnessParams):
    """The n-gram baseline: two inputs with the same last n tokens and different induction-head
    answers (ngram.ih [R]), and the exact error of the best order-n table."""
    from attncheck.bounds.witnesses.ngram import exhaustive_by_default, ngram_witness
    order, n, alphabet = p.order, p.N, p.alphabet
    if p.exhaustive is None:
        p = p.replace(exhaustive=exhaustive_by_default(n, alphabet))
    t0 = time.perf_counter()
    try:
        with _progress(1, "n-gram table") as step:
            res = ngram_witness(order, n, alphabet, p.exhaustive, _budget(p.budget), step)
    except BudgetExceeded as e:
        return _finish(p, _unknown("n-gram witness", e), {}, t0, None)
    cases = res.table.inputs if res.table else 2
    v = Verdict(Status.VERIFIED, Method.EXHAUSTIVE if res.table else Method.REDUCTION, res.claim(),
                cases, evidence={"theorem": "ngram.ih", "status_tag": "R"})
    body = res.to_json()

    def draw(con):
        p = res.parameters
        rows = [("parameters |Σ|^n", f"{p:,}" if isinstance(p, int) else p), ("fails from N =", order + 1)]
        if res.x is not None:
            rows += [("x", render.fmt_seq(res.x)), ("x'", render.fmt_seq(res.x_prime)),
                     ("shared window", render.fmt_seq(res.x[n - order:])),
                     ("tau_N(x), tau_N(x')", f"{render.fmt_token(res.answers[0])},"
                                              f" {render.fmt_token(res.answers[1])}")]
        if res.table:
            t = res.table
            rows += [("best table errors", f"{t.errors:,} of {t.inputs:,} ({t.errors / t.inputs:.4f})"),
                     ("ambiguous windows", f"{t.ambiguous_windows} of {alphabet ** min(order, n)}")]
        con.print(render.table(None, ("quantity", "value"), rows))
    _finish(p, v, body, t0, draw)


@witness.command("table")
@click.option("--N", "N", type=opt.Range(), default="3,5,7,9,11,13", show_default=True,
              help="Sequence lengths: a list 5,9,13 or a range a..b[:+d|:*r] (odd N also fits the"
                   " marker family).")
@alias("--Ns", "N", type=opt.Range())
@table_format_options
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also write state bits and one-way bits against N to FILE.png or FILE.svg.")
@opt.dist_options
@common_options
@takes(WitnessParams)
def table_cmd(p: WitnessParams):
    """State bits and one-way CC versus N for induction and hop_2 at |Σ| = 2, 3, 4 and the
    marker alphabet, computed now (the README table: --markdown; a paper: --latex)."""
    from attncheck.bounds.witnesses.table import COLUMNS, build_table, table_rows, wide_table
    kind = table_format(p.markdown, p.latex, p.json)
    Ns = list(p.N)
    if p.plot:
        from attncheck.cli.figures import check_path
        check_path(p.plot)
    t0 = time.perf_counter()
    with _progress(len(Ns) * len(COLUMNS), "witness table") as step:
        cells, stopped = build_table(Ns, _budget(p.budget), step)
    status = Status.UNKNOWN if stopped else Status.VERIFIED
    claim = ("sht23.rnn-ih [R], sht24a.cor5_2 [P], sht24b.one-layer-ih-lb [R], sht24a.propE_4 [P]:"
             " exact state bits and one-way CC versus N")
    v = Verdict(status, Method.EXHAUSTIVE, claim, len(cells),
                "budget spent; cells marked ? were not computed" if stopped else "",
                evidence=opt.executor_evidence())
    if p.plot:
        from attncheck.cli.figures import witness_growth
        witness_growth({"cells": cells}, p.plot)
    if kind is not None:                      # one table on stdout and nothing else
        render.text_table(kind, *wide_table(cells, Ns), align="r" * (1 + 4 * 4))
        if stopped:
            click.echo(f"attncheck: budget of {p.budget:g} s spent: cells marked ? were not computed"
                       " (UNKNOWN, exit 3)", err=True)
        click.get_current_context().exit(v.exit_code)

    def draw(con):
        for title, cols, rows in table_rows(cells, Ns):
            con.print(render.table(title, cols, rows))
        con.print("— over the enumeration cap; n/a: split or family undefined at this N;"
                  " marker = streaming INDEX family with binary data", soft_wrap=True, markup=False)
    _finish(p, v, {"cells": cells}, t0, draw)


# --- reductions -------------------------------------------------------------------------------
@click.group(name="reduction", cls=LazyGroup, lazy={"collide": (
    "attncheck.cli.reduction_seq", "reduction_collide", "Refute a multi-layer RNN on hop_k from transcript collisions.")})
def reduction():
    """Reductions behind the lower bounds, checked as finite identities (docs/theorems.md 9.1)."""


@reduction.command("list")
@opt.json_option
@takes(WitnessParams)
def reduction_list(p: WitnessParams):
    """List the reduction ids, their theorem ids and status tags."""
    from attncheck.bounds.reductions import REDUCTIONS
    from attncheck.bounds.seq_reductions import REDUCTIONS as SEQ
    rows = [{"id": r.id, "theorem": r.theorem, "status": r.status, "identity": r.identity_text,
             "options": list(r.params)} for r in (*REDUCTIONS.values(), *SEQ.values())]
    obj = render.envelope("reduction list", p.to_json(), verdict=None, reductions=rows)
    render.emit(obj, p.json, lambda con: con.print(render.table(
        None, ("id", "theorem [status]", "identity", "options"),
        [(r["id"], f"{r['theorem']} [{r['status']}]", r["identity"], ", ".join(r["options"]))
         for r in rows])))


@reduction.command("check")
@click.argument("id", metavar="ID")
@click.option("--n", "n", type=int, default=None,
              help="Size n of the source instance: INDEX length n' (index-ih, index-stream) or cycle"
                   " length n (cycle-gluing).")
@click.option("--q", "q", type=int, default=None, help="Layer size q (pointer-hop) or DISJ size q.")
@k_option()
@click.option("--N", "N", type=int, default=None, help="Sequence length / edge budget N (optional).")
@click.option("--variant", type=click.Choice(["corrected", "paper"]), default=None,
              help="cycle-gluing: 'paper' uses k = floor(N/n) copies as transcribed.")
@click.option("--mode", type=click.Choice(["auto", "exhaustive", "sample"]), default="auto",
              show_default=True, help="auto = exhaustive up to 500,000 instances, else sample.")
@click.option("--samples", type=int, default=1000, show_default=True, help="Instances drawn by sampling.")
@opt.alphabet_option(help_="rnn-multipass: input alphabet size |Σ| [default: 3].")
@seq_options
@common_options
@takes(WitnessParams)
def reduction_check(p: WitnessParams):
    """Check reduction ID (see 'attncheck reduction list') on every instance, or on seeded
    samples when there are too many (UNKNOWN: a sample is not a proof)."""
    from attncheck.bounds.reductions import REDUCTIONS, check, planned
    from attncheck.constructions.verdict import BadInput
    rid = p.id
    if rid in SEQ_IDS:
        return run_seq_check(p, _finish, with_sizes, _progress)
    if rid not in REDUCTIONS:
        raise BadInput(f"unknown reduction {rid!r}; choose one of {', '.join((*REDUCTIONS, *SEQ_IDS))}")
    given = {**seq_given(p), "variant": p.variant}
    extra = [name for name, val in given.items() if val is not None and name not in REDUCTIONS[rid].params]
    if extra:
        raise BadInput(f"{rid} takes {', '.join('--' + o for o in REDUCTIONS[rid].params)};"
                       f" not --{', --'.join(e.replace('_', '-') for e in extra)}")
    t0 = time.perf_counter()
    with _progress(planned(rid, given, p.mode, p.samples), f"reduction {rid}") as step:
        v = with_sizes(check(rid, given, p.mode, p.samples, p.seed, _budget(p.budget), on_step=step))

    def draw(con):
        report = {"command": p.meta.command, "counterexample": v.to_json()["counterexample"]}
        for line in render.counterexample_lines(report):
            con.print(f"  {render.esc(line)}", soft_wrap=True)
    _finish(p, v, {}, t0, draw)


def with_sizes(v: Verdict) -> Verdict:
    """The verdict with the sizes it covers in its claim: ``(n = 10; 10,240 instances)``, or how
    many were sampled or checked of how many."""
    ev = v.evidence or {}
    total = ev.get("instances")
    sizes = ", ".join(f"{k} = {val}" for k, val in (ev.get("params") or {}).items() if val is not None)
    if total is None:
        return v
    if v.method is Method.SAMPLE:
        count = f"{v.cases:,} sampled of {total:,} instances"
    elif v.status is Status.VERIFIED:
        count = f"{total:,} instances"
    else:
        count = f"{v.cases:,} of {total:,} instances checked"
    return dataclasses.replace(v, claim=f"{v.claim} ({sizes + '; ' if sizes else ''}{count})")
