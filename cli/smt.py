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
from attncheck.cli.params import SmtParams, alias, takes

DEFAULT_RLIMIT = 50_000_000


def _rlimit_option(f):
    return click.option("--rlimit", type=int, default=DEFAULT_RLIMIT, show_default=True,
                        help="z3 work limit (deterministic resource units) for the whole query.")(f)


def _old_bits(given: dict) -> str:
    """The old ``--bits b --frac F`` as the format ``fixed:(b-F).F`` of ``--precision``."""
    b, F = given.get("--bits", 2), given.get("--frac", 0)
    return f"fixed:{b - F}.{F}"


def _class_options(f):
    f = click.option("--family", type=click.Choice(["full", "index"]), default="full", show_default=True,
                     help="full = every input of Σ^N; index = the INDEX embedding (N odd, |Σ| >= 3).")(f)
    f = click.option("--attention", type=click.Choice(["hardmax", "softmax"]), default="hardmax",
                     show_default=True, help="Hardmax (ties averaged) or b-bit softmax.")(f)
    f = alias("--frac", "precision", type=int, fold=_old_bits)(f)
    f = alias("--bits", "precision", type=int, fold=_old_bits)(f)
    f = opt.precision_option(("fixed:I.F",), "Number format of every stored number (weights, scores,"
                             " outputs): fixed:I.F, I >= 2 integer bits incl. sign, I + F <= 8 bits.",
                             default="fixed:2.0")(f)
    f = alias("--D", "head_width", type=int)(f)
    f = click.option("--head-width", "head_width", type=int, default=1, show_default=True,
                     help="Width of each head's query, key and value tables.")(f)
    f = click.option("--H", "H", type=int, default=1, show_default=True, help="Heads per layer H.")(f)
    f = opt.alphabet_option(default=3)(f)
    f = click.option("--no-symmetry", is_flag=True, help="Do not add symmetry-breaking constraints.")(f)
    return opt.n_option()(f)


def _synth_options(f):
    """TASK argument, the class and family options, --rlimit, --json/--seed/--budget."""
    f = opt.common_options(_rlimit_option(f))
    return click.argument("task", type=click.Choice(["induction"]))(_class_options(f))


def _limits(p: SmtParams):
    from attncheck.constructions.budget import Budget
    from attncheck.verifiers.smt.solver import Limits
    return Limits(p.seed, p.rlimit, Budget(p.budget))


def _class_and_family(p: SmtParams, layers: int):
    from attncheck.constructions.precision import parse_format
    from attncheck.constructions.verdict import BadInput
    from attncheck.verifiers.smt.families import make_family
    from attncheck.verifiers.smt.tables import ModelClass
    fmt = parse_format(p.precision)
    if fmt.int_bits + fmt.frac_bits > 8:
        raise BadInput(f"--precision {p.precision}: the synthesis queries support at most 8 bits")
    cls = ModelClass(layers, p.H, p.head_width, fmt, p.attention)
    fam = make_family(p.family, p.N, p.alphabet)
    return cls, fam


def _synthesize(cls, fam, p: SmtParams, label: str):
    from attncheck.verifiers.smt.cegis import synthesize
    limits = _limits(p)                      # validated before the progress bar starts
    with render.progress(None, f"CEGIS {label}") as adv:
        return synthesize(cls, fam, limits, symmetry=not p.no_symmetry, on_step=adv)


@click.group(name="smt", cls=LazyGroup)
def smt():
    """z3 checks of impossibility claims on small instances (deterministic: --seed, --rlimit)."""


# --- one-layer ------------------------------------------------------------------------------
@smt.command(name="one-layer")
@_synth_options
@takes(SmtParams)
def one_layer(p: SmtParams):
    """Is there ANY one-layer model of the class solving TASK at position N? UNSAT = impossible."""
    from attncheck.verifiers.smt.claims import LOWER, prediction, synth_verdict
    t0 = time.perf_counter()
    cls, fam = _class_and_family(p, 1)
    res = _synthesize(cls, fam, p, "1 layer")
    verdict = synth_verdict(res)
    report = render.envelope("smt one-layer", p.to_json(), seed=p.seed, libraries=("z3-solver",),
                             timing={"total_s": time.perf_counter() - t0}, **verdict.to_json(),
                             **_solver_keys(res), theorem=LOWER, prediction=prediction(res))
    render.emit(report, p.json, _synth_human(report))
    click.get_current_context().exit(verdict.exit_code)


def _solver_keys(res) -> dict:
    out = {"solver_result": res.solver_result, "rlimit": res.limits.rlimit,
           "solver_seed": res.limits.seed, "rlimit_used": res.rlimit_used,
           "model_class": res.cls.to_json(), "family": res.family.to_json()}
    if res.model is not None:
        out["model"] = res.to_json()["model"]
    return out


