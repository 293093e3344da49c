"""The fewest fixed-point bits for which a construction's certificate holds (``attncheck precision``).

Search: start from the declared format (raising F, then I, until the certificate closes), then
lower the fraction bits F while it still closes, then the integer bits I.  Each probe is a full
certificate; the probes just below the minimum are reported with the margin that failed, which is
what forces the bits.  The certificate is not guaranteed monotone in (I, F), so the result is
"a minimal format along this search path" and is re-certified before it is reported.

Sharding (issue 15): the certificates run as tasks of the command's executor
(:mod:`attncheck.constructions.executor`: one process, or Dask under ``--workers`` /
``--scheduler``).  The search itself stays the serial one -- it reads the probes in the same order
and reports the same ones -- but with W workers, each time it needs a certificate it has not got,
it also asks for the ones it may need next (:func:`_lookahead`): the next W formats of the start
loop, the first W nodes in breadth-first order of what remains of a binary search (the midpoint,
then the midpoints of both halves, ...), the three final probes together.  Certificates are pure
functions of (construction, task, format, attention), so the result and the probes are the
one-process run's whoever computes them; one process (W = 1) asks for exactly the probes it
reads.  A format probed twice is certified once (the certificate is deterministic), except the
minimum, which is certified anew before it is reported, as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from attncheck.constructions.spec import Construction
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.executor import Executor, current
from attncheck.verifiers.certificate import certify
from attncheck.constructions.precision import MAX_FORMAT_BITS, fixed
from attncheck.constructions.verdict import BudgetExceeded, Status


@dataclass(frozen=True)
class PrecisionResult:
    found: bool
    int_bits: int
    frac_bits: int
    declared: str
    reason: str
    probes: tuple = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {"found": self.found, "format": f"fixed:{self.int_bits}.{self.frac_bits}" if self.found else None,
                "int_bits": self.int_bits, "frac_bits": self.frac_bits,
                "bits": self.int_bits + self.frac_bits if self.found else None,
                "declared": self.declared, "reason": self.reason, "probes": list(self.probes)}


class _OutOfBudget(Exception):
    pass


def minimal_format(c: Construction, task: str, params: dict, attention: str = "softmax",
                   budget: Budget = UNLIMITED, executor: Executor | None = None) -> PrecisionResult:
    """Search as described in the module docstring; when ``budget`` runs out the result is
    not found (UNKNOWN, exit 3) with the probes made so far.  ``executor`` (default: the
    command's, :func:`~attncheck.constructions.executor.current`) runs the certificates."""
    probes: list[dict] = []
    ev = _Evaluator(c, task, params, attention, budget, current() if executor is None else executor)
    try:
        return _search(ev, c, budget, probes)
    except _OutOfBudget:
        return PrecisionResult(False, c.fmt.int_bits, c.fmt.frac_bits, str(c.fmt),
                               f"budget of {budget.seconds:g} s spent after {len(probes)} probe(s)", tuple(probes))


@dataclass(frozen=True)
class _Certify:
    """One task: the certificate of ``c`` at fixed:I.F (item ``(I, F, seconds left or None)``)
    -> (status value, reason)."""

    c: Construction
    task: str
    params: dict
    attention: str

    def __call__(self, item: tuple[int, int, float | None]) -> tuple[str, str]:
        I, F, left = item
        budget = UNLIMITED if left is None else Budget(max(left, 1e-6))
        v = certify(self.c, self.task, self.params, fixed(I, F), self.attention, budget)
        return v.status.value, v.reason


class _Evaluator:
    """Certificates by format, computed through the executor a batch at a time and kept."""

    def __init__(self, c, task, params, attention, budget: Budget, executor: Executor):
        self.fn = _Certify(c, task, params, attention)
        self.budget, self.executor = budget, executor
        self.done: dict[tuple, tuple[str, str]] = {}

    def width(self) -> int:
        """How many certificates to ask for at once: the executor's workers (1: one process)."""
        return max(1, self.executor.workers) if self.executor.distributed else 1

    def get(self, point: tuple, ahead: list[tuple]) -> tuple[str, str]:
        """The certificate at ``point`` = (I, F), or (I, F, "again") for one computed anew; when
        it is missing, it and the first of ``ahead`` that are missing, up to :meth:`width` in
        all, are computed together."""
        if point not in self.done:
            batch = [point] + [q for q in dict.fromkeys(ahead) if q != point and q not in self.done]
            batch = batch[:self.width()]
            left = self.budget.remaining
            try:
                with self.executor.stream(self.fn, len(batch), lambda i: (*batch[i][:2], left),
                                          check=self.budget.check, budget=self.budget, group=False) as st:
                    for i, result in st:
                        self.done[batch[i]] = result
            except BudgetExceeded:
                raise _OutOfBudget from None
        return self.done[point]


def _lookahead(lo: int, hi: int, n: int) -> list[int]:
    """The first ``n`` midpoints :func:`_smallest` may test on [lo, hi], breadth first."""
    out, level = [], [(lo, hi)]
    while level and len(out) < n:
        nxt = []
        for a, b in level:
            if a < b:
                mid = (a + b) // 2
                out.append(mid)
                nxt += [(a, mid), (mid + 1, b)]
        level = nxt
    return out[:n]


def _smallest(lo: int, hi: int, good) -> int:
    """Binary search for the smallest x in [lo, hi] with good(x, lo, hi), given good(hi)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if good(mid, lo, hi):
            hi = mid
        else:
            lo = mid + 1
    return hi


def _search(ev: _Evaluator, c, budget, probes) -> PrecisionResult:
    def ok(I: int, F: int, label: str, ahead: list[tuple] = (), again: bool = False) -> bool:
        if budget.expired():
            raise _OutOfBudget
        status, reason = ev.get((I, F, "again") if again else (I, F), list(ahead))
        if budget.expired():
            raise _OutOfBudget
        probes.append({"probe": label, "format": f"fixed:{I}.{F}", "verdict": status, "reason": reason})
        return status == Status.VERIFIED.value

    def start_ahead(I: int, F: int) -> list[tuple[int, int]]:
        return [(I + j, F + j) for j in range(1, ev.width()) if I + F + 2 * j <= MAX_FORMAT_BITS]

    I, F = c.fmt.int_bits, c.fmt.frac_bits
    while not ok(I, F, "start", start_ahead(I, F)):
        if I + F + 2 > MAX_FORMAT_BITS:
            return PrecisionResult(False, I, F, str(c.fmt), probes[-1]["reason"], tuple(probes))
        I, F = I + 1, F + 1
    F = _smallest(0, F, lambda f, lo, hi: ok(I, f, "fraction bits",
                                             [(I, x) for x in _lookahead(lo, hi, ev.width())]))
    I = _smallest(1, I, lambda i, lo, hi: ok(i, F, "integer bits",
                                             [(x, F) for x in _lookahead(lo, hi, ev.width())]))
    last = [(I, F, "again")] + ([(I, F - 1)] if F > 0 else []) + ([(I - 1, F)] if I > 1 else [])
    if not ok(I, F, "minimum (re-certified)", last, again=True):
        return PrecisionResult(False, I, F, str(c.fmt), probes[-1]["reason"], tuple(probes))
    why = []
    if F > 0:
        ok(I, F - 1, "one fraction bit fewer", last)
        why.append(probes[-1]["reason"])
    if I > 1:
        ok(I - 1, F, "one integer bit fewer", last)
        why.append(probes[-1]["reason"])
    return PrecisionResult(True, I, F, str(c.fmt), " | ".join(why), tuple(probes))
