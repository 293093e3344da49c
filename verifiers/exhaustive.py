"""Exhaustive verification: every sequence in Sigma^N, every position, against the ground truth.

Inputs are enumerated in mixed radix (position 1 most significant).  A causal construction with
a decoder, in a fixed format, on a task with a prefix-wise truth (induction, hop) is evaluated
sharing prefixes (:mod:`attncheck.verifiers.prefix`): the check loop hands out blocks of V^k
consecutive inputs and every prefix is run once.  Anything else runs per input, in chunks sized
so that a chunk's attention tensors stay within a few tens of MB, through the one emulator and
against the plain-Python task (:mod:`attncheck.constructions.tasks`).  Either way the verdict,
``cases`` and the first counterexample (lexicographic order) are the same; the counterexample is
re-derived from tasks.py and replayed (:func:`attncheck.verifiers.emulator.explain`) with the
attention argmax of every layer beside the position its promise intended.

Cost is estimated before starting (a timed calibration chunk); an enumeration beyond
:data:`MAX_INPUTS` or beyond ``--budget`` is refused with the estimate (BadInput, exit 2), and a
run that overruns its budget anyway ends UNKNOWN with the progress made.
"""
from __future__ import annotations

import time

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction
from attncheck.constructions.tasks import SEQ_TASKS
from attncheck.constructions.verdict import BadInput, Counterexample, Verdict
from attncheck.verifiers import checkloop, prefix, semantics
from attncheck.verifiers.checkloop import Block, Found, enumerate_sequences
from attncheck.verifiers.emulator import BOT_CODE, explain, forward
from attncheck.verifiers.mpc_threads import one_blas_thread
from attncheck.verifiers.prefix import PrefixRunner

MAX_INPUTS = 1 << 26          # refuse enumerations above ~67M sequences outright
ELEMS_PER_CHUNK = 2_000_000   # B * T * T per chunk
PREFIX_ELEMS = 1_000_000      # inputs * T * heads * layers per shared-prefix block (cache-sized)


def truth_table(task: str, X: np.ndarray, params: dict) -> np.ndarray:
    """Ground truth for a batch (B, N), BOT as BOT_CODE."""
    f = SEQ_TASKS[task]
    return np.array([[BOT_CODE if v is None else v for v in f(row, **params)] for row in X.tolist()],
                    dtype=np.int64).reshape(X.shape)


