"""Sharded versus single-process runs (issue 15): the same command without and with ``--workers``.

    python benchmarks/sharding.py                  # --workers 2, every run below
    python benchmarks/sharding.py --workers 4 --only verify

Each run is ``attncheck ... --json`` in a fresh process, timed by the wall clock (the local
cluster's start included), beside the command's own ``timing.total_s``, the tasks that ran and
whether the verdict, ``cases``, the reason and the counterexample equal the single-process run's.
On two cores shared with other work, expect no more than 2x, less the cluster's start (1-3 s).
Prints figures; no assertions (machines are noisy).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

RUNS = (
    "verify induction --N 13 --mode exhaustive",                        # shared prefixes, 27 blocks
    "verify induction --N 14 --mode exhaustive",                        # 81 blocks
    "verify induction --N 15 --mode exhaustive",                        # 243 blocks
    "verify induction --N 11 --mode exhaustive --precision exact",      # per input, float64
    "verify induction --N 12 --variant paper --mode exhaustive --precision exact",    # refuted
    "verify hop --N 10 --k 2 --mode sample --samples 60000",
    "witness table --N 3..15:+2",
    "bounds sweep sht24a.thm4_2 --N 16..4096 --k 1..8",
)


def run(argv: list[str]) -> tuple[float, dict, int]:
    code = "import sys; from attncheck.cli.main import main; main(sys.argv[1:])"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, *argv, "--json"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return time.perf_counter() - t0, json.loads(r.stdout) if r.stdout.strip() else {}, r.returncode


def outcome(obj: dict) -> tuple:
    """What must not change with the executor."""
    ev = {k: v for k, v in (obj.get("evidence") or {}).items() if k != "executor"}
    rest = {k: v for k, v in obj.items() if k not in ("timing", "versions", "params", "executor", "evidence")}
    return (json.dumps(rest, sort_keys=True), json.dumps(ev, sort_keys=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="only the runs whose command contains this text")
    args = ap.parse_args()
    print(f"{'command':68s} {'1 process':>10s} {'--workers ' + str(args.workers):>12s} {'tasks':>6s}  same result")
    for line in RUNS:
        if args.only not in line:
            continue
        argv = line.split()
        t1, a, c1 = run(argv)
        t2, b, c2 = run(argv + ["--workers", str(args.workers)])
        info = b.get("executor") or (b.get("evidence") or {}).get("executor") or {}
        same = c1 == c2 and outcome(a) == outcome(b)
        print(f"{line:68s} {t1:9.2f}s {t2:11.2f}s {str(info.get('tasks', '?')):>6s}  {'yes' if same else 'NO'}"
              f"  ({a.get('verdict')}, exit {c1})", flush=True)


if __name__ == "__main__":
    main()
