"""``attncheck smt``: z3 checks of impossibility claims on small instances (docs/theorems.md 9.4).

Sub-commands, each ``params -> build -> solve -> render`` (STYLE.md practice 1):

\b
  one-layer  is there ANY one-layer model of a finite class solving induction? (CEGIS)
  separate   the same query with one and with two layers, side by side
  comm       the one-way communication step alone (B-bit messages), vs the witness count
  certify    "some input is decoded wrongly" must be UNSAT for a hardmax construction

Every run is deterministic (``--seed`` is the solver seed, ``--rlimit`` bounds z3's work);
``--budget`` adds a wall-clock timeout.  Exit codes: 0 claim holds (UNSAT where
impossibility is claimed), 1 refuted (a replayed model or input), 2 bad input, 3 unknown.
z3 is imported only when a sub-command runs.
"""
from __future__ import annotations

import time

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli.main import LazyGroup

DEFAULT_RLIMIT = 50_000_000


def _rlimit_option(f):
    return click.option("--rlimit", type=int, default=DEFAULT_RLIMIT, show_default=True,
                        help="z3 work limit (deterministic resource units) for the whole query.")(f)


def _class_options(f):
    f = click.option("--family", type=click.Choice(["full", "index"]), default="full", show_default=True,
                     help="full = every input of Σ^N; index = the INDEX embedding (N odd, |Σ| >= 3).")(f)
    f = click.option("--attention", type=click.Choice(["hardmax", "softmax"]), default="hardmax",
                     show_default=True, help="Hardmax (ties averaged) or b-bit softmax.")(f)
    f = click.option("--frac", type=int, default=0, show_default=True,
                     help="Fraction bits F of the format fixed:(b-F).F.")(f)
    f = click.option("--bits", type=int, default=2, show_default=True,
                     help="Bits b of every stored number (weights, scores, outputs).")(f)
    f = click.option("--D", "d", type=int, default=1, show_default=True, help="Head width D.")(f)
    f = click.option("--H", "h", type=int, default=1, show_default=True, help="Heads per layer H.")(f)
    f = click.option("--alphabet", type=int, default=3, show_default=True, help="Alphabet size |Σ|.")(f)
    f = click.option("--no-symmetry", is_flag=True, help="Do not add symmetry-breaking constraints.")(f)
    return opt.n_option()(f)


def _synth_options(f):
    """TASK argument, the class and family options, --rlimit, --json/--seed/--budget."""
    f = opt.common_options(_rlimit_option(f))
    return click.argument("task", type=click.Choice(["induction"]))(_class_options(f))


def _limits(kw):
    from attncheck.constructions.budget import Budget
    from attncheck.verifiers.smt.solver import Limits
    return Limits(kw["seed"], kw["rlimit"], Budget(kw["budget"]))


def _class_and_family(kw, layers: int):
    from attncheck.constructions.precision import fixed
    from attncheck.verifiers.smt.families import make_family
    from attncheck.verifiers.smt.tables import ModelClass
    from attncheck.constructions.verdict import BadInput
    if kw["bits"] - kw["frac"] < 2 or kw["frac"] < 0:
        raise BadInput(f"--bits {kw['bits']} --frac {kw['frac']}: the format needs >= 2 integer bits"
                       " and F >= 0")
    if kw["bits"] > 8:
        raise BadInput(f"--bits {kw['bits']}: the synthesis queries support at most 8 bits")
    fam = make_family(kw["family"], kw["n"], kw["alphabet"])
    cls = ModelClass(layers, kw["h"], kw["d"], fixed(kw["bits"] - kw["frac"], kw["frac"]), kw["attention"])
    return cls, fam


def _synthesize(cls, fam, kw, label: str):
    from attncheck.verifiers.smt.cegis import synthesize
    limits = _limits(kw)                     # validated before the progress bar starts
    with render.progress(None, f"CEGIS {label}") as adv:
        return synthesize(cls, fam, limits, symmetry=not kw["no_symmetry"], on_step=adv)


