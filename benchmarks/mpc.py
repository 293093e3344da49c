"""MPC <-> transformer figures: layers, width and run time of compiled protocols versus N.

Run: python benchmarks/mpc.py [--quick] [--before TREE]   (prints tables; wall clock on this machine)
     TREE: an older checkout to time beside this one, e.g.
     mkdir -p /tmp/old/attncheck && git archive <commit> | tar -x -C /tmp/old/attncheck; --before /tmp/old

Table 0 (issue 15): ``attncheck verify mpc cycles --N 8`` (exhaustive, 2,835 graphs), ``--N 16``
and ``--N 32`` (100 samples + routing certificate) as commands, interleaved medians measured in
one run (with ``--before``: the older tree's commands in the same rounds), so ratios are fair on a
loaded machine; ``--N 64`` with default options, with softmax, with random codes (verdict and
method); then where the time of one in-process check goes (compile, certificate, protocol side,
transformer side, ground truth).
Table 1 (sht24a.thm3_1): for each protocol and N, rounds R, layers L = R + 1 beside log2 N,
residual width D, packet slots d (one-hot) beside the Fact B.2 width ceil(12 s^4 ln n), time to
compile, and transformer time per instance (hardmax, exact arithmetic, batches of 8).
Table 2 (sht24a.thm3_4): rounds, machines and memory of one attention layer of the induction head.
"""
import argparse
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from attncheck.constructions.induction import build_induction
from attncheck.verifiers.mpc_reverse import simulate_layer
from attncheck.constructions.mpc.routing import make_hashing
from attncheck.constructions.mpc.algos import get_algo
from attncheck.constructions.mpc.simulate import compile_protocol
from attncheck.verifiers.mpc_simulate import run
from attncheck.verifiers.emulator import embed
from attncheck.verifiers.mpc_machine import run_protocol
from attncheck.constructions.precision import EXACT
from attncheck.verifiers.mpc_batch import run_batch
from attncheck.verifiers.mpc_certify import certify
from attncheck.verifiers.mpc_engine import Engine
from attncheck.verifiers.mpc_memo import Memories, Outboxes, Steps
from attncheck.verifiers.mpc_sidebyside import instances_for
from attncheck.verifiers.mpc_simulate import run_ids


def cli(*args: str, tree: str | None = None) -> tuple[list[str], dict | None]:
    """The command, run with this checkout's attncheck or with the package tree at ``tree`` (a
    directory holding ``attncheck/``, e.g. ``git archive <commit>`` unpacked into ``<tree>/attncheck``)."""
    env = None if tree is None else {**os.environ, "PYTHONPATH": tree}
    return [sys.executable, "-m", "attncheck.cli.main", *args], env


CPU = {}        # command -> median CPU seconds (user + system) of its last interleaved() run


def interleaved(cmds: dict, n: int) -> dict:
    """Median wall time of ``n`` rounds in which every command runs once (load drifts alike for
    all of them), and the verdict of each (its --json; an error object reads as its exit code).
    The median CPU time of each (the child's user + system time, less sensitive to other work on
    the machine) goes to :data:`CPU`."""
    ts, cpu, verdicts = {k: [] for k in cmds}, {k: [] for k in cmds}, {}
    for _ in range(n):
        for k, (cmd, env) in cmds.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            ts[k].append(time.perf_counter() - t)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[k].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
            j = json.loads(out.stdout or "{}")
            verdicts[k] = (j.get("verdict") or f"exit {out.returncode}", j.get("method") or "-", j.get("cases") or 0)
    CPU.update({k: statistics.median(v) for k, v in cpu.items()})
    return {k: (statistics.median(v), verdicts[k]) for k, v in ts.items()}


def covered_vs_every(N: int = 8, rounds: int = 5) -> dict:
    """In process, median seconds of ``check_simulation`` on every instance of cycles at N with the
    routing certificate standing for the transformer (``auto``: a spot check of 16 instances) and
    with the transformer on every instance (``every``), and whether their verdicts agree."""
    from attncheck.verifiers.mpc_sidebyside import check_simulation
    a = get_algo("cycles")
    sim = compile_protocol(a.build(N, None))
    ts, res = {"auto": [], "every": []}, {}
    for _ in range(rounds):
        for how in ts:
            t = time.perf_counter()
            res[how] = check_simulation(sim, a, N, transformer=how).verdict
            ts[how].append(time.perf_counter() - t)
    same = (res["auto"].status, res["auto"].method, res["auto"].cases) == \
        (res["every"].status, res["every"].method, res["every"].cases)
    return {how: statistics.median(v) for how, v in ts.items()} | {"same": same}


