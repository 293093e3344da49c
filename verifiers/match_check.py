"""Checking the Match heads against the plain-Python tasks (``sht23.match2_ub``,
``sht23.match3_variants``): every input of [M]^N, or seeded samples, through the one check loop.

Shape glossary: B batch, N positions, T rows of the residual, M modulus.

There is no certificate and no margin argument behind a verdict (docs/soundness.md "Match2 /
Match3"): only the exhaustive run over ``checkloop.sequences(M, N)`` verifies, comparing every
position with ``tasks.match2`` / ``tasks.match3``; the score margin and temperature in the
evidence are printed, never used.  The first wrong input is replayed alone and reported with
where its wrong position puts its attention.
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.match import Match3Construction, head_of, margin
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.tasks import match2, match3
from attncheck.constructions.verdict import Counterexample, Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Found
from attncheck.verifiers.family_mode import resolve_mode
from attncheck.verifiers.match_run import forward_match2, forward_match3

MAX_INPUTS = 1 << 22           # refuse larger [M]^N enumerations up front
ELEMS_PER_CHUNK = 1_500_000    # B * T * T per batch


def spec_of(c) -> dict:
    """The parts of a Match2/Match3 construction the checker needs, by kind: N, M, T, its
    runner ``forward(c, tokens, fmt, attention) -> (outputs, weights)`` and ground truth."""
    if isinstance(c, Match3Construction):
        return {"N": c.N, "M": c.M, "T": 1 + c.N + c.N * c.N, "forward": forward_match3,
                "truth": lambda x: match3(x, c.M, c.allow_self, c.allow_repeat),
                "task": "match3", "conventions": f"allow_self={c.allow_self}, allow_repeat={c.allow_repeat}"}
    p = c.params
    return {"N": p["N"], "M": p["M"], "T": p["N"] + 1, "forward": forward_match2,
            "truth": lambda x: match2(x, p["M"], p["allow_self"]), "task": "match2",
            "conventions": f"allow_self={p['allow_self']}"}


def check_match(c, mode: str = "auto", fmt: Format = EXACT, attention: str = "softmax",
                samples: int = 1000, seed: int = 0, budget: Budget | None = None, advance=None) -> Verdict:
    """Compare the head with the plain-Python task on every input of [M]^N (exhaustive) or on
    seeded random inputs (sample; never verifies)."""
    s = spec_of(c)
    N, M = s["N"], s["M"]
    total = M ** N
    mode = resolve_mode(f"{s['task']} over [{M}]^{N}", mode, total, MAX_INPUTS, samples)
    family = f"all {M}^{N} = {total} inputs" if mode == "exhaustive" else f"{samples} random inputs (seed {seed})"
    claim = (f"{c.theorem} {c.status.split(';')[0]}: one {attention} head computes {s['task']}"
             f" ({s['conventions']}) in {fmt} at every position, {family}")

    def compare(X: np.ndarray) -> Found | None:
        got, _ = s["forward"](c, X, fmt, attention)
        want = np.array([s["truth"](row) for row in X.tolist()], dtype=np.int64).reshape(X.shape)
        bad = np.flatnonzero(np.any(got != want, axis=1))
        if not bad.size:
            return None
        b = int(bad[0])
        return Found(b, int(bad.size), _counterexample(c, s, X[b], got[b], want[b], fmt, attention))

    return checkloop.run(checkloop.sequences(M, N), compare, mode=mode, claim=claim,
                         step=max(1, ELEMS_PER_CHUNK // (s["T"] * s["T"])), samples=samples, seed=seed,
                         budget=UNLIMITED if budget is None else budget, progress=advance,
                         evidence={"margin": margin(M), "temperature": head_of(c).temperature})


def _counterexample(c, s: dict, x: np.ndarray, got: np.ndarray, want: np.ndarray, fmt: Format,
                    attention: str) -> Counterexample:
    """Replay input x alone; report where the wrong position puts its attention."""
    out, w = s["forward"](c, x[None], fmt, attention)
    pos = int(np.flatnonzero(got != want)[0])
    if int(out[0, pos]) != int(got[pos]):
        raise RuntimeError(f"counterexample replay disagrees at position {pos + 1}")
    row = w[0, 1 + pos]                                               # token row i (start is row 0)
    j = int(np.argmax(row))
    N = s["N"]
    target = "start" if j == 0 else (j if j <= N else list(np.add(divmod(j - 1 - N, N), 1)))
    return Counterexample(tuple(int(t) for t in x), pos + 1, int(want[pos]), int(got[pos]),
                          {"replayed": True, "weight_on_start": float(row[0]), "argmax": target,
                           "argmax_weight": float(row[j]), "format": str(fmt), "attention": attention})
