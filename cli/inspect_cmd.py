"""``attncheck inspect TASK``: per layer and head, where attention goes on the task's inputs.

params -> build (or load with ``--from``) -> :func:`attncheck.verifiers.inspect.inspect_model`
-> render, plus ``--picture FILE.png|.svg``: the attention of one input (``--input``, else the
first probe) as heat maps (:func:`attncheck.cli.heatmap.attention_grid`).  The construction
options are those of ``verify TASK`` (the same :class:`~attncheck.cli.seqtask.TaskSpec`), so
``--from`` takes whatever ``verify --from`` takes.  Exit 0 with the table; 2 for bad input; 3
when ``--budget`` ran out (the table then covers the inputs done, verdict "unknown").
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import click

from attncheck.cli import hop_cmds, render, seqtask
from attncheck.cli import options as opt
from attncheck.cli.main import LazyGroup
from attncheck.cli.params import SequenceParams, takes


@dataclass(frozen=True)
class InspectParams(SequenceParams):
    """``inspect TASK``: the construction options of ``verify`` and the inspection's own."""

    inputs: int | None = None
    probes: str | None = None
    picture: str | None = None
    layer: int | None = None
    head: int | None = None
    threshold: float | None = None


def inspect_options(f):
    """--inputs, --input, --picture, --layer, --head, --threshold."""
    f = click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
                     help="Alignment a head's best role needs to be claimed.")(f)
    f = click.option("--head", "head", type=click.IntRange(min=1), default=None,
                     help="With --picture: draw only this head (1-indexed).")(f)
    f = click.option("--layer", "layer", type=click.IntRange(min=1), default=None,
                     help="With --picture: draw only this layer's heads (1-indexed).")(f)
    f = click.option("--picture", "picture", type=click.Path(dir_okay=False), default=None,
                     help="Write the attention of one input as heat maps: FILE.png or FILE.svg.")(f)
    f = click.option("--input", "input", default=None,
                     help="The input of --picture: letters (abca) or codes (0,1,2,0), at most N long"
                          " [default: the first probe input].")(f)
    f = click.option("--probes", "probes", type=click.Choice(["uniform", "no-repeat"]), default="uniform",
                     show_default=True, help="Probe distribution: every sequence, or no two equal consecutive"
                     " tokens (the multi-hop inputs of SHT24a App. G.1, on which issue 18 trains).")(f)
    f = click.option("--inputs", "inputs", type=click.IntRange(min=1), default=64, show_default=True,
                     help="Probe inputs: structured ones, then seeded ones of --probes.")(f)
    return f


def picture_heads(c, layer: int | None, head: int | None) -> list[tuple[int, int]]:
    """The (layer, head) pairs --layer/--head select (1-indexed); out of range is bad input."""
    if layer is not None and layer > c.n_layers:
        raise click.BadParameter(f"{layer} is out of range: the model has {c.n_layers} layers",
                                 param_hint="--layer")
    layers = [layer] if layer is not None else list(range(1, c.n_layers + 1))
    top = max(len(c.layers[l - 1].heads) for l in layers)
    if head is not None and head > top:
        where = f"layer {layer} has" if layer is not None else "no layer has more than"
        raise click.BadParameter(f"{head} is out of range: {where} {top} heads", param_hint="--head")
    return [(l, h) for l in layers for h in range(1, len(c.layers[l - 1].heads) + 1)
            if head is None or h == head]


def picture_input(p: InspectParams, c) -> list[int] | None:
    """The tokens of --input, checked against the model's alphabet and N (None without it)."""
    if p.input is None:
        return None
    tokens = seqtask.parse_input(p.input)
    seqtask.check_symbols(tokens, c.alphabet)
    if len(tokens) > c.n:
        raise click.BadParameter(f"--input has {len(tokens)} tokens but the model has N = {c.n}",
                                 param_hint="--input")
    return tokens


def draw_picture(c, fmt, p: InspectParams, rep, heads, tokens) -> dict:
    """Draw the heat maps of ``tokens`` (a shorter input runs on a prefix of the model)."""
    from attncheck.cli.heatmap import attention_grid
    from attncheck.verifiers.inspect import picture_panels
    model = c.prefix(len(tokens)) if len(tokens) < c.n else c
    panels = picture_panels(model, tokens, fmt, p.attention, rep, heads)
    title = f"{c.name}: attention on {render.fmt_seq(tokens)}" if len(tokens) <= 40 else \
        f"{c.name}: attention on an input of length {len(tokens)}"
    attention_grid({"tokens": tokens, "start": rep.start, "title": title, "panels": panels}, p.picture)
    return {"file": p.picture, "input": tokens, "heads": [[l, h] for l, h in heads]}