def _params(kw) -> dict:
    return {k: v for k, v in kw.items() if k != "as_json"}


@click.group(name="smt", cls=LazyGroup)
def smt():
    """z3 checks of impossibility claims on small instances (deterministic: --seed, --rlimit)."""


# --- one-layer ------------------------------------------------------------------------------
@smt.command(name="one-layer")
@_synth_options
def one_layer(task, **kw):
    """Is there ANY one-layer model of the class solving TASK at position N? UNSAT = impossible."""
    from attncheck.verifiers.smt.claims import LOWER, prediction, synth_verdict
    ctx = click.get_current_context()
    t0 = time.perf_counter()
    cls, fam = _class_and_family(kw, 1)
    res = _synthesize(cls, fam, kw, "1 layer")
    verdict = synth_verdict(res)
    report = render.envelope("smt one-layer", _params(kw), seed=kw["seed"], libraries=("z3-solver",),
                             timing={"total_s": time.perf_counter() - t0}, **verdict.to_json(),
                             **_solver_keys(res), theorem=LOWER, prediction=prediction(res))
    render.emit(report, kw["as_json"], _synth_human(report))
    ctx.exit(verdict.exit_code)


def _solver_keys(res) -> dict:
    out = {"solver_result": res.solver_result, "rlimit": res.limits.rlimit,
           "solver_seed": res.limits.seed, "rlimit_used": res.rlimit_used,
           "model_class": res.cls.to_json(), "family": res.family.to_json()}
    if res.model is not None:
        out["model"] = res.to_json()["model"]
    return out


def _headline(con, report) -> None:
    """Verdict, claim, theorem id, status tag and statement."""
    con.print(f"[{render.STATUS_STYLE.get(report['verdict'], 'bold')}]{report['verdict'].upper()}[/]"
              f"  {render.esc(report['claim'])}")
    th = report["theorem"]
    con.print(render.esc(f"  {th['theorem']} [{th['status']}]: {th['statement']}"))


def _synth_human(report):
    def draw(con):
        _headline(con, report)
        p = report["prediction"]
        rows = [("solver result", report["solver_result"]),
                ("model class", report["model_class"]["description"]),
                ("family", report["family"]["description"]),
                ("seed / rlimit", f"{report['solver_seed']} / {report['rlimit']:,}"),
                ("rlimit used", f"{report['rlimit_used']:,}"),
                ("CEGIS", f"{report['evidence']['cegis_iterations']} solver calls,"
                          f" {report['evidence']['inputs_in_final_query']} inputs in the final query"),
                ("[R] bound", f"h(D+1)b = {p['h(D+1)b']} vs n' = {p['n_prime']}"
                              f" ({'rules out' if p['bound_rules_out'] else 'does not rule out'} the class)")]
        con.print(render.table(None, ("", "value"), rows))
        con.print(f"  {render.esc(report['reason'])}")
        if "model" in report:
            _print_model(con, report["model"])
    return draw


def _print_model(con, model):
    rep = model["replay"]
    con.print(f"  replayed model: {rep['inputs_checked']} inputs, {rep['distinct_decoder_keys']} decoder keys"
              f" (key = x_N, head outputs at N as grid integers)")
    shown = rep["decoder"][:12]
    con.print(render.table("decoder (first keys)", ("key", "answer"),
                           [(k["key"], render.fmt_token(k["answer"])) for k in shown]))


