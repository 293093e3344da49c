"""``attncheck verify qsa | match2 | match3 | rnn`` -- the SHT23 constructions and the sequential
baselines (docs/theorems.md section 5, ``sht24a.cor5_2``).

Each command is ``params -> build -> check -> render`` (STYLE.md practice 1) with the options,
verdict keys, JSON envelope and exit codes of ``verify induction``.  Bound formulas
(:mod:`attncheck.bounds.formulas`) and the exact Myhill-Nerode minimum
(:mod:`attncheck.bounds.witnesses.myhill_nerode`) are imported lazily and printed beside the
measured sizes; when either is missing the row says so instead of a number.
"""
from __future__ import annotations

import time

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli.params import Sht23Params, alias, takes

#: Match2/3 and the RNNs are checked by enumeration or sampling; they have no certificate.
NO_CERTIFICATE = ("auto", "exhaustive", "sample")


# --- shared plumbing ----------------------------------------------------------------------------
def _format(text: str, c):
    from attncheck.cli.seqtask import resolve_format
    return resolve_format(text, c)


def _check(p: Sht23Params, total: int, what: str, fn):
    """Run ``fn(budget, advance)`` under ``--budget`` with a progress bar on stderr."""
    from attncheck.constructions.budget import Budget
    with render.progress(total, what) as adv:
        return fn(Budget(p.budget), adv)


def _finish(p: Sht23Params, fmt, c, verdict, t0: float, t1: float, human, command: str | None = None,
            **extra) -> None:
    """Envelope (verdict keys at the top level), print, exit with the verdict's code."""
    t2 = time.perf_counter()
    fmt_key = {} if fmt is None else {"format": str(fmt)}
    report = render.envelope(command or p.meta.command, p.to_json(), seed=p.seed,
                             timing={"build_s": t1 - t0, "check_s": t2 - t1, "total_s": t2 - t0},
                             **verdict.to_json(), **fmt_key, construction=c.to_json(), **extra)
    render.emit(report, p.json, human(report))
    click.get_current_context().exit(verdict.exit_code)


def bound_rows(items) -> list[dict]:
    """``[(theorem id, params)]`` -> rows with every quantity of the bound, or why there is none.
    Integration point with the bounds issue (``BOUNDS[id].evaluate(**params)``)."""
    rows = []
    try:
        from attncheck.bounds.formulas import BOUNDS
    except ImportError:
        return [{"theorem": tid, "value": None, "note": "attncheck.bounds.formulas not available"}
                for tid, _ in items]
    for tid, params in items:
        try:
            r = BOUNDS[tid].evaluate(**params)
            for part in r.parts:
                rows.append({"theorem": tid, "tag": BOUNDS[tid].source.tag, "quantity": part.quantity.label,
                             "formula": part.quantity.text, "value": part.value.display, "note": ""})
        except Exception as e:  # noqa: BLE001 - out of regime or a missing id: say so, keep going
            rows.append({"theorem": tid, "value": None, "note": " ".join(str(e).split())})
    return rows


def _footer(con, r: dict) -> None:
    ce = r.get("counterexample")
    for line in render.counterexample_lines(r):
        con.print(f"  {render.esc(line)}")
    if ce:
        ex = ce.get("explanation", {})
        shown = render.fmt_value({k: v for k, v in ex.items() if k not in ("z_first_coordinate", "replayed")})
        con.print(render.esc(f"  {'replayed' if ex.get('replayed') else 'NOT replayed'}: {shown}"))
    if r.get("bounds"):
        con.print(render.table("bounds (attncheck.bounds.formulas)", ("theorem", "quantity", "formula", "value"),
                               [(b["theorem"] + " " + b.get("tag", ""), b.get("quantity", ""),
                                 b.get("formula", ""), b["value"] if b["value"] is not None else b["note"])
                                for b in r["bounds"]]))
    for note in r.get("construction", {}).get("notes", []):
        con.print(f"note: {render.esc(note)}")
    con.print(f"  time: {r['timing'].get('total_s', 0):.2f} s")


