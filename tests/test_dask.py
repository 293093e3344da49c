"""Real dask.distributed clusters (issue 15): ``--workers 2`` starts a local cluster of two worker
processes; ``--scheduler`` reaches a ``dask scheduler`` and a ``dask worker`` started here as
separate processes.  The verdict, ``cases``, the reason and the counterexample equal the
single-process run's; the JSON names the scheduler, its workers and the tasks that ran.

dask comes with the ``test`` extra (setup.cfg), so CI runs these (slow: each run starts worker
processes)."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import cloudpickle
import distributed
import numpy as np
import pytest

from attncheck.constructions.budget import Budget
from attncheck.constructions.executor import SERIAL, DaskExecutor
from attncheck.constructions.verdict import Counterexample, Status
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Found

pytestmark = pytest.mark.slow
cloudpickle.register_pickle_by_value(sys.modules[__name__])     # workers need not import this file


def _strip(obj: dict) -> dict:
    """The JSON of a run without what may differ between two runs of one check: the timing, the
    versions, the params (--workers is one of them) and the executor's own report."""
    out = {k: v for k, v in obj.items() if k not in ("timing", "versions", "params", "executor")}
    if isinstance(out.get("evidence"), dict):
        out["evidence"] = {k: v for k, v in out["evidence"].items() if k != "executor"}
    return out


def _executor_of(obj: dict) -> dict:
    return obj.get("executor") or obj["evidence"]["executor"]


LOCAL = [
    ("verify", "induction", "--N", "8"),                                        # verified
    ("verify", "induction", "--N", "8", "--variant", "paper"),                  # refuted
    ("verify", "induction", "--N", "8", "--variant", "paper", "--mode", "sample", "--samples", "3000"),
    ("verify", "induction", "--N", "10", "--mode", "exhaustive", "--precision", "exact"),   # per input
    ("verify", "hop", "--N", "8", "--k", "2", "--mode", "sample", "--samples", "500"),
    ("witness", "table", "--N", "3,5,7"),
    ("depth", "hop", "--k-max", "4", "--N", "16"),
    ("bounds", "sweep", "sht24a.thm4_2", "--N", "16..128", "--k", "1..3"),
]


@pytest.mark.parametrize("argv", LOCAL, ids=" ".join)
def test_local_cluster_gives_the_single_process_result(cli, argv):
    serial = cli(*argv, "--json")
    dist = cli(*argv, "--json", "--workers", "2")
    assert dist.code == serial.code, dist.err[-500:]
    assert _strip(dist.json) == _strip(serial.json)
    info = _executor_of(dist.json)
    assert info["scheduler"] == "local" and info["workers"] == 2 and info["tasks"] >= 1
    assert dist.json["params"]["workers"] == 2 and serial.json["params"]["workers"] is None
    assert "executor" not in serial.json and "executor" not in serial.json.get("evidence", {})


def _late_first(X: np.ndarray) -> Found | None:
    """compare: the chunks of inputs starting with 0 are slow, so later chunks finish first;
    inputs whose symbols sum to 4 are wrong (the first is #8: 000022)."""
    if X[0, 0] == 0:
        time.sleep(0.4)
    bad = np.flatnonzero(X.sum(axis=1) == 4)
    if not bad.size:
        return None
    b = int(bad[0])
    return Found(b, int(bad.size), Counterexample(tuple(int(t) for t in X[b]), 1, 0, 1, {}))


def _slow(X: np.ndarray) -> None:
    time.sleep(0.5)
    return None


@pytest.fixture(scope="module")
def local2():
    ex = DaskExecutor(workers=2)
    ex._start()
    yield ex
    ex.close()


@pytest.mark.parametrize("mode", ["exhaustive", "sample"])
@pytest.mark.parametrize("per_worker", [None, 4])          # one chunk per task, or runs of chunks
def test_late_chunks_finishing_first_change_nothing(local2, mode, per_worker, monkeypatch):
    monkeypatch.setattr(local2, "per_worker", per_worker)
    kw = dict(mode=mode, claim="c", step=4, samples=200, seed=1)
    serial = checkloop.run(checkloop.sequences(3, 6), _late_first, executor=SERIAL, **kw)
    dist = checkloop.run(checkloop.sequences(3, 6), _late_first, executor=local2, **kw)
    assert serial.status is Status.REFUTED
    assert (dist.status, dist.cases, dist.reason, dist.counterexample) == \
        (serial.status, serial.cases, serial.reason, serial.counterexample)
    # the tasks the verdict rests on: those of the chunks up to the refuting one (sampled
    # batches are drawn here, one per task), the same in every run
    chunks, size = (serial.cases - 1) // 4 + 1, 1
    if per_worker and mode == "exhaustive":
        size = -(-(3 ** 6 // 4 + 1) // (per_worker * 2))
    assert dist.evidence["executor"] == {"scheduler": "local", "workers": 2, "tasks": -(-chunks // size)}


def test_budget_cancels_the_outstanding_chunks(local2):
    t0 = time.perf_counter()
    v = checkloop.run(checkloop.sequences(3, 6), _slow, mode="exhaustive", claim="c", step=9,
                      budget=Budget(1.5), executor=local2)          # 81 chunks of 0.5 s
    took = time.perf_counter() - t0
    assert v.status is Status.UNKNOWN and v.cases < 3 ** 6
    assert v.evidence["executor"]["cancelled"] >= 1
    assert took < 30, f"a 1.5 s budget took {took:.1f} s"          # a hang, not slowness


# --- an existing scheduler ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``dask scheduler`` and one ``dask worker`` (one thread) as separate processes, torn down
    after the tests; yields the scheduler's address."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("dask") / "log.txt"
    with open(log, "w") as fh:
        procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                                   "--port", str(port), "--no-dashboard"], stdout=fh, stderr=fh)]
        try:
            procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                                           "--nworkers", "1", "--no-dashboard"], stdout=fh, stderr=fh))
            with distributed.Client(address, timeout="60s") as client:
                client.wait_for_workers(1, timeout=120)
            yield address
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in reversed(procs):
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.mark.parametrize("argv", [("verify", "induction", "--N", "8"),
                                  ("verify", "induction", "--N", "8", "--variant", "paper"),
                                  ("witness", "table", "--N", "3,5")], ids=" ".join)
def test_existing_scheduler_gives_the_single_process_result(cli, scheduler, argv):
    serial = cli(*argv, "--json")
    dist = cli(*argv, "--json", "--scheduler", scheduler)
    assert dist.code == serial.code, dist.err[-500:]
    assert _strip(dist.json) == _strip(serial.json)
    info = _executor_of(dist.json)
    assert info["scheduler"] == scheduler and info["workers"] == 1 and info["tasks"] >= 1
    assert dist.json["params"]["scheduler"] == scheduler
