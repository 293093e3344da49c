"""``attncheck train hop`` and ``attncheck train compare-rnn`` (issue 18, docs/experiments.md).

``train hop``: the multi-hop experiment of SHT24a App. G (``sht24a.emp``): one attention-only
model per depth L, trained on ``task.hopk.multi`` (k uniform on 0..k_max, given as the first token;
no two equal consecutive tokens), the table err_k (rows L, columns k) printed as each depth
finishes, CSV/JSON and a figure; then every model is written in the exchange format once per
checked k (``DIR/L{l}/k{k}/``, start token = the hop-count token of k) and judged by attncheck
itself: ``verify hop --from`` exhaustively on a small instance (the first ``--verify-N``
positions, a directory ``DIR/L{l}/k{k}-N{n}/`` holding the same weights) and by sampling at the
trained N, and ``inspect hop --from --probes no-repeat`` for the alignment of layer l with
find^(2^(l-2)) (Claim G.2; layer 1 with prev).  Those are run as separate ``attncheck`` processes
(exactly the commands a user would type, which never import torch).

``train compare-rnn --task induction``: an LSTM and an attention-only transformer of matched
parameter count on the same batches; per-position test loss against position (log axis); the
LSTM's state bits beside the Myhill-Nerode minimum of ``witness rnn-states``.

torch is imported only inside the commands (the ``[torch]`` extra); a missing torch is bad input.
Exit codes: 0 done, 2 bad input, 3 ``--budget`` spent (checkpoints saved; ``--resume`` continues).
"""
from __future__ import annotations

import json as jsonlib
import os
import subprocess
import sys
import time

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli import train_report as rep
from attncheck.cli.main import LazyGroup
from attncheck.constructions.budget import Budget
from attncheck.constructions.verdict import EXIT_UNDECIDED, BadInput


@click.group(name="train", cls=LazyGroup)
def train():
    """Train attention-only models (PyTorch, the [torch] extra) and check them with attncheck."""


def _torch(threads: int | None):
    try:
        import torch
    except ImportError:
        raise BadInput("train needs torch: pip install -e '.[torch]' (docs/torch.md)") from None
    if threads:
        torch.set_num_threads(threads)
    return torch


def _device(torch, device: str) -> str:
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda: no CUDA device is available here (torch.cuda.is_available() is False)")
    return device


def _attncheck(*args: str, timeout: float | None = None) -> dict:
    """Run ``attncheck ARGS --json`` in a fresh process; its JSON object (with ``exit_code``)."""
    cmd = [sys.executable, "-m", "attncheck.cli.main", *args, "--json"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"verdict": "timeout", "exit_code": 3}
    try:
        out = jsonlib.loads(r.stdout)
    except jsonlib.JSONDecodeError:
        out = {"verdict": "error", "error": (r.stderr or r.stdout).strip()[-300:]}
    out["exit_code"] = r.returncode
    return out


# --- train hop -------------------------------------------------------------------------------------
@train.command("hop")
@click.option("--preset", type=click.Choice(["small", "paper"]), default="small", show_default=True,
              help="small: a 2-core CPU, the whole grid in about 15 minutes; paper: App. G's hyperparameters (GPU).")
