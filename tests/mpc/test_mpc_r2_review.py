"""Reviewer R2: --corrupt on the low-memory path (one compiled N) breaks the head and is refuted."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("args", [("reach", "--N", "5"), ("components", "--N", "5", "--delta", "0.5")])
@pytest.mark.parametrize("corrupt", ["start", "fields"])
def test_corrupt_one_N_lowmem_is_refuted(cli, args, corrupt):
    r = cli("verify", "mpc", *args, "--corrupt", corrupt, "--json")
    assert r.code == 1, (r.code, r.err)
    assert r.json["verdict"] == "refuted" and "transformer" in r.json["counterexample"]["explanation"]["what"]


def test_corrupt_with_a_list_of_N_is_one_line(cli):
    r = cli("verify", "mpc", "broadcast", "--N", "16,64", "--delta", "1/2", "--corrupt", "start")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("n", ["1000000000", "65536", "16,100000"])
def test_huge_N_rounds_table_is_one_line(cli, n):
    # before: N = 10^9 drew 10^9-word instances and N = 65536 ran one sort instance past
    # 200 s, both ignoring --budget 3 (no budget check inside one instance)
    r = cli("verify", "mpc", "sort", "--N", n, "--delta", "1/2", "--budget", "3")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "above" in r.err