def _kv_table(con, rows) -> None:
    con.print(render.table(None, ("construction", "value"), [(k, render.esc(v)) for k, v in rows]))


# --- qSA ------------------------------------------------------------------------------------------
@click.command(name="qsa", help="Verify the one-layer q-sparse-averaging head (sht23.thm2 random codes,"
               " sht23.thm3 moment codes) on all q-subsets; exit 0 verified, 1 refuted, 2 bad input, 3 unknown.")
@opt.n_option()
@click.option("--q", "q", type=int, required=True, help="Pointer-set size q (1 <= q < N).")
@click.option("--d-prime", "d_prime", type=int, default=1, show_default=True, help="Value dimension d'.")
@click.option("--head-width", "head_width", type=int, default=None,
              help="Query/key width m for --codes random (default 8 q ln(N C(N,q))).")
@alias("--m", "head_width", type=int)
@click.option("--codes", type=click.Choice(["random", "moment"]), default="random", show_default=True,
              help="random sign codes (finite precision, thm2) or moment-curve codes (real arithmetic, thm3).")
@click.option("--accuracy", "accuracy", type=float, default=None,
              help="Target accuracy ε (default 1/(2q), the sht23.thm4 regime).")
@alias("--eps", "accuracy", type=float)
@opt.arithmetic_options
@opt.check_options(auto="exhaustive when every q-subset fits the work limit, else sample")
@opt.common_options
@takes(Sht23Params)
def verify_qsa(p: Sht23Params):
    from attncheck.constructions.qsa import build_qsa, n_subsets
    from attncheck.verifiers.qsa_check import check_qsa
    t0 = time.perf_counter()
    n, q, d_prime = p.N, p.q, p.d_prime
    c = build_qsa(n, q, d_prime=d_prime, m=p.head_width, seed=p.seed, codes=p.codes, eps=p.accuracy)
    fmt = _format(p.precision, c)
    t1 = time.perf_counter()
    total = p.samples if p.mode == "sample" else n_subsets(n, q)
    verdict = _check(p, total, f"qSA C({n},{q})",
                     lambda b, adv: check_qsa(c, p.mode, fmt, p.attention, p.samples, p.seed, b, adv))
    bounds = bound_rows([("sht23.thm2", {"N": n, "q": q, "dprime": d_prime, "accuracy": c.eps}),
                         ("sht23.thm3", {"N": n, "q": q, "dprime": d_prime}),
                         ("sht23.thm4", {"N": n, "q": q})])
    _finish(p, fmt, c, verdict, t0, t1, _qsa_human, bounds=bounds)


def _qsa_human(r: dict):
    def draw(con):
        render.headline(con, r)
        c = r["construction"]
        _kv_table(con, [("theorem", f"{c['theorem']} {c['status']}"), ("codes", c["params"]["codes"]),
                        ("query/key width m", c["m"]), ("embedding m + d'", c["width"]),
                        ("precision", r["format"]), ("attention", r["params"]["attention"]),
                        ("temperature", f"{c['temperature']:.4g}"), ("theta (off-set score bound)", c["theta"]),
                        ("accuracy ε", f"{c['params']['eps']:.4g}"), ("largest |key entry|", f"{c['key_magnitude']:.4g}"),
                        ("m·p (sht23.thm4 compares with c·q)", c["m"] * c["bits"] if c["bits"] else "p unbounded (exact)")])
        _footer(con, r)
    return draw


# --- Match2 / Match3 ------------------------------------------------------------------------------
def _match_options(f):
    f = click.option("--variant", type=click.Choice(["corrected", "no-threshold"]), default="corrected",
                     show_default=True, help="'no-threshold' drops the start-token coordinate (refuted).")(f)
    f = click.option("--allow-self/--no-allow-self", "allow_self", default=True, show_default=True,
                     help="May a matching index equal i?  (docs/theorems.md: convention unconfirmed.)")(f)
    f = alias("--M", "alphabet", type=int)(f)
    f = opt.alphabet_option(help_="Alphabet size |Σ| = M, the modulus (tokens are 0..M-1)."
                                  "  [required]")(f)
    return opt.n_option()(f)


