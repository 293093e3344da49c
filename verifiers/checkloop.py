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
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
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
class Found:
    """What ``compare`` found in a batch: the first wrong member's index in the batch, how many
    members of the batch are wrong, and the replayed counterexample."""

    index: int
    wrong: int
    counterexample: Counterexample


def run(domain: Domain, compare: Callable[[Any], Found | None], *, mode: str, claim: str, step: int,
        samples: int = 1000, seed: int = 0, budget: Budget = UNLIMITED,
        progress: Callable[[int], None] | None = None,
        evidence: Callable[[], dict] | dict | None = None) -> Verdict:
    """Check every member of ``domain`` (``mode="exhaustive"``) or ``samples`` seeded random
    members (``mode="sample"``) in batches of ``step``; ``compare(batch) -> Found | None``."""
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

    def ev(**more) -> dict:
        base = evidence() if callable(evidence) else dict(evidence or {})
        return {**base, **extra, **more}

    done = 0
    try:
        while done < count:
            budget.check(inputs_checked=done, of=count)
            B = min(step, count - done)
            batch = domain.draw(done, done + B) if exhaustive else domain.sample(rng, B)
            found = compare(batch)
            if found is not None:
                ce = found.counterexample
                which = f"{domain.unit[:-1] if domain.unit.endswith('s') else domain.unit} #{done + found.index}" \
                    if exhaustive else f"sample #{done + found.index}"
                return Verdict(Status.REFUTED, method, claim, done + found.index + 1, counterexample=ce,
                               reason=f"{which} is wrong at position {ce.position}"
                                      f" ({found.wrong} wrong in its batch of {B})",
                               evidence=ev(cases_count=f"{domain.unit} checked up to and including the"
                                                       " first counterexample"))
            done += B
            if progress:
                progress(B)
    except BudgetExceeded as e:
        what = f"{done:,} of {count:,} {domain.unit} checked, no counterexample so far" if exhaustive \
            else f"{done} samples checked, none wrong"
        return Verdict(Status.UNKNOWN, method, claim, done, reason=f"{e}: {what}",
                       evidence=ev(progress=e.progress, cases_count=f"{domain.unit} checked before the"
                                                                    " budget ran out"))
    if exhaustive:
        return Verdict(Status.VERIFIED, method, claim, domain.size,
                       reason=f"all {domain.size:,} {domain.unit} agree with the ground truth",
                       evidence=ev(cases_count=f"every member of {domain.label or 'the domain'}"))
    return Verdict(Status.UNKNOWN, method, claim, samples,
                   reason=f"no counterexample in {samples} seeded samples (sampling never verifies)",
                   evidence=ev(cases_count="seeded random samples, none wrong"))
