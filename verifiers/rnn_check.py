"""Checking the recurrent baselines against the plain-Python tasks (``sht23.rnn-ih``,
``sht23.thm11``, ``sht24a.cor5_2``): every member of the finite family, or seeded samples,
through the one check loop.

Shape glossary: B batch, N steps, V = |Sigma| symbols, n data positions of the INDEX family.

The families: Sigma^N for induction and hop_k (``checkloop.sequences``); for INDEX the inputs
``(m_1, a_1, ..., m_n, a_n, m_i*)`` (all a in data^n, all i*), where the truth also asserts the
reduction identity ``tasks.induction_heads(x)_N == tasks.index(a, i*)`` on every input.  Besides
the verdict, a check reports how many distinct states each layer reached.
"""
from __future__ import annotations

import math

import numpy as np

from attncheck.constructions import tasks
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.rnn import BOT_CODE, RNN
from attncheck.constructions.verdict import Counterexample, Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Domain, Found
from attncheck.verifiers.family_mode import resolve_mode
from attncheck.verifiers.rnn_run import run

MAX_INPUTS = 1 << 21           # exhaustive families beyond this are refused up front


def family_size(rnn: RNN) -> int:
    """Inputs of the finite family: |Sigma|^N, or n |Sigma|^n for INDEX (all a, all i*)."""
    if rnn.task == "index":
        return rnn.params["n"] * rnn.params["alphabet"] ** rnn.params["n"]
    return rnn.alphabet ** rnn.params["N"]


def index_inputs(n: int, data: int, codes: np.ndarray) -> np.ndarray:
    """Family members number ``codes`` -> (B, 2n + 1): i* = code // data^n, and a_1..a_n the
    base-``data`` digits of code % data^n (a_1 most significant)."""
    istar, a = np.divmod(codes, data ** n)
    digits = (a[:, None] // data ** np.arange(n - 1, -1, -1)[None, :]) % data   # (B, n)
    X = np.empty((len(codes), 2 * n + 1), dtype=np.int64)
    X[:, 0:2 * n:2] = data + np.arange(n)[None, :]
    X[:, 1:2 * n:2] = digits
    X[:, -1] = data + istar
    return X


def family(rnn: RNN) -> Domain:
    """The finite family as a check-loop domain (enumeration order and uniform sampling)."""
    if rnn.task != "index":
        return checkloop.sequences(rnn.alphabet, rnn.params["N"])
    n, data, total = rnn.params["n"], rnn.params["alphabet"], family_size(rnn)
    return Domain(total, lambda a, b: index_inputs(n, data, np.arange(a, b)),
                  lambda rng, k: index_inputs(n, data, rng.integers(0, total, size=k)), "inputs",
                  f"INDEX n = {n}, |Σ| = {data}")


def family_inputs(rnn: RNN, start: int, stop: int, rng=None, count: int = 0) -> np.ndarray:
    """Members start..stop-1 of the family in order, or ``count`` random ones with ``rng``."""
    dom = family(rnn)
    return dom.draw(start, stop) if rng is None else dom.sample(rng, count)


def truth(rnn: RNN, X: np.ndarray) -> np.ndarray:
    """Plain-Python ground truth (B, N) with BOT_CODE; INDEX rows hold the answer at position N
    (``tasks.induction_heads`` there must equal ``tasks.index(a, i*)``: the reduction identity)."""
    rows = []
    for x in X.tolist():
        if rnn.task == "index":
            n, data = rnn.params["n"], rnn.params["alphabet"]
            ih, idx = tasks.induction_heads(x)[-1], tasks.index(x[1:2 * n:2], x[-1] - data + 1)
            if ih != idx:
                raise RuntimeError(f"INDEX embedding broken on {x}: induction head {ih} != a_i* {idx}")
            rows.append([BOT_CODE] * (len(x) - 1) + [idx])
        else:
            out = tasks.hop(x, rnn.params["k"]) if rnn.task == "hop" else tasks.induction_heads(x)
            rows.append([BOT_CODE if o is None else o for o in out])
    return np.array(rows, dtype=np.int64).reshape(X.shape)


def _claim(rnn: RNN, mode: str, samples: int, seed: int) -> str:
    N, total = rnn.params["N"], family_size(rnn)
    where = "position N" if rnn.answer == "last" else "every position"
    fam = (f"(m_1, a_1, ..., m_n, a_n, m_i*), n = {rnn.params['n']}" if rnn.task == "index"
           else f"{rnn.alphabet}^{N}")
    return (f"{rnn.theorem} {rnn.status.split(';')[0]}: {len(rnn.layers)}-layer RNN with"
            f" {rnn.size()['state_bits']}-bit states computes {rnn.task}"
            + (f" (k = {rnn.params['k']})" if rnn.task == "hop" else "")
            + f" at {where}: " + (f"all {total} inputs of {fam}" if mode == "exhaustive"
                                   else f"{samples} random inputs of {fam} (seed {seed})"))


def check_rnn(rnn: RNN, mode: str = "auto", samples: int = 1000, seed: int = 0,
              budget: Budget | None = None, advance=None) -> tuple[Verdict, dict]:
    """Compare the RNN with the ground truth on every member of its finite family (exhaustive)
    or on seeded random members (sample).  Returns (Verdict, measured) where ``measured`` has
    the distinct states each layer reached."""
    mode = resolve_mode(f"RNN {rnn.task} family", mode, family_size(rnn), MAX_INPUTS, samples)
    N = rnn.params["N"]
    reached = [set() for _ in rnn.layers]
    seen = [0]

    def measured() -> dict:
        return {"states_reached": [len(r) for r in reached], "inputs": seen[0],
                "log2_states_reached": [round(math.log2(max(len(r), 1)), 3) for r in reached]}

    def compare(X: np.ndarray) -> Found | None:
        tr = run(rnn, X)
        for r, s in zip(reached, tr.states):
            r.update(np.unique(s).tolist())
        seen[0] += len(X)
        got = tr.outputs if rnn.answer == "all" else np.where(np.arange(N) == N - 1, tr.outputs, BOT_CODE)
        want = truth(rnn, X)
        bad = np.flatnonzero(np.any(got != want, axis=1))
        if not bad.size:
            return None
        b = int(bad[0])
        return Found(b, int(bad.size), _counterexample(rnn, X[b], got[b], want[b]))

    verdict = checkloop.run(family(rnn), compare, mode=mode, claim=_claim(rnn, mode, samples, seed),
                            step=max(1, 200_000 // N), samples=samples, seed=seed,
                            budget=UNLIMITED if budget is None else budget, progress=advance,
                            evidence=measured)
    return verdict, measured()


def _counterexample(rnn: RNN, x: np.ndarray, got: np.ndarray, want: np.ndarray) -> Counterexample:
    """Replay input x alone; report every layer's value at the wrong position."""
    pos = int(np.flatnonzero(got != want)[0])
    again = run(rnn, x[None])
    if again.outputs[0, pos] != got[pos]:
        raise RuntimeError("RNN counterexample replay disagrees")
    dec = lambda v: None if v in (BOT_CODE, rnn.alphabet) else int(v)
    return Counterexample(tuple(int(t) for t in x), pos + 1, dec(want[pos]), dec(got[pos]),
                          {"replayed": True, "layer_values": [dec(s[0, pos]) for s in again.streams]})
