"""Run a list of attncheck command lines in one fresh process and print their outcomes as JSON.

Used by test_repro_json.py to compare runs across processes (different PYTHONHASHSEED, cold
caches): ``python repro_runner.py < argvs.json > outcomes.json``.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

import cli_harness as H  # noqa: E402


def main() -> None:
    out = []
    for argv in json.load(sys.stdin):
        o = H.invoke(argv)
        out.append({"argv": argv, "code": o.code, "out": o.out, "err": o.err})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
