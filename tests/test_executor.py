"""The check loop on an executor (constructions/executor.py, issue 15): whatever order the
chunks finish in, the verdict, ``cases``, the reason and the first counterexample are the serial
run's; the budget ends the run UNKNOWN (or REFUTED by a counterexample already in hand) and
cancels what is outstanding.  These tests run in one process with executors that finish chunks
out of order; tests/test_dask.py runs the same on real Dask clusters."""
from __future__ import annotations

import numpy as np
import pytest

from attncheck.constructions.budget import Budget
from attncheck.constructions.executor import (SERIAL, DaskExecutor, Executor, current, from_options,
                                              parse_scheduler, use)
from attncheck.constructions.verdict import BadInput, BudgetExceeded, Counterexample, Status
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Found


class Shuffled(Executor):
    """Runs every chunk here, but hands the results back in a seeded random order (a stand-in
    for workers that finish late chunks first); ``stop_after`` results, then the budget check
    raises, as if the clock ran out while the other chunks were still running."""

    def __init__(self, seed: int = 0, stop_after: int | None = None):
        super().__init__()
        self.seed, self.stop_after = seed, stop_after

    def _run(self, fn, count, item, check, budget, s, stop, group):
        results = [(i, fn(item(i))) for i in range(count)]
        order = np.random.default_rng(self.seed).permutation(count)
        for n, i in enumerate(order):
            if self.stop_after is not None and n == self.stop_after:
                raise BudgetExceeded("budget of 1 s spent", {"chunks": n})
            yield results[i]


def sum_is(target: int):
    """compare: a member is wrong when its symbols sum to ``target``."""
    def compare(X: np.ndarray) -> Found | None:
        bad = np.flatnonzero(X.sum(axis=1) == target)
        if not bad.size:
            return None
        b = int(bad[0])
        return Found(b, int(bad.size), Counterexample(tuple(int(t) for t in X[b]), 1, 0, 1, {}))
    return compare


def run(executor, mode="exhaustive", target=9, step=17, progress=None, budget=None):
    return checkloop.run(checkloop.sequences(3, 6), sum_is(target), mode=mode, claim="c", step=step,
                         samples=400, seed=5, executor=executor, progress=progress,
                         **({} if budget is None else {"budget": budget}))


def same(a, b) -> None:
    assert (a.status, a.cases, a.reason, a.counterexample, a.method) == \
        (b.status, b.cases, b.reason, b.counterexample, b.method)


@pytest.mark.parametrize("mode", ["exhaustive", "sample"])
@pytest.mark.parametrize("target", [9, 12, 0, 99])          # refuted early, late, at #0, never
@pytest.mark.parametrize("seed", range(4))
def test_any_finishing_order_gives_the_serial_verdict(mode, target, seed):
    serial = run(SERIAL, mode, target)
    shuffled = run(Shuffled(seed), mode, target)
    same(serial, shuffled)
    assert "executor" not in serial.evidence and "executor" not in shuffled.evidence   # not distributed


def test_the_first_counterexample_is_first_in_enumeration_order():
    v = run(Shuffled(1), target=9)
    X = checkloop.enumerate_sequences(3, 6, 0, 3 ** 6)
    first = int(np.flatnonzero(X.sum(axis=1) == 9)[0])
    assert v.status is Status.REFUTED and v.cases == first + 1
    assert v.counterexample.tokens == tuple(X[first])


def test_progress_advances_by_every_chunk_found_right():
    seen = []
    v = run(Shuffled(2), target=99, progress=seen.append)
    assert v.status is Status.VERIFIED and sum(seen) == 3 ** 6 and max(seen) == 17


def test_budget_out_of_order_is_unknown_with_what_was_checked():
    v = run(Shuffled(3, stop_after=5), target=99, step=27)        # 27 chunks of 27
    assert v.status is Status.UNKNOWN and v.cases == 5 * 27
    assert "135 of 729 inputs checked" in v.reason