# --- separate -------------------------------------------------------------------------------
@smt.command(name="separate")
@_synth_options
def separate(task, **kw):
    """One layer vs two layers at the same size, side by side (exit 0 iff 1 UNSAT and 2 SAT)."""
    from attncheck.verifiers.smt.claims import GAP, LOWER, UPPER, separation_verdict
    ctx = click.get_current_context()
    t0 = time.perf_counter()
    cls1, fam = _class_and_family(kw, 1)
    cls2, _ = _class_and_family(kw, 2)
    one = _synthesize(cls1, fam, kw, "1 layer")
    t1 = time.perf_counter()
    two = _synthesize(cls2, fam, kw, "2 layers")
    verdict = separation_verdict(one, two)
    report = render.envelope("smt separate", _params(kw), seed=kw["seed"], libraries=("z3-solver",),
                             timing={"one_layer_s": t1 - t0, "two_layers_s": time.perf_counter() - t1,
                                     "total_s": time.perf_counter() - t0},
                             **verdict.to_json(), theorem=GAP,
                             one_layer={**_solver_keys(one), "theorem": LOWER},
                             two_layers={**_solver_keys(two), "theorem": UPPER})
    render.emit(report, kw["as_json"], _separate_human(report))
    ctx.exit(verdict.exit_code)


def _separate_human(report):
    def draw(con):
        _headline(con, report)
        a, b = report["one_layer"], report["two_layers"]
        ea, eb = report["evidence"]["one_layer"], report["evidence"]["two_layers"]
        rows = [("theorem", f"{a['theorem']['theorem']} [{a['theorem']['status']}]",
                 f"{b['theorem']['theorem']} [{b['theorem']['status']}]"),
                ("solver result", a["solver_result"], b["solver_result"]),
                ("rlimit used", f"{a['rlimit_used']:,}", f"{b['rlimit_used']:,}"),
                ("CEGIS calls", ea["cegis_iterations"], eb["cegis_iterations"]),
                ("replayed model", "yes" if "model" in a else "-", "yes" if "model" in b else "-"),
                ("reason", ea["reason"], eb["reason"])]
        con.print(render.table(None, ("", "1 layer", "2 layers"), rows,
                               caption=render.esc(a["model_class"]["description"].replace("1-layer, ", ""))))
        con.print(f"  family: {render.esc(report['one_layer']['family']['description'])};"
                  f" seed {a['solver_seed']}, rlimit {a['rlimit']:,} per query")
        con.print(f"  {render.esc(report['reason'])}")
    return draw


# --- comm -----------------------------------------------------------------------------------
def comm_instance(task: str, N: int, alphabet: int, split: str = "interleaved", k: int = 1):
    """The query's instance: the size is checked first, then the communication matrix comes
    from the witness module (bounds) and goes to the SMT module (verifiers)."""
    from attncheck.bounds.witnesses.oneway import communication_matrix
    from attncheck.verifiers.smt.comm import instance, validate
    validate(task, N, alphabet, k)
    return instance(task, N, alphabet, split, k, communication_matrix(task, N, alphabet, split, k))


def comm_witness(inst) -> dict:
    """The witness module's distinct-row count, checked against the query's matrix."""
    from attncheck.bounds.witnesses.oneway import one_way_rows
    from attncheck.verifiers.smt.comm import witness_rows
    return witness_rows(inst, one_way_rows(inst.task, inst.N, inst.alphabet, inst.split, inst.k))


@smt.command(name="comm")
@click.argument("task", type=click.Choice(["induction", "hop"]))
@opt.n_option()
@opt.k_option(default=1)
@click.option("--alphabet", type=int, default=2, show_default=True, help="Alphabet size |Σ|.")
@click.option("--split", default="interleaved", show_default=True,
              help="interleaved, halves, block, prefix:T (Alice's positions; Bob has the rest).")
@click.option("--B", "b", type=int, default=None,
              help="Message bits to test; default: both sides of the witness count.")