def breakdown(N: int) -> dict:
    """Where one in-process ``verify mpc cycles --N N`` spends its time (seconds); at N = 8 the
    transformer column is the whole domain, what ``transformer="every"`` runs (the command itself
    runs 16 instances when the certificate holds, see :func:`covered_vs_every`)."""
    a = get_algo("cycles")
    out = {}
    t = time.perf_counter()
    sim = compile_protocol(a.build(N, None))
    out["compile"] = time.perf_counter() - t
    t = time.perf_counter()
    cert = certify(sim)
    out["certificate"] = time.perf_counter() - t
    inst = instances_for(a, N, "auto", 100, 0)
    words = inst.domain.draw(0, inst.count) if inst.exhaustive else \
        inst.domain.sample(np.random.default_rng(0), inst.count)
    steps = Steps(sim.protocol, Memories(), Outboxes())
    eng = Engine(sim, [layer.head for layer in sim.layers], EXACT, "hardmax", steps)
    t = time.perf_counter()
    run_batch(steps, words)
    out["protocol"] = time.perf_counter() - t
    t = time.perf_counter()
    truth = [a.truth(N, w, 4) for w in words]
    out["truth"] = time.perf_counter() - t
    t = time.perf_counter()
    run_ids(eng, words)
    out["transformer"] = time.perf_counter() - t
    out.update(instances=len(words), distinct_steps=len(steps._step), memories=len(steps.memories.items),
               certified=cert.ok, how=cert.checks["scores"].get("how"), truth_ok=len(truth) == len(words))
    return out


def compiled_row(algo: str, N: int, batch: int = 8, seed: int = 0) -> dict:
    a = get_algo(algo)
    proto = a.build(N, None)
    t = time.perf_counter()
    codes = "poly"
    try:
        sim = compile_protocol(proto, codes=codes)
    except Exception:
        codes = "random"
        sim = compile_protocol(proto, codes=codes)
    t_compile = time.perf_counter() - t
    rng = random.Random(seed)
    inputs = [a.sample(N, rng) for _ in range(batch)]
    t = time.perf_counter()
    tr = run(sim, np.array(inputs), attention="hardmax" if codes == "poly" else "softmax")
    t_run = (time.perf_counter() - t) / batch
    t = time.perf_counter()
    refs = [run_protocol(proto, w) for w in inputs]
    t_mpc = (time.perf_counter() - t) / batch
    agree = all(tuple(x for o in tr.outputs[b] for x in o) == refs[b].output for b in range(batch))
    H = make_hashing(sim.tokens, proto.limits.q, proto.limits.s, "onehot")
    return {"algo": algo, "N": N, "R": proto.rounds, "L": len(sim.layers), "log2N": math.log2(N),
            "D": sim.layout.width, "d": sim.hashing.d, "d_onehot": H.d,
            "d_paper": sim.hashing.to_json()["paper_slots"], "codes": codes,
            "compile_s": t_compile, "run_s": t_run, "mpc_s": t_mpc, "agree": agree}


