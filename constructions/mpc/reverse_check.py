"""Check the Thm 3.4 protocol against the emulator on the layers of a real construction.

``sht24a.thm3_4`` [P]: each attention layer costs 2D + 3 MPC rounds.  The check takes the
2-layer induction head (``sht24b.two-layer-ub``, |Σ| = 3, its declared fixed-point format),
feeds every input (or a seeded sample) through the emulator, and for each layer l runs the
protocol of :mod:`reverse` on the residual before l; the new rows must equal
``quantize(X + attend(head, X))`` bit for bit under hardmax and within one ulp under softmax,
and the protocol must take exactly 2D + 3 rounds.
"""
from __future__ import annotations

import itertools
import random

import numpy as np

from attncheck.constructions.induction import build_induction
from attncheck.constructions.mpc.reverse import simulate_layer
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.verifiers.emulator import attend, forward
from attncheck.constructions.verdict import BadInput, BudgetExceeded, Counterexample, Method, Status, Verdict

ALPHABET = 3
EXHAUSTIVE_LIMIT = 729


def check_reverse(N: int, branching: int = 2, attention: str = "hardmax", samples: int = 20,
                  seed: int = 0, budget: Budget = UNLIMITED, advance=lambda n=1: None):
    """-> (Verdict, info with one row per layer)."""
    if N > 24:
        raise BadInput(f"--N {N}: the protocol has (N+1)^2 inner-product machines; at most N = 24 here")
    c = build_induction(N, ALPHABET)
    fmt = c.fmt
    total = ALPHABET ** N
    exhaustive = total <= EXHAUSTIVE_LIMIT
    if exhaustive:
        inputs = (list(x) for x in itertools.product(range(ALPHABET), repeat=N))
        count = total
    else:
        if samples < 1:
            raise BadInput(f"--samples must be >= 1, got {samples}")
        rng = random.Random(seed)
        inputs = ([rng.randrange(ALPHABET) for _ in range(N)] for _ in range(samples))
        count = samples
    tol = 0.0 if attention == "hardmax" else fmt.ulp
    claim = (f"each layer of the 2-layer induction head (N = {N}, |Σ| = {ALPHABET}, {fmt}, {attention})"
             f" is computed by the 2D+3-round MPC protocol, {'bit for bit' if tol == 0 else 'within one ulp'}"
             f" (sht24a.thm3_4 [P] round count; schedule [R])")
    rows: dict[int, dict] = {}
    done = 0
    method = Method.EXHAUSTIVE if exhaustive else Method.SAMPLE
    try:
        for toks in inputs:
            tr = forward(c, np.array([toks]), fmt, attention, keep=True)
            for li, layer in enumerate(c.layers):
                X = tr.residuals[li]                                          # (1, T, D)
                T = X.shape[1]
                mask = np.tril(np.ones((T, T), dtype=bool))[None]
                want = X.copy()
                for head in layer.heads:
                    want = want + attend(head, X, fmt, attention, mask)[0]
                want = fmt.quantize(want, "residual")[0]
                if len(layer.heads) != 1:
                    raise BadInput("the MPC layer simulation handles one head per layer")
                lay, run_, got = simulate_layer(layer.heads[0], X[0], fmt, attention, True, branching)
                diff = float(np.max(np.abs(got - want)))
                lim = lay.protocol.limits
                dk = layer.heads[0].W_Q.shape[1]
                row = rows.setdefault(li + 1, {"layer": li + 1, "depth": lay.depth, "rounds": run_.rounds,
                                               "expected_rounds": 2 * lay.depth + 3, "q": lim.q, "s": lim.s,
                                               "paper_branching": lim.s // (4 * dk), "max_diff": 0.0,
                                               "traffic_words": run_.traffic()["words"]})
                row["max_diff"] = max(row["max_diff"], diff)
                if diff > tol or run_.rounds != 2 * lay.depth + 3:
                    ce = Counterexample(tuple(toks), int(np.argmax(np.abs(got - want).max(axis=1))), None, None,
                                        {"layer": li + 1, "max_diff": diff, "rounds": run_.rounds,
                                         "expected_rounds": 2 * lay.depth + 3})
                    return Verdict(Status.REFUTED, method, claim, done + 1,
                                   f"layer {li + 1} differs by {diff:g} (or rounds {run_.rounds} !="
                                   f" {2 * lay.depth + 3})", ce, {"layers": list(rows.values())}), \
                        {"layers": list(rows.values())}
            done += 1
            advance(1)
            budget.check(inputs=done)
    except BudgetExceeded as e:
        info = {"layers": list(rows.values())}
        return Verdict(Status.UNKNOWN, method, claim, done, f"{e}; {done} inputs agreed", None, info), info
    info = {"layers": list(rows.values())}
    if exhaustive:
        return Verdict(Status.VERIFIED, method, claim, done,
                       f"all {done} inputs agree; rounds = 2D+3 on every layer", None, info), info
    return Verdict(Status.UNKNOWN, method, claim, done,
                   f"{done} sampled inputs agree (a sample is not a proof)", None, info), info