def inspect_command(spec: seqtask.TaskSpec) -> click.Command:
    """``inspect TASK`` for one task spec (the options of ``verify TASK`` that build a model)."""
    @takes(InspectParams)
    def inspect(p: InspectParams):
        from attncheck.cli.heatmap import check_picture_path
        from attncheck.constructions.budget import Budget
        from attncheck.constructions.verdict import BudgetExceeded
        from attncheck.verifiers.inspect import input_attention, inspect_model
        from attncheck.verifiers.roles import probe_set
        t0 = time.perf_counter()
        budget = Budget(p.budget)
        if not 0.0 <= p.threshold <= 1.0:                  # FloatRange lets nan through
            raise click.BadParameter(f"--threshold must be a number in [0, 1], got {p.threshold}")
        if p.picture is not None:
            check_picture_path(p.picture, writable=True)
        elif p.layer is not None or p.head is not None:
            raise click.UsageError("--layer and --head choose the heads of --picture; give --picture too")
        if p.N is None and p.from_ is None and p.input is not None:
            p = p.replace(N=len(seqtask.parse_input(p.input)))          # --N from the input
        c, p = seqtask.load_or_build(spec, p, needed)
        fmt = seqtask.resolve_format(p.precision, c)
        tokens = picture_input(p, c)
        heads = picture_heads(c, p.layer, p.head) if p.picture else []
        rep = inspect_model(c, spec.task, spec.task_params(p), fmt, p.attention, p.inputs, p.seed,
                            p.threshold, budget, p.probes)
        if rep.inputs == 0:
            raise BudgetExceeded(f"{rep.stopped}: nothing to report")
        picture = on_input = None
        if tokens is not None:
            model = c.prefix(len(tokens)) if len(tokens) < c.n else c
            on_input = input_attention(model, tokens, fmt, p.attention, rep)
        if p.picture:
            first = probe_set(c.n, c.alphabet, 1, p.seed, p.probes)[0].tolist()
            picture = draw_picture(c, fmt, p, rep, heads, tokens if tokens is not None else first)
        report = render.envelope(f"inspect {spec.task}", p.to_json(), seed=p.seed,
                                 timing={"total_s": time.perf_counter() - t0},
                                 verdict="unknown" if rep.stopped else None, inspection=rep.to_json(),
                                 input_attention=on_input, picture=picture, format=str(fmt),
                                 construction=c.to_json())
        render.emit(report, p.json, inspect_human(report))
        click.get_current_context().exit(3 if rep.stopped else 0)

    cmd = seqtask._command(inspect, spec, f"Where each head of a model for the {spec.task} task attends: mean mass, unique-argmax"
                           " agreement and the SHT24a App. G.2 alignment against the roles prev, self, start,"
                           " last_occurrence, find^t; --picture draws one input's attention.  Exit 0 (2 bad"
                           " input, 3 budget spent).", opt.construction_options, opt.arithmetic_options,
                           inspect_options, opt.common_options)
    needed = seqtask._from_option(cmd, spec)
    return cmd


def _fmt(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def inspect_human(report: dict):
    def draw(con):
        ins, c = report["inspection"], report["construction"]
        con.print(render.esc(f"{c['name']}  N={c['params'].get('N')}  |Σ|={c['params'].get('alphabet')}"
                             f"  {c['layers']} layers  precision {report['format']}  {ins['attention']}"
                             f"  start row: {ins['start']}"))
        con.print(render.esc(f"{ins['inputs']} {ins['probes']} probe inputs (seed {ins['seed']};"
                             f" {ins['requested']} asked);"
                             f" a role is claimed at alignment >= {ins['threshold']}"))
        if ins["stopped"]:
            con.print(f"[bold yellow]stopped early[/]: {render.esc(ins['stopped'])}")
        rows = []
        for h in ins["heads"]:
            best = h["roles"].get(h["best"]) or {}
            rows.append((h["layer"], h["head"], h["claimed"] or f"none (best {h['best'] or '-'})",
                         _fmt(h["best_alignment"]), _fmt(best.get("mass")), _fmt(best.get("argmax")),
                         h["intended"] or "-", {True: "yes", False: "NO", None: "-"}[h["agrees"]],
                         h["kind"] or ""))
        con.print(render.table("heads (best role by SHT24a G.2 alignment)",
                               ("layer", "head", "role", "alignment", "mass", "argmax", "intended",
                                "agrees", "converter head"), rows))
        roles = list(ins["roles"])
        con.print(render.table("alignment per role", ["layer", "head"] + roles,
                               [[h["layer"], h["head"]] + [_fmt(h["roles"][r]["alignment"]) for r in roles]
                                for h in ins["heads"]]))
        if report.get("input_attention"):
            input_table(con, report["input_attention"])
        if report.get("picture"):
            con.print(f"picture: {render.esc(report['picture']['file'])}"
                      f" (input {render.esc(render.fmt_seq(report['picture']['input']))})")
    return draw


def input_table(con, data: dict) -> None:
    """Per position of the --input, each head's argmax key and its weight; ``*`` marks the
    target of the head's claimed role."""
    hs, toks = data["heads"], data["input"]
    if len(hs) > 12 or len(toks) > 40:
        con.print(f"attention on --input: {len(hs)} heads x {len(toks)} positions, in --json (input_attention)")
        return
    rows = []
    for i, t in enumerate(toks):
        rows.append([i + 1, render.fmt_token(t)]
                    + [f"{h['argmax'][i]} ({h['weight'][i]:.2f})"
                       + ("*" if h["targets"] is not None and h["targets"][i] == h["argmax"][i] else "") for h in hs])
    con.print(render.esc(f"on the input {render.fmt_seq(toks)}: each head's argmax key (its weight);"
                         " * = the target of the head's claimed role"))
    con.print(render.table(None, ["i", "token"] + [f"L{h['layer']}H{h['head']}" for h in hs], rows))


def _group() -> click.Group:
    g = LazyGroup(name="inspect", help="Where each head attends on a task's inputs, against the roles of the SHT"
                  " constructions (works on any attention-only model: --from).")
    for spec in (seqtask.INDUCTION, hop_cmds.HOP):
        g.add_command(inspect_command(spec), spec.task)
    return g


inspect = _group()
