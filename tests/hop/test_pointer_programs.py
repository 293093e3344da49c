"""Schedules and the reach analysis of one-lookup-per-layer pointer programs (sht24a.thm4_2 flag)."""
import math

import pytest

from attncheck.constructions import pointer_programs as pp

KS = list(range(1, 257)) + [2 ** m + d for m in range(8, 11) for d in (-1, 0, 1) if 2 ** m + d <= 1024]


@pytest.mark.parametrize("k", KS)
def test_corrected_schedule_reaches_k_at_2_plus_ceil_log2(k):
    s = pp.corrected_schedule(k)
    assert s.offset == k
    assert s.layers == pp.corrected_depth(k) == 2 + math.ceil(math.log2(k) - 1e-12)
    assert pp.paper_depth(k) == 2 + int(math.floor(math.log2(k) + 1e-12))
    assert s.accumulator(s.layers) == k and s.accumulator(2) == 1
    assert k == 1 or s.extend[-1]                   # the top layer is always used


@pytest.mark.parametrize("k", KS)
def test_printed_recursion_computes_k_mod_2_plus_half_k(k):
    s = pp.printed_schedule(k)
    assert s.layers == pp.paper_depth(k)
    assert s.offset == (k & 1) + k // 2             # sum of bits with weights halved, except k_0
    assert (s.offset == k) == (k == 1)               # wrong for every k >= 2, powers of two too


def test_mutants_change_the_offset():
    for k in range(2, 65):
        s = pp.corrected_schedule(k)
        assert pp.truncated_schedule(s).offset < k
        for layer in range(2, s.layers + 1):
            assert pp.flip_bit(s, layer).offset != k


@pytest.mark.parametrize("L", range(2, 11))
def test_reach_unbounded_is_exactly_0_to_2_pow_L_minus_2(L):
    r = pp.reach(L)
    assert r.offsets == frozenset(range(2 ** (L - 2) + 1)) == pp.reach_closed_form(L)
    assert all(k in r.offsets for k in range(1, 2 ** (L - 2) + 1))
    assert 2 ** (L - 2) + 1 not in r.offsets


@pytest.mark.parametrize("L", range(2, 8))
def test_reach_bounded_widths(L):
    assert pp.reach(L, 2).offsets == pp.reach(L).offsets          # jump + accumulator suffice
    assert pp.reach(L, 1).offsets == {0} | {2 ** j for j in range(L - 1)}   # doubling only


def test_k3_needs_four_layers():
    assert 3 not in pp.reach(3).offsets and 3 in pp.reach(4).offsets
    assert pp.min_depth(3) == 4 == pp.corrected_depth(3)
    assert [pp.min_depth(k) for k in range(1, 33)] == [pp.corrected_depth(k) for k in range(1, 33)]


@pytest.mark.parametrize("width", [1, 2, None])
def test_witness_programs_replay(width):
    """Every reported offset comes with a program whose steps obey the one-lookup rule."""
    for L in range(3, 7):
        r = pp.reach(L, width)
        for o, prog in r.witness.items():
            assert len(prog) == L - 2
            seen = {0, 1}
            for t, new in prog:
                assert t in seen                                  # looked up at a stored pointer
                allowed = seen | {t + a for a in seen | {0}}
                assert set(new) <= allowed
                seen = set(new) | {0}
            assert o in seen


def test_bad_arguments():
    for bad in (0, -3):
        with pytest.raises(ValueError):
            pp.corrected_schedule(bad)
    with pytest.raises(ValueError):
        pp.reach(1)
    with pytest.raises(ValueError):
        pp.reach(pp.MAX_LAYERS + 1)