def _match_run(p: Sht23Params, c, t0):
    from attncheck.constructions.match import head_of
    from attncheck.verifiers.match_check import check_match, spec_of
    fmt = _format(p.precision, c)
    t1 = time.perf_counter()
    N, M = spec_of(c)["N"], spec_of(c)["M"]
    total = p.samples if p.mode == "sample" else M ** N
    verdict = _check(p, total, f"{p.meta.command} [{M}]^{N}",
                     lambda b, adv: check_match(c, p.mode, fmt, p.attention, p.samples, p.seed, b, adv))
    tid = "sht23.match2_ub" if p.meta.command.endswith("match2") else "sht23.thm7"
    bounds = bound_rows([(tid, {"N": N, "M": M} if tid == "sht23.match2_ub" else {"N": N})])
    _finish(p, fmt, c, verdict, t0, t1, _match_human, bounds=bounds,
            query_key_width=int(head_of(c).W_Q.shape[-1]))


def _alphabet_required(p: Sht23Params) -> None:
    """Match2/Match3 have no default alphabet: --alphabet (or its old spelling --M) is required."""
    if p.alphabet is None:
        ctx = click.get_current_context()
        raise click.MissingParameter(ctx=ctx, param=next(q for q in ctx.command.params if q.name == "alphabet"))


@click.command(name="match2", help="Verify the 3-dimensional Match2 head exhaustively over [M]^N"
               " (sht23.match2_ub); exit 0 verified, 1 refuted, 2 bad input, 3 unknown.")
@_match_options
@opt.arithmetic_options
@opt.check_options(modes=NO_CERTIFICATE)
@opt.common_options
@takes(Sht23Params)
def verify_match2(p: Sht23Params):
    from attncheck.constructions.match import build_match2
    _alphabet_required(p)
    t0 = time.perf_counter()
    c = build_match2(p.N, p.alphabet, allow_self=p.allow_self, variant=p.variant)
    _match_run(p, c, t0)


@click.command(name="match3", help="Verify third-order attention for Match3 exhaustively over [M]^N"
               " (sht23.match3_variants); exit 0 verified, 1 refuted, 2 bad input, 3 unknown.")
@_match_options
@click.option("--allow-repeat/--no-allow-repeat", "allow_repeat", default=True, show_default=True,
              help="May j1 equal j2?  (docs/theorems.md: convention unconfirmed.)")
@opt.arithmetic_options
@opt.check_options(modes=NO_CERTIFICATE)
@opt.common_options
@takes(Sht23Params)
def verify_match3(p: Sht23Params):
    from attncheck.constructions.match import build_match3
    _alphabet_required(p)
    t0 = time.perf_counter()
    c = build_match3(p.N, p.alphabet, allow_self=p.allow_self, allow_repeat=p.allow_repeat, variant=p.variant)
    _match_run(p, c, t0)


def _match_human(r: dict):
    def draw(con):
        render.headline(con, r)
        c = r["construction"]
        _kv_table(con, [("theorem", f"{c['theorem']} {c['status']}"),
                        ("conventions", ", ".join(f"{k}={v}" for k, v in c["params"].items()
                                                  if k.startswith("allow"))),
                        ("variant", c["params"]["variant"]), ("query/key width m", r["query_key_width"]),
                        ("residual width", c["width"]), ("precision", r["format"]),
                        ("attention", r["params"]["attention"]), ("parameters", c["parameters"])])
        _footer(con, r)
    return draw


