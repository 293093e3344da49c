"""Check the Thm 3.4 protocol against the emulator on the layers of a real construction.

``sht24a.thm3_4`` [P]: each attention layer costs 2D + 3 MPC rounds.  :func:`simulate_layer`
runs the protocol of :mod:`attncheck.constructions.mpc.reverse` on rows X through the MPC
runtime (:func:`~attncheck.verifiers.mpc_machine.run_protocol`, limits enforced).
:func:`check_reverse` takes the 2-layer induction head (``sht24b.two-layer-ub``, |Σ| = 3, its
declared fixed-point format) and runs every input (or a seeded sample) through the one check
loop (:func:`attncheck.verifiers.checkloop.run` over Σ^N): for each input it runs the emulator
and, for each layer l, the protocol on the residual before l; the new rows must equal
``quantize(X + attend(head, X))`` bit for bit under hardmax and within one ulp under softmax,
and the protocol must take exactly 2D + 3 rounds.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.induction import build_induction
from attncheck.constructions.mpc.reverse import Layer34, decode_rows, encode_rows, reverse_layer
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction, Head
from attncheck.constructions.verdict import BadInput, Counterexample, Status, Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Found
from attncheck.verifiers.emulator import attend, forward
from attncheck.verifiers.mpc_machine import Run, run_protocol

ALPHABET = 3
EXHAUSTIVE_LIMIT = 729


def simulate_layer(head: Head, X: np.ndarray, fmt: Format, attention: str = "hardmax",
                   causal: bool = True, branching: int = 2) -> tuple[Layer34, Run, np.ndarray]:
    """Run the protocol on rows X (T, D): -> (Layer34, Run, new rows (T, D))."""
    T, D = X.shape
    layer = reverse_layer(head, T, D, fmt, attention, causal, branching)
    run_ = run_protocol(layer.protocol, encode_rows(layer, X, fmt))
    return layer, run_, decode_rows(layer, run_.output, T, D, fmt)


def _comparer(c: Construction, attention: str, branching: int, tol: float, rows: dict):
    """``compare(batch (B, N)) -> Found | None``: every input of the batch, every layer, the
    protocol against the emulator; per-layer figures accumulate in ``rows``."""
    fmt = c.fmt
    if any(len(layer.heads) != 1 for layer in c.layers):
        raise BadInput("the MPC layer simulation handles one head per layer")

    def compare(batch: np.ndarray) -> Found | None:
        tr = forward(c, batch, fmt, attention, keep=True)
        wrong: list[tuple[int, Counterexample]] = []
        for b, toks in enumerate(batch.tolist()):
            ce = None
            for li, layer in enumerate(c.layers):
                X = tr.residuals[li][b:b + 1]                                 # (1, T, D)
                T = X.shape[1]
                mask = np.tril(np.ones((T, T), dtype=bool))[None]
                want = fmt.quantize(X + attend(layer.heads[0], X, fmt, attention, mask)[0],
                                    "residual")[0]                          # (T, D)
                lay, run_, got = simulate_layer(layer.heads[0], X[0], fmt, attention, True, branching)
                diff = float(np.max(np.abs(got - want)))
                row = _layer_row(rows, li + 1, lay, run_, layer.heads[0].W_Q.shape[1])
                row["max_diff"] = max(row["max_diff"], diff)
                if ce is None and (diff > tol or run_.rounds != 2 * lay.depth + 3):
                    ce = Counterexample(tuple(toks), int(np.argmax(np.abs(got - want).max(axis=1))),
                                        None, None,
                                        {"layer": li + 1, "max_diff": diff, "rounds": run_.rounds,
                                         "expected_rounds": 2 * lay.depth + 3,
                                         "what": f"layer {li + 1} differs by {diff:g} (or rounds"
                                                 f" {run_.rounds} != {2 * lay.depth + 3})"})
            if ce is not None:
                wrong.append((b, ce))
        return Found(wrong[0][0], len(wrong), wrong[0][1]) if wrong else None
    return compare


def _layer_row(rows: dict, layer: int, lay: Layer34, run_: Run, dk: int) -> dict:
    lim = lay.protocol.limits
    return rows.setdefault(layer, {"layer": layer, "depth": lay.depth, "rounds": run_.rounds,
                                   "expected_rounds": 2 * lay.depth + 3, "q": lim.q, "s": lim.s,
                                   "paper_branching": lim.s // (4 * dk), "max_diff": 0.0,
                                   "traffic_words": run_.traffic()["words"]})


def check_reverse(N: int, branching: int = 2, attention: str = "hardmax", samples: int = 20,
                  seed: int = 0, budget: Budget = UNLIMITED, advance=lambda n=1: None,
                  batch: int = 8) -> tuple[Verdict, dict]:
    """-> (Verdict, info with one row per layer).  Every input when |Σ|^N <= EXHAUSTIVE_LIMIT,
    else ``samples`` seeded ones."""
    if N > 24:
        raise BadInput(f"--N {N}: the protocol has (N+1)^2 inner-product machines; at most N = 24 here")
    c = build_induction(N, ALPHABET)
    fmt = c.fmt
    exhaustive = ALPHABET ** N <= EXHAUSTIVE_LIMIT
    tol = 0.0 if attention == "hardmax" else fmt.ulp
    claim = (f"each layer of the 2-layer induction head (N = {N}, |Σ| = {ALPHABET}, {fmt}, {attention})"
             f" is computed by the 2D+3-round MPC protocol, {'bit for bit' if tol == 0 else 'within one ulp'}"
             f" (sht24a.thm3_4 [P] round count; schedule [R])")
    rows: dict[int, dict] = {}
    v = checkloop.run(checkloop.sequences(ALPHABET, N), _comparer(c, attention, branching, tol, rows),
                      mode="exhaustive" if exhaustive else "sample", claim=claim, step=batch,
                      samples=samples, seed=seed, budget=budget, progress=advance,
                      evidence=lambda: {"layers": list(rows.values())})
    if v.status is Status.REFUTED:
        v = dataclasses.replace(v, reason=f"{v.reason}: {v.counterexample.explanation['what']}")
    elif v.status is Status.VERIFIED:
        v = dataclasses.replace(v, reason=f"{v.reason} (the emulator); rounds = 2D+3 on every layer")
    return v, {"layers": list(rows.values())}
