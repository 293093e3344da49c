"""Low-memory MPC protocols (s = ceil(N^delta)): correctness against plain truth, rounds that do
not grow with N, the integer s, and the checks that must refute a broken protocol."""
import dataclasses
import itertools
import math
import random
from fractions import Fraction

import pytest

from attncheck.constructions.mpc import basic, lowmem
from attncheck.constructions.mpc.lowmem_algos import LOWMEM, lowmem_algo
from attncheck.constructions.verdict import BadInput, Status
from attncheck.verifiers.mpc_lowmem import protocol_check, rounds_table
from attncheck.verifiers.mpc_machine import MPCViolation, run_protocol

WORDS = {"broadcast": lambda N, s, w: basic.broadcast_truth(w, max(N, s)),
         "prefix": lambda N, s, w: basic.prefix_truth(w, 8),
         "sort": lambda N, s, w: basic.sort_truth(w)}


@pytest.mark.parametrize("N, delta, s", [(16, "1/2", 4), (17, "1/2", 5), (15, "1/2", 4), (27, "1/3", 3),
                                          (28, "1/3", 4), (1024, "0.5", 32), (1025, "0.5", 33),
                                          (2 ** 20, "1/4", 32), (2 ** 20 + 1, "1/4", 33)])
def test_memory_words_is_the_integer_ceiling(N, delta, s):
    assert lowmem.memory_words(N, delta) == s
    d = Fraction(delta)
    assert s ** d.denominator >= N ** d.numerator > (s - 1) ** d.denominator


@pytest.mark.parametrize("bad", ["0", "1", "1.5", "-0.2", "abc", "1/0"])
def test_delta_outside_the_open_interval_is_bad_input(bad):
    with pytest.raises(BadInput):
        lowmem.parse_delta(bad)


@pytest.mark.parametrize("name", ["broadcast", "prefix", "sort"])
@pytest.mark.parametrize("N, delta", [(3, "0.7"), (5, "1/2"), (6, "1/2"), (6, "3/4")])
def test_word_protocols_exhaustive_small(name, N, delta):
    """Every input in {0, 1, 2, 255}^N against plain truth (ties, wrap-around of the sums)."""
    s = lowmem.memory_words(N, delta)
    if name == "prefix" and s < 3:
        pytest.skip("tree prefix sums need s >= 3")
    P = LOWMEM[name].build(N, s)
    for w in itertools.product((0, 1, 2, 255), repeat=N):
        assert run_protocol(P, list(w)).output == tuple(WORDS[name](N, s, list(w))), w


@pytest.mark.parametrize("name", ["broadcast", "prefix", "sort"])
@pytest.mark.parametrize("N, delta", [(16, "1/2"), (37, "1/3"), (64, "1/2"), (100, "2/3"), (256, "1/2")])
def test_word_protocols_sampled(name, N, delta):
    rng = random.Random(N)
    s = lowmem.memory_words(N, delta)
    P = LOWMEM[name].build(N, s)
    for _ in range(4):
        hi = rng.choice((2, 256))
        w = [rng.randrange(hi) for _ in range(N)]
        assert run_protocol(P, w).output == tuple(WORDS[name](N, s, w))


@pytest.mark.parametrize("name, rounds", [("broadcast", 2), ("prefix", 5), ("sort", 6)])
def test_rounds_do_not_grow_with_N_at_delta_one_half(name, rounds):
    """The issue's table at the protocol level: N = 16, 64, 256, 1024 at delta = 1/2."""
    got = [LOWMEM[name].build(N, lowmem.memory_words(N, "1/2")).rounds for N in (16, 64, 256, 1024)]
    assert got == [rounds] * 4