# --- RNN baselines --------------------------------------------------------------------------------
def state_minimum(rnn) -> dict:
    """Exact Myhill-Nerode minimum for one-pass models (integration point with the witness
    issue: ``rnn_state_classes(task, N, alphabet, k, marker)``)."""
    try:
        from attncheck.bounds.witnesses.myhill_nerode import rnn_state_classes
    except ImportError:
        return {"available": False, "note": "attncheck.bounds.witnesses.myhill_nerode not available"}
    p = rnn.params
    task = "induction" if rnn.task in ("induction", "index") else "hop"
    try:
        s = rnn_state_classes(task, p["N"], p["alphabet"], k=p.get("k", 1), marker=rnn.task == "index")
    except Exception as e:  # noqa: BLE001 - over its cap or out of budget: report, keep the verdict
        return {"available": False, "note": " ".join(str(e).split())}
    return {"available": True, "classes": s.max_classes, "bits": s.bits, "log2": round(s.log2, 3),
            "widest_cut": s.widest_cut, "theorem": "/".join(s.theorem)}


def _rnn_bounds(rnn) -> list[dict]:
    p = rnn.params
    if rnn.task == "index":
        return bound_rows([("sht23.rnn-ih", {"N": p["N"], "alphabet": rnn.alphabet}),
                           ("sht23.thm11", {"N": p["N"]})])
    if rnn.task == "induction":
        return bound_rows([("sht23.rnn-ih", {"N": p["N"], "alphabet": p["alphabet"]})])
    return bound_rows([("sht24a.cor5_2", {"N": p["N"], "k": p["k"]})])


@click.command(name="rnn", help="Verify an explicit RNN baseline exhaustively and print its state size"
               " beside the Myhill-Nerode minimum and the bound formula.  TASK: induction (successor"
               " table, sht23.rnn-ih), index (streaming INDEX, N = 2n+1), hop (k stacked successor"
               " tables, sht24a.cor5_2).")
@click.argument("task", type=click.Choice(["induction", "index", "hop"]))
@opt.n_option()
@opt.alphabet_option(help_="|Σ| (induction/hop, default 3) or data symbols of the INDEX family (default 2).")
@opt.k_option(default=1)
@click.option("--layers", type=int, default=None, help="hop only: layers L, 1..64 (default k).  L stacked successor cells compute hop_L, so L != k is refuted.")
@opt.check_options(modes=NO_CERTIFICATE)
@opt.common_options
@takes(Sht23Params)
def verify_rnn(p: Sht23Params):
    from attncheck.constructions.rnn import build_rnn
    from attncheck.verifiers.rnn_check import check_rnn, family_size
    task = p.task
    if task != "hop" and (p.layers is not None or p.k != 1):
        raise click.BadParameter(f"--k/--layers apply to 'hop' only, not {task!r}", param_hint="--k")
    t0 = time.perf_counter()
    rnn = build_rnn(task, p.N, p.alphabet, k=p.k, layers=p.layers)
    t1 = time.perf_counter()
    total = p.samples if p.mode == "sample" else family_size(rnn)
    verdict, measured = _check(p, total, f"RNN {task}",
                               lambda b, adv: check_rnn(rnn, p.mode, p.samples, p.seed, b, adv))
    minimum = state_minimum(rnn) if verdict.method.value == "exhaustive" else \
        {"available": False, "note": "computed only with exhaustive coverage"}
    _finish(p, None, rnn, verdict, t0, t1, _rnn_human, command=f"verify rnn {task}", measured=measured,
            state_minimum=minimum, bounds=_rnn_bounds(rnn))


def _rnn_human(r: dict):
    def draw(con):
        render.headline(con, r)
        c, m, mn = r["construction"], r["measured"], r["state_minimum"]
        rows = [("theorem", f"{c['theorem']} {c['status']}"), ("layers", c["layers"]),
                ("state bits per layer (declared)", c["state_bits_per_layer"]),
                ("stream bits Z = (x, v)", c["stream_bits"]),
                ("distinct states reached", f"{m['states_reached']} (log2 {m['log2_states_reached']})")]
        if mn.get("available"):
            rows.append(("Myhill-Nerode minimum, one-pass", f"{mn['classes']} classes = {mn['bits']} bits"
                         f" (widest cut t = {mn['widest_cut']}, {mn['theorem']})"))
        else:
            rows.append(("Myhill-Nerode minimum, one-pass", mn.get("note", "")))
        _kv_table(con, rows)
        _footer(con, r)
    return draw
