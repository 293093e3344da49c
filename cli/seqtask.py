"""verify / run / build / precision for sequence-to-sequence transformer tasks.

One pipeline per command, reading like the sentence it implements (STYLE.md practice 1):
``params -> build -> check -> render``.  :func:`make_commands` produces the four click commands
for a task from its builder, so the k-hop head (and any later task) shares options, verdicts,
JSON keys and exit codes with the induction head.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.constructions.verdict import Status

AUTO_EXHAUSTIVE_MAX = 1 << 20      # --mode auto enumerates up to ~1M inputs, else certificate


@dataclass(frozen=True)
class TaskSpec:
    """How the CLI builds one task's construction.  ``build(**kwargs)`` takes the builder keyword
    arguments; ``task_params(kwargs)`` returns the ground-truth parameters (e.g. {"k": 3})."""

    task: str
    build: Callable
    task_params: Callable[[dict], dict]
    extra_options: tuple = ()
    builder_keys: tuple = ("n", "alphabet", "encoding", "variant", "d", "seed")


def _builder_kwargs(spec: TaskSpec, kw: dict) -> dict:
    out = {}
    for key in spec.builder_keys:
        if key in kw:
            out["N" if key == "n" else ("D" if key == "d" else key)] = kw[key]
    return out


def resolve_format(text: str, c):
    from attncheck.constructions.precision import EXACT, parse_format
    if text == "declared":
        return c.fmt
    if text == "exact":
        return EXACT
    return parse_format(text)


def _params(kw: dict, fmt) -> dict:
    p = {("from" if k == "from_" else k): v for k, v in kw.items() if k not in ("as_json",)}
    p["precision_used"] = str(fmt)
    return p


def run_check(spec: TaskSpec, c, fmt, kw: dict, budget=None):
    """Dispatch on --mode; returns a Verdict.  ``budget``: the command's clock, started before
    the construction was built (a new one from --budget when None)."""
    from attncheck.constructions.budget import Budget
    budget = Budget(kw.get("budget")) if budget is None else budget
    mode = kw["mode"]
    tparams = spec.task_params(kw)
    if mode == "auto":
        mode = "exhaustive" if c.alphabet ** c.n <= AUTO_EXHAUSTIVE_MAX else "certificate"
        if mode == "exhaustive" and budget.seconds is not None:
            from attncheck.verifiers.exhaustive import estimate_seconds
            if estimate_seconds(c, spec.task, tparams, fmt, kw["attention"]) > budget.seconds:
                mode = "certificate"
    if mode == "certificate":
        from attncheck.verifiers.certificate import certify
        with render.progress(None, f"certificate {spec.task} N={c.n}"):
            verdict = certify(c, spec.task, tparams, fmt, kw["attention"], budget)
        if kw["mode"] == "auto" and verdict.status is Status.UNKNOWN and not budget.expired():
            verdict = _sample_after_certificate(spec, c, fmt, kw, tparams, budget, verdict)
        return verdict
    if mode == "exhaustive":
        from attncheck.verifiers.exhaustive import check_exhaustive
        with render.progress(c.alphabet ** c.n, f"exhaustive {c.alphabet}^{c.n}") as adv:
            return check_exhaustive(c, spec.task, tparams, fmt, kw["attention"], budget, adv)
    from attncheck.verifiers.sample import check_sample
    with render.progress(kw["samples"], "sampling") as adv:
        return check_sample(c, spec.task, tparams, fmt, kw["attention"], kw["samples"], kw["seed"],
                            budget, adv)


def _sample_after_certificate(spec: TaskSpec, c, fmt, kw: dict, tparams: dict, budget, cert):
    """Auto mode, when the certificate does not close: look for a counterexample by sampling
    (--samples, --seed, what is left of --budget).  A replayed counterexample is REFUTED; none
    leaves the certificate's UNKNOWN, saying how many samples were tried."""
    from attncheck.verifiers.sample import check_sample
    with render.progress(kw["samples"], "sampling") as adv:
        smp = check_sample(c, spec.task, tparams, fmt, kw["attention"], kw["samples"], kw["seed"],
                           budget, adv)
    if smp.status is Status.REFUTED:
        return dataclasses.replace(smp, evidence={**smp.evidence, "certificate": cert.reason})
    return dataclasses.replace(cert, reason=f"{cert.reason}; {smp.cases} seeded samples found no"
                                            " counterexample", evidence={**cert.evidence, "samples": smp.cases})


def _add_options(f, spec: TaskSpec, *decorators):
    for d in reversed(decorators):
        f = d(f)
    for d in reversed(spec.extra_options):
        f = d(f)
    return opt.n_option()(f)