@click.option("--k-max", "k_max", type=click.IntRange(min=1, max=64), default=None, help="Largest hop count (k uniform on 0..k_max).")
@click.option("--layers", type=opt.Range(geometric=False), default="2..6", show_default=True, help="Depths to train, e.g. 2..6.")
@click.option("--width", type=click.IntRange(min=2), default=None, help="d_model (the paper's m).")
@click.option("--heads", type=click.IntRange(min=1), default=None, help="Heads per layer.")
@opt.n_option(required=False)
@click.option("--alphabet", type=click.IntRange(min=3, max=26), default=None, help="|Σ| (>= 3: no-repeat inputs).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimiser steps per depth.")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Sequences per step.")
@click.option("--lr", type=float, default=None, help="Peak learning rate (warm-up, then linear decay to 0).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads (default: torch's).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoints in --out (same configuration).")
@click.option("--verify-N", "verify_N", type=click.IntRange(min=1), default=None,
              help="Positions of the exhaustive check (default: the largest n with |Σ|^n <= 2^16).")
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Inputs of the sampled check at the trained N.")
@click.option("--no-check", "no_check", is_flag=True, help="Train and tabulate only (no verify / inspect).")
@opt.common_options
def train_hop(preset, k_max, layers, width, heads, N, alphabet, steps, batch, lr, device, threads, out, resume,
              verify_N, samples, no_check, json, seed, budget):
    """Train one attention-only model per depth on App. G's multi-hop task; err_k table, figure,
    exchange-format models, attncheck's verdicts and Claim G.2 alignments."""
    torch = _torch(threads)
    from attncheck.constructions import training as tr
    t0 = time.perf_counter()
    device = _device(torch, device)
    given = dict(k_max=k_max, N=N, alphabet=alphabet, width=width, heads=heads, steps=steps, batch=batch, lr=lr)
    base = _hop_base(tr, preset, given, seed, layers)
    cfgs = {L: tr.HopConfig(layers=L, **base) for L in sorted(set(layers))}
    params = {"preset": preset, **base, "layers": sorted(cfgs), "device": device, "threads": threads,
              "verify_N": verify_N, "samples": samples, "check": not no_check}
    _prepare_out(out, resume, params)
    bud = Budget(budget) if budget else None
    con = render.console(stderr=True)
    ks = list(range(base["k_max"] + 1))
    rows: dict[int, dict] = {}
    stopped = None
    for L, cfg in cfgs.items():
        row, stopped = _train_depth(tr, cfg, out, resume, device, bud, con, ks)
        if stopped:
            break
        rows[L] = row
    if stopped is None and not no_check:
        for L, row in rows.items():
            if bud is not None and bud.expired():
                stopped = {"checks": L}
                break
            row["checks"] = _check_model(tr, row, cfgs[L], verify_N, samples, seed, con)
            _dump(os.path.join(out, f"L{L}", "result.json"), row)
    files = rep.write_hop_outputs(out, rows, ks, base["k_max"])
    report = render.envelope("train hop", params, seed=seed, timing={"total_s": time.perf_counter() - t0},
                             libraries=("torch",), verdict="unknown" if stopped else None,
                             stopped=stopped, rows=[rows[L] for L in sorted(rows)], files=files)
    render.emit(report, json, lambda c: rep.hop_human(c, rows, ks, base["k_max"], stopped, files))
    if stopped:
        click.get_current_context().exit(EXIT_UNDECIDED)


def _dump(path: str, obj) -> None:
    with open(path, "w") as fh:
        jsonlib.dump(obj, fh, indent=2, default=str)


#: Largest attention memory of one training step (float32 scores, probabilities, gradients)
ATTENTION_BYTES = 8 << 30


