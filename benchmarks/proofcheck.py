"""Proof-carrying verdicts (issue 19): the certificate's time, the checker's time and the proof's size.

    python benchmarks/proofcheck.py [--N 64 256 1024 4096] [--repeat 3] [--cli]

For each N: induction (|Sigma| = 8) and hop (k = 2, |Sigma| = 3) in their declared formats, softmax;
the minimum over --repeat runs of `certify` and of `proofcheck.check` (in process, after one JSON
round trip of the proof), and the proof's compact JSON size.  With --cli, also the wall time of the
two commands a user runs (start-up, building or loading included): `verify TASK --mode certificate`
and `check-proof p.json --from w.npz`.  Figures go to docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
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


def wall(argv: list[str], repeat: int) -> float:
    """Minimum wall time of an attncheck command (it must exit 0)."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(["attncheck", *argv], check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - t)
    return min(out)


def cli_row(task: str, N: int, repeat: int) -> str:
    args = ["--N", str(N)] + (["--alphabet", "8"] if task == "induction" else ["--k", "2", "--alphabet", "3"])
    with tempfile.TemporaryDirectory() as d:
        w, p = os.path.join(d, "w.npz"), os.path.join(d, "p.json")
        subprocess.run(["attncheck", "build", task, *args, "--out", w], check=True, stdout=subprocess.DEVNULL)
        tv = wall(["verify", task, *args, "--mode", "certificate"], repeat)
        subprocess.run(["attncheck", "verify", task, *args, "--mode", "certificate", "--proof", p],
                       check=True, stdout=subprocess.DEVNULL)
        tk = wall(["check-proof", p, "--from", w], repeat)
    return f"| {task} | {N} | {tv:.2f} | {tk:.2f} | {tk / tv:.1f} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="+", default=[64, 256, 1024, 4096])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", nargs="+", default=["induction", "hop"])
    ap.add_argument("--cli", action="store_true", help="also time the two commands, wall clock")
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
    if a.cli:
        print("\n| task | N | verify --mode certificate (s) | check-proof (s) | ratio |")
        print("|---|---|---|---|---|")
        for task in a.tasks:
            for N in a.N:
                print(cli_row(task, N, a.repeat), flush=True)


if __name__ == "__main__":
    main()
