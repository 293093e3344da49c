"""Rounds of the low-memory MPC protocols (s = ceil(N^delta)) against N, and of Borůvka against
the diameter (issue 17).

Run: python benchmarks/mpc_rounds.py [--quick]

Table 1: broadcast, prefix and sort at delta = 1/2 and 1/3 for N = 16 .. 1024: s, machines q,
rounds R (a property of the built protocol), log2 N beside it, and the wall time of one protocol
run on a random input (the MPC runtime, every limit enforced; checked against plain truth).
Table 3: components by Boolean squaring (``verify mpc reach``) with a diameter promise D: rounds
against D and N, each run on vertex-disjoint paths of diameter D (checked against union-find).
Table 2: components and MSF: the fixed rounds (K = J = ceil(log2 N)) and, measured on paths
(diameter N - 1), stars (diameter 2) and random G(N, N) graphs, the Borůvka phase after which
every vertex already points at a vertex of its own component and nowhere else (the partition is
final); the protocol still runs all K phases.
"""
import argparse
import random
import statistics
import time

from attncheck.constructions.mpc import basic, cycles, graphs, lowmem, reach
from attncheck.constructions.mpc.lowmem_algos import LOWMEM, component_diameter
from attncheck.verifiers.mpc_machine import run_protocol

TRUTH = {"broadcast": lambda N, s, w: basic.broadcast_truth(w, max(N, s)),
         "prefix": lambda N, s, w: basic.prefix_truth(w, 8),
         "sort": lambda N, s, w: basic.sort_truth(w)}


def table1(Ns, deltas):
    print("| algo | delta | N | s | q | rounds R | log2 N | one run (s) |")
    print("|---|---|---|---|---|---|---|---|")
    rng = random.Random(0)
    for name in ("broadcast", "prefix", "sort"):
        for d in deltas:
            for N in Ns:
                s = lowmem.memory_words(N, d)
                P = LOWMEM[name].build(N, s)
                w = [rng.randrange(256) for _ in range(N)]
                t0 = time.perf_counter()
                out = run_protocol(P, w).output
                dt = time.perf_counter() - t0
                assert out == tuple(TRUTH[name](N, s, w)), (name, N)
                print(f"| {name} | {d} | {N} | {s} | {P.limits.q} | {P.rounds} | {N.bit_length() - 1} | {dt:.3f} |")


def settled_phase(P, N, run_):
    """The first phase after which the pointers P(v) partition [N] into the true components."""
    prm = P.params
    LX, LY, J, K = prm["incidence_height"], prm["request_height"], prm["jumps"], prm["phases"]
    per = 2 * (LX + 1) + (J + 1) * (LY + 1)
    sh = P.limits.p - graphs.TAG_BITS
    V0 = -(-P.n_in // P.limits.s)
    return next((k for k in range(1, K + 1) if _partition(run_.memories[2 + k * per + 1], V0, N, sh)
                 == _partition_truth(N, run_)), None)


def _partition(mem, V0, N, sh):
    ptr = []
    for v in range(N):
        par = [w & ((1 << sh) - 1) for src, w in mem[V0 + v] if src == V0 + v and w >> sh == graphs.PAR]
        ptr.append(par[0] if par else v)
    return sorted(sorted(v for v in range(N) if ptr[v] == r) for r in set(ptr))


def _partition_truth(N, run_):
    lab = run_.output
    return sorted(sorted(v for v in range(N) if lab[v] == r) for r in set(lab))


def table2(Ns, reps):
    print("| protocol | N | s | rounds R | phases K | graph | diameter | settled after phase (median, max) |")
    print("|---|---|---|---|---|---|---|---|")
    rng = random.Random(1)
    for N in Ns:
        s = lowmem.memory_words(N, "1/2")
        P = graphs.components_any(N, s)
        M = graphs.msf(N, s)
        for kind in ("path", "star", "G(N,N)"):
            got, diam = [], 0
            for _ in range(reps):
                if kind == "path":
                    perm = list(range(N))
                    rng.shuffle(perm)
                    g = [(perm[t], perm[t + 1]) for t in range(N - 1)]
                elif kind == "star":
                    g = [(0, v) for v in range(1, N)]
                else:
                    g = []
                    while len(g) < N:
                        u, v = rng.randrange(N), rng.randrange(N)
                        if u != v:
                            g.append((u, v))
                diam = max(diam, component_diameter(N, g))
                r_ = run_protocol(P, cycles.padded_tokens(N, g))
                assert r_.output == graphs.union_find_labels(N, g)
                got.append(settled_phase(P, N, r_))
            print(f"| components | {N} | {s} | {P.rounds} | {P.params['phases']} | {kind} | {diam} |"
                  f" {statistics.median(got):g}, {max(got)} |")
        print(f"| msf | {N} | {s} | {M.rounds} | {M.params['phases']} | any | - | - |")


def table3(Ns):
    print("| N | s | D | squarings K | rounds R | q | one run (s) |")
    print("|---|---|---|---|---|---|---|")
    for N in Ns:
        s = lowmem.memory_words(N, "1/2")
        for D in sorted({1, 2, 4, 8, 16, N - 1} & set(range(1, N))):
            P = reach.reach_components(N, s, D)
            g = [(v, v + 1) for v in range(N - 1) if (v + 1) % (D + 1)]       # paths of D edges
            t0 = time.perf_counter()
            assert run_protocol(P, cycles.padded_tokens(N, g)).output == graphs.union_find_labels(N, g)
            dt = time.perf_counter() - t0
            print(f"| {N} | {s} | {D} | {P.params['squarings']} | {P.rounds} | {P.limits.q} | {dt:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    Ns = (16, 64, 256) if a.quick else (16, 32, 64, 128, 256, 512, 1024)
    table1(Ns, ("1/2",) if a.quick else ("1/2", "1/3"))
    print()
    table2((8, 16) if a.quick else (8, 16, 32, 64), 3 if a.quick else 5)
    print()
    table3((16,) if a.quick else (16, 32, 64))


if __name__ == "__main__":
    main()
