"""The n-gram baseline: an order-n model cannot compute the induction head (``ngram.ih`` [R]).

An *order-n model* predicts the answer at position N from the last n tokens
``w = (X_{N-n+1}, ..., X_N)`` only: it is a table with ``|Sigma|^n`` entries (its parameter
count).  The induction-head answer ``tau_N`` (docs/theorems.md ``task.ih``) depends on the token
after the last earlier occurrence of X_N, which can lie outside the window.

Witness (explicit, any N >= n+1, |Sigma| >= 2, n >= 1), with s = 0 and f = 1:

    x  = (s, f, ..., f, | f, ..., f, s)      tau_N(x)  = X_2   (s occurred at position 1)
    x' = (f, f, ..., f, | f, ..., f, s)      tau_N(x') = bottom (s never occurred before)

both ending in the same window ``(f^{n-1}, s)``, so no table can be right on both.  For
N <= n the window is the whole input and a table is exact, so N = n+1 is the exact threshold.
(The issue text says N > n+1; position 1 already matters at N = n+1, as the witness shows.)

Exhaustively (small sizes) the module also builds the best order-n table under the uniform
distribution on Sigma^N (majority answer per window) and counts its errors exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.bounds.witnesses.domain import (Progress, answers, make_domain, validate_sizes)
from attncheck.constructions.tasks import induction_heads
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import BadInput

THEOREM = ("ngram.ih", "R")
#: Longest explicit witness: the pair is 2N tokens, checked against tasks.induction_heads in plain
#: Python and printed in full (about 1 s at the cap here; 2^20 takes 8 s to render).
MAX_WITNESS_N = 1 << 16
#: |Sigma|^n (the table's entry count) is reported exactly up to this many bits (~900 digits),
#: beyond as the text "|Sigma|^n": the exact power would be slow to build and could not be printed.
MAX_EXACT_BITS = 3000
#: The CLI builds the best table by default when |Sigma|^N is at most this.
DEFAULT_EXHAUSTIVE_INPUTS = 1 << 20


def table_entries(alphabet: int, n: int) -> int | str:
    """``|Sigma|^n`` exactly, or the text ``"|Sigma|^n"`` (e.g. ``"3^1000000"``) when it has more
    than :data:`MAX_EXACT_BITS` bits (decided from bit lengths, before any power is taken)."""
    if alphabet.bit_length() * n <= MAX_EXACT_BITS:
        return alphabet ** n
    return f"{alphabet}^{n}"


def exhaustive_by_default(N, alphabet) -> bool:
    """``|Sigma|^N <= DEFAULT_EXHAUSTIVE_INPUTS``, by exact integer arithmetic that never raises a
    huge power (|Sigma| >= 2 needs N <= 20 first); False for invalid sizes (validated later)."""
    if not (isinstance(N, int) and isinstance(alphabet, int) and N >= 2 and alphabet >= 2):
        return False
    limit_bits = DEFAULT_EXHAUSTIVE_INPUTS.bit_length() - 1
    return N <= limit_bits and alphabet ** N <= DEFAULT_EXHAUSTIVE_INPUTS


@dataclass(frozen=True)
class NgramTable:
    """The best order-n table on Sigma^N (uniform inputs): ``predict[w]`` is an answer code
    (bottom = |Sigma|) for the window with lexicographic code w (the window is the whole input
    when N < n, so only |Sigma|^min(n, N) entries are ever read)."""

    n: int
    N: int
    alphabet: int
    predict: tuple[int, ...]
    inputs: int
    errors: int
    ambiguous_windows: int

    @property
    def parameters(self) -> int | str:
        return table_entries(self.alphabet, self.n)

    def __call__(self, x) -> int:
        w = 0
        for s in x[max(0, len(x) - self.n):]:
            w = w * self.alphabet + int(s)
        return self.predict[w]


@dataclass(frozen=True)
class NgramWitness:
    n: int
    N: int
    alphabet: int
    solvable: bool                       # N <= n: the window is the whole input
    x: tuple[int, ...] | None
    x_prime: tuple[int, ...] | None
    answers: tuple[int | None, int | None] | None
    table: NgramTable | None = None

    @property
    def parameters(self) -> int | str:
        """|Sigma|^n table entries (see :func:`table_entries`: text when too large to write out)."""
        return table_entries(self.alphabet, self.n)

    def claim(self) -> str:
        tid, tag = THEOREM
        if self.solvable:
            return (f"{tid} [{tag}]: at N={self.N} <= n={self.n} the window is the whole input;"
                    f" an order-{self.n} table ({self.parameters} entries) computes induction exactly")
        return (f"{tid} [{tag}]: no order-{self.n} model ({self.parameters} table entries) computes"
                f" induction at N={self.N} >= n+1: two inputs share the last {self.n} tokens"
                f" but have different answers")

    def to_json(self) -> dict:
        tid, tag = THEOREM
        out = {"theorem": tid, "status_tag": tag, "n": self.n, "N": self.N, "alphabet": self.alphabet,
               "parameters": self.parameters, "threshold_N": self.n + 1, "solvable": self.solvable,
               "x": None if self.x is None else list(self.x),
               "x_prime": None if self.x_prime is None else list(self.x_prime),
               "window": None if self.x is None else list(self.x[self.N - self.n:]),
               "answers": None if self.answers is None else list(self.answers)}
        if self.table is not None:
            t = self.table
            out["best_table"] = {"inputs": t.inputs, "errors": t.errors,
                                 "error_rate": round(t.errors / t.inputs, 6),
                                 "ambiguous_windows": t.ambiguous_windows,
                                 "windows": t.parameters}
        return out


def _validate(n: int, N: int, alphabet: int) -> None:
    validate_sizes(N, alphabet)
    if not isinstance(n, int) or n < 1:
        raise BadInput(f"--order (the tokens the model sees) must be an integer >= 1, got {n!r}")
    if N > n and N > MAX_WITNESS_N:
        raise BadInput(f"--N {N}: the explicit witness is two inputs of N tokens each ({2 * N:,} tokens,"
                       f" built, checked and printed), over the cap of N <= {MAX_WITNESS_N:,};"
                       f" the witness has the same shape at every N >= n+1 = {n + 1}")


def explicit_witness(n: int, N: int, alphabet: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The two inputs of the module docstring, or None when N <= n (no witness exists)."""
    _validate(n, N, alphabet)
    if N <= n:
        return None
    s, f = 0, 1
    window = (f,) * (n - 1) + (s,)
    x = (s,) + (f,) * (N - n - 1) + window
    x_prime = (f,) * (N - n) + window
    return x, x_prime


