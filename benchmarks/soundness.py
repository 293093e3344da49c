"""Differential soundness fuzzer at scale (issue 12): certificate VERIFIED => exhaustive VERIFIED.

Run:  python benchmarks/soundness.py [--trials 10000] [--seed 0] [--no-smt]

Every trial hand-edits a saved construction (one or two random edits of any array entry, whole
array, temperature or metadata field; tests/soundness/file_edits.py), loads it with the strict
loader and asks the certificate; exhaustive mode classifies every loaded mutant, and on the
small one-hot family the SMT certify query is asked about every hardmax mutant the certificate
verifies.  Prints: mutants tried, rejected by the loader, really wrong, caught by the
certificate, false VERIFIED (must be 0) and the correct mutants the certificate still verifies
(its completeness), per family and in total.  docs/soundness.md quotes one run.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "soundness"))

import differential as D  # noqa: E402

SMT_FAMILY = "induction N=5 onehot |S|=2"


def smt(family, c, task, params, fmt):
    if family != SMT_FAMILY:
        return None
    from attncheck.verifiers.smt.certify import certify_smt
    from attncheck.verifiers.smt.solver import Limits
    return certify_smt(c, task, params, fmt, Limits(rlimit=3_000_000), "hardmax")[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-smt", action="store_true")
    a = ap.parse_args()
    t0 = time.perf_counter()

    def tick(i):
        if i % 1000 == 0:
            print(f"  {i} trials, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    res = D.run(a.trials, a.seed, classify=True, smt=None if a.no_smt else smt, progress=tick)
    total = D.Tally()
    for name, t in res.items():
        print(f"{name}:")
        for line in t.lines():
            print(f"    {line}")
        total.add(t)
    print("ALL:")
    for line in total.lines():
        print(f"    {line}")
    for f in total.false_verified:
        print(f"FALSE VERIFIED: {f}")
    print(f"wall time {time.perf_counter() - t0:.1f} s (seed {a.seed})")
    sys.exit(1 if total.false_verified else 0)


if __name__ == "__main__":
    main()