@pytest.mark.parametrize("delta", ["1/2", "1/3", "1/4", "2/3"])
def test_rounds_stay_below_the_delta_bounds(delta):
    d = Fraction(delta)
    for N in [2 ** k + e for k in range(3, 17) for e in (-1, 0, 1)]:
        s = lowmem.memory_words(N, delta)
        assert lowmem.fanout_broadcast(N, s, 8).rounds <= math.ceil(1 / d)
        if s >= 3:
            h = lowmem.tree_prefix(N, s, 8).params["height"]
            assert h <= math.ceil(2 / d) and (s - 1) ** h >= 2 * -(-N // s)
        if N <= 2 ** 12:                                    # the sort's tree heights: log_s N <= 1/delta
            assert lowmem.rank_sort(N, s, 8).rounds <= 2 * math.ceil(1 / d) + 4


def test_sort_keeps_the_memory_limit_on_all_equal_and_reversed_inputs():
    for N in (16, 33):
        s = lowmem.memory_words(N, "1/2")
        P = lowmem.rank_sort(N, s, 8)
        for w in ([7] * N, list(range(N, 0, -1)), [0, 255] * (N // 2) + [3] * (N % 2)):
            run_ = run_protocol(P, w)                   # MPCViolation if a limit broke
            assert run_.output == tuple(sorted(w))
            assert max(len(m) for mem in run_.memories for m in mem) <= s


def test_a_too_small_memory_is_refused_by_the_runtime():
    P = lowmem.rank_sort(16, 4, 8)
    tight = dataclasses.replace(P, limits=dataclasses.replace(P.limits, s=3))
    with pytest.raises(MPCViolation):
        run_protocol(tight, list(range(16)))


def _broken(algo, wrong_output):
    """The same family with a protocol whose output function is edited by ``wrong_output``."""
    def build(N, s=None):
        P = algo.build(N, s)
        return dataclasses.replace(P, output=wrong_output(P.output))
    return dataclasses.replace(algo, build=build)


def test_protocol_check_refutes_an_edited_sort():
    def swap_first_two(output):
        def f(i, inbox):
            out = output(i, inbox)
            return (out[1], out[0]) + out[2:] if i == 0 and len(out) > 1 else out
        return f
    algo = _broken(LOWMEM["sort"], swap_first_two)
    v = protocol_check(algo, 16, 4, mode="sample", samples=20, seed=0)
    assert v.status is Status.REFUTED and v.counterexample.explanation["what"].startswith("the MPC protocol")


def test_rounds_table_refutes_a_broken_row_and_stops():
    def off_by_one_at_holder_3(output):
        def f(i, inbox):
            out = output(i, inbox)
            return out[:-1] + ((out[-1] + 1) % 256,) if i == 3 and out else out
        return f
    algo = _broken(LOWMEM["prefix"], off_by_one_at_holder_3)
    tab = rounds_table(algo, (16, 64), "1/2", samples=10, compile_upto=0)
    assert tab.verdict.status is Status.REFUTED and len(tab.rows) == 1


def test_a_limit_broken_by_an_edited_step_is_an_mpc_error():
    P = lowmem.rank_sort(16, 4, 8)

    def misroute(r, i, inbox):
        out = P.step(r, i, inbox)
        return tuple((d, w & ~0xF) for d, w in out) if r == 0 else out   # every index -> a few trees
    with pytest.raises(MPCViolation):
        run_protocol(dataclasses.replace(P, step=misroute), list(range(16)))


def test_rounds_table_transformer_side_certified_at_small_N():
    tab = rounds_table(LOWMEM["prefix"], (8, 16, 64), "1/2", samples=5)
    rows = {r.N: r for r in tab.rows}
    assert rows[16].verdict.status is Status.VERIFIED and "side by side" in rows[16].transformer
    assert rows[64].verdict.status is Status.UNKNOWN and "not run" in rows[64].transformer
    assert tab.verdict.status is Status.UNKNOWN          # sampled protocol rows never verify
    assert {r.rounds for r in tab.rows if r.N >= 16} == {5}


def test_unknown_low_memory_algo_is_bad_input():
    with pytest.raises(BadInput):
        lowmem_algo("cycles")


def test_rounds_table_out_of_budget_is_unknown_with_the_rows_done():
    from attncheck.constructions.budget import Budget
    tab = rounds_table(LOWMEM["broadcast"], (16, 64, 256), "1/2", samples=3, budget=Budget(1e-9))
    assert tab.verdict.status is Status.UNKNOWN and "budget" in tab.verdict.reason
    assert len(tab.rows) < 3


@pytest.mark.parametrize("name", ["broadcast", "prefix", "sort"])
@pytest.mark.parametrize("delta", ["1/2", "1/3", "2/3"])
def test_round_bounds_of_the_registry_hold(name, delta):
    from attncheck.constructions.mpc.lowmem_algos import ROUND_BOUNDS
    bound = ROUND_BOUNDS[name][1](Fraction(delta))
    for N in (16, 17, 100, 255, 256, 1024, 4097):
        s = lowmem.memory_words(N, delta)
        assert LOWMEM[name].build(N, s).rounds <= bound
