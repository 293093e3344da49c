"""The one check loop: every member of a finite domain (or a seeded sample of it) against the truth.

Exhaustive and sampled checks of every family (sequence tasks, qSA subsets, Match and RNN
inputs, MPC instances) run through :func:`run`.  It owns what they share, once: chunking,
the ``--budget`` clock (an honest UNKNOWN with the progress so far), the progress callback,
the first counterexample, and the wording of the verdict.  A family supplies a
:class:`Domain` (what the inputs are and how to enumerate or draw them) and a ``compare``
function (run the model on a batch, compare with the ground truth, replay the first wrong
member as a :class:`~attncheck.constructions.verdict.Counterexample`).

Verdict rules (STYLE.md practice 7): exhaustive agreement on every member is VERIFIED; a
wrong member is REFUTED with its replayed counterexample; sampling, or a budget spent part
way, is at most UNKNOWN.  ``cases`` counts the members checked (on a refutation: up to and
including the first wrong one), and ``evidence["cases_count"]`` says so in words.

Where the batches run is the executor's business (constructions/executor.py): in this process,
or as chunks on a Dask cluster (``--workers``, ``--scheduler``).  The loop reads the chunks'
results in enumeration order whatever order they finish in, so the verdict, ``cases`` and the
first counterexample do not depend on it.  A chunk's result is all that comes back from a
worker, so a family whose ``compare`` keeps state across batches (statistics gathered in a
closure, read by an ``evidence`` callable) must run serially: its commands do not offer
``--workers``.  A cache that only saves work (the shared-prefix runner keeps the levels a block
shares with the previous one) is fine: each worker keeps its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.executor import Executor, current
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method,
                                             Status, Verdict)

MODES = ("exhaustive", "sample")


@dataclass(frozen=True)
class Domain:
    """A finite, ordered family of inputs.

    ``size``: how many members; ``draw(start, stop)``: members start..stop-1 as one batch, in
    the enumeration order; ``sample(rng, n)``: n members drawn at random as one batch;
    ``unit``: what a member is called in verdicts ("inputs", "subsets", "graphs");
    ``label``: a short name of the family ("3^8")."""

    size: int
    draw: Callable[[int, int], Any]
    sample: Callable[[np.random.Generator, int], Any]
    unit: str = "inputs"
    label: str = ""


def enumerate_sequences(V: int, N: int, start: int, stop: int) -> np.ndarray:
    """Sequences number start..stop-1 of Sigma^N in lexicographic order: (stop-start, N) int64."""
    idx = np.arange(start, stop, dtype=np.int64)
    powers = V ** np.arange(N - 1, -1, -1, dtype=np.int64)
    return (idx[:, None] // powers[None, :]) % V


def sequences(V: int, N: int) -> Domain:
    """Sigma^N with |Sigma| = V: lexicographic enumeration, uniform sampling."""
    return Domain(V ** N, lambda a, b: enumerate_sequences(V, N, a, b),
                  lambda rng, n: rng.integers(0, V, size=(n, N)), "inputs", f"{V}^{N}")


@dataclass(frozen=True)
class Block:
    """Members ``start .. stop-1`` of Sigma^N (lexicographic order, position 1 most significant),
    drawn without materialising them: a shared-prefix evaluation (verifiers/prefix.py) reads the
    range of prefixes each length contributes; :meth:`tokens` gives the members as a (B, N) array."""

    V: int
    N: int
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def prefixes(self, i: int) -> tuple[int, int]:
        """The prefixes of length i of the members, as the range ``lo .. hi-1`` of their numbers in
        Sigma^i (a prefix's number is its first completion's number divided by V^(N-i))."""
        w = self.V ** (self.N - i)
        return self.start // w, (self.stop - 1) // w + 1

    def tokens(self) -> np.ndarray:
        return enumerate_sequences(self.V, self.N, self.start, self.stop)


def sequence_blocks(V: int, N: int) -> Domain:
    """Sigma^N as :func:`sequences`, but exhaustive batches are :class:`Block` ranges (whole
    subtrees of the prefix tree when the step is a power of V, see :func:`aligned_step`);
    sampling draws token arrays."""
    return Domain(V ** N, lambda a, b: Block(V, N, a, b),
                  lambda rng, n: rng.integers(0, V, size=(n, N)), "inputs", f"{V}^{N}")


def aligned_step(V: int, N: int, target: int) -> int:
    """The largest power of V that is at most ``max(1, target)`` and at most V^N: batches of this
    size start at multiples of it, so each is the set of completions of prefixes it alone has."""
    step = 1
    while step * V <= max(1, target) and step * V <= V ** N:
        step *= V
    return step


@dataclass(frozen=True)
class Found:
    """What ``compare`` found in a batch: the first wrong member's index in the batch, how many
    members of the batch are wrong, and the replayed counterexample."""

    index: int
    wrong: int
    counterexample: Counterexample


@dataclass(frozen=True)
class DrawAndCompare:
    """One exhaustive chunk's work, wherever it runs: ``compare(draw(start, stop))``.  A chunk
    travels as ``(start, stop)``; this callable (the domain's ``draw`` and the family's
    ``compare``) goes to each worker once."""

    draw: Callable[[int, int], Any]
    compare: Callable[[Any], "Found | None"]

    def __call__(self, span: tuple[int, int]) -> "Found | None":
        return self.compare(self.draw(*span))


def _found(result: Found | None) -> bool:
    return result is not None


def run(domain: Domain, compare: Callable[[Any], Found | None], *, mode: str, claim: str, step: int,
        samples: int = 1000, seed: int = 0, budget: Budget = UNLIMITED,
        progress: Callable[[int], None] | None = None,
        evidence: Callable[[], dict] | dict | None = None,
        executor: Executor | None = None) -> Verdict:
    """Check every member of ``domain`` (``mode="exhaustive"``) or ``samples`` seeded random
    members (``mode="sample"``) in batches of ``step``; ``compare(batch) -> Found | None``.

    The batches are the chunks of ``executor`` (default: the command's,
    :func:`attncheck.constructions.executor.current`; serial unless ``--workers`` or
    ``--scheduler`` asked for Dask).  Chunk i is members ``i*step .. (i+1)*step - 1`` (drawn
    where it runs) or the i-th seeded sample batch (drawn here, in order), whoever runs it and
    whenever it finishes; results are read in chunk order, so the verdict, ``cases``, the reason
    and the counterexample are the serial run's.  Under Dask the evidence names the scheduler,
    its workers and the tasks the verdict rests on (``evidence["executor"]``)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "sample" and samples < 1:
        raise BadInput(f"--samples must be >= 1, got {samples}")
    exhaustive = mode == "exhaustive"
    method = Method.EXHAUSTIVE if exhaustive else Method.SAMPLE
    count = domain.size if exhaustive else samples
    rng = None if exhaustive else np.random.default_rng(seed)
    step = max(1, int(step))
    extra = {} if exhaustive else {"seed": seed}
    ex = current() if executor is None else executor
    chunks = -(-count // step)

    def size(i: int) -> int:
        return min(step, count - i * step)

    if exhaustive:
        work, item = DrawAndCompare(domain.draw, compare), lambda i: (i * step, i * step + size(i))
    else:
        work, item = compare, lambda i: domain.sample(rng, size(i))
    done = 0                                    # members of the chunks found all right
    stream = ex.stream(work, chunks, item, budget=budget, stop=_found, group=exhaustive,
                       check=lambda: budget.check(inputs_checked=done, of=count))

    def ev(tasks: int | None = None, **more) -> dict:
        base = evidence() if callable(evidence) else dict(evidence or {})
        return {**base, **extra, **more, **ran(tasks)}

    def ran(tasks: int | None) -> dict:
        """Under Dask, ``evidence["executor"]``: the scheduler, its workers and the tasks the
        verdict rests on (those of every chunk, or of the chunks up to the refuting one: the same
        in every run); when the budget cut the run short, the tasks that finished and those
        cancelled.  ``tasks`` counts chunks here."""
        if not ex.distributed:
            return {}
        if tasks is not None:
            return {"executor": {**ex.describe(), "tasks": stream.tasks_for(tasks)}}
        return {"executor": {**ex.describe(), "tasks": stream.completed, "cancelled": stream.cancelled}}

    def refuted(i: int, found: Found, cases: int, cases_count: str, note: str = "") -> Verdict:
        ce, start = found.counterexample, i * step
        which = f"{domain.unit[:-1] if domain.unit.endswith('s') else domain.unit} #{start + found.index}" \
            if exhaustive else f"sample #{start + found.index}"
        return Verdict(Status.REFUTED, method, claim, cases, counterexample=ce,
                       reason=f"{which} is wrong at position {ce.position}"
                              f" ({found.wrong} wrong in its batch of {size(i)}){note}",
                       evidence=ev(None if note else i + 1, cases_count=cases_count))

    held: dict[int, Found | None] = {}          # finished chunks not yet read in order
    first = 0                                   # every chunk before it is all right
    try:
        with stream:                            # leaving it cancels what is still running
            for i, found in stream:
                held[i] = found
                if found is None:
                    done += size(i)
                    if progress:
                        progress(size(i))
                while held.get(first, False) is None:
                    del held[first]
                    first += 1
                if held.get(first) is not None:
                    break
    except BudgetExceeded as e:
        wrong = sorted(i for i, f in held.items() if f is not None)
        if wrong:                               # a later chunk refuted; an earlier one was cut off
            found = held[wrong[0]]
            return refuted(wrong[0], found, done + found.index + 1,
                           f"{domain.unit} checked (the budget ran out before every earlier chunk finished)",
                           f"; {e} before every earlier chunk finished, so an earlier counterexample"
                           " may exist")
        what = f"{done:,} of {count:,} {domain.unit} checked, no counterexample so far" if exhaustive \
            else f"{done} samples checked, none wrong"
        return Verdict(Status.UNKNOWN, method, claim, done, reason=f"{e}: {what}",
                       evidence=ev(progress=e.progress, cases_count=f"{domain.unit} checked before the"
                                                                    " budget ran out"))
    if held.get(first) is not None:             # the first counterexample in enumeration order
        found = held[first]
        return refuted(first, found, first * step + found.index + 1,
                       f"{domain.unit} checked up to and including the first counterexample")
    if exhaustive:
        return Verdict(Status.VERIFIED, method, claim, domain.size,
                       reason=f"all {domain.size:,} {domain.unit} agree with the ground truth",
                       evidence=ev(chunks, cases_count=f"every member of {domain.label or 'the domain'}"))
    return Verdict(Status.UNKNOWN, method, claim, samples,
                   reason=f"no counterexample in {samples} seeded samples (sampling never verifies)",
                   evidence=ev(chunks, cases_count="seeded random samples, none wrong"))