def _from_option(cmd: click.Command, spec: TaskSpec) -> list:
    """Add ``--from FILE.npz`` to ``cmd``; the builder options it makes optional are returned
    (they stay required when no file is given, see :func:`load_or_build`)."""
    cmd.params.append(click.Option(["--from", "from_"], type=click.Path(exists=True, dir_okay=False),
                                   default=None, help="Load a construction saved by 'build --out'"
                                   " instead of building one (its task and parameters must match)."))
    needed = [p for p in cmd.params if p.required and p.name in spec.builder_keys]
    for p in needed:
        p.required = False
    return needed


def load_or_build(spec: TaskSpec, kw: dict, needed: list = ()):
    """The construction a command works on: loaded from ``--from`` or built from the options.

    A loaded file must hold a ``spec.task`` construction (the loader checks its metadata against
    its weights); its build parameters fill ``kw`` (so task parameters such as k come from the
    file), and an option given explicitly on the command line that disagrees with it is refused.
    A built construction takes ``--alphabet`` or its default min(3, N) (filled into ``kw``)."""
    ctx = click.get_current_context()
    path = kw.get("from_")
    if path is None:
        for p in needed:
            if kw.get(p.name) is None:
                raise click.MissingParameter(ctx=ctx, param=p)
        if "alphabet" in kw:
            kw["alphabet"] = opt.default_alphabet(kw.get("n"), kw["alphabet"])
        return spec.build(**_builder_kwargs(spec, kw))
    from attncheck.constructions.io import load_construction
    from attncheck.constructions.verdict import BadInput
    c = load_construction(path)
    if c.task != spec.task:
        raise BadInput(f"{path} holds a {c.task!r} construction, not {spec.task!r}")
    for key in spec.builder_keys:
        pkey = {"n": "N", "d": "D"}.get(key, key)
        if key == "seed" or key not in kw or pkey not in c.params:
            continue                                      # --seed also seeds sampling: the user's
        explicit = ctx.get_parameter_source(key) is click.core.ParameterSource.COMMANDLINE
        if explicit and kw[key] != c.params[pkey]:
            raise BadInput(f"--{pkey} {kw[key]} conflicts with {path}, built with {pkey} = {c.params[pkey]!r}")
        kw[key] = c.params[pkey]
    return c


