"""Peak memory of the largest exhaustive runs attncheck accepts (issue 9: memory stays bounded).

Exhaustive mode refuses more than ``MAX_INPUTS`` = 2^26 sequences, so the largest runs are
|Σ|^N = 2^26, 3^16, 4^13 (the induction head, declared format, softmax).  Their memory is one
chunk's tensors (``ELEMS_PER_CHUNK`` = B·T·T·H score entries) plus the construction; it does not
grow with the number of inputs.  Each case runs in a fresh process for a few seconds of its
enumeration (a full 2^26 run would take hours on this machine), and reports:

* the peak resident set (ru_maxrss) before and after the enumeration started,
* the chunk size and inputs checked, the throughput and the extrapolated time of the whole run.

A small run (3^10 = 59,049 inputs, several full chunks, finished) is the control: the largest
runs' peaks are of the same order, set by the chunk (B·T·T float64 tensors), not by |Σ|^N.

Run: python benchmarks/memory.py [--seconds 4]     (prints a table; about 30 s)
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CASES = [(3, 10), (2, 26), (3, 16), (4, 13)]


def measure(S: int, N: int, seconds: float) -> dict:
    """Run the enumeration of S^N for ``seconds`` (or to the end) in this process."""
    from attncheck.constructions.induction import build_induction
    from attncheck.verifiers import exhaustive
    from attncheck.constructions.budget import Budget

    c = build_induction(N, S)
    exhaustive.estimate_seconds(c, "induction", {}, c.fmt, "softmax")       # warm the code paths
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # A budget whose clock is set so that it ends after `seconds`: the up-front estimate
    # (compared with the budget's full length) passes, and the run stops UNKNOWN mid-way.
    big = 1e9
    budget = Budget(big, start=time.monotonic() - big + seconds)
    t0 = time.perf_counter()
    v = exhaustive.check_exhaustive(c, "induction", {}, c.fmt, "softmax", budget)
    dt = time.perf_counter() - t0
    done = v.evidence.get("progress", {}).get("inputs_checked", v.cases)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"S": S, "N": N, "inputs": S ** N, "verdict": v.status.value, "checked": int(done),
            "chunk": exhaustive.chunk_size(c), "seconds": dt, "rss_before_mb": before / 1024,
            "rss_peak_mb": after / 1024, "rate": done / dt if dt > 0 else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0, help="Enumeration time per large case.")
    ap.add_argument("--case", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(measure(*args.case, args.seconds)))
        return
    print(f"largest exhaustive runs (induction head, declared format, softmax; {args.seconds:g} s each)")
    print(f"{'|Σ|^N':>7} {'inputs':>12} {'chunk':>7} {'checked':>10} {'inputs/s':>9} {'full run':>10}"
          f" {'RSS before':>11} {'RSS peak':>9}")
    for S, N in CASES:
        out = subprocess.run([sys.executable, __file__, "--case", str(S), str(N), "--seconds", str(args.seconds)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        full = r["inputs"] / r["rate"] if r["rate"] else float("nan")
        print(f"{S}^{N:<5} {r['inputs']:>12,} {r['chunk']:>7,} {r['checked']:>10,} {r['rate']:>9,.0f}"
              f" {full / 3600:>9.2f}h {r['rss_before_mb']:>9.0f}MB {r['rss_peak_mb']:>7.0f}MB")


if __name__ == "__main__":
    main()
