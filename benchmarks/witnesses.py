"""Benchmark of the exact witnesses: the witness table's time and peak memory, the largest
(N, |Sigma|) done within a time limit, and the time growth per step of N.

    python benchmarks/witnesses.py                 # limit 60 s per run, writes a JSON summary
    python benchmarks/witnesses.py --limit 5 --quick
    python benchmarks/witnesses.py --table-only    # only the witness table runs

The table runs are ``attncheck witness table --N ...`` in a fresh process each, timed by the
wall clock, with the peak resident memory of that process (``getrusage(RUSAGE_CHILDREN)``).

For each witness and alphabet, N grows by one until the domain passes the enumeration cap of
bounds/witnesses/domain.py (MAX_CELLS, about 2^28 input cells) or until the next run is
predicted (last time x last growth ratio) to exceed the limit; the largest N that ran within
the limit is recorded with the reason it stopped ("cap" or "time").  This script is not part
of the package and prints its own report.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

import numpy as np

from attncheck.bounds.witnesses.myhill_nerode import rnn_state_classes
from attncheck.bounds.witnesses.oneway import one_way_rows
from attncheck.bounds.witnesses.rank import rank_witness
from attncheck.constructions.verdict import BadInput

WITNESSES = {
    "rnn-states induction (refine)": lambda N, a, m: rnn_state_classes("induction", N, a, marker=m),
    "rnn-states hop_2 (refine)": lambda N, a, m: rnn_state_classes("hop", N, a, 2, marker=m),
    "rnn-states induction (rows)": lambda N, a, m: rnn_state_classes("induction", N, a, marker=m,
                                                                     method="rows"),
    "one-way induction interleaved": lambda N, a, m: one_way_rows("induction", N, a, "interleaved",
                                                                  marker=m),
    "one-way hop_2 block": lambda N, a, m: one_way_rows("hop", N, a, "block", 2, marker=m),
}


def sweep(fn, alphabet, marker: bool, limit: float, start: int) -> dict:
    runs, stop = [], "time"
    N = start
    while True:
        t0 = time.perf_counter()
        try:
            fn(N, alphabet, marker)
        except BadInput as e:
            stop = "cap" if "cap" in str(e) else f"bad input: {e}"
            break
        dt = time.perf_counter() - t0
        runs.append({"N": N, "seconds": round(dt, 4)})
        if dt > limit:
            runs[-1]["over_limit"] = True
            break
        growth = runs[-1]["seconds"] / max(runs[-2]["seconds"], 1e-4) if len(runs) >= 2 else 1.0
        if dt > 0.05 and dt * max(growth, 1.0) > limit:
            stop = "time (next run predicted over the limit)"
            break
        N += 2 if marker else 1
    within = [r for r in runs if not r.get("over_limit")]
    ratios = [round(b["seconds"] / a["seconds"], 2) for a, b in zip(runs, runs[1:]) if a["seconds"] > 0.02]
    return {"alphabet": "marker" if marker else alphabet, "largest_N": within[-1]["N"] if within else None,
            "seconds_at_largest": within[-1]["seconds"] if within else None, "stopped_by": stop,
            "growth_per_step": ratios, "runs": runs}


TABLES = ("5,9,13", "3..15:+2")


def table_run(Ns: str) -> dict:
    """``attncheck witness table --N Ns --json`` in a fresh process: seconds and peak MiB."""
    code = "import sys; from attncheck.cli.main import main; main(sys.argv[1:])"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, "witness", "table", "--N", Ns, "--json"],
                       capture_output=True, text=True)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss       # KiB, max over children
    cells = json.loads(r.stdout)["cells"] if r.returncode == 0 else []
    return {"N": Ns, "seconds": round(dt, 2), "peak_mib": round(peak / 1024, 1),
            "peak_is_this_run": peak > before, "exit_code": r.returncode, "cells": len(cells)}


def rank_sweep(limit: float) -> dict:
    runs = []
    for q in range(1, 13):
        t0 = time.perf_counter()
        rank_witness("disj", q)
        dt = time.perf_counter() - t0
        runs.append({"q": q, "seconds": round(dt, 4)})
        if dt > limit:
            break
    return {"largest_q": max(r["q"] for r in runs if r["seconds"] <= limit), "runs": runs,
            "stopped_by": "size cap q <= 12" if runs[-1]["q"] == 12 else "time"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per run")
    ap.add_argument("--quick", action="store_true", help="only |Sigma| = 2 and the marker family")
    ap.add_argument("--out", default=None, help="write the JSON summary here")
    ap.add_argument("--table-only", action="store_true", help="only time the witness table")
    args = ap.parse_args()
    alphabets = (2,) if args.quick else (2, 3, 4)
    report = {"limit_s": args.limit, "machine": {"python": platform.python_version(),
                                                 "numpy": np.__version__, "cores": 2},
              "table": [], "witnesses": {}}
    for Ns in TABLES:                          # smallest first: the peak is then this run's
        run = table_run(Ns)
        report["table"].append(run)
        print(f"witness table --N {Ns:9s} {run['seconds']:6.2f} s, peak {run['peak_mib']:7.1f} MiB"
              f" ({run['cells']} cells, exit {run['exit_code']})", flush=True)
    if args.table_only:
        _write(args.out, report)
        return
    for name, fn in WITNESSES.items():
        rows = [sweep(fn, a, False, args.limit, 4) for a in (alphabets[:1] if "rows" in name else alphabets)]
        if "rows" not in name:                  # the slow cross-check method: |Sigma| = 2 only
            rows.append(sweep(fn, 2, True, args.limit, 5))
        report["witnesses"][name] = rows
        for r in rows:
            print(f"{name:34s} |Σ|={str(r['alphabet']):6s} largest N={r['largest_N']!s:3s}"
                  f" in {r['seconds_at_largest']} s  stopped by {r['stopped_by']};"
                  f" growth/step {r['growth_per_step'][-4:]}", flush=True)
    report["rank disj"] = rank_sweep(args.limit)
    print(f"rank disj: largest q={report['rank disj']['largest_q']}"
          f" ({report['rank disj']['runs'][-1]['seconds']} s at q={report['rank disj']['runs'][-1]['q']})")
    _write(args.out, report)


def _write(path: str | None, report: dict) -> None:
    if path:
        with open(path, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