def make_commands(spec: TaskSpec):
    """(verify, run, build, precision) click commands for ``spec``."""

    def verify_fn(**kw):
        from attncheck.constructions.budget import Budget
        ctx = click.get_current_context()
        t0 = time.perf_counter()
        budget = Budget(kw.get("budget"))                 # --budget counts the build as well
        c = load_or_build(spec, kw, verify_needed)
        fmt = resolve_format(kw["precision"], c)
        t1 = time.perf_counter()
        verdict = run_check(spec, c, fmt, kw, budget)
        t2 = time.perf_counter()
        report = render.envelope(f"verify {spec.task}", _params(kw, fmt), seed=kw["seed"],
                                 timing={"build_s": t1 - t0, "check_s": t2 - t1, "total_s": t2 - t0},
                                 **verdict.to_json(), construction=c.to_json())
        render.emit(report, kw["as_json"], render.verdict_human(report))
        ctx.exit(verdict.exit_code)

    verify = click.command(name=spec.task, help=f"Verify the {spec.task} construction (exit 0 verified,"
                           " 1 refuted, 2 bad input, 3 unknown).")(
        _add_options(verify_fn, spec, opt.construction_options, opt.arithmetic_options,
                     opt.check_options, opt.common_options))
    verify_needed = _from_option(verify, spec)

    def run_fn(**kw):
        from attncheck.constructions.tasks import SEQ_TASKS
        from attncheck.verifiers.emulator import BOT_CODE, forward
        ctx = click.get_current_context()
        loaded = load_or_build(spec, kw) if kw["from_"] else None        # fills kw["n"], ...
        tokens = parse_input(kw["input_"])
        if loaded is not None and len(tokens) > loaded.n:
            raise click.BadParameter(f"--input has {len(tokens)} tokens but {kw['from_']} was built at"
                                     f" N = {loaded.n} (a shorter input runs on its first positions)",
                                     param_hint="--input")
        if loaded is None and kw["n"] is not None and kw["n"] != len(tokens):
            raise click.BadParameter(f"--input has {len(tokens)} tokens but --N is {kw['n']}",
                                     param_hint="--input")
        kw["n"] = len(tokens)
        kw["alphabet"] = opt.default_alphabet(kw["n"], kw["alphabet"])
        check_symbols(tokens, kw["alphabet"])
        c = prefix_construction(loaded, kw["n"]) if loaded is not None else load_or_build(spec, kw)
        fmt = resolve_format(kw["precision"], c)
        tr = forward(c, [tokens], fmt, kw["attention"], keep=True)
        outs = [None if v == BOT_CODE else int(v) for v in tr.outputs[0]]
        truth = SEQ_TASKS[spec.task](tokens, **spec.task_params(kw))
        attn = [[int(a) for a in w[0, 0, 1:].argmax(axis=-1)] for w in tr.attention]
        report = render.envelope(f"run {spec.task}", _params(kw, fmt), seed=kw["seed"],
                                 input=tokens, outputs=outs, truth=truth,
                                 correct=outs == truth, attention_argmax=attn,
                                 construction=c.to_json())
        render.emit(report, kw["as_json"], _run_human(report))
        ctx.exit(0 if report["correct"] else 1)

    run = click.command(name=spec.task, help=f"Run the {spec.task} construction on one input.")(
        click.option("--input", "input_", required=True,
                     help="Letters (abca) or comma-separated symbol codes (0,1,2,0).")(
            _add_options(run_fn, spec, opt.construction_options, opt.arithmetic_options,
                         opt.json_option, opt.seed_option)))
    # --N is optional for run (taken from the input)
    for p in run.params:
        if p.name == "n":
            p.required = False
    _from_option(run, spec)

    def build_fn(**kw):
        ctx = click.get_current_context()
        c = load_or_build(spec, kw)
        if kw.get("out"):
            from attncheck.constructions.io import save_construction
            save_construction(c, kw["out"])
        report = render.envelope(f"build {spec.task}", {k: v for k, v in kw.items() if k != "as_json"},
                                 seed=kw["seed"], construction=c.to_json(), saved=kw.get("out"))
        render.emit(report, kw["as_json"], _build_human(report))
        ctx.exit(0)

    build = click.command(name=spec.task, help=f"Build the {spec.task} construction; print size and"
                          " layout; --out saves weights (npz + JSON metadata).")(
        click.option("--out", type=click.Path(dir_okay=False), default=None,
                     help="Save the weights to this .npz file.")(
            _add_options(build_fn, spec, opt.construction_options, opt.json_option, opt.seed_option)))

    def precision_fn(**kw):
        from attncheck.verifiers.precision_search import minimal_format
        from attncheck.constructions.budget import Budget
        ctx = click.get_current_context()
        budget = Budget(kw.get("budget"))                 # --budget counts the build as well
        c = load_or_build(spec, kw)
        t0 = time.perf_counter()
        with render.progress(None, f"precision search {spec.task} N={c.n}"):
            res = minimal_format(c, spec.task, spec.task_params(kw), kw["attention"], budget)
        report = render.envelope(f"precision {spec.task}", {k: v for k, v in kw.items() if k != "as_json"},
                                 seed=kw["seed"], timing={"total_s": time.perf_counter() - t0},
                                 **res.to_json(), construction=c.to_json())
        render.emit(report, kw["as_json"], _precision_human(report))
        ctx.exit(0 if res.found else 3)

    precision = click.command(name=spec.task, help=f"Fewest fixed-point bits for which the {spec.task}"
                              " certificate holds.")(
        click.option("--attention", type=click.Choice(["softmax", "hardmax"]), default="softmax",
                     show_default=True)(
            _add_options(precision_fn, spec, opt.construction_options, opt.json_option, opt.seed_option,
                         opt.budget_option)))
    return verify, run, build, precision


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


def prefix_construction(c, n: int):
    """``c`` cut to its first ``n`` positions (n <= c.n): rows 0..n of the positional embedding
    and of every index-specific weight (T, D, k).  Attention is causal (position i reads only
    j <= i) and every other weight is position-free, so on an input of length n the cut
    construction computes exactly what ``c`` computes on the first n positions of any longer
    input; ``run --from`` uses it to run a file built at N on a shorter input."""
    if n == c.n:
        return c
    T = n + 1

    def cut(W):
        return W[:T] if W.ndim == 3 else W                                 # (T, D, k) -> (n+1, D, k)

    layers = tuple(dataclasses.replace(layer, heads=tuple(
        h.replace(W_Q=cut(h.W_Q), W_K=cut(h.W_K), W_V=cut(h.W_V)) for h in layer.heads))
        for layer in c.layers)
    return c.replace(pos_embed=c.pos_embed[:T], layers=layers,                # (n+1, D)
                     notes=tuple(c.notes) + (f"run on positions 0..{n} of a construction built at N = {c.n}",))


def _run_human(report):
    def draw(con):
        c = report["construction"]
        con.print(render.esc(f"{c['name']}  N={len(report['input'])}  |Σ|={c['params']['alphabet']}"
                             f"  {c['theorem']} {c['status']}  precision {report['params']['precision_used']}"))
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


INDUCTION = TaskSpec("induction", _build_induction, lambda kw: {})
verify_induction, run_induction, build_induction_cmd, precision_induction = make_commands(INDUCTION)