def test_budget_with_a_later_counterexample_in_hand_refutes_and_says_it_may_not_be_first():
    # chunk 42 (inputs 714..728) holds the only wrong member, 222222; it finishes, then time runs out
    class LateFirst(Shuffled):
        def _run(self, fn, count, item, check, budget, s, stop, group):
            yield 42, fn(item(42))
            raise BudgetExceeded("budget of 1 s spent", {})
    v = run(LateFirst(), target=12)
    assert v.status is Status.REFUTED and sum(v.counterexample.tokens) == 12
    assert "may exist" in v.reason and v.cases >= 1


def test_tiny_budget_serial_is_unknown_before_any_chunk():
    v = run(SERIAL, target=99, budget=Budget(1e-9))
    assert v.status is Status.UNKNOWN and v.cases == 0


def test_the_ambient_executor_is_serial_unless_a_command_sets_one():
    assert current() is SERIAL
    ex = Shuffled(0)
    with use(ex):
        assert current() is ex
        same(checkloop.run(checkloop.sequences(3, 6), sum_is(9), mode="exhaustive", claim="c", step=17),
             run(SERIAL))
    assert current() is SERIAL
    with from_options(None, None) as chosen:
        assert chosen is SERIAL


@pytest.mark.parametrize("text", ["tcp://127.0.0.1:8786", "tls://scheduler.example:1", "tcp://[::1]:65535"])
def test_scheduler_addresses(text):
    assert parse_scheduler(text) == text


@pytest.mark.parametrize("text", ["", "127.0.0.1:8786", "tcp://host", "tcp://host:0", "tcp://host:65536",
                                  "http://host:80", "tcp://ho st:1", "tcp://host:1/x"])
def test_bad_scheduler_addresses_are_bad_input(text):
    with pytest.raises(BadInput, match="--scheduler must be tcp://HOST:PORT"):
        parse_scheduler(text)


def test_workers_and_scheduler_are_exclusive_and_start_nothing():
    with pytest.raises(BadInput, match="exclusive"):
        with from_options(2, "tcp://127.0.0.1:1"):
            pass
    ex = DaskExecutor(workers=2)             # lazy: no cluster until a stream runs
    assert ex._client is None and ex.describe() == {"scheduler": "local", "workers": 2}
    ex.close()


def test_a_spent_budget_starts_no_cluster():
    ex = DaskExecutor(workers=2)
    v = run(ex, target=99, budget=Budget(1e-9))
    assert v.status is Status.UNKNOWN and v.cases == 0 and ex._client is None
    assert v.evidence["executor"] == {"scheduler": "local", "workers": 2, "tasks": 0, "cancelled": 0}
    assert ex.summary() == {"scheduler": "local", "workers": 2, "tasks": 0}


@pytest.mark.parametrize("workers,scheduler,needle", [
    ("0", None, "--workers"), ("x", None, "--workers"), (None, "nonsense", "--scheduler"),
    ("2", "tcp://127.0.0.1:1", "exclusive")])
def test_cli_bad_values_are_one_line_exit_2(cli, workers, scheduler, needle):
    argv = ["verify", "induction", "--N", "4"] + (["--workers", workers] if workers else []) \
        + (["--scheduler", scheduler] if scheduler else [])
    r = cli(*argv)
    assert r.code == 2 and r.out == "" and len(r.err.strip().splitlines()) == 1 and needle in r.err


@pytest.mark.parametrize("argv", [("verify", "induction"), ("verify", "hop"), ("witness", "table"),
                                  ("depth", "hop"), ("bounds", "sweep")])
def test_commands_that_shard_take_both_options(cli, argv):
    text = cli(*argv, "--help").out
    assert "--workers" in text and "--scheduler" in text


def test_report_keeps_its_own_workers(cli):
    text = cli("report", "--help").out
    assert "--workers" in text and "--scheduler" not in text
