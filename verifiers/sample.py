"""Sampled checking: K seeded random inputs.  It can refute; it never verifies (STYLE.md 7)."""
from __future__ import annotations

import numpy as np

from attncheck.constructions.spec import Construction
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.verifiers.exhaustive import chunk_size, first_wrong
from attncheck.constructions.precision import Format
from attncheck.constructions.verdict import BadInput, BudgetExceeded, Method, Status, Verdict


def check_sample(c: Construction, task: str, params: dict, fmt: Format, attention: str = "softmax",
                 samples: int = 1000, seed: int = 0, budget: Budget = UNLIMITED, progress=None) -> Verdict:
    if samples < 1:
        raise BadInput(f"--samples must be >= 1, got {samples}")
    claim = f"{c.name} computes {task} on {samples} random inputs of {c.alphabet}^{c.n} (seed {seed})"
    rng = np.random.default_rng(seed)
    step = chunk_size(c)
    done = 0
    try:
        while done < samples:
            budget.check(samples_checked=done, of=samples)
            B = min(step, samples - done)
            X = rng.integers(0, c.alphabet, size=(B, c.n))
            wrong = first_wrong(c, task, params, X, fmt, attention)
            if wrong is not None:
                b, _, ce = wrong
                return Verdict(Status.REFUTED, Method.SAMPLE, claim, done + b + 1,
                               reason=f"sample #{done + b} is wrong at position {ce.position}",
                               counterexample=ce, evidence={"seed": seed})
            done += B
            if progress:
                progress(B)
    except BudgetExceeded as e:
        return Verdict(Status.UNKNOWN, Method.SAMPLE, claim, done,
                       reason=f"{e}: {done} samples checked, none wrong", evidence={"seed": seed})
    return Verdict(Status.UNKNOWN, Method.SAMPLE, claim, samples,
                   reason=f"no counterexample in {samples} seeded samples (sampling never verifies)",
                   evidence={"seed": seed})