def _hop_base(tr, preset: str, given: dict, seed: int, layers) -> dict:
    """The preset with the options given on the command line; bad combinations are BadInput."""
    base = {**tr.PRESETS[preset], **{k: v for k, v in given.items() if v is not None}, "seed": seed}
    if base["k_max"] > base["N"]:
        raise BadInput(f"--k-max {base['k_max']} > --N {base['N']}: use k_max <= N")
    if base["width"] % base["heads"]:
        raise BadInput(f"--width {base['width']} is not a multiple of --heads {base['heads']}")
    if not base["lr"] > 0:
        raise BadInput(f"--lr must be > 0, got {base['lr']}")
    if any(L < 1 or L > 32 for L in layers):
        raise BadInput(f"--layers must lie in 1..32, got {list(layers)}")
    # float32 attention of one step: scores, probabilities and their gradients, every layer
    att = 16 * base["batch"] * base["heads"] * (base["N"] + 1) ** 2 * max(layers)
    if att > ATTENTION_BYTES:
        raise BadInput(f"one step at --N {base['N']}, --batch {base['batch']}, --heads {base['heads']} and"
                       f" {max(layers)} layers holds about {att / 2**30:.3g} GiB of attention (limit"
                       f" {ATTENTION_BYTES / 2**30:.0f} GiB); lower --N or --batch")
    base["warmup"] = min(base["warmup"], max(1, base["steps"] // 10))
    return base


#: run.json keys that may change on --resume
RESUMABLE = ("steps", "samples", "verify_N", "check", "threads", "warmup")


def _make_out(out: str, resume: bool | None) -> None:
    """Create the --out directory (BadInput when it is a file, cannot be made, or already holds
    files without --resume; None: a command without --resume)."""
    if not out:
        raise BadInput("--out must name a directory, got ''")
    if os.path.exists(out) and not os.path.isdir(out):
        raise BadInput(f"--out {out} exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out) and not resume:
        raise BadInput(f"--out {out} already holds files; give --resume to continue that run, or another --out"
                       if resume is not None else f"--out {out} already holds files")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {out}: cannot create the directory ({e.strerror or e})") from None


def _prepare_out(out: str, resume: bool, params: dict) -> None:
    run_file = os.path.join(out, "run.json")
    _make_out(out, resume)
    if resume and os.path.exists(run_file):
        with open(run_file) as fh:
            old = jsonlib.load(fh)
        if {k: v for k, v in old.items() if k not in RESUMABLE} != {k: v for k, v in params.items() if k not in RESUMABLE}:
            raise BadInput(f"--resume: {run_file} records another configuration")
    _dump(run_file, params)


def _train_depth(tr, cfg, out: str, resume: bool, device: str, bud, con, ks) -> tuple[dict | None, dict | None]:
    """Train (or resume, or reuse) the depth-L model; evaluate err_k; save it per checked k.
    Returns (row, None), or (None, stopped) when the budget ran out (checkpoint saved)."""
    L = cfg.layers
    ldir = os.path.join(out, f"L{L}")
    os.makedirs(ldir, exist_ok=True)
    ck = os.path.join(ldir, tr.CHECKPOINT)
    res_file = os.path.join(ldir, "result.json")
    if resume and os.path.exists(res_file) and os.path.exists(ck):
        with open(res_file) as fh:
            prev = jsonlib.load(fh)
        if prev.get("steps") == cfg.steps:
            con.print(f"L={L}: done in an earlier run (resumed)")
            return prev, None
    state = tr.load_checkpoint(cfg, ck, device) if resume and os.path.exists(ck) else tr.new_state(cfg, device)
    t1 = time.perf_counter()
    start_step = state.step
    if not _train_with_bar(tr, state, cfg, device, bud, ck, con, L):
        con.print(f"L={L}: --budget spent, stopped at step {state.step} of {cfg.steps} (checkpoint saved)")
        return None, {"layers": L, "step": state.step, "of": cfg.steps}
    train_s = time.perf_counter() - t1
    err = tr.evaluate(state.model, cfg, device)
    src = {"trained_by": "attncheck train hop", "theorem": "sht24a.emp", "config": tr.asdict(cfg),
           "note": "attention-only (no LayerNorm, no MLP); the start token is the hop-count token of k"}
    paths = tr.save_models(state.model, cfg, rep.checked_ks(cfg.k_max), ldir, src)
    row = {"layers": L, "params": tr.parameter_count(state.model), "steps": cfg.steps,
           "resumed_from": start_step or None, "train_s": round(train_s, 2),
           "final_loss": state.losses[-1][1] if state.losses else None,
           "err": {str(k): err[k] for k in ks}, "models": {str(k): p for k, p in paths.items()}}
    _dump(res_file, row)
    con.print(f"L={L}: loss {row['final_loss']:.4f}  {train_s:.0f} s  err_k (k=0..{cfg.k_max}): "
              + " ".join(f"{err[k]:.2f}" for k in ks))
    return row, None


def _train_with_bar(tr, state, cfg, device, bud, ck, con, L) -> bool:
    """Train with a rich bar (loss, steps/s) on an interactive stderr; plain otherwise."""
    if not con.is_interactive:
        return tr.train_steps(state, cfg, device, bud, None, ck)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    with Progress(TextColumn("L={task.fields[L]}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} step/s"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=con, transient=True) as p:
        task = p.add_task("train", total=cfg.steps, completed=state.step, L=L, loss="-", rate="-")
        t = [time.perf_counter(), state.step]

        def step(s, loss):
            if s % 10 == 0 or s == cfg.steps:
                now = time.perf_counter()
                rate = (s - t[1]) / max(now - t[0], 1e-9)
                t[0], t[1] = now, s
                p.update(task, completed=s, loss=f"{loss:.4f}", rate=f"{rate:.1f}")
        return tr.train_steps(state, cfg, device, bud, step, ck)


def _check_model(tr, row: dict, cfg, verify_N, samples: int, seed: int, con) -> dict:
    """attncheck's verify (exhaustive on the first n positions, sample at N) per saved k, and
    inspect (App. G.2 alignment) on the k_max model."""
    from attncheck.constructions.exchange import read_exchange, write_exchange
    from dataclasses import replace as dc_replace
    n = rep.verify_n(cfg.N, cfg.alphabet) if verify_N is None else min(verify_N, cfg.N)
    out: dict = {"verify_N": n, "verify": {}, "inspect": None}
    for k_s, path in row["models"].items():
        k = int(k_s)
        small = f"{path}-N{n}"
        m = read_exchange(path)
        if k <= n:
            write_exchange(dc_replace(m, N=n), small)
            ex = _attncheck("verify", "hop", "--from", small, "--mode", "exhaustive")
        else:
            ex = {"verdict": "n/a", "reason": f"k = {k} > N = {n}"}
        sm = _attncheck("verify", "hop", "--from", path, "--mode", "sample", "--samples", str(samples),
                        "--seed", str(seed))
        counts = tr.exhaustive_counts(dc_replace(m, N=n), n) if k <= n else None
        out["verify"][k_s] = {"exhaustive": rep.verdict_brief(ex), "sample": rep.verdict_brief(sm), "counts": counts}
        cnt = "" if counts is None else (f" (no-repeat inputs right at every position:"
                                         f" {counts['no_repeat']['all_right']}/{counts['no_repeat']['inputs']})")
        con.print(f"L={cfg.layers} k={k}: exhaustive on |Σ|^{n}: {rep.verdict_cell(ex)}{cnt}; "
                  f"{samples} samples at N={cfg.N}: {rep.verdict_cell(sm)}")
    k_top = max(int(k) for k in row["models"])
    insp = _attncheck("inspect", "hop", "--from", row["models"][str(k_top)], "--probes", "no-repeat",
                      "--inputs", "64", "--seed", str(seed))
    if insp.get("exit_code") == 0:
        out["inspect"] = {"k": k_top, "layers": rep.align_summary(insp, cfg.layers)}
        con.print(f"L={cfg.layers} alignment with find^(2^(l-2)) (k={k_top}): " + " ".join(
            f"l{l}:{v['alignment']:.2f}" for l, v in out["inspect"]["layers"].items() if v["alignment"] is not None))
    else:
        out["inspect"] = {"k": k_top, "error": insp.get("error")}
    return out


# --- train compare-rnn ----------------------------------------------------------------------------
@train.command("compare-rnn")
@click.option("--task", type=click.Choice(["induction"]), default="induction", show_default=True)
@opt.n_option(required=False, default=64)
@click.option("--alphabet", type=click.IntRange(min=2, max=26), default=4, show_default=True, help="|Σ|.")
@click.option("--width", type=click.IntRange(min=2), default=64, show_default=True, help="Transformer d_model (and LSTM embedding).")
@click.option("--heads", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--layers", type=click.IntRange(min=1, max=16), default=2, show_default=True, help="Transformer layers.")
@click.option("--steps", type=click.IntRange(min=1), default=1500, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=float, default=3e-3, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads (default: torch's).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@opt.common_options
def compare_rnn(task, N, alphabet, width, heads, layers, steps, batch, lr, device, threads, out, json, seed, budget):
    """An LSTM and an attention-only transformer of matched parameter count on induction heads:
    per-position test loss (log-axis figure) and the LSTM's state bits beside the Myhill-Nerode bound."""
    torch = _torch(threads)
    from attncheck.constructions import training as tr
    from attncheck.constructions.exchange import write_exchange
    t0 = time.perf_counter()
    device = _device(torch, device)
    if width % heads:
        raise BadInput(f"--width {width} is not a multiple of --heads {heads}")
    if not lr > 0:
        raise BadInput(f"--lr must be > 0, got {lr}")
    _make_out(out, None)
    cfg = tr.CompareConfig(N=N, alphabet=alphabet, width=width, heads=heads, layers=layers, steps=steps,
                           batch=batch, lr=lr, warmup=min(100, max(1, steps // 10)), seed=seed)
    bud = Budget(budget) if budget else None
    with render.progress(2 * steps, "training LSTM and transformer") as advance:
        res = tr.train_compare(cfg, device, bud, lambda name, s, loss: advance(1))
    models = res.pop("_models")
    tdir = os.path.join(out, "transformer")
    write_exchange(tr.to_exchange_induction(models["transformer"], cfg), tdir)
    torch.save(models["lstm"].state_dict(), os.path.join(out, "lstm.pt"))
    mn = _myhill_nerode(N, alphabet)
    res["myhill_nerode"] = mn
    res["lstm"]["bits_over_bound"] = None if mn is None else res["lstm"]["state_bits_float32"] / max(1, mn["bits"])
    res["files"] = rep.write_compare_outputs(out, res, tdir)
    params = {"task": task, "N": N, "alphabet": alphabet, "width": width, "heads": heads, "layers": layers,
              "steps": steps, "batch": batch, "lr": lr, "device": device, "threads": threads}
    report = render.envelope("train compare-rnn", params, seed=seed, timing={"total_s": time.perf_counter() - t0},
                             libraries=("torch",), verdict="unknown" if res["stopped"] is not None else None, **res)
    render.emit(report, json, lambda c: rep.compare_human(c, res))
    if res["stopped"] is not None:
        click.get_current_context().exit(EXIT_UNDECIDED)


def _myhill_nerode(N: int, alphabet: int) -> dict | None:
    """``witness rnn-states induction``'s minimum (states and bits for the answer at position n)
    at the largest n <= N whose |Sigma|^n inputs enumerate (at most 2^22), or None."""
    from attncheck.bounds.witnesses.myhill_nerode import rnn_state_classes
    from attncheck.constructions.verdict import BudgetExceeded
    for n in range(N, 1, -1):
        if alphabet ** n > 1 << 22:
            continue
        try:
            r = rnn_state_classes("induction", n, alphabet, 1, False, Budget(60.0))
        except (BadInput, BudgetExceeded):
            continue
        return {"N": n, "max_classes": r.max_classes, "bits": r.bits, "log2": r.log2, "claim": r.claim()}
    return None
