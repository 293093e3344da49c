"""Proof-carrying verdicts (issue 19): the certificate's time, the checker's time and the proof's size.

    python benchmarks/proofcheck.py [--N 64 256 1024 4096] [--repeat 3]

For each N: induction (|Sigma| = 8) and hop (k = 2, |Sigma| = 3) in their declared formats, softmax;
the minimum over --repeat runs of `certify` and of `proofcheck.check` (in process, after one JSON
round trip of the proof), and the proof's compact JSON size.  Figures go to docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import time

from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.verifiers import proofcheck
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.proof_emit import prove


def best(f, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="+", default=[64, 256, 1024, 4096])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", nargs="+", default=["induction", "hop"])
    a = ap.parse_args()
    print("| task | N | format | certificate (s) | check-proof (s) | ratio | proof (bytes) |")
    print("|---|---|---|---|---|---|---|")
    for task in a.tasks:
        for N in a.N:
            c = build_induction(N, 8) if task == "induction" else build_hop(N, 2, 3)
            params = {} if task == "induction" else {"k": 2}
            tc = best(lambda: certify(c, task, params, c.fmt), a.repeat)
            _, p = prove(c, task, params, c.fmt)
            text = json.dumps(p, separators=(",", ":"))
            p = json.loads(text)
            try:
                tk = best(lambda: proofcheck.check(p, c), a.repeat)
            except proofcheck.Reject as e:
                print(f"| {task} | {N} | {c.fmt} | {tc:.3f} | rejected: {e} | - | {len(text)} |", flush=True)
                continue
            print(f"| {task} | {N} | {c.fmt} | {tc:.3f} | {tk:.3f} | {tk / tc:.1f} | {len(text)} |", flush=True)


if __name__ == "__main__":
    main()
