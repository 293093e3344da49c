"""verify / run / build / precision for sequence-to-sequence transformer tasks.

One pipeline per command, reading like the sentence it implements (STYLE.md practice 1):
``params -> build -> check -> render``.  :func:`make_commands` produces the four click commands
for a task from its :class:`TaskSpec`, so the k-hop head (and any later task) shares options,
verdicts, JSON keys and exit codes with the induction head.  Every command receives one
:class:`~attncheck.cli.params.SequenceParams` (``p.N``, ``p.alphabet``, ``p.budget``, ...).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import click

from attncheck.cli import options as opt
from attncheck.cli import proof_cmd, render
from attncheck.cli.params import SequenceParams, takes
from attncheck.constructions.verdict import Status

AUTO_EXHAUSTIVE_MAX = 1 << 20      # --mode auto enumerates up to ~1M inputs, else certificate


@dataclass(frozen=True)
class TaskSpec:
    """How the CLI builds and checks one task's construction.

    ``build(**kwargs)`` takes the options named in ``builder_keys`` (N, alphabet, encoding,
    variant, D, seed, ...) as keyword arguments; ``task_params(p)`` returns the ground-truth
    parameters (e.g. {"k": 3}); ``extra_options`` are the task's own click options (all four
    commands), ``verify_options`` those of ``verify`` only; ``after_check(c, fmt, p, budget,
    verdict) -> (verdict, timing)`` adds evidence to the verdict of ``verify`` (the k-hop head's
    mechanism check), and ``verify_human(report)`` draws its report."""

    task: str
    build: Callable
    task_params: Callable[[SequenceParams], dict]
    extra_options: tuple = ()
    builder_keys: tuple = ("N", "alphabet", "encoding", "variant", "D", "seed")
    verify_options: tuple = ()
    after_check: Callable | None = None
    verify_human: Callable = render.verdict_human
    verify_help: str = ""

    def builder_kwargs(self, p: SequenceParams) -> dict:
        """The builder's keyword arguments: the options of ``builder_keys`` the command has."""
        return {key: getattr(p, key) for key in self.builder_keys if key in p.meta.declared}


def resolve_format(text: str, c):
    from attncheck.constructions.precision import EXACT, parse_format
    if text == "declared":
        return c.fmt
    if text == "exact":
        return EXACT
    return parse_format(text)


def run_check(spec: TaskSpec, c, fmt, p: SequenceParams, budget=None, record: dict | None = None):
    """Dispatch on --mode; returns a Verdict.  ``budget``: the command's clock, started before
    the construction was built (a new one from --budget when None); ``record``: see certify."""
    from attncheck.constructions.budget import Budget
    budget = Budget(p.budget) if budget is None else budget
    mode = p.mode
    tparams = spec.task_params(p)
    if mode == "auto":
        mode = "exhaustive" if c.alphabet ** c.n <= AUTO_EXHAUSTIVE_MAX else "certificate"
        if mode == "exhaustive" and budget.seconds is not None:
            from attncheck.verifiers.exhaustive import estimate_seconds
            if estimate_seconds(c, spec.task, tparams, fmt, p.attention) > budget.seconds:
                mode = "certificate"
    if mode == "certificate" and is_outside(c):
        from attncheck.constructions.exchange import HYPOTHESES, read_exchange
        m = read_exchange(p.from_)
        if p.mode != "auto" or HYPOTHESES in m.source:    # an export of ours records its hypotheses
            from attncheck.verifiers.exchange_cert import certify_exchange
            with render.progress(None, f"certificate {spec.task} N={c.n} (exchange)"):
                verdict = certify_exchange(m, c, spec.task, tparams, fmt, p.attention, budget)
            if p.mode == "auto" and verdict.status is Status.UNKNOWN and not budget.expired():
                verdict = _sample_after_certificate(spec, c, fmt, p, tparams, budget, verdict)
            return verdict
        mode = "sample"                   # outside weights without hypotheses: look for a counterexample
    if mode == "certificate":
        from attncheck.verifiers.certificate import certify
        with render.progress(None, f"certificate {spec.task} N={c.n}"):
            verdict = certify(c, spec.task, tparams, fmt, p.attention, budget, record=record)
        if p.mode == "auto" and verdict.status is Status.UNKNOWN and not budget.expired():
            verdict = _sample_after_certificate(spec, c, fmt, p, tparams, budget, verdict)
        return verdict
    if mode == "exhaustive":
        from attncheck.verifiers.exhaustive import check_exhaustive
        with render.progress(c.alphabet ** c.n, f"exhaustive {c.alphabet}^{c.n}") as adv:
            return check_exhaustive(c, spec.task, tparams, fmt, p.attention, budget, adv)
    from attncheck.verifiers.sample import check_sample
    with render.progress(p.samples, "sampling") as adv:
        return check_sample(c, spec.task, tparams, fmt, p.attention, p.samples, p.seed, budget, adv)


