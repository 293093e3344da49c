"""Verdicts for the one-layer qSA head (``sht23.thm2``, ``sht23.thm3``): exhaustive sweep,
certificate, sample.

Shape glossary: N positions, q pointer-set size, m code width, d' value width (``d_prime``).

``check_qsa`` is ``facts -> sweep -> bound -> verdict``: :func:`~attncheck.verifiers.qsa_proof.prove_head`
proves the structural hypotheses from the arrays, :func:`~attncheck.verifiers.qsa_sweep.run_sweep`
passes over every q-subset through the one check loop (emulator or score certificate; the loop owns
chunks, ``--budget`` and progress), :mod:`~attncheck.verifiers.qsa_proof` turns the pass into a
sound bound.  VERIFIED only when every hypothesis holds and the bound is <= eps; a failed
hypothesis is UNKNOWN naming it unless a replayed input refutes (issue 12, docs/soundness.md "qSA
certificate").  Sampling (seeded inputs through the same loop) never verifies.
"""
from __future__ import annotations

import dataclasses
import sys

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.qsa import QSAConstruction, n_subsets, sci_count
from attncheck.constructions.tasks import qsa as qsa_truth
from attncheck.constructions.verdict import BadInput, Counterexample, Method, Status, Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Domain, Found
from attncheck.verifiers.qsa_proof import HeadFacts, certificate_bound, exhaustive_bound, prove_head
from attncheck.verifiers.qsa_run import forward, uniform_on
from attncheck.verifiers.qsa_sweep import Sweep, run_sweep