def chunk_size(c: Construction) -> int:
    T = c.n + 1
    return max(1, ELEMS_PER_CHUNK // (T * T * max(1, c.max_heads)))


def block_size(c: Construction) -> int:
    """Inputs per shared-prefix block: a power of |Sigma| (whole subtrees of the prefix tree)."""
    per = (c.n + 1) * max(1, c.max_heads) * max(1, c.n_layers)
    return checkloop.aligned_step(c.alphabet, c.n, PREFIX_ELEMS // per)


def counterexample(c: Construction, task: str, params: dict, x: np.ndarray, got: np.ndarray,
                   want: np.ndarray, fmt: Format, attention: str) -> Counterexample:
    """Build and replay the counterexample at the first wrong position of input x."""
    pos = int(np.flatnonzero(got != want)[0]) + 1
    ex = explain(c, x, pos, fmt, attention)
    intended = semantics.intended_targets(c, x.tolist(), pos)
    for entry in ex["layers"]:
        if intended is not None:
            entry["intended"] = intended[entry["layer"] - 1][entry["head"] - 1]
    replay = ex["output"]
    exp_v = None if want[pos - 1] == BOT_CODE else int(want[pos - 1])
    got_v = None if got[pos - 1] == BOT_CODE else int(got[pos - 1])
    if replay != got_v:   # the replay must reproduce the batched run bit for bit
        raise RuntimeError(f"counterexample replay disagrees: batch {got_v}, replay {replay}")
    return Counterexample(tuple(int(t) for t in x), pos, exp_v, got_v,
                          {"layers": ex["layers"], "replayed": True,
                           "format": str(fmt), "attention": attention})


def first_wrong(c: Construction, task: str, params: dict, X: np.ndarray, fmt: Format,
                attention: str) -> Found | None:
    """Run batch X (B, N) and compare with the ground truth: None if all agree, else the first
    wrong input's index, the number of wrong inputs and its replayed counterexample."""
    got = forward(c, X, fmt, attention, keep=False).outputs
    want = truth_table(task, X, params)
    bad = np.flatnonzero(np.any(got != want, axis=1))
    if not bad.size:
        return None
    b = int(bad[0])
    return Found(b, int(bad.size), counterexample(c, task, params, X[b], got[b], want[b], fmt, attention))


def first_wrong_shared(runner: PrefixRunner, c: Construction, task: str, params: dict, block: Block,
                       fmt: Format, attention: str) -> Found | None:
    """:func:`first_wrong` for a block evaluated sharing prefixes; the counterexample's expected
    outputs come from tasks.py, and a disagreement with the vectorised truth stops the run."""
    r = runner.first_wrong(block)
    if r is None:
        return None
    index, wrong, levels = r
    member = block.start + index
    x = enumerate_sequences(c.alphabet, c.n, member, member + 1)[0]
    got = runner.outputs(levels, member)
    want = truth_table(task, x[None, :], params)[0]
    if np.array_equal(got, want):
        raise RuntimeError(f"the prefix-wise truth of {task} disagrees with tasks.py on {x.tolist()}")
    return Found(index, wrong, counterexample(c, task, params, x, got, want, fmt, attention))


def estimate_seconds(c: Construction, task: str, params: dict, fmt: Format, attention: str) -> float:
    """Seconds for the whole enumeration, from a timed calibration batch."""
    total = c.alphabet ** c.n
    if prefix.applies(c, fmt, task):
        runner = PrefixRunner(c, task, params, fmt, attention)
        B = checkloop.aligned_step(c.alphabet, c.n, 2048)
        t0 = time.perf_counter()
        runner.first_wrong(Block(c.alphabet, c.n, 0, B))
        return (time.perf_counter() - t0) / B * total
    B = int(min(total, max(64, min(chunk_size(c), 2048))))
    X = enumerate_sequences(c.alphabet, c.n, 0, B)
    t0 = time.perf_counter()
    forward(c, X, fmt, attention, keep=False)
    truth_table(task, X, params)
    return (time.perf_counter() - t0) / B * total


def check_exhaustive(c: Construction, task: str, params: dict, fmt: Format, attention: str = "softmax",
                     budget: Budget = UNLIMITED, progress=None) -> Verdict:
    """VERIFIED over all |Sigma|^N inputs, REFUTED with a replayed counterexample, or UNKNOWN
    when the budget runs out mid-way."""
    V, N = c.alphabet, c.n
    total = V ** N
    claim = f"{c.name} computes {task} on every input of {V}^{N} in {fmt} with {attention}"
    if total > MAX_INPUTS:
        raise BadInput(f"exhaustive enumeration of {V}^{N} = {float(total):.3g} inputs exceeds the"
                       f" limit of {MAX_INPUTS:,}; use --mode certificate or sample")
    if budget.seconds is not None:
        est = estimate_seconds(c, task, params, fmt, attention)
        if est > budget.seconds:
            raise BadInput(f"exhaustive enumeration of {V}^{N} = {total:,} inputs needs about {est:.3g} s,"
                           f" more than --budget {budget.seconds:g} s; use --mode certificate")
    evidence = {"inputs": total, "positions": total * N, "accumulator_exact": accumulator_exact(c, fmt)}
    if prefix.applies(c, fmt, task):
        runner = PrefixRunner(c, task, params, fmt, attention)
        with one_blas_thread():             # many small products: worker threads only spin
            return checkloop.run(checkloop.sequence_blocks(V, N),
                                 lambda b: first_wrong_shared(runner, c, task, params, b, fmt, attention),
                                 mode="exhaustive", claim=claim, step=block_size(c), budget=budget,
                                 progress=progress, evidence={**evidence, "evaluation": "shared prefixes"})
    return checkloop.run(checkloop.sequences(V, N), lambda X: first_wrong(c, task, params, X, fmt, attention),
                         mode="exhaustive", claim=claim, step=chunk_size(c), budget=budget, progress=progress,
                         evidence={**evidence, "evaluation": "per input"})


def accumulator_exact(c: Construction, fmt: Format) -> bool:
    """Always True since issue 15: a fixed format's wide accumulator is exact at every width (the
    emulator computes grid integers), and ``exact`` is float64 by definition.  Kept in the
    evidence so that reports keep their keys."""
    return True