def _sample_after_certificate(spec: TaskSpec, c, fmt, p: SequenceParams, tparams: dict, budget, cert):
    """Auto mode, when the certificate does not close: look for a counterexample by sampling
    (--samples, --seed, what is left of --budget).  A replayed counterexample is REFUTED; none
    leaves the certificate's UNKNOWN, saying how many samples were tried."""
    from attncheck.verifiers.sample import check_sample
    with render.progress(p.samples, "sampling") as adv:
        smp = check_sample(c, spec.task, tparams, fmt, p.attention, p.samples, p.seed, budget, adv)
    if smp.status is Status.REFUTED:
        return dataclasses.replace(smp, evidence={**smp.evidence, "certificate": cert.reason})
    return dataclasses.replace(cert, reason=f"{cert.reason}; {smp.cases} seeded samples found no"
                                            " counterexample", evidence={**cert.evidence, "samples": smp.cases})


# --- options and the construction a command works on --------------------------------------------
def _command(f, spec: TaskSpec, name_help: str, *decorators) -> click.Command:
    """``f`` as the click command ``spec.task`` with --N, the task's own options and
    ``decorators`` (outermost first)."""
    for d in reversed(decorators):
        f = d(f)
    for d in reversed(spec.extra_options):
        f = d(f)
    return click.command(name=spec.task, help=name_help)(opt.n_option()(f))


def _from_option(cmd: click.Command, spec: TaskSpec) -> tuple[str, ...]:
    """Add ``--from FILE.npz`` to ``cmd``; the names of the builder options it makes optional
    are returned (they stay required when no file is given, see :func:`load_or_build`)."""
    cmd.params.append(click.Option(["--from", "from_"], type=click.Path(exists=True, dir_okay=True),
                                   default=None, help="Load a construction saved by 'build --out' (.npz), or"
                                   " a directory in the exchange format (docs/format.md: weights attncheck"
                                   " did not build), instead of building one (its task and parameters must"
                                   " match)."))
    needed = [q for q in cmd.params if q.required and q.name in spec.builder_keys]
    for q in needed:
        q.required = False
    return tuple(q.name for q in needed)


def is_outside(c) -> bool:
    """Whether ``c`` was read from the exchange format (docs/format.md)."""
    from attncheck.constructions.exchange import is_exchange
    return is_exchange(c)


def load_or_build(spec: TaskSpec, p: SequenceParams, needed: tuple[str, ...] = ()):
    """``(construction, params)``: the construction loaded from ``--from`` or built from the
    options, and the parameters it was built with.

    A loaded file must hold a ``spec.task`` construction (the loader checks its metadata against
    its weights); its build parameters replace the options' (so task parameters such as k come
    from the file), and an option given explicitly on the command line that disagrees with it
    is refused.  A built construction takes ``--alphabet`` or its default min(3, N)."""
    if p.from_ is None:
        ctx = click.get_current_context()
        for name in needed:
            if getattr(p, name) is None:
                raise click.MissingParameter(ctx=ctx, param=next(q for q in ctx.command.params if q.name == name))
        if "alphabet" in p.meta.declared:
            p = p.replace(alphabet=opt.default_alphabet(p.N, p.alphabet))
        return spec.build(**spec.builder_kwargs(p)), p
    from attncheck.constructions.exchange import load_model
    from attncheck.constructions.verdict import BadInput
    c = load_model(p.from_)
    if c.task != spec.task:
        raise BadInput(f"{p.from_} holds a {c.task!r} {'model' if is_outside(c) else 'construction'},"
                       f" not {spec.task!r}")
    changes = {}
    for key in spec.builder_keys:
        if key == "seed" or key not in p.meta.declared or key not in c.params:
            continue                                      # --seed also seeds sampling: the user's
        if p.given(key) and getattr(p, key) != c.params[key]:
            raise BadInput(f"--{key} {getattr(p, key)} conflicts with {p.from_}, built with"
                           f" {key} = {c.params[key]!r}")
        changes[key] = c.params[key]
    return c, p.replace(**changes)