def _headline(con, report) -> None:
    """Verdict, claim, method and cases, then theorem id, status tag and statement (the reason is
    printed by the caller, after the solver table)."""
    render.headline(con, {**report, "reason": ""})
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
@takes(SmtParams)
def separate(p: SmtParams):
    """One layer vs two layers at the same size, side by side (exit 0 iff 1 UNSAT and 2 SAT)."""
    from attncheck.verifiers.smt.claims import GAP, LOWER, UPPER, separation_verdict
    t0 = time.perf_counter()
    cls1, fam = _class_and_family(p, 1)
    cls2, _ = _class_and_family(p, 2)
    one = _synthesize(cls1, fam, p, "1 layer")
    t1 = time.perf_counter()
    two = _synthesize(cls2, fam, p, "2 layers")
    verdict = separation_verdict(one, two)
    report = render.envelope("smt separate", p.to_json(), seed=p.seed, libraries=("z3-solver",),
                             timing={"one_layer_s": t1 - t0, "two_layers_s": time.perf_counter() - t1,
                                     "total_s": time.perf_counter() - t0},
                             **verdict.to_json(), theorem=GAP,
                             one_layer={**_solver_keys(one), "theorem": LOWER},
                             two_layers={**_solver_keys(two), "theorem": UPPER})
    render.emit(report, p.json, _separate_human(report))
    click.get_current_context().exit(verdict.exit_code)


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
@opt.alphabet_option(default=2)
@click.option("--split", default="interleaved", show_default=True,
              help="interleaved, halves, block, prefix:T (Alice's positions; Bob has the rest).")
@click.option("--message-bits", "message_bits", type=int, default=None,
              help="Bits B of Alice's one-way message to test; default: both sides of the witness count.")
@alias("--B", "message_bits", type=int)
@_rlimit_option
@opt.common_options
@takes(SmtParams)
def comm(p: SmtParams):
    """UNSAT iff B < log2(#distinct rows): the one-way step of sht24b.one-layer-ih-lb."""
    from attncheck.verifiers.smt.claims import COMM
    from attncheck.verifiers.smt.comm import comm_verdict, protocol_query
    t0 = time.perf_counter()
    inst = comm_instance(p.task, p.N, p.alphabet, p.split, p.k)
    wit = comm_witness(inst)
    bits = (wit["rows"] - 1).bit_length()
    B = p.message_bits
    Bs = [B] if B is not None else sorted({max(bits - 1, 0), bits})
    limits = _limits(p)
    if B is not None and not 0 <= B <= 16:
        protocol_query(inst, B, limits)                # raises the one-line BadInput
    results = []
    with render.progress(len(Bs), "z3 protocol queries") as adv:
        for b in Bs:
            results.append(protocol_query(inst, b, limits))
            adv(1)
    verdict = comm_verdict(inst, wit, results, B is not None)
    report = render.envelope("smt comm", p.to_json(), seed=p.seed, libraries=("z3-solver",),
                             timing={"total_s": time.perf_counter() - t0}, **verdict.to_json(),
                             theorem=COMM, instance=inst.to_json(), witness=wit,
                             queries=[r.to_json() for r in results],
                             solver_result=[r.solver_result for r in results],
                             rlimit=p.rlimit, solver_seed=p.seed)
    render.emit(report, p.json, _comm_human(report))
    click.get_current_context().exit(verdict.exit_code)


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
@takes(SmtParams)
def certify(p: SmtParams):
    """UNSAT of "some input is decoded wrongly": a third independent correctness method."""
    from attncheck.cli.seqtask import resolve_format
    from attncheck.verifiers.smt.certify import certify_smt
    t0 = time.perf_counter()
    limits = _limits(p)
    p = p.replace(alphabet=opt.default_alphabet(p.N, p.alphabet))
    c, params = _build_construction(p)
    fmt = resolve_format(p.precision, c)
    with render.progress(None, f"z3 certify {p.task} N={c.n}"):
        verdict, ev = certify_smt(c, p.task, params, fmt, limits, p.attention)
    report = render.envelope("smt certify", p.to_json(), seed=p.seed,
                             libraries=("z3-solver",), timing={"total_s": time.perf_counter() - t0},
                             **verdict.to_json(), format=str(fmt), construction=c.to_json(),
                             solver_result=ev["solver_result"], rlimit=p.rlimit,
                             solver_seed=p.seed, rlimit_used=ev["rlimit_used"])
    report["evidence"].pop("encode_s", None)
    render.emit(report, p.json, render.verdict_human(report))
    click.get_current_context().exit(verdict.exit_code)


def _build_construction(p: SmtParams):
    args = dict(N=p.N, alphabet=p.alphabet, encoding=p.encoding, variant=p.variant, D=p.D, seed=p.seed)
    if p.task == "hop":
        from attncheck.constructions.hop import build_hop
        return build_hop(k=p.k, **args), {"k": p.k}
    from attncheck.constructions.induction import build_induction
    return build_induction(**args), {}
