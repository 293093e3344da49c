"""Wall time of ``attncheck report PAPER`` per paper (the acceptance figure of issue 13:
``report sht24a`` must finish in under five minutes on the 2-core machine).

Run: python benchmarks/report.py [--papers sht24a,sht24b,sht23,all] [--workers 2] [--budget 60]
(prints figures; no assertions, machines are noisy)

Printed per paper: wall time of the whole command, the sum of the checks' own times, exit code,
the verdict counts, and the three slowest checks.  The reports are written to a temporary
directory and removed afterwards.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time


def run(paper: str, workers: int, budget: float, out: str) -> tuple[float, int, dict]:
    cmd = [sys.executable, "-m", "attncheck.cli.main", "report", paper, "--out", out,
           "--workers", str(workers), "--budget", f"{budget:g}", "--json"]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    try:
        obj = json.loads(p.stdout)
    except json.JSONDecodeError:
        obj = {}
    return wall, p.returncode, obj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--papers", default="sht24a,sht24b,sht23,all")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget", type=float, default=60.0)
    args = ap.parse_args()
    print(f"workers {args.workers}, budget {args.budget:g} s per check")
    print(f"{'paper':<8} {'wall s':>7} {'checks s':>9} {'exit':>4}  {'checks':>6}  verdicts;  slowest checks")
    for paper in args.papers.split(","):
        with tempfile.TemporaryDirectory() as out:
            wall, code, obj = run(paper, args.workers, args.budget, out)
        s = obj.get("summary", {})
        counts = ", ".join(f"{k} {s.get(k, 0)}" for k in ("verified", "refuted", "tabulated", "unknown", "error"))
        slow = sorted(obj.get("checks", []), key=lambda c: -c["time_s"])[:3]
        slowest = ", ".join(f"{c['name']} {c['time_s']:.1f}" for c in slow)
        checks_s = obj.get("timing", {}).get("checks_s", float("nan"))
        print(f"{paper:<8} {wall:>7.1f} {checks_s:>9.1f} {code:>4}  {s.get('checks', 0):>6}  {counts};  {slowest}")


if __name__ == "__main__":
    main()
