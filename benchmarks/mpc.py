"""MPC <-> transformer figures: layers, width and run time of compiled protocols versus N.

Run: python benchmarks/mpc.py [--quick]   (prints tables; times are wall clock on this machine)

Table 1 (sht24a.thm3_1): for each protocol and N, rounds R, layers L = R + 1 beside log2 N,
residual width D, packet slots d (one-hot) beside the Fact B.2 width ceil(12 s^4 ln n), time to
compile, and transformer time per instance (hardmax, exact arithmetic, batches of 8).
Table 2 (sht24a.thm3_4): rounds, machines and memory of one attention layer of the induction head.
"""
import argparse
import math
import random
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
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
