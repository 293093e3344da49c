"""Exhaustive mode against a plain vectorised numpy enumeration of the task, in one run (issue 15).

Run: python benchmarks/exhaustive.py [--N 12] [--alphabet 3] [--repeats 3]
(prints figures; no assertions, machines are noisy -- compare the ratio, not the seconds)

* ``numpy``: all |Sigma|^N inputs enumerated (``checkloop.enumerate_sequences``) and the
  induction task's outputs computed for all of them at once, the one-pass last-occurrence
  algorithm of ``tasks.induction_heads`` vectorised over the batch -- what the task alone costs
  in numpy, with no model at all;
* ``exhaustive``: ``verify induction --mode exhaustive`` in-process (``check_exhaustive`` on the
  built construction in its declared format): every input through the exact emulator, compared
  with the ground truth, sharing prefixes;
* ``per input``: the same check through the per-input emulator, as before issue 15 (``--per-input``
  adds it; it takes tens of seconds at N = 12).

Each figure is the median of ``--repeats`` runs after one warm-up.
"""
import argparse
import statistics
import time

import numpy as np

from attncheck.constructions.induction import build_induction
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import enumerate_sequences
from attncheck.verifiers.exhaustive import check_exhaustive, chunk_size, first_wrong


def numpy_induction(V: int, N: int) -> np.ndarray:
    """task.ih on every input of Sigma^N, vectorised: (V^N, N) outputs, -1 for bottom."""
    X = enumerate_sequences(V, N, 0, V ** N)                       # (B, N)
    B = X.shape[0]
    rows = np.arange(B)
    last = np.full((B, V), -1, dtype=np.int64)                     # latest position of each symbol
    out = np.full((B, N), -1, dtype=np.int64)
    for t in range(N):
        s = X[:, t]
        j = last[rows, s]
        hit = j >= 0
        out[hit, t] = X[rows[hit], j[hit] + 1]
        last[rows, s] = t
    return out


def timed(fn, repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=12)
    ap.add_argument("--alphabet", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--per-input", action="store_true")
    args = ap.parse_args()
    N, V = args.N, args.alphabet
    c = build_induction(N, V)
    v = check_exhaustive(c, "induction", {}, c.fmt)
    print(f"induction N = {N}, |Sigma| = {V}: {V ** N:,} inputs, declared format {c.fmt}, verdict {v.status.value},"
          f" cases {v.cases:,}, evaluation {v.evidence.get('evaluation')}")
    t_np = timed(lambda: numpy_induction(V, N), args.repeats)
    t_ex = timed(lambda: check_exhaustive(c, "induction", {}, c.fmt), args.repeats)
    print(f"  numpy enumeration of the task : {t_np:8.3f} s")
    print(f"  exhaustive (shared prefixes)  : {t_ex:8.3f} s   ratio {t_ex / t_np:5.2f}x")
    if args.per_input:
        def plain():
            checkloop.run(checkloop.sequences(V, N), lambda X: first_wrong(c, "induction", {}, X, c.fmt, "softmax"),
                          mode="exhaustive", claim="per input", step=chunk_size(c))
        t_pl = timed(plain, 1)
        print(f"  exhaustive (per input)        : {t_pl:8.3f} s   ratio {t_pl / t_np:5.2f}x")


if __name__ == "__main__":
    main()