# --- the four commands ------------------------------------------------------------------------
def verify_command(spec: TaskSpec) -> click.Command:
    """``verify TASK``: params -> build (or load) -> check by --mode -> render; exit by verdict."""
    @takes(SequenceParams)
    def verify(p: SequenceParams):
        from attncheck.constructions.budget import Budget
        t0 = time.perf_counter()
        budget = Budget(p.budget)                         # --budget counts the build as well
        c, p = load_or_build(spec, p, needed)
        fmt = resolve_format(p.precision, c)
        t1 = time.perf_counter()
        record = proof_cmd.record_for(p.mode)                # --proof: what the certificate proved
        verdict = run_check(spec, c, fmt, p, budget, record)
        timing = {"build_s": t1 - t0, "check_s": time.perf_counter() - t1}
        extra = proof_cmd.write_after_verify(c, spec.task, spec.task_params(p), fmt, p.attention, verdict, record, budget)
        outside = is_outside(c)            # exchange weights: no promises, schedule or layout to report
        if spec.after_check is not None and not outside:
            verdict, more = spec.after_check(c, fmt, p, budget, verdict)
            timing.update(more)
        timing["total_s"] = time.perf_counter() - t0
        report = render.envelope(f"verify {spec.task}", p.to_json(), seed=p.seed, timing=timing,
                                 **verdict.to_json(), format=str(fmt), construction=c.to_json(), **extra)
        render.emit(report, p.json, proof_cmd.with_note(report, render.verdict_human if outside else spec.verify_human))
        click.get_current_context().exit(verdict.exit_code)

    cmd = _command(verify, spec, spec.verify_help or f"Verify the {spec.task} construction (exit 0"
                   " verified, 1 refuted, 2 bad input, 3 unknown).", opt.construction_options,
                   opt.arithmetic_options, opt.check_options, *spec.verify_options, proof_cmd.proof_option,
                   opt.dist_options, opt.common_options)
    needed = _from_option(cmd, spec)
    return cmd


def run_command(spec: TaskSpec) -> click.Command:
    """``run TASK --input ...``: outputs, ground truth and attention argmax on one input (exit 1
    when they differ: that input is a counterexample)."""
    @takes(SequenceParams)
    def run(p: SequenceParams):
        from attncheck.constructions.tasks import SEQ_TASKS
        from attncheck.verifiers.emulator import BOT_CODE, forward
        loaded, p = load_or_build(spec, p) if p.from_ else (None, p)
        tokens = parse_input(p.input)
        if loaded is not None and len(tokens) > loaded.n:
            raise click.BadParameter(f"--input has {len(tokens)} tokens but {p.from_} was built at"
                                     f" N = {loaded.n} (a shorter input runs on its first positions)",
                                     param_hint="--input")
        if loaded is None and p.N is not None and p.N != len(tokens):
            raise click.BadParameter(f"--input has {len(tokens)} tokens but --N is {p.N}", param_hint="--input")
        p = p.replace(N=len(tokens), alphabet=opt.default_alphabet(len(tokens), p.alphabet))
        check_symbols(tokens, p.alphabet)
        c = loaded.prefix(p.N) if loaded is not None else load_or_build(spec, p)[0]
        fmt = resolve_format(p.precision, c)
        tr = forward(c, [tokens], fmt, p.attention, keep=True)
        outs = [None if v == BOT_CODE else int(v) for v in tr.outputs[0]]
        truth = SEQ_TASKS[spec.task](tokens, **spec.task_params(p))
        attn = [[int(a) for a in w[0, 0, 1:].argmax(axis=-1)] for w in tr.attention]
        report = render.envelope(f"run {spec.task}", p.to_json(), seed=p.seed,
                                 **run_verdict(tokens, outs, truth), format=str(fmt), input=tokens,
                                 outputs=outs, truth=truth, correct=outs == truth,
                                 attention_argmax=attn, construction=c.to_json())
        render.emit(report, p.json, _run_human(report))
        click.get_current_context().exit(0 if report["correct"] else 1)

    cmd = _command(run, spec, f"Run the {spec.task} construction on one input.",
                   click.option("--input", "input", required=True,
                                help="Letters (abca) or comma-separated symbol codes (0,1,2,0)."),
                   opt.construction_options, opt.arithmetic_options, opt.json_option, opt.seed_option)
    next(q for q in cmd.params if q.name == "N").required = False      # --N comes from the input
    _from_option(cmd, spec)
    return cmd


