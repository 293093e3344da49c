"""Reproducibility (issue 9): the same command and seed give byte-identical ``--json`` apart from
the one ``"timing"`` object.

Every registered command (found as in the fuzz suite) is run on a small deterministic command
line without ``--budget`` (a budget that runs out makes the verdict depend on the clock, by
design): once in this process (after whatever ran before: warm caches) and once more in a fresh
process with another PYTHONHASHSEED and cold caches (tests/repro/repro_runner.py).  Both must
agree byte for byte once the ``timing`` object is removed, and no wall-clock-looking key may sit
outside ``timing``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cli_harness as H
import fuzz_values as V

RUNNER = Path(__file__).with_name("repro_runner.py")
CLOCKISH = re.compile(r"(^|_)(seconds|secs|elapsed|wall|duration|walltime|time_s|[a-z]+_s)$")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> V.Files:
    return V.make_files(tmp_path_factory.mktemp("repro"))


@pytest.fixture(scope="module")
def first_runs(files) -> dict[tuple[str, ...], H.Outcome]:
    """One runnable ``--json`` command line per command (exit 0/1/3) and its first outcome."""
    out = {}
    for entry in H.entries():
        for leaf in H.leaves(entry):
            argv, _, o = V.good_base(leaf, files, budget=None)
            H.record("repro", o)
            if o.code in (0, 1, 3):
                out[tuple(argv + ["--json"])] = o
            else:
                H.STATS["repro: no runnable line for " + leaf.name] += 1
    return out


def clockish_keys(obj, path="") -> list[str]:
    """Keys outside "timing" whose name suggests a wall-clock figure."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "timing" and path == "":
                continue
            if isinstance(v, float) and CLOCKISH.search(str(k)):
                found.append(f"{path}.{k}")
            found += clockish_keys(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += clockish_keys(v, f"{path}[{i}]")
    return found


@pytest.mark.slow                  # first_runs runs every command once without a budget (~25 s)
def test_most_commands_have_a_runnable_line(first_runs):
    names = {" ".join(a[:2]) for a in first_runs}
    assert {"verify induction", "build induction", "bounds list"} <= names, names
    H.STATS["repro: commands compared"] = len(first_runs)


@pytest.mark.slow
def test_no_clock_outside_timing(first_runs):
    for argv, o in first_runs.items():
        obj = json.loads(o.out)
        assert isinstance(obj["timing"], dict), argv
        assert not clockish_keys(obj), (argv, clockish_keys(obj))


def test_clock_detector_finds_stray_timings():
    assert clockish_keys({"timing": {"total_s": 1.0}, "evidence": {"check_s": 0.2, "elapsed": 3.0,
                                                                  "cases": 4, "bits": 7.0}}) \
        == [".evidence.check_s", ".evidence.elapsed"]


@pytest.mark.slow                  # and again in a fresh process (~30 s)
def test_fresh_process_with_other_hash_seed_is_byte_identical(first_runs):
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run([sys.executable, str(RUNNER)], input=json.dumps([list(a) for a in first_runs]),
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for far in json.loads(proc.stdout):
        near = first_runs[tuple(far["argv"])]
        assert near.code == far["code"], far["argv"]
        assert H.without_timing(near.out) == H.without_timing(far["out"]), " ".join(far["argv"])
