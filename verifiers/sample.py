"""Sampled checking: K seeded random inputs.  It can refute; it never verifies (STYLE.md 7)."""
from __future__ import annotations

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction
from attncheck.constructions.verdict import Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.exhaustive import chunk_size, first_wrong


def check_sample(c: Construction, task: str, params: dict, fmt: Format, attention: str = "softmax",
                 samples: int = 1000, seed: int = 0, budget: Budget = UNLIMITED, progress=None) -> Verdict:
    """``samples`` seeded uniform inputs of Sigma^N through the one check loop."""
    claim = f"{c.name} computes {task} on {samples} random inputs of {c.alphabet}^{c.n} (seed {seed})"
    return checkloop.run(checkloop.sequences(c.alphabet, c.n),
                         lambda X: first_wrong(c, task, params, X, fmt, attention), mode="sample",
                         claim=claim, step=chunk_size(c), samples=samples, seed=seed, budget=budget,
                         progress=progress)