@_rlimit_option
@opt.common_options
def comm(task, **kw):
    """UNSAT iff B < log2(#distinct rows): the one-way step of sht24b.one-layer-ih-lb."""
    from attncheck.verifiers.smt.claims import COMM
    from attncheck.verifiers.smt.comm import comm_verdict, protocol_query
    ctx = click.get_current_context()
    t0 = time.perf_counter()
    inst = comm_instance(task, kw["n"], kw["alphabet"], kw["split"], kw["k"])
    wit = comm_witness(inst)
    bits = (wit["rows"] - 1).bit_length()
    Bs = [kw["b"]] if kw["b"] is not None else sorted({max(bits - 1, 0), bits})
    limits = _limits(kw)
    if kw["b"] is not None and not 0 <= kw["b"] <= 16:
        protocol_query(inst, kw["b"], limits)          # raises the one-line BadInput
    results = []
    with render.progress(len(Bs), "z3 protocol queries") as adv:
        for B in Bs:
            results.append(protocol_query(inst, B, limits))
            adv(1)
    verdict = comm_verdict(inst, wit, results, kw["b"] is not None)
    report = render.envelope("smt comm", _params(kw), seed=kw["seed"], libraries=("z3-solver",),
                             timing={"total_s": time.perf_counter() - t0}, **verdict.to_json(),
                             theorem=COMM, instance=inst.to_json(), witness=wit,
                             queries=[r.to_json() for r in results],
                             solver_result=[r.solver_result for r in results],
                             rlimit=kw["rlimit"], solver_seed=kw["seed"])
    render.emit(report, kw["as_json"], _comm_human(report))
    ctx.exit(verdict.exit_code)


def _comm_human(report):
    def draw(con):
        _headline(con, report)
        w = report["witness"]
        con.print(render.esc(f"  witness: {w['rows']} distinct rows ({w['source']}) -> {w['bits']} bits"))
        con.print(render.table(None, ("B", "solver result", "expected", "rlimit used", "detail"),
                               [(q["B"], q["solver_result"], q["expected"], f"{q['rlimit_used']:,}",
                                 q["reason"]) for q in report["evidence"]["queries"]]))
        con.print(f"  {render.esc(report['reason'])}")
    return draw


# --- certify --------------------------------------------------------------------------------
@smt.command(name="certify")
@click.argument("task", type=click.Choice(["induction", "hop"]))
@opt.n_option()
@opt.k_option(default=1)
@opt.construction_options
@opt.precision_option(("declared", "fixed:I.F"), "'declared' (the construction's format) or 'fixed:I.F'.")
@click.option("--attention", type=click.Choice(["hardmax"]), default="hardmax", show_default=True,
              help="Only hardmax is encoded.")
@_rlimit_option
@opt.common_options
def certify(task, **kw):
    """UNSAT of "some input is decoded wrongly": a third independent correctness method."""
    from attncheck.verifiers.smt.certify import certify_smt
    ctx = click.get_current_context()
    t0 = time.perf_counter()
    limits = _limits(kw)
    kw["alphabet"] = opt.default_alphabet(kw["n"], kw["alphabet"])
    c, params = _build_construction(task, kw)
    fmt = _format(kw["precision"], c)
    with render.progress(None, f"z3 certify {task} N={c.n}"):
        verdict, ev = certify_smt(c, task, params, fmt, limits, kw["attention"])
    report = render.envelope("smt certify", {**_params(kw), "precision_used": str(fmt)}, seed=kw["seed"],
                             libraries=("z3-solver",), timing={"total_s": time.perf_counter() - t0},
                             **verdict.to_json(), construction=c.to_json(),
                             solver_result=ev["solver_result"], rlimit=kw["rlimit"],
                             solver_seed=kw["seed"], rlimit_used=ev["rlimit_used"])
    report["evidence"].pop("encode_s", None)
    render.emit(report, kw["as_json"], render.verdict_human(report))
    ctx.exit(verdict.exit_code)


def _build_construction(task: str, kw):
    args = dict(N=kw["n"], alphabet=kw["alphabet"], encoding=kw["encoding"], variant=kw["variant"],
                D=kw["d"], seed=kw["seed"])
    if task == "hop":
        from attncheck.constructions.hop import build_hop
        return build_hop(k=kw["k"], **args), {"k": kw["k"]}
    from attncheck.constructions.induction import build_induction
    return build_induction(**args), {}


def _format(text: str, c):
    from attncheck.constructions.precision import parse_format
    return c.fmt if text == "declared" else parse_format(text)