def run_verdict(tokens: list[int], outs: list, truth: list) -> dict:
    """The verdict keys of ``run``: one input that disagrees with the ground truth refutes the
    construction (its first wrong position is the counterexample); one input that agrees proves
    nothing, so the verdict is null."""
    wrong = [i for i, (o, t) in enumerate(zip(outs, truth)) if o != t]
    if not wrong:
        return {"verdict": None, "counterexample": None}
    i = wrong[0]
    return {"verdict": Status.REFUTED.value,
            "counterexample": {"tokens": tokens, "position": i + 1, "expected": truth[i], "got": outs[i]}}


def build_command(spec: TaskSpec) -> click.Command:
    """``build TASK``: size, layout and temperatures; ``--out`` saves the weights."""
    @takes(SequenceParams)
    def build(p: SequenceParams):
        c, p = load_or_build(spec, p)
        if p.out:
            from attncheck.constructions.io import save_construction
            save_construction(c, p.out)
        report = render.envelope(f"build {spec.task}", p.to_json(), seed=p.seed, verdict=None,
                                 construction=c.to_json(), saved=p.out)
        render.emit(report, p.json, _build_human(report))
        click.get_current_context().exit(0)

    return _command(build, spec, f"Build the {spec.task} construction; print size and layout; --out saves"
                    " weights (npz + JSON metadata).",
                    click.option("--out", type=click.Path(dir_okay=False), default=None,
                                 help="Save the weights to this .npz file."),
                    opt.construction_options, opt.json_option, opt.seed_option)


def precision_command(spec: TaskSpec) -> click.Command:
    """``precision TASK``: the fewest fixed-point bits for which the certificate closes (verdict
    verified when a format was found, unknown when none up to the limit or the budget)."""
    @takes(SequenceParams)
    def precision(p: SequenceParams):
        from attncheck.constructions.budget import Budget
        from attncheck.verifiers.precision_search import minimal_format
        budget = Budget(p.budget)                         # --budget counts the build as well
        c, p = load_or_build(spec, p)
        t0 = time.perf_counter()
        with render.progress(None, f"precision search {spec.task} N={c.n}"):
            res = minimal_format(c, spec.task, spec.task_params(p), p.attention, budget)
        status = Status.VERIFIED if res.found else Status.UNKNOWN
        report = render.envelope(f"precision {spec.task}", p.to_json(), seed=p.seed,
                                 timing={"total_s": time.perf_counter() - t0}, verdict=status.value,
                                 **res.to_json(), construction=c.to_json(), **opt.executor_evidence())
        render.emit(report, p.json, _precision_human(report))
        click.get_current_context().exit(status.exit_code)

    return _command(precision, spec, f"Fewest fixed-point bits for which the {spec.task} certificate holds.",
                    click.option("--attention", type=click.Choice(["softmax", "hardmax"]), default="softmax",
                                 show_default=True),
                    opt.construction_options, opt.json_option, opt.seed_option, opt.budget_option,
                    opt.dist_options)


def make_commands(spec: TaskSpec):
    """(verify, run, build, precision) click commands for ``spec``."""
    return verify_command(spec), run_command(spec), build_command(spec), precision_command(spec)