def issue15(quick: bool, before: str | None) -> None:
    rounds = 3 if quick else 11
    trees = {"": None} if before is None else {"": None, "before ": before}
    cmds = {f"{tag}--N {n}": cli("verify", "mpc", "cycles", "--N", str(n), "--json", tree=tree)
            for n in (8, 16, 32) for tag, tree in trees.items()}
    res = interleaved(cmds, rounds)
    print(f"verify mpc cycles as commands, median of {rounds} interleaved rounds (load average"
          f" {open('/proc/loadavg').read().split()[0]})")
    print(f"{'command':>16} {'verdict':>9} {'method':>12} {'cases':>6} {'seconds':>8} {'CPU s':>6}")
    for k, (sec, (v, m, c)) in res.items():
        print(f"{k:>16} {v:>9} {m:>12} {c:>6} {sec:>8.2f} {CPU[k]:>6.2f}")
    for tag in trees:
        print(f"  {tag or 'now '}ratio --N 8 / --N 16: {res[tag + '--N 8'][0] / res[tag + '--N 16'][0]:.2f} wall,"
              f" {CPU[tag + '--N 8'] / CPU[tag + '--N 16']:.2f} CPU")
    cv = covered_vs_every(8, 3 if quick else 5)
    print(f"  in process, cycles N = 8: certificate standing for the transformer {cv['auto']:.3f} s,"
          f" transformer on every instance {cv['every']:.3f} s (same verdict and cases: {cv['same']})")
    big = {f"{tag}--N 64": cli("verify", "mpc", "cycles", "--N", "64", "--json", tree=tree) for tag, tree in trees.items()}
    big["--N 64 --attention softmax"] = cli("verify", "mpc", "cycles", "--N", "64", "--attention", "softmax", "--json")
    big["--N 64 --codes random --attention softmax"] = cli("verify", "mpc", "cycles", "--N", "64", "--codes", "random",
                                                          "--attention", "softmax", "--json")
    for k, (sec, (v, m, c)) in interleaved(big, 1 if quick else 3).items():
        print(f"{k:>16} {v:>9} {m:>12} {c:>6} {sec:>8.2f}")
    print()
    print("in process, seconds: compile, certificate, protocol side, ground truth, transformer side")
    print(f"{'N':>4} {'inst.':>6} {'compile':>8} {'cert':>6} {'protocol':>9} {'truth':>6} {'transf.':>8}"
          f" {'steps':>6} {'memories':>9}  certificate")
    for N in (8, 16) if quick else (8, 16, 32, 64):
        b = breakdown(N)
        print(f"{N:>4} {b['instances']:>6} {b['compile']:>8.3f} {b['certificate']:>6.3f} {b['protocol']:>9.3f}"
              f" {b['truth']:>6.3f} {b['transformer']:>8.3f} {b['distinct_steps']:>6} {b['memories']:>9}"
              f"  {b['certified']} ({b['how']})")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--before", help="a package tree to time beside this checkout (a directory"
                                     " holding attncheck/, e.g. git archive <commit> unpacked there)")
    args = ap.parse_args()
    issue15(args.quick, args.before)
    plan = {"cycles": [6, 8, 16] if args.quick else [6, 8, 12, 16, 24, 32, 48],
            "components": [8] if args.quick else [8, 16, 32],
            "prefix": [8] if args.quick else [8, 32, 64],
            "sort": [8] if args.quick else [8, 32, 64],
            "broadcast": [8] if args.quick else [8, 64, 128]}
    print("sht24a.thm3_1: compiled protocols (hardmax unless codes = random, batch of 8)")
    print(f"{'algo':>10} {'N':>5} {'R':>3} {'L':>3} {'log2N':>6} {'width D':>8} {'d':>6} {'d Fact B.2':>10}"
          f" {'codes':>6} {'compile s':>9} {'run s/inst':>10} {'mpc s/inst':>10} {'agree':>5}")
    for algo, Ns in plan.items():
        for N in Ns:
            r = compiled_row(algo, N)
            print(f"{r['algo']:>10} {r['N']:>5} {r['R']:>3} {r['L']:>3} {r['log2N']:>6.2f} {r['D']:>8}"
                  f" {r['d']:>6} {r['d_paper']:>10} {r['codes']:>6} {r['compile_s']:>9.3f}"
                  f" {r['run_s']:>10.4f} {r['mpc_s']:>10.5f} {str(r['agree']):>5}")
    print()
    print("sht24a.thm3_4: one attention layer (layer 1 of the induction head, hardmax, branching 2)")
    print(f"{'N':>4} {'depth D':>7} {'rounds':>6} {'2D+3':>5} {'machines q':>10} {'s':>4} {'seconds':>8}")
    for N in ([4, 8] if args.quick else [4, 8, 16, 24]):
        c = build_induction(N)
        X = embed(c, np.zeros((1, N), dtype=int), c.fmt)[0]
        t = time.perf_counter()
        layer, run_, _ = simulate_layer(c.layers[0].heads[0], X, c.fmt, "hardmax", True, 2)
        print(f"{N:>4} {layer.depth:>7} {run_.rounds:>6} {2 * layer.depth + 3:>5}"
              f" {layer.protocol.limits.q:>10} {layer.protocol.limits.s:>4} {time.perf_counter() - t:>8.3f}")


if __name__ == "__main__":
    main()
