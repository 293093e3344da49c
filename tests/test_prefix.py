"""Shared-prefix exhaustive runs (verifiers/prefix.py, issue 15) equal the per-input runs.

* the check loop's blocks: prefix ranges, aligned steps;
* the vectorised prefix-wise truths equal tasks.py on every input of small domains;
* the runner's outputs equal ``emulator.forward``'s on every input, for the shipped
  constructions and random causal ones, in formats below and above 52 bits, softmax and
  hardmax, with blocks aligned or not (partial levels);
* ``check_exhaustive`` (shared) and the per-input check loop give the same verdict, cases and
  first counterexample, on correct and broken constructions; budget and progress stay the
  loop's.  (tests/soundness/test_shared_prefix.py does the same for every mutant.)
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from attncheck.constructions import tasks
from attncheck.constructions.budget import Budget
from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.precision import parse_format
from attncheck.constructions.spec import Layer
from attncheck.constructions.verdict import Status
from attncheck.verifiers import checkloop, prefix
from attncheck.verifiers.checkloop import Block, aligned_step
from attncheck.verifiers.emulator import BOT_CODE, forward
from attncheck.verifiers.exhaustive import check_exhaustive, chunk_size, first_wrong
from attncheck.verifiers.prefix import PrefixRunner
from attncheck.verifiers.prefix_truth import TRUTHS

sys.path.insert(0, str(Path(__file__).parent))
from test_exact_arithmetic import random_construction  # noqa: E402


def all_inputs(V, N):
    return np.array(list(itertools.product(range(V), repeat=N)), dtype=np.int64).reshape(-1, N)


# --- blocks -------------------------------------------------------------------------------------
def test_blocks_and_aligned_steps():
    b = Block(3, 4, 9, 27)                                  # inputs 9..26 of 3^4
    assert len(b) == 18 and b.prefixes(4) == (9, 27) and b.prefixes(2) == (1, 3) and b.prefixes(0) == (0, 1)
    assert b.tokens().tolist()[0] == [0, 1, 0, 0] and b.tokens().shape == (18, 4)
    assert aligned_step(3, 12, 100_000) == 3 ** 10 and aligned_step(2, 3, 100) == 8 and aligned_step(5, 4, 0) == 1
    d = checkloop.sequence_blocks(2, 5)
    assert d.size == 32 and isinstance(d.draw(4, 8), Block) and d.sample(np.random.default_rng(0), 3).shape == (3, 5)


# --- the prefix-wise truths ---------------------------------------------------------------------
def tree_truth(task: str, V: int, N: int, params: dict) -> np.ndarray:
    """Every input's outputs, extending the truth's state machine over the whole prefix tree."""
    machine = TRUTHS[task](V, N, params)
    state, per_level = machine.root(), []
    for i in range(1, N + 1):
        num = np.arange(V ** i)
        state, want = machine.extend(state, num // V, num % V, i, i == N)
        per_level.append(want)
    members = np.arange(V ** N)
    return np.stack([per_level[i - 1][members // V ** (N - i)] for i in range(1, N + 1)], axis=1)


@pytest.mark.parametrize("task,V,N,params", [("induction", 2, 9, {}), ("induction", 3, 6, {}), ("induction", 4, 5, {}),
                                             ("hop", 2, 8, {"k": 1}), ("hop", 3, 6, {"k": 2}), ("hop", 3, 6, {"k": 3}),
                                             ("hop", 2, 7, {"k": 5})])
def test_prefix_truth_equals_tasks_py_on_every_input(task, V, N, params):
    got = tree_truth(task, V, N, params)
    f = tasks.SEQ_TASKS[task]
    want = [[BOT_CODE if v is None else v for v in f(x, **params)] for x in all_inputs(V, N).tolist()]
    assert got.tolist() == want


def test_prefix_truth_on_long_random_inputs():
    rng = np.random.default_rng(5)
    for task, params in (("induction", {}), ("hop", {"k": 3})):
        machine = TRUTHS[task](5, 40, params)
        for _ in range(5):
            x = rng.integers(0, 5, size=40)
            state, outs = machine.root(), []
            for i in range(1, 41):
                state, want = machine.extend(state, np.zeros(1, dtype=np.int64), x[i - 1:i], i, i == 40)
                outs.append(int(want[0]))
            assert outs == [BOT_CODE if v is None else v for v in tasks.SEQ_TASKS[task](x.tolist(), **params)]


# --- runner outputs equal the per-input emulator ---------------------------------------------
def runner_outputs(c, fmt, attention, task, params, step):
    runner = PrefixRunner(c, task, params, fmt, attention)
    V, N = c.alphabet, c.n
    out = []
    for a in range(0, V ** N, step):
        block = Block(V, N, a, min(a + step, V ** N))
        levels = runner.levels_of(block)
        out.extend(runner.outputs(levels, m) for m in range(block.start, block.stop))
    return np.array(out)


SHIPPED = [(lambda: build_induction(5, 3), "induction", {}),
           (lambda: build_induction(6, 2, variant="paper"), "induction", {}),
           (lambda: build_induction(4, 3, encoding="onehot"), "induction", {}),
           (lambda: build_induction(4, 3, encoding="random"), "induction", {}),
           (lambda: build_hop(5, 2), "hop", {"k": 2}),
           (lambda: build_hop(4, 3, residual="additive"), "hop", {"k": 3})]


@pytest.mark.parametrize("which", range(len(SHIPPED)))
@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
@pytest.mark.parametrize("fmt_name", ["declared", "fixed:5.4", "fixed:30.40", "fixed:40.60"])
def test_runner_equals_forward_on_every_input(which, attention, fmt_name):
    build, task, params = SHIPPED[which]
    c = build()
    fmt = c.fmt if fmt_name == "declared" else parse_format(fmt_name)
    X = all_inputs(c.alphabet, c.n)
    want = forward(c, X, fmt, attention, keep=False).outputs
    for step in (c.alphabet ** 2, 7):                       # aligned blocks, and ragged ones
        assert np.array_equal(runner_outputs(c, fmt, attention, task, params, step), want)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("fmt_name", ["fixed:6.10", "fixed:20.30", "fixed:67.63"])
def test_runner_equals_forward_on_random_causal_constructions(seed, fmt_name):
    fmt = parse_format(fmt_name)
    c = random_construction(seed, fmt, ["dyadic", "float", "cancel"][seed % 3]).replace(mask="causal")
    X = all_inputs(c.alphabet, c.n)
    for attention in ("softmax", "hardmax"):
        want = forward(c, X, fmt, attention, keep=False).outputs
        assert np.array_equal(runner_outputs(c, fmt, attention, "induction", {}, 5), want)


def test_applies_only_where_prefixes_are_shared():
    c = build_induction(4, 2)
    assert prefix.applies(c, c.fmt, "induction")
    assert not prefix.applies(c, parse_format("exact"), "induction")        # float64: per input
    assert not prefix.applies(c.replace(mask="full"), c.fmt, "induction")
    assert not prefix.applies(c, c.fmt, "match2")


# --- verdicts: shared == per input -----------------------------------------------------------
def per_input(c, task, params, fmt, attention):
    return checkloop.run(checkloop.sequences(c.alphabet, c.n),
                         lambda X: first_wrong(c, task, params, X, fmt, attention),
                         mode="exhaustive", claim="per input", step=chunk_size(c))


def edited(c, layer, which, idx, delta):
    """One weight entry moved by hand (a broken construction whose first wrong input is deep)."""
    head = c.layers[layer].heads[0]
    W = getattr(head, which).copy()
    W.flat[idx] += delta
    return c.with_layer(layer, Layer((head.replace(**{which: W}),), c.layers[layer].map))


CASES = [   # name, build, task params, format, wrong: (cases, tokens, position) of the first counterexample
    ("induction", lambda: build_induction(6, 3), {}, "declared", None),
    ("paper variant", lambda: build_induction(6, 3, variant="paper"), {}, "declared", (1, (0,) * 6, 1)),
    ("too few bits", lambda: build_induction(6, 3), {}, "fixed:4.3", (4, (0, 0, 0, 0, 1, 0), 6)),
    ("layer 1 W_Q edited", lambda: edited(build_induction(7, 3), 0, "W_Q", 0, -0.2678), {}, "declared",
     (163, (0, 0, 2, 0, 0, 0, 0), 4)),
    ("layer 2 W_K edited", lambda: edited(build_induction(7, 3), 1, "W_K", 12, -0.0675), {}, "declared",
     (110, (0, 0, 1, 1, 0, 0, 1), 7)),
    ("layer 1 W_O edited", lambda: edited(build_induction(7, 3), 0, "W_O", 7, -0.4795), {}, "declared",
     (325, (0, 1, 1, 0, 0, 0, 0), 3)),
    ("hop", lambda: build_hop(6, 2), {"k": 2}, "declared", None),
    ("hop against k=3", lambda: build_hop(5, 2), {"k": 3}, "declared", (11, (0, 0, 1, 0, 1), 5)),
    ("wide format", lambda: build_induction(5, 3), {}, "fixed:40.45", None),
]


@pytest.mark.parametrize("name", [c[0] for c in CASES])
@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
def test_shared_and_per_input_runs_agree(name, attention):
    _, build, params, fmt_name, wrong = next(c for c in CASES if c[0] == name)
    c = build()
    task = "hop" if "hop" in name else "induction"
    fmt = c.fmt if fmt_name == "declared" else parse_format(fmt_name)
    shared = check_exhaustive(c, task, params, fmt, attention)
    plain = per_input(c, task, params, fmt, attention)
    assert shared.evidence["evaluation"] == "shared prefixes"
    assert (shared.status, shared.cases, shared.counterexample) == (plain.status, plain.cases, plain.counterexample)
    if wrong is None:
        assert shared.status is Status.VERIFIED
    elif attention == "softmax":                      # the figures were read off the per-input run
        ce = shared.counterexample
        assert (shared.cases, ce.tokens, ce.position) == wrong


def test_budget_and_progress_stay_with_the_check_loop(monkeypatch):
    from attncheck.verifiers import exhaustive
    monkeypatch.setattr(exhaustive, "PREFIX_ELEMS", 2000)     # blocks of 3^4 = 81 inputs
    c = build_induction(7, 3)
    seen = []
    v = check_exhaustive(c, "induction", {}, c.fmt, progress=seen.append)
    assert v.status is Status.VERIFIED and v.cases == 3 ** 7 and seen == [81] * 27

    class AfterTwoBlocks(Budget):
        calls = 0

        def expired(self):
            self.calls += 1
            return self.calls > 2

    u = check_exhaustive(c, "induction", {}, c.fmt, budget=AfterTwoBlocks(1000.0))
    assert u.status is Status.UNKNOWN and u.cases == 81 * 2 and "162 of 2,187 inputs checked" in u.reason
