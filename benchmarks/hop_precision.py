"""Precision table of the k-hop head (sht24a.thm4_2): the fewest fixed-point bits per (N, k).

Run: python benchmarks/hop_precision.py [--N 16..4096 | --N 1024,4096] [--k 1,2,4,8,16]
     [--residual additive] [--workers W | --scheduler tcp://HOST:PORT]
(prints figures; no timing assertions -- machines are noisy).  ``--N`` and ``--k`` take the
CLI's range syntax (``64``, ``5,9,13``, ``16..4096``; N steps x2, k steps +1).

For N = 16, 32, ..., 512 (or the given N) and each k,
``attncheck.verifiers.precision_search.minimal_format`` (the search behind ``attncheck precision
hop``) finds the fewest integer bits I and fraction bits F of ``fixed:I.F`` for which the
certificate closes.  The table shows I.F and I + F beside
log2 N, and a least-squares slope of bits against log2 N per k: p = O(log N) made concrete.

The (N, k) cells are independent searches: they run as tasks of an executor
(``attncheck.constructions.executor``), one process by default; ``--workers W`` runs them on a
local Dask cluster of W worker processes (``--scheduler``: a running one), first timing the same
cells in this process and checking that every cell's format and probes are the same.

The default N = 16..512 keeps the run to about a minute on two shared cores; each doubling of N
costs up to 4x (the certificate compares every pointer value with every position): N = 1024
and N = 2048 took about 4 minutes each on a loaded machine, ``--N 16..4096`` takes on the
order of an hour.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from attncheck.bounds.evaluate import parse_range
from attncheck.constructions.executor import SERIAL, from_options
from attncheck.constructions.hop import build_hop
from attncheck.verifiers.precision_search import minimal_format


@dataclass(frozen=True)
class Cell:
    """One task: the minimal format of hop_k at N (a search in the worker's own process)."""

    alphabet: int
    residual: str

    def __call__(self, nk: tuple[int, int]) -> dict:
        N, k = nk
        t = time.perf_counter()
        c = build_hop(N, k, self.alphabet, residual=self.residual)
        r = minimal_format(c, "hop", {"k": k}, executor=SERIAL)
        return {**r.to_json(), "declared": str(c.fmt), "seconds": time.perf_counter() - t}


def run_cells(executor, cells: list, alphabet: int, residual: str) -> tuple[dict, int]:
    """({(N, k): result} of every cell, computed as tasks of ``executor``; the tasks that ran)."""
    out = {}
    with executor.stream(Cell(alphabet, residual), len(cells), lambda i: cells[i], group=False) as st:
        for i, res in st:
            out[cells[i]] = res
    return out, st.completed


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", default="16..512", help="sequence lengths: 64, 5,9,13 or 16..4096 (x2 steps)")
    ap.add_argument("--k", default="1,2,4,8,16", help="hops: a list or a range a..b (+1 steps)")
    ap.add_argument("--alphabet", type=int, default=3)
    ap.add_argument("--residual", choices=["overwrite", "additive"], default="overwrite")
    ap.add_argument("--workers", type=int, default=None, help="a local Dask cluster of this many workers")
    ap.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a running Dask scheduler")
    args = ap.parse_args()
    ks = list(parse_range(args.k, "k", geometric=False))
    Ns = list(parse_range(args.N, "N", geometric=True))
    cells = [(N, k) for N in Ns for k in ks]
    serial_s = None
    if args.workers is not None or args.scheduler is not None:
        t0 = time.perf_counter()
        serial, _ = run_cells(SERIAL, cells, args.alphabet, args.residual)
        serial_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with from_options(args.workers, args.scheduler) as ex:
        res, tasks = run_cells(ex, cells, args.alphabet, args.residual)
        info = ex.describe()
    total = time.perf_counter() - t0
    print(f"fewest fixed-point bits for which the certificate of hop_k holds (sht24a.thm4_2 [P] statement,"
          f" [R] construction; |Σ|={args.alphabet}, residual {args.residual}, softmax)")
    print(f"{'N':>5} {'log2N':>5} " + " ".join(f"{'k=' + str(k) + ' I.F':>12} {'bits':>4}" for k in ks)
          + f" {'declared(k=' + str(ks[-1]) + ')':>16} {'seconds':>8}")
    bits: dict[int, list[int]] = {k: [] for k in ks}
    for N in Ns:
        cells_txt = []
        for k in ks:
            r = res[(N, k)]
            if r["found"]:
                cells_txt.append(f"{r['int_bits']:>9}.{r['frac_bits']:<2} {r['bits']:>4}")
                bits[k].append(r["bits"])
            else:
                cells_txt.append(f"{'none':>12} {'-':>4}")
            print(f"  N={N} k={k}: {r['format']} ({len(r['probes'])} certificates)", file=sys.stderr)
        print(f"{N:>5} {N.bit_length() - 1:>5} " + " ".join(cells_txt)
              + f" {res[(N, ks[-1])]['declared']:>16} {sum(res[(N, k)]['seconds'] for k in ks):>8.1f}", flush=True)
    logs = [N.bit_length() - 1 for N in Ns]
    print("\nbits per doubling of N (least-squares slope of I+F against log2 N):")
    for k in ks:
        if len(bits[k]) == len(Ns) and len(Ns) > 1:
            print(f"  k={k:<3} {slope(logs, bits[k]):.2f} bits per log2 N"
                  f"  (I+F from {bits[k][0]} at N={Ns[0]} to {bits[k][-1]} at N={Ns[-1]})")
    print(f"\n{len(cells)} cells on {info['scheduler']} ({info['workers']} worker(s), {tasks} tasks):"
          f" {total:.1f} s wall (cluster start included)")
    if serial_s is not None:
        same = all({k: v for k, v in serial[c].items() if k != "seconds"} ==
                   {k: v for k, v in res[c].items() if k != "seconds"} for c in cells)
        print(f"the same cells in one process: {serial_s:.1f} s; every format and probe the same: {same}")


if __name__ == "__main__":
    main()
