"""Bounds figures: evaluation cost, and how our constructions' sizes scale against the bounds.

Run: python benchmarks/bounds_sweep.py [--quick]   (prints figures; no assertions, machines are noisy)

Printed:
* time to evaluate every registered bound at one point (exact paths only) and of one sympy
  evaluation (the display/test path);
* for N = 16..4096: bits of the induction head and of the k-hop head (k = 8) over log2 N, i.e.
  the constant hidden in p = O(log N) of sht24b.two-layer-ub / sht24a.thm4_2 at that N;
* for k = 1..16: layers of the k-hop head next to ⌊log2 k⌋ + 2 [P] and 2 + ⌈log2 k⌉ [R].
"""
import argparse
import importlib.util
import time

from attncheck.bounds import symbolic
from attncheck.bounds.evaluate import table
from attncheck.bounds.formulas import BOUNDS
from attncheck.bounds.sizes import measure


def per_call(fn, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    quick = ap.parse_args().quick
    reps = 5 if quick else 20
    t_table = per_call(lambda: table({"N": 64, "k": 8}, do_measure=False), reps)
    print(f"all {len(BOUNDS)} bounds at N=64, k=8 (exact paths): {t_table * 1e3:.1f} ms")
    b = BOUNDS["sht24a.thm4_2"]
    expr = symbolic.parse(b.quantities[1].expr, b.symbols)
    t_sym = per_call(lambda: symbolic.evaluate(expr, {"N": 2 ** 45, "k": 2 ** 31 + 1}, b.symbols), reps)
    print(f"one careful sympy evaluation of 2 + ceiling(log2(k)) at k = 2^31+1: {t_sym * 1e3:.2f} ms")

    hop = importlib.util.find_spec("attncheck.constructions.hop") is not None
    Ns = [16, 64, 256, 1024] if quick else [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    print("\nN      log2N  induction bits  bits/log2N" + ("   hop(k=8) bits  bits/log2N" if hop else ""))
    for n in Ns:
        t = time.perf_counter()
        ind = measure("induction", {"N": n, "alphabet": 3, "seed": 0}).size
        line = f"{n:<6} {n.bit_length() - 1:>5}  {ind['bits']:>14}  {ind['bits'] / (n.bit_length() - 1):>10.2f}"
        if hop:
            h = measure("hop", {"N": n, "k": 8, "alphabet": 3, "seed": 0}).size
            line += f"   {h['bits']:>13}  {h['bits'] / (n.bit_length() - 1):>10.2f}"
        print(line + f"   ({time.perf_counter() - t:.2f} s to build)")
    if hop:
        print("\nk   paper ⌊log2 k⌋+2 [P]   needed 2+⌈log2 k⌉ [R]   hop layers   hop width   additive width")
        for k in range(1, 9 if quick else 17):
            r = b.evaluate(N=64, k=k)
            h = measure("hop", {"N": 64, "k": k, "alphabet": 3, "seed": 0}).size
            a = measure("hop-additive", {"N": 64, "k": k, "alphabet": 3, "seed": 0}).size
            print(f"{k:<3} {r.exact:>20}   {r.part('layers_needed').value.exact:>21}   {h['layers']:>10}"
                  f"   {h['width']:>9}   {a['width']:>14}")


if __name__ == "__main__":
    main()
