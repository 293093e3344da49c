"""``attncheck export TASK``: write a construction in the exchange format (docs/format.md, issue 16).

params -> build (or load ``--from FILE.npz``) -> :func:`attncheck.constructions.exchange.from_construction`
-> write ``DIR/model.safetensors`` + ``DIR/attncheck.json`` -> check the written directory: read it
back, run the emulator on our construction and on the re-imported model on ``--samples`` seeded
random inputs, each in its declared format, and report on how many the outputs agree and whether
row 0 stayed fixed bit for bit (the start keeper heads' job).  Exit 0 when every sampled output
agrees, 1 when one does not (the export computes something else), 2 bad input.

The options are those of ``build TASK`` (same names, from :mod:`attncheck.cli.seqtask`), plus
``--out DIR`` (required), ``--force`` (write into a directory that already holds files),
``--samples`` and ``--seed`` (the check's inputs).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import click

from attncheck.cli import options as opt
from attncheck.cli import render, seqtask
from attncheck.cli.main import LazyGroup
from attncheck.cli.params import SequenceParams, takes

EXPORT_TASKS: dict[str, tuple[str, str, str]] = {
    "induction": ("attncheck.cli.export", "export_induction", "The induction head in the exchange format."),
    "hop": ("attncheck.cli.export", "export_hop", "The k-hop head (--residual additive) in the exchange format."),
}
CHECK_SAMPLES = 256


@dataclass(frozen=True)
class ExportParams(SequenceParams):
    """``export TASK``: the sequence options plus ``--force``."""

    force: bool = False


def check_export(c, c2, samples: int, seed: int) -> dict:
    """Run ``c`` (ours) and ``c2`` (the re-imported export) on ``samples`` seeded inputs, each in
    its own declared format: how many agree, and whether row 0 of ``c2`` is the same after every
    layer (bit for bit in a fixed format)."""
    import numpy as np
    from attncheck.verifiers.emulator import forward
    rng = np.random.default_rng(seed)
    X = rng.integers(0, c.alphabet, size=(samples, c.n))
    a = forward(c, X, c.fmt, keep=False).outputs
    tr = forward(c2, X, c2.fmt, keep=True)
    agree = int(np.sum(np.all(a == tr.outputs, axis=1)))
    rows = tr.grid if tr.grid else tr.residuals                        # per layer (B, T, D)
    row0 = all(bool(np.all(r[:, 0, :] == rows[0][:, 0, :])) for r in rows)
    first = None
    if agree < samples:
        b = int(np.flatnonzero(np.any(a != tr.outputs, axis=1))[0])
        sym = [lambda v: None if v == -1 else int(v)][0]
        first = {"tokens": X[b].tolist(), "ours": [sym(v) for v in a[b]], "export": [sym(v) for v in tr.outputs[b]]}
    return {"inputs": samples, "seed": seed, "agree": agree, "row0_fixed": row0, "first_disagreement": first,
            "format_ours": str(c.fmt), "format_export": str(c2.fmt)}


def _prepare_dir(out: str, force: bool) -> None:
    from attncheck.constructions.verdict import BadInput
    if os.path.exists(out) and not os.path.isdir(out):
        raise BadInput(f"--out {out} exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out) and not force:
        raise BadInput(f"--out {out} already holds files; give --force to write into it")


def export_command(spec: seqtask.TaskSpec) -> click.Command:
    """``export TASK``: the construction ``build TASK`` would build (or ``--from FILE.npz``), in
    the exchange format."""
    @takes(ExportParams)
    def export(p: ExportParams):
        from attncheck.constructions.exchange import (from_construction, read_exchange, to_construction,
                                                      write_exchange)
        from attncheck.constructions.verdict import BadInput
        t0 = time.perf_counter()
        if p.from_ is not None and os.path.isdir(p.from_):
            raise BadInput(f"--from {p.from_} is an exchange directory already: copy it instead of exporting")
        _prepare_dir(p.out, p.force)
        c, p = seqtask.load_or_build(spec, p, needed)
        m = from_construction(c)
        source = dict(m.source)
        source["attncheck_version"] = render.versions()["attncheck"]
        m = type(m)(**{**{f: getattr(m, f) for f in m.__dataclass_fields__}, "source": source})
        write_exchange(m, p.out)
        t1 = time.perf_counter()
        m2 = read_exchange(p.out)
        check = check_export(c, to_construction(m2), p.samples, p.seed)
        t2 = time.perf_counter()
        without = m.source["sizes_without_keeper"]
        keepers = m.source["start_keeper_layers"]
        sizes = {"layers": m.n_layers, "heads": m.n_heads, "keeper_heads": len(keepers),
                 "keeper_layers": [l + 1 for l in keepers], "d_model": m.d_model, "d_head": m.d_head,
                 "d_vocab": m.d_vocab, "d_vocab_out": m.d_vocab_out, "n_ctx": m.n_ctx,
                 "precision": m.precision, "declared_precision": str(c.fmt),
                 "heads_without_keeper": without["n_heads"], "d_model_without_keeper": without["d_model"]}
        from attncheck.constructions.exchange import META_FILE, WEIGHTS_FILE
        files = [os.path.join(p.out, WEIGHTS_FILE), os.path.join(p.out, META_FILE)]
        ok = check["agree"] == check["inputs"] and check["row0_fixed"]
        report = render.envelope(f"export {spec.task}", p.to_json(), seed=p.seed, verdict=None,
                                 exchange=sizes, files=files, check=check, ok=ok, construction=c.to_json(),
                                 timing={"export_s": t1 - t0, "check_s": t2 - t1, "total_s": t2 - t0},
                                 libraries=("safetensors",))
        render.emit(report, p.json, _human(report))
        click.get_current_context().exit(0 if ok else 1)

    cmd = seqtask._command(
        export, spec, f"Write the {spec.task} construction in the exchange format (docs/format.md):"
        " DIR/model.safetensors and DIR/attncheck.json; then read DIR back and compare outputs on"
        " --samples seeded inputs (exit 0 all agree, 1 not, 2 bad input).",
        click.option("--out", type=click.Path(file_okay=False), required=True,
                     help="Directory to write (created if missing)."),
        click.option("--force", is_flag=True, default=False, help="Write into a directory that already holds files."),
        opt.construction_options,
        click.option("--samples", type=click.IntRange(min=1), default=CHECK_SAMPLES, show_default=True,
                     help="Seeded random inputs on which the written model is compared with the construction."),
        opt.json_option, opt.seed_option)
    needed = seqtask._from_option(cmd, spec)
    return cmd


def _human(report):
    def draw(con):
        c, s, chk = report["construction"], report["exchange"], report["check"]
        con.print(render.esc(f"{c['name']} ({c['theorem']}, {c['status']}) in the exchange format"))
        con.print(render.table(None, ("size", "value"), [
            ("layers", s["layers"]),
            ("heads per layer", f"{s['heads']} (of which start keeper: {s['keeper_heads']} in layers"
                                f" {', '.join(map(str, s['keeper_layers'])) or '-'}; without: {s['heads_without_keeper']})"),
            ("d_model", f"{s['d_model']} (without the keeper's flag: {s['d_model_without_keeper']})"),
            ("d_head", s["d_head"]), ("d_vocab / d_vocab_out", f"{s['d_vocab']} / {s['d_vocab_out']}"),
            ("n_ctx", s["n_ctx"]), ("precision", f"{s['precision']} (declared by the construction:"
                                                 f" {s['declared_precision']})")]))
        for f in report["files"]:
            con.print(f"wrote {render.esc(f)}")
        line = (f"read back: outputs agree on {chk['agree']} of {chk['inputs']} seeded inputs (seed {chk['seed']},"
                f" ours in {chk['format_ours']}, export in {chk['format_export']}); row 0 fixed after every"
                f" layer: {'yes' if chk['row0_fixed'] else 'NO'}")
        con.print(line if report["ok"] else f"[bold red]{render.esc(line)}[/]")
        if chk["first_disagreement"]:
            d = chk["first_disagreement"]
            con.print(render.esc(f"  first disagreement: input {render.fmt_seq(d['tokens'])}: ours"
                                 f" {render.fmt_seq(d['ours'])}, export {render.fmt_seq(d['export'])}"))
    return draw


def _hop_spec():
    from attncheck.cli.hop_cmds import HOP
    return HOP


export_induction = export_command(seqtask.INDUCTION)
export_hop = export_command(_hop_spec())
export = LazyGroup(name="export", lazy=EXPORT_TASKS,
                   help="Write a construction in the exchange format (docs/format.md): safetensors weights"
                        " under TransformerLens names plus attncheck.json.")
