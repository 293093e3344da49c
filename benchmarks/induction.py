"""Induction-head figures: certificate time vs N, exhaustive throughput, emulator FLOP rate.

Run: python benchmarks/induction.py [--quick]   (prints figures; ratios are within one run)
"""
import argparse
import statistics
import time

import numpy as np

from attncheck.constructions.induction import build_induction
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.emulator import forward
from attncheck.verifiers.exhaustive import check_exhaustive


def flops_per_sequence(c) -> float:
    """Multiply-adds x 2 of one forward pass: projections, scores, mixing, W_O."""
    T, D = c.n + 1, c.width
    total = 0.0
    for layer in c.layers:
        for h in layer.heads:
            k, dv = h.W_Q.shape[-1], h.W_V.shape[-1]
            total += 2 * T * D * (2 * k + dv) + 2 * T * dv * D + 2 * T * T * (k + dv)
    return total


def matmul_rate(n=512, reps=5) -> float:
    a, b = np.random.rand(n, n), np.random.rand(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t)


def certificate_seconds(N: int, S: int, reps: int) -> tuple[float, object, object]:
    """Median check time of ``reps`` certificates (the build is not timed)."""
    c = build_induction(N, S)
    ts, v = [], None
    for _ in range(reps):
        t = time.perf_counter()
        v = certify(c, "induction", {}, c.fmt)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), c, v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--moonshot", action="store_true", help="also N = 10^6 (about 10 s, 1.3 GB)")
    args = ap.parse_args()
    Ns = [64, 256, 1024, 4096] if args.quick else [64, 256, 1024, 4096, 16384, 65536]
    if args.moonshot:
        Ns.append(1_000_000)
    print("certificate time vs N (sinusoidal, declared format, softmax; median of 3, build not timed)")
    print(f"{'N':>8} {'|Σ|':>4} {'format':>12} {'bits':>5} {'verdict':>9} {'seconds':>8}")
    times = {}
    for N in Ns:
        for S in (3, 8):
            dt, c, v = certificate_seconds(N, S, 1 if N > 100_000 else 3)
            times[(N, S)] = dt
            print(f"{N:>8} {S:>4} {str(c.fmt):>12} {c.fmt.bits:>5} {v.status.value:>9} {dt:>8.3f}")
    if (65536, 8) in times:
        r = times[(65536, 8)] / times[(4096, 8)]
        print(f"N = 65536 vs 4096 at |Σ| = 8, same run: {r:.1f}x (linear growth is 16x; target <= 24x)")
    print()
    print("exhaustive throughput (sinusoidal, declared format, softmax)")
    rate = matmul_rate()
    print(f"numpy 512x512 matmul in the same run: {rate / 1e9:.2f} GFLOP/s")
    cases = [(8, 3), (10, 3)] if args.quick else [(8, 3), (10, 3), (12, 2), (14, 2), (8, 4)]
    for N, S in cases:
        c = build_induction(N, S)
        t = time.perf_counter()
        v = check_exhaustive(c, "induction", {}, c.fmt)
        dt = time.perf_counter() - t
        X = np.random.default_rng(0).integers(0, S, size=(4096, N))
        t = time.perf_counter()
        forward(c, X, c.fmt, keep=False)
        de = time.perf_counter() - t
        fl = flops_per_sequence(c) * 4096 / de
        print(f"N={N:>3} |Σ|={S}: {S ** N:>9,} inputs {v.status.value:>8} in {dt:6.2f} s ="
              f" {S ** N / dt:>9,.0f} seq/s (with ground truth); emulator alone {4096 / de:>9,.0f} seq/s,"
              f" {fl / 1e9:.3f} GFLOP/s = {fl / rate:.1%} of matmul")


if __name__ == "__main__":
    main()
