"""``attncheck precision`` with its certificates as executor tasks (issue 15).

With W workers the search asks for the certificates it may need next as well; it must still read
and report exactly the probes of the one-process search, and find the same format.  Checked with
an in-process executor that claims W workers (every W, certificates replaced by a non-monotone
oracle, so every branch of the search is taken), on real constructions, and on a real local Dask
cluster through the command line (slow).
"""
from __future__ import annotations

import random

import pytest

from attncheck.constructions.executor import SERIAL, Executor
from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.verdict import Status, Verdict, Method
from attncheck.verifiers import precision_search as ps


class Pretend(Executor):
    """Runs every chunk here, in order, but says it has ``workers`` Dask workers."""

    distributed = True
    scheduler = "pretend"

    def __init__(self, workers: int):
        super().__init__()
        self.workers = workers


def search(c, executor, **kw):
    return ps.minimal_format(c, kw.pop("task", "induction"), kw.pop("params", {}), executor=executor, **kw)


@pytest.mark.parametrize("seed", range(12))
def test_any_worker_count_reads_the_serial_probes_of_a_non_monotone_oracle(monkeypatch, seed):
    rng = random.Random(seed)
    table: dict = {}
    calls = []

    def oracle(c, task, params, fmt, attention, budget):
        key = (fmt.int_bits, fmt.frac_bits)
        calls.append(key)
        if key not in table:                       # mostly monotone, with random holes and islands
            base = fmt.int_bits >= 6 + seed % 3 and fmt.frac_bits >= 4 + seed % 5
            table[key] = base != (rng.random() < 0.25)
        status = Status.VERIFIED if table[key] else Status.UNKNOWN
        return Verdict(status, Method.CERTIFICATE, "claim", "cases", reason=f"oracle {key}")

    monkeypatch.setattr(ps, "certify", oracle)
    c = build_induction(8)
    serial = search(c, SERIAL)
    n_serial = len(calls)
    # one process asks for exactly what it reads: each format once, the minimum once more
    read = {p["format"] for p in serial.probes}
    assert n_serial == len(read) + 1 and {f"fixed:{i}.{f}" for i, f in calls} == read
    for w in (2, 3, 4, 7):
        calls.clear()
        ex = Pretend(w)
        got = search(c, ex)
        assert got == serial
        assert ex.completed == len(calls) and len(calls) <= len(set(calls)) + 1
        assert read <= {f"fixed:{i}.{f}" for i, f in calls}
    assert table                                                # the oracle was consulted


def test_real_certificates_agree_with_two_and_three_workers():
    for c, task, params in [(build_induction(16), "induction", {}), (build_hop(16, 2, 3), "hop", {"k": 2})]:
        serial = search(c, SERIAL, task=task, params=params)
        assert serial.found
        for w in (2, 3):
            assert search(c, Pretend(w), task=task, params=params) == serial


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_lookahead_holds_the_first_levels_of_every_search_path(n):
    depth = (n + 1).bit_length() - 1              # complete levels among n breadth-first nodes
    for lo in range(0, 4):
        for hi in range(lo, lo + 20):
            ahead = ps._lookahead(lo, hi, n)
            assert len(ahead) == len(set(ahead)) <= n
            assert all(lo <= x < hi for x in ahead)
            for answer in range(lo, hi + 1):       # the smallest good x: a monotone search's path
                seen = []
                ps._smallest(lo, hi, lambda x, a, b: seen.append(x) or x >= answer)
                assert set(seen[:depth]) <= set(ahead)


def test_budget_still_ends_in_not_found():
    from attncheck.constructions.budget import Budget
    r = search(build_induction(64), Pretend(3), budget=Budget(1e-9))
    assert not r.found and "budget" in r.reason


# --- a real local cluster ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("argv", [("precision", "induction", "--N", "8"),
                                  ("precision", "hop", "--N", "8", "--k", "2")], ids=" ".join)
def test_local_cluster_gives_the_single_process_result(cli, argv):
    pytest.importorskip("distributed")
    serial = cli(*argv, "--json")
    dist = cli(*argv, "--json", "--workers", "2")
    assert dist.code == serial.code == 0, dist.err[-500:]
    strip = lambda o: {k: v for k, v in o.items() if k not in ("timing", "versions", "params", "executor")}
    assert strip(dist.json) == strip(serial.json)
    assert dist.json["executor"]["scheduler"] == "local" and dist.json["executor"]["workers"] == 2
    assert dist.json["executor"]["tasks"] >= len(serial.json["probes"])
    assert "executor" not in serial.json and dist.json["params"]["workers"] == 2
