"""How fast `attncheck --help` / `--version` start, and what importing the CLI pulls in.

Run: python benchmarks/import_time.py   (prints figures; no assertions, machines are noisy)
"""
import statistics
import subprocess
import sys
import time


def wall(cmd, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    py = sys.executable
    base = wall([py, "-c", "pass"])
    cli = wall([py, "-c", "import attncheck.cli.main"])
    ver = wall([py, "-m", "attncheck.cli.main", "--version"])
    hlp = wall([py, "-m", "attncheck.cli.main", "--help"])
    np_ = wall([py, "-c", "import numpy"])
    z3 = wall([py, "-c", "import z3"])
    sp = wall([py, "-c", "import sympy"])
    mods = subprocess.run([py, "-c", "import sys, attncheck.cli.main, attncheck.cli.verify;"
                           "print(sorted({m.split('.')[0] for m in sys.modules} & {'z3','sympy','rich','numpy'}))"],
                          capture_output=True, text=True).stdout.strip()
    print(f"median of 5 runs, seconds (python startup alone: {base:.3f})")
    print(f"  import attncheck.cli.main : {cli:.3f}")
    print(f"  attncheck --version        : {ver:.3f}")
    print(f"  attncheck --help           : {hlp:.3f}")
    print(f"  for scale: import numpy {np_:.3f}, import z3 {z3:.3f}, import sympy {sp:.3f}")
    print(f"  heavy modules loaded by the CLI import: {mods}")


if __name__ == "__main__":
    main()