def worst_case_inputs(c: QSAConstruction, S: tuple[int, ...], row, direction=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Candidate inputs (z (N, d'), y (N, q)) that attain or approach the worst error of a set S
    whose attention row is ``row``; every row points at S.  First ``z_j = sign(row_j - 1/q [j in
    S]) e`` (attains the l1 deviation for an exact copy); then ``z_j = +e`` and ``-e`` for all j (a
    copy that scales or shifts), for ``e = e_1`` and, if given, the unit ``direction`` (d',)."""
    beta = uniform_on(np.array(S), c.N)
    sign = np.where(np.asarray(row) >= beta, 1.0, -1.0)             # (N,)
    dirs = [np.eye(c.d_prime)[0]] + ([np.asarray(direction, dtype=np.float64)] if direction is not None else [])
    y = np.tile(np.array(S, dtype=np.int64), (c.N, 1))
    out = []
    for e in dirs:
        for pattern in (sign, np.ones(c.N), -np.ones(c.N)):
            out.append((pattern[:, None] * e[None, :], y))
    return out


def pick_mode(c: QSAConstruction, mode: str, fmt: Format, attention: str) -> str:
    """Resolve ``auto`` and refuse what cannot be honoured (one line, with the estimate).

    ``auto`` is exhaustive when the pass fits :data:`MAX_WORK`, except moment codes in exact
    softmax: their real-arithmetic scores are integers the certificate computes exactly, while
    the float64 emulator forms products up to (N/2)^{4q} that it cannot be trusted with."""
    if mode == "certificate" and (not fmt.is_exact or attention != "softmax"):
        raise BadInput("--mode certificate bounds softmax leakage in real arithmetic; use"
                       " --precision exact --attention softmax, or --mode exhaustive")
    if mode in ("exhaustive", "certificate") and work(c) > MAX_WORK:
        raise BadInput(f"{mode} over all C({c.N},{c.q}) = {sci_count(n_subsets(c.N, c.q))} pointer sets needs"
                       f" ~{sci_count(work(c))} multiply-adds (limit {MAX_WORK:.0e}); use --mode sample")
    if mode == "auto":
        mode = "sample" if work(c) > MAX_WORK else \
            "certificate" if c.codes == "moment" and fmt.is_exact and attention == "softmax" else "exhaustive"
    one = input_work(c.N, c.q, c.m, c.d_prime)
    if mode == "sample" and one > MAX_WORK:
        raise BadInput(f"--mode sample: one input at N = {c.N}, q = {c.q}, m = {c.m} needs ~{sci_count(one)}"
                       f" multiply-adds (limit {MAX_WORK:.0e} per input, the unit between budget checks);"
                       f" use a smaller --N, --q or --head-width")
    return mode


def _claim(c: QSAConstruction, fmt: Format, attention: str, family: str) -> str:
    return (f"{c.theorem} {c.status.split(';')[0]}: one {attention} head, m = {c.m} ({c.codes} codes),"
            f" {c.eps:g}-approximates qSA at N = {c.N}, q = {c.q}, d' = {c.d_prime} in {fmt}: {family}")


def _counterexample(c: QSAConstruction, z, y, fmt: Format, attention: str,
                    row: int | None = None) -> tuple[float, Counterexample]:
    """Replay one input through the head and the plain-Python ground truth (``row=None``: the
    row with the largest error)."""
    out, w = forward(c, z[None], y[None], fmt, attention)
    want_all = np.array(qsa_truth(z.tolist(), y.tolist()))                 # (N, d')
    errs = np.linalg.norm(out[0] - want_all, axis=1)                       # (N,)
    errs = np.where(np.isnan(errs), np.inf, errs)                          # a NaN output is wrong
    row = int(np.argmax(errs)) if row is None else row
    want, got = want_all[row], out[0, row]
    err = float(errs[row])
    S = [int(j) + 1 for j in y[row]]
    return err, Counterexample(tuple(S), row + 1, [round(float(v), 12) for v in want],
                               [round(float(v), 12) for v in got],
                               {"pointer_set": S, "z_first_coordinate": [float(v) for v in z[:, 0]],
                                "error": err, "eps": c.eps, "replayed": True, "format": str(fmt),
                                "attention": attention,
                                "mass_on_set": float(w[0, row, y[row]].sum())})


def _replay_worst(c: QSAConstruction, facts, r: Sweep, fmt: Format, attention: str):
    """Replay the candidate inputs of the worst set (:func:`worst_case_inputs`) -> (error, ce)."""
    direction = None
    if facts.A_v is not None and c.d_prime > 1:
        M = facts.A_v @ facts.B_o                                            # (d', d')
        direction = np.linalg.svd(M - np.eye(c.d_prime))[0][:, 0]           # max ||z (M - I)||
    tries = [_counterexample(c, z, y, fmt, attention) for z, y in worst_case_inputs(c, r.worst, r.row, direction)]
    return max(tries, key=lambda t: t[0])


def check_qsa(c: QSAConstruction, mode: str = "auto", fmt: Format = EXACT, attention: str = "softmax",
              samples: int = 1000, seed: int = 0, budget: Budget | None = None, advance=None) -> Verdict:
    """Verify ``max_i ||f(X)_i - qSA(X)_i||_2 <= eps`` (``task.qsa``) for the head ``c``.

    VERIFIED needs every hypothesis of :mod:`attncheck.verifiers.qsa_proof` proved from the
    arrays and the resulting bound (attention deviation + copy error + rounding) <= eps; a failed
    hypothesis or range check is UNKNOWN naming it, unless a replayed input refutes."""
    mode = pick_mode(c, mode, fmt, attention)
    budget = UNLIMITED if budget is None else budget
    if mode == "sample":
        return _check_sample(c, fmt, attention, samples, seed, budget, advance)
    total = n_subsets(c.N, c.q)
    method = "emulator" if mode == "exhaustive" else "certificate"
    meth = Method.EXHAUSTIVE if method == "emulator" else Method.CERTIFICATE
    family = (f"all C({c.N},{c.q}) = {total} pointer sets x all z with ||z_j|| <= 1"
              + (" (symbolic: output linear in z)" if fmt.is_exact else " (sound rounding bound)"))
    claim = _claim(c, fmt, attention, family)
    facts = prove_head(c)
    ev = {"hypotheses": facts.to_json(), "temperature": c.head.temperature, "theta": c.theta, "eps": c.eps}
    if not facts.ok and (method == "certificate" or facts.K is None):     # nothing to bound / run
        return Verdict(Status.UNKNOWN, meth, claim, total, evidence=ev,
                       reason=f"unproven from the weights: {facts.reason()}")
    loop, r = run_sweep(c, method, fmt, attention, claim=claim, budget=budget, advance=advance, facts=facts)
    if loop.status is not Status.VERIFIED:                               # the budget ran out part way
        return dataclasses.replace(loop, method=meth, evidence={**ev, **loop.evidence})
    return _bound_verdict(c, facts, r, method, claim, ev, fmt, attention)


def _bound_verdict(c: QSAConstruction, facts: HeadFacts, r: Sweep, method: str, claim: str, ev: dict,
                   fmt: Format, attention: str) -> Verdict:
    """The verdict of a complete pass: its sound bound against eps, else a replay of the worst set."""
    total = r.subsets
    meth = Method.EXHAUSTIVE if method == "emulator" else Method.CERTIFICATE
    bound, parts, problems = (exhaustive_bound(c, facts, r, fmt, attention) if method == "emulator"
                              else certificate_bound(facts, r))
    ev = {**ev, "worst_error_bound": bound, "bound_parts": parts, "worst_pointer_set": [s + 1 for s in r.worst]}
    if method == "certificate":
        ev.update(min_scaled_margin=r.min_margin, max_certificate_norm=r.max_norm or None)
    if not problems and bound <= c.eps:
        what = ("l1 deviation of attention from uniform-on-S" if method == "emulator"
                else "leakage bound from score margins read from the weights")
        return Verdict(Status.VERIFIED, meth, claim, total, evidence=ev,
                       reason=f"worst error {bound:.3g} <= eps = {c.eps:g} ({what}, all {total} sets)")
    why = "; ".join(problems) if problems else f"bound {bound:.3g} > eps = {c.eps:g}"
    if method == "certificate":
        return Verdict(Status.UNKNOWN, meth, claim, total, evidence=ev,
                       reason=f"certificate {why}; run --mode exhaustive")
    err, ce = _replay_worst(c, facts, r, fmt, attention)
    ev["replayed_error"] = err
    if err > c.eps:
        return Verdict(Status.REFUTED, meth, claim, total, counterexample=ce, evidence=ev,
                       reason=f"pointer set {[s + 1 for s in r.worst]} with z = {ce.explanation['z_first_coordinate'][:4]}..."
                              f" (first coordinates) gives error {err:.3g} > eps = {c.eps:g} at row {ce.position}")
    return Verdict(Status.UNKNOWN, meth, claim, total, evidence=ev,
                   reason=f"{why}, but the worst-case inputs replay to {err:.3g} <= eps")


# --- sampling: seeded inputs through the one check loop -------------------------------------------
#: Size given to the (uncountable) input domain; its ``draw`` refuses, so it is never enumerated.
UNCOUNTABLE = sys.maxsize


def inputs(c: QSAConstruction) -> Domain:
    """Random inputs of the head, packed as (B, N, d' + q) = [z | y]: every row a uniform q-subset
    and a z uniform in the unit ball.  Sampled only (z is real)."""
    N, q, d = c.N, c.q, c.d_prime

    def draw(start: int, stop: int):
        raise BadInput("qSA inputs (real z) cannot be enumerated; the exhaustive check runs the q-subsets")

    def sample(rng: np.random.Generator, B: int) -> np.ndarray:
        y = np.sort(rng.random((B, N, N)).argsort(axis=2)[..., :q], axis=2)
        z = rng.normal(size=(B, N, d))
        z *= (rng.random((B, N, 1)) ** (1.0 / d)) / np.linalg.norm(z, axis=2, keepdims=True)
        return np.concatenate([z, y.astype(np.float64)], axis=2)

    return Domain(UNCOUNTABLE, draw, sample, "inputs", f"qSA inputs N = {N}, q = {q}, d' = {d}")


def _check_sample(c: QSAConstruction, fmt: Format, attention: str, samples: int, seed: int,
                  budget: Budget, advance) -> Verdict:
    """Seeded random inputs; an input is wrong when a row's error exceeds eps (or is NaN)."""
    d = c.d_prime
    unpack = lambda X: (X[..., :d], X[..., d:].astype(np.int64))

    def compare(X: np.ndarray) -> Found | None:
        z, y = unpack(X)
        out, _ = forward(c, z, y, fmt, attention)
        want = np.array([qsa_truth(zb.tolist(), yb.tolist()) for zb, yb in zip(z, y)])
        wrong = ~(np.linalg.norm(out - want, axis=2) <= c.eps)                  # (B, N)
        bad = np.flatnonzero(wrong.any(axis=1))
        if not bad.size:
            return None
        b = int(bad[0])
        zb, yb = unpack(X[b])
        return Found(b, int(bad.size), _counterexample(c, zb, yb, fmt, attention, int(np.argmax(wrong[b])))[1])

    claim = _claim(c, fmt, attention, f"{samples} random inputs (seed {seed})")
    per_input = input_work(c.N, c.q, c.m, c.d_prime)                  # one input: an N x N score table
    left = budget.remaining
    if left is not None and per_input / FAST_RATE > left:
        return Verdict(Status.UNKNOWN, Method.SAMPLE, claim, 0, evidence={"samples": 0, "seed": seed},
                       reason=f"budget of {budget.seconds:g} s cannot cover one input: it needs about"
                              f" {per_input:.2g} multiply-adds (more than {FAST_RATE:.0e} a second would do"
                              " in the time left); no input checked")
    return checkloop.run(inputs(c), compare, mode="sample", claim=claim, step=max(1, 100_000 // (c.N * c.N)),
                         samples=samples, seed=seed, budget=budget, progress=advance)


# --- cost -----------------------------------------------------------------------------------------
MAX_WORK = 10 ** 10            # multiply-adds an exhaustive or certificate pass may take
#: Multiply-adds a second that sample mode assumes before it starts an input it cannot interrupt:
#: deliberately fast (a fixed-format qSA pass here runs at about 1.5e9), so that it gives up only
#: when even this speed could not finish one input within the budget left.
FAST_RATE = 1e10


def work(c: QSAConstruction) -> int:
    """Multiply-adds of one pass over all q-subsets (one N-row of m-dim scores per subset)."""
    return n_subsets(c.N, c.q) * c.N * (c.m + c.d_prime)


def input_work(N: int, q: int, m: int, d_prime: int) -> int:
    """Multiply-adds of ONE sampled input (N rows: the smallest unit between two budget checks),
    in exact integers: per row the certificate (Gram q x q x m, the solve, q m to combine) and the
    projections (D x (2m + 2d')), plus scores and values (N x (m + d')).  Batched q x q solves run
    about 10x slower than BLAS products here, and a singular Gram (m < q) adds an SVD
    pseudo-inverse, so the solve counts 10 q^3 (30 q^3 when m < q)."""
    D = 2 * (m + d_prime)
    solve = q ** 3 * (10 if m >= q else 30)
    return N * (q * q * m + solve + q * m + D * (2 * m + 2 * d_prime) + N * (m + d_prime))