def parse_input(text: str, alphabet: int | None = None) -> list[int]:
    """'abca' or '0,1,2,0' -> [0, 1, 2, 0]; with ``alphabet``, symbols must be < alphabet."""
    t = text.strip()
    if not t:
        raise click.BadParameter("empty input", param_hint="--input")
    try:
        toks = [int(s) for s in t.split(",")] if ("," in t or t.isdigit()) else \
            [ord(ch) - ord("a") for ch in t if not ch.isspace()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither letters nor comma-separated integers",
                                 param_hint="--input") from None
    if alphabet is not None:
        check_symbols(toks, alphabet)
    return toks


def check_symbols(tokens: list[int], alphabet: int) -> None:
    """Every symbol must be one of 0..alphabet-1."""
    bad = [v for v in tokens if not 0 <= v < alphabet]
    if bad:
        raise click.BadParameter(f"symbol {bad[0]} is outside the alphabet 0..{alphabet - 1}"
                                 f" (--alphabet {alphabet})", param_hint="--input")


def _run_human(report):
    def draw(con):
        c = report["construction"]
        con.print(render.esc(f"{c['name']}  N={len(report['input'])}  |Σ|={c['params']['alphabet']}"
                             f"  {c['theorem']} {c['status']}  precision {report['format']}"))
        cols = ["i", "token", "output", "truth"] + [f"L{l + 1} argmax" for l in range(len(report["attention_argmax"]))]
        rows = []
        for i, tok in enumerate(report["input"]):
            rows.append([i + 1, render.fmt_token(tok), render.fmt_token(report["outputs"][i]),
                         render.fmt_token(report["truth"][i])]
                        + [a[i] for a in report["attention_argmax"]])
        con.print(render.table(None, cols, rows))
        wrong = [i + 1 for i, (o, t) in enumerate(zip(report["outputs"], report["truth"])) if o != t]
        con.print("all positions correct" if not wrong else
                  f"[bold red]outputs differ from the ground truth[/] at {len(wrong)} of {len(report['input'])}"
                  f" positions ({', '.join(map(str, wrong[:10]))}{', ...' if len(wrong) > 10 else ''})")
        for line in render.counterexample_lines(report):
            con.print(f"  {render.esc(line)}")
    return draw


def _build_human(report):
    def draw(con):
        c = report["construction"]
        con.print(render.esc(f"{c['name']} ({c['theorem']}, {c['status']})"))
        con.print(render.table(None, ("size", "value"),
                               [(k, c[k]) for k in ("layers", "heads", "width", "qk_width", "format", "bits",
                                                     "parameters", "map_table_entries")]
                               + [("temperatures", ", ".join(f"{t:.4g}" for t in c["temperatures"])),
                                  ("target", c["target"])]))
        con.print(render.table("residual layout", ("slot", "coords", "kind", "codebook", "holds"),
                               [(n, f"{s['start']}..{s['stop'] - 1}", s["kind"], s["codebook"] or "",
                                 s["label"] or "") for n, s in c["layout"].items()]))
        for note in c.get("notes", []):
            con.print(f"note: {render.esc(note)}")
        if report.get("saved"):
            con.print(f"saved weights to {report['saved']}")
    return draw


def _precision_human(report):
    def draw(con):
        c = report["construction"]
        con.print(render.esc(f"{c['name']} ({c['theorem']}, {c['status']}), attention"
                             f" {report['params'].get('attention')}"))
        if not report["found"]:
            con.print("[bold yellow]no fixed-point format up to the limit closes the certificate[/]: "
                      + render.esc(report["reason"]))
            return
        con.print(f"fewest bits: [bold]{report['format']}[/] ({report['bits']} bits;"
                  f" declared {report['declared']})")
        con.print(render.table(None, ("probe", "format", "certificate", "why"),
                               [(p["probe"], p["format"], p["verdict"], p["reason"]) for p in report["probes"]]))
    return draw


# --- the induction head ---------------------------------------------------------------------
def _build_induction(**kw):
    from attncheck.constructions.induction import build_induction
    return build_induction(**kw)


INDUCTION = TaskSpec("induction", _build_induction, lambda p: {})
verify_induction, run_induction, build_induction_cmd, precision_induction = make_commands(INDUCTION)
