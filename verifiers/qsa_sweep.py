"""One pass over every q-subset of the qSA head (``sht23.thm2``, ``sht23.thm3``), through the one
check loop (:func:`attncheck.verifiers.checkloop.run`).

Shape glossary: N positions, q pointer-set size, k a batch of q-subsets (S (k, q), 0-indexed).

Why one attention row per subset stands for every input: the query depends on the pointer set
only and the output is linear in z (the ``query``/``key``/``value`` hypotheses of
:mod:`attncheck.verifiers.qsa_proof`), so the worst error of a row pointing at S over all
``||z_j|| <= 1`` is the l1 distance between its attention row and uniform-on-S.  The loop owns the
enumeration order, chunks, ``--budget`` and progress; a pass records the running maxima the
bounds need (:class:`Sweep`), and only a width search stops early (a subset whose certificate
fails is its counterexample).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.qsa import QSAConstruction, batch_rows, n_subsets
from attncheck.constructions.verdict import BudgetExceeded, Counterexample, Status, Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Domain, Found
from attncheck.verifiers.qsa_proof import HeadFacts, prove_head
from attncheck.verifiers.qsa_run import forward, uniform_on
from attncheck.verifiers.qsa_scores import certificate_scores, code_scores, int_exact, leakage_bound

METHODS = ("emulator", "certificate", "margin")


@dataclass(frozen=True)
class Sweep:
    """Result of a pass over q-subsets.  ``worst`` maximises ``value`` (the l1 deviation for the
    emulator sweep, the leakage bound for the certificate sweep, the off-set score for a width
    search); ``row`` is the attention row (emulator) or score row (certificate) of ``worst``.
    ``stats`` (emulator): ``sum_a``, ``min_Z``, ``sum_e`` over all rows (see
    :class:`~attncheck.verifiers.qsa_proof.ValueStats`), ``max_norm`` (largest ``||w_S||``)
    and ``int_exact`` (every score an exact float64 integer sum, see
    :func:`~attncheck.verifiers.qsa_scores.int_exact`)."""

    subsets: int
    value: float
    worst: tuple[int, ...]
    row: tuple[float, ...]
    min_margin: float
    max_norm: float
    complete: bool
    stats: dict = field(default_factory=dict)


def subsets(N: int, q: int) -> Domain:
    """The q-subsets of {0..N-1} in lexicographic order (``itertools.combinations``), as (k, q)
    int64 batches; a draw that starts where the last one stopped continues the enumeration."""
    state: dict = {"pos": None, "it": None}

    def draw(start: int, stop: int) -> np.ndarray:
        if state["pos"] != start:
            state["it"] = itertools.islice(itertools.combinations(range(N), q), start, None)
        chunk = list(itertools.islice(state["it"], stop - start))
        state["pos"] = stop
        return np.array(chunk, dtype=np.int64).reshape(len(chunk), q)

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        return np.sort(rng.random((n, N)).argsort(axis=1)[:, :q], axis=1)

    return Domain(n_subsets(N, q), draw, sample, "subsets", f"C({N},{q})")


def step(c: QSAConstruction, method: str) -> int:
    """Subsets per batch: :func:`~attncheck.constructions.qsa.batch_rows` for the emulator (one
    row per subset), about 10^6 score entries otherwise."""
    return batch_rows(c.N) if method == "emulator" else max(1, 1_000_000 // (c.N * c.q + c.q ** 3))


# --- what one batch contributes -------------------------------------------------------------------
@dataclass
class _Running:
    """The running maxima of one pass (mutable, private to :func:`run_sweep`)."""

    value: float = -math.inf
    worst: tuple[int, ...] = ()
    row: tuple[float, ...] = ()
    min_margin: float = math.inf
    max_norm: float = 0.0
    done: int = 0
    stats: dict = field(default_factory=dict)

    def add(self, S: np.ndarray, vals: np.ndarray, rows: np.ndarray) -> None:
        i = int(np.argmax(vals))
        if vals[i] > self.value:
            self.value, self.worst = float(vals[i]), tuple(int(s) for s in S[i])
            self.row = tuple(float(v) for v in rows[i])
        self.done += len(S)

    def result(self, complete: bool) -> Sweep:
        return Sweep(self.done, self.value, self.worst, self.row, self.min_margin, self.max_norm,
                     complete, self.stats)


def _emulator_chunk(c: QSAConstruction, S: np.ndarray, fmt: Format, attention: str):
    """Run the head with row t of the batch pointing at subset t (rows t mod N of input t // N).
    -> (l1 deviations (k,), attention rows (k, N))."""
    N, q = c.N, c.q
    k = len(S)
    pad = np.concatenate([S, np.repeat(S[-1:], (-k) % N, axis=0)])  # (B*N, q)
    y = pad.reshape(-1, N, q)
    _, w = forward(c, np.zeros(y.shape[:2] + (c.d_prime,)), y, fmt, attention)
    rows = w.reshape(-1, N)[:k]                                      # (k, N)
    vals = np.abs(rows - uniform_on(S, N)).sum(axis=1)
    return np.where(np.isnan(vals), np.inf, vals), rows              # NaN weights: no bound


def _emulator_stats(c: QSAConstruction, facts: HeadFacts | None, S: np.ndarray, rows: np.ndarray,
                    fmt: Format) -> dict:
    """Per-batch maxima the error bound needs (see :class:`Sweep`).  Z = 1 / max_j weight_j holds
    because the exponential at the maximum is exactly 1 (``z range`` hypothesis)."""
    if not np.all(np.isfinite(rows)) or np.any(rows.max(axis=1) <= 0):
        st = {"sum_a": math.inf, "min_Z": 0.0, "sum_e": math.inf}                  # no bound
    else:
        top = rows.max(axis=1)                                                   # (k,) = 1 / Z
        st = {"sum_a": float(rows.sum(axis=1).max()), "min_Z": float((1.0 / top).min()),
              "sum_e": float((rows.sum(axis=1) / top).max())}
    if fmt.is_exact and facts is not None and facts.K is not None:
        W = c.query_codes(S)
        st["max_norm"] = float(np.linalg.norm(W, axis=1).max())
        st["int_exact"] = int_exact(c, facts, W)
    return st


def _merge(a: dict, b: dict) -> dict:
    out = dict(b) if not a else {
        "sum_a": max(a["sum_a"], b["sum_a"]), "min_Z": min(a["min_Z"], b["min_Z"]),
        "sum_e": max(a["sum_e"], b["sum_e"])}
    if "max_norm" in b and a:
        out["max_norm"] = max(a["max_norm"], b["max_norm"])
        out["int_exact"] = a["int_exact"] and b["int_exact"]
    return out


def _measure(c: QSAConstruction, method: str, S: np.ndarray, fmt: Format, attention: str,
             facts: HeadFacts | None, gram: np.ndarray | None, acc: _Running):
    """One batch of subsets by ``method`` -> (values (k,), rows (k, N)); updates ``acc``'s
    statistics (not its worst subset)."""
    inset = uniform_on(S, c.N) > 0                                   # (k, N)
    if method == "emulator":
        vals, rows = _emulator_chunk(c, S, fmt, attention)
        acc.stats = _merge(acc.stats, _emulator_stats(c, facts, S, rows, fmt))
        return vals, rows
    if method == "certificate":
        rows, slack, norms = certificate_scores(c, facts, S, gram)      # (k, N)
        vals, margins = leakage_bound(rows, slack, inset)
        acc.min_margin = min(acc.min_margin, float(margins.min()))
        acc.max_norm = max(acc.max_norm, float(norms.max()))
        return vals, rows
    rows, norms = code_scores(c, S)                                     # (k, N), (k,)
    lo = np.where(inset, rows, np.inf).min(axis=1)
    hi = np.where(inset, rows, -np.inf).max(axis=1)
    off = np.where(inset, -np.inf, rows).max(axis=1)
    acc.min_margin = min(acc.min_margin, float((lo - off).min()))
    if norms is not None:
        acc.max_norm = max(acc.max_norm, float(norms.max()))
    return np.where((np.abs(lo - 1) <= 1e-9) & (np.abs(hi - 1) <= 1e-9), off, np.inf), rows


def _over(S: np.ndarray, vals: np.ndarray, rows: np.ndarray, limit: float, N: int) -> Found:
    """The first subset of a batch whose value exceeds ``limit`` (a certificate that fails)."""
    bad = np.flatnonzero(vals > limit)
    i = int(bad[0])
    off = np.where(uniform_on(S[i:i + 1], N)[0] > 0, -np.inf, rows[i])
    return Found(i, int(bad.size), Counterexample(tuple(int(s) + 1 for s in S[i]), int(np.argmax(off)) + 1,
                                                  None, None, {"value": float(vals[i]), "limit": limit}))


# --- the pass -------------------------------------------------------------------------------------
def run_sweep(c: QSAConstruction, method: str, fmt: Format = EXACT, attention: str = "softmax", *,
              claim: str = "", stop_above: float | None = None, budget: Budget | None = None,
              advance=None, facts: HeadFacts | None = None) -> tuple[Verdict, Sweep]:
    """Every q-subset S through :func:`checkloop.run`, by ``method``:

    * ``"emulator"``: run the head (in ``fmt``) with y_i = S and record the l1 distance between
      the attention row and uniform-on-S; ``stats`` feed the rounding bounds;
    * ``"certificate"``: no softmax at all; the leakage bound of the scores the weights give
      (needs ``facts``, proved here when not given);
    * ``"margin"``: the largest off-set *code* score (a width search).

    With ``stop_above`` the pass stops after the batch where the running maximum first exceeds
    it (REFUTED, ``complete`` False).  The loop's verdict says whether the pass ran through
    (VERIFIED means every subset was measured, not that a bound holds) or the budget ran out."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "certificate" and facts is None:
        facts = prove_head(c)
    gram = c.keys @ c.keys.T if method == "certificate" and facts.gram_path else None   # (N, N)
    acc = _Running()

    def compare(S: np.ndarray) -> Found | None:
        vals, rows = _measure(c, method, S, fmt, attention, facts, gram, acc)
        acc.add(S, vals, rows)
        if stop_above is not None and acc.value > stop_above:
            return _over(S, vals, rows, stop_above, c.N)
        return None

    v = checkloop.run(subsets(c.N, c.q), compare, mode="exhaustive", step=step(c, method),
                      claim=claim or f"{method} pass over all C({c.N},{c.q}) pointer sets",
                      budget=UNLIMITED if budget is None else budget, progress=advance)
    return v, acc.result(complete=v.status is Status.VERIFIED)


def sweep(c: QSAConstruction, method: str, fmt: Format = EXACT, attention: str = "softmax",
          stop_above: float | None = None, budget: Budget | None = None, advance=None,
          facts: HeadFacts | None = None) -> Sweep:
    """:func:`run_sweep` without its verdict; raises BudgetExceeded when the budget runs out."""
    v, r = run_sweep(c, method, fmt, attention, stop_above=stop_above, budget=budget, advance=advance,
                     facts=facts)
    if v.status is Status.UNKNOWN:
        raise BudgetExceeded(v.reason, v.evidence.get("progress"))
    return r
