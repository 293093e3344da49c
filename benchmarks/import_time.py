"""How fast `attncheck --help` / `--version` start, and what importing the CLI pulls in.

Run: python benchmarks/import_time.py   (prints figures; no assertions, machines are noisy)
"""
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(cmd, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def interleaved(cmds: dict, n: int = 15) -> dict:
    """Medians of ``n`` rounds in which every command runs once (load drifts alike for all)."""
    ts = {k: [] for k in cmds}
    for _ in range(n):
        for k, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            ts[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in ts.items()}


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
    script = Path(py).parent / "attncheck"                  # the console script a user runs
    exe = [str(script)] if script.exists() else [py, "-m", "attncheck.cli.main"]
    # the same help rendered by click (the path --help took before cli/fast_help.py): click is
    # imported first, so main() leaves the rendering to it
    by_click = [py, "-c", "import sys, click; from attncheck.cli.main import main; main(sys.argv[1:])", "--help"]
    probe = ("import sys\nfrom attncheck.cli.main import main\ntry:\n    main(['--help'])\n"
             "except SystemExit:\n    print(sorted({m.split('.')[0] for m in sys.modules}"
             " & {'click', 'numpy', 'rich', 'z3', 'sympy'}), file=sys.stderr)\n")
    loaded = subprocess.run([py, "-c", probe], capture_output=True, text=True).stderr.strip()
    rounds = 15
    r = interleaved({"pass": [py, "-c", "pass"], "click": [py, "-c", "import click"],
                     "help": exe + ["--help"], "bare": exe, "by_click": by_click,
                     "version": exe + ["--version"]}, rounds)
    print(f"interleaved medians of {rounds} rounds (load average {open('/proc/loadavg').read().split()[0]}):"
          f" python -c pass {r['pass']:.3f}, import click {r['click']:.3f}, --help {r['help']:.3f},"
          f" attncheck (no args) {r['bare']:.3f}, --help rendered by click {r['by_click']:.3f},"
          f" --version {r['version']:.3f}")
    print(f"  --help / python -c pass = {r['help'] / r['pass']:.2f}x   (no args {r['bare'] / r['pass']:.2f}x;"
          f" rendered by click {r['by_click'] / r['pass']:.2f}x; import click alone: {r['click'] / r['pass']:.2f}x)")
    print(f"  modules of note loaded by attncheck --help: {loaded}")


if __name__ == "__main__":
    main()
