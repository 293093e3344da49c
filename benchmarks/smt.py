"""SMT query figures: for each query kind, the largest N decided within a fixed rlimit, and how
the solver's work (deterministic rlimit units) and wall-clock time grow with N.

Run: python benchmarks/smt.py [--rlimit R] [--quick] [--json]
Each sweep raises N until the first UNKNOWN (rlimit spent) or the sweep's cap.  rlimit units
are reproducible; seconds depend on the machine and its load.
"""
import argparse
import json
import time

from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.precision import fixed
from attncheck.verifiers.smt.cegis import synthesize
from attncheck.verifiers.smt.certify import certify_smt
from attncheck.cli.smt import comm_instance as instance, comm_witness as witness_rows
from attncheck.verifiers.smt.comm import protocol_query
from attncheck.verifiers.smt.families import make_family
from attncheck.verifiers.smt.solver import Limits
from attncheck.verifiers.smt.tables import ModelClass


def synth_row(layers, family, N, V, limits):
    cls = ModelClass(layers, 1, 1, fixed(2, 0), "hardmax")
    t = time.perf_counter()
    r = synthesize(cls, make_family(family, N, V), limits)
    return {"answer": r.solver_result, "rlimit_used": r.rlimit_used, "calls": r.iterations,
            "seconds": round(time.perf_counter() - t, 2)}


def comm_row(task, N, V, split, k, limits):
    inst = instance(task, N, V, split, k)
    bits = witness_rows(inst)["bits"]
    t = time.perf_counter()
    below, at = protocol_query(inst, bits - 1, limits), protocol_query(inst, bits, limits)
    return {"answer": f"B={bits - 1}:{below.solver_result} B={bits}:{at.solver_result}",
            "rlimit_used": below.rlimit_used + at.rlimit_used, "calls": 2,
            "seconds": round(time.perf_counter() - t, 2),
            "decided": "unknown" not in (below.solver_result, at.solver_result)}


def certify_row(build, task, params, limits):
    c = build()
    t = time.perf_counter()
    v, ev = certify_smt(c, task, params, c.fmt, limits)
    return {"answer": ev["solver_result"], "rlimit_used": ev["rlimit_used"], "calls": 1,
            "seconds": round(time.perf_counter() - t, 2)}


def sweeps(quick: bool):
    cap = 6 if quick else 9
    yield "one-layer full |Σ|=3", [(N, lambda lim, N=N: synth_row(1, "full", N, 3, lim)) for N in range(3, cap + 1)]
    yield "two-layer full |Σ|=3", [(N, lambda lim, N=N: synth_row(2, "full", N, 3, lim)) for N in range(3, cap + 1)]
    yield "one-layer index", [(N, lambda lim, N=N: synth_row(1, "index", N, 3, lim)) for N in range(3, 2 * cap, 2)]
    yield "two-layer index", [(N, lambda lim, N=N: synth_row(2, "index", N, 3, lim)) for N in range(3, 2 * cap, 2)]
    yield "comm induction |Σ|=3 interleaved", [(N, lambda lim, N=N: comm_row("induction", N, 3, "interleaved", 1, lim))
                                               for N in range(3, cap + 3)]
    yield "comm induction |Σ|=2 interleaved", [(N, lambda lim, N=N: comm_row("induction", N, 2, "interleaved", 1, lim))
                                               for N in range(3, cap + 6)]
    yield "certify induction |Σ|=3", [(N, lambda lim, N=N: certify_row(lambda: build_induction(N, 3), "induction", {}, lim))
                                      for N in range(3, cap + 3)]
    yield "certify hop k=2 |Σ|=2", [(N, lambda lim, N=N: certify_row(lambda: build_hop(N, 2, 2), "hop", {"k": 2}, lim))
                                    for N in range(3, cap + 3)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rlimit", type=int, default=30_000_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    limits = Limits(0, args.rlimit)
    out = []
    for name, cases in sweeps(args.quick):
        largest = None
        for N, run in cases:
            row = run(limits)
            row.update(kind=name, N=N)
            out.append(row)
            if not args.json:
                print(f"{name:34s} N={N:2d}  {row['answer']:28s} rlimit {row['rlimit_used']:>12,}"
                      f"  {row['seconds']:7.2f} s", flush=True)
            if row.get("decided", row["answer"] != "unknown"):
                largest = N
            else:
                break
        out.append({"kind": name, "largest_decided_N": largest, "rlimit": args.rlimit})
        if not args.json:
            print(f"{name:34s} largest N decided within rlimit {args.rlimit:,}: {largest}", flush=True)
    if args.json:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