def best_table(n: int, N: int, alphabet: int, budget: Budget | None = None,
               on_step: Progress | None = None) -> NgramTable:
    """Exhaustive: the majority answer per window over Sigma^N and its exact error count."""
    _validate(n, N, alphabet)
    d = make_domain("induction", N, alphabet)
    ans = answers(d, budget or UNLIMITED, on_step)
    W = alphabet ** min(n, N)
    by_window = ans.reshape(-1, W)                            # (|Sigma|^(N-n), W): column = window
    values = d.bot + 1
    counts = np.zeros((W, values), dtype=np.int64)            # (W, answers)
    for v in range(values):
        counts[:, v] = (by_window == v).sum(axis=0)
    predict = counts.argmax(axis=1)
    errors = int(d.size - counts.max(axis=1).sum())
    ambiguous = int(((counts > 0).sum(axis=1) > 1).sum())
    return NgramTable(n, N, alphabet, tuple(int(p) for p in predict), d.size, errors, ambiguous)


def ngram_witness(n: int, N: int, alphabet: int, exhaustive: bool = False,
                  budget: Budget | None = None, on_step: Progress | None = None) -> NgramWitness:
    """The explicit witness (checked against tasks.induction_heads) and, if ``exhaustive``,
    the best order-n table with its exact error count."""
    pair = explicit_witness(n, N, alphabet)
    ans = None
    if pair is not None:
        x, xp = pair
        a, b = induction_heads(x)[-1], induction_heads(xp)[-1]
        if a == b or x[N - n:] != xp[N - n:]:
            raise AssertionError(f"n-gram witness broken: {x} / {xp} give {a} / {b}")
        ans = (a, b)
    table = best_table(n, N, alphabet, budget, on_step) if exhaustive else None
    return NgramWitness(n, N, alphabet, pair is None, None if pair is None else pair[0],
                        None if pair is None else pair[1], ans, table)
