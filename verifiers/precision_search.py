"""The fewest fixed-point bits for which a construction's certificate holds (``attncheck precision``).

Search: start from the declared format (raising F, then I, until the certificate closes), then
lower the fraction bits F while it still closes, then the integer bits I.  Each probe is a full
certificate; the probes just below the minimum are reported with the margin that failed, which is
what forces the bits.  The certificate is not guaranteed monotone in (I, F), so the result is
"a minimal format along this search path" and is re-certified before it is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from attncheck.constructions.spec import Construction
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.verifiers.certificate import certify
from attncheck.constructions.precision import MAX_FORMAT_BITS, fixed
from attncheck.constructions.verdict import Status


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
                   budget: Budget = UNLIMITED) -> PrecisionResult:
    """Search as described in the module docstring; when ``budget`` runs out the result is
    not found (UNKNOWN, exit 3) with the probes made so far."""
    probes: list[dict] = []
    try:
        return _search(c, task, params, attention, budget, probes)
    except _OutOfBudget:
        return PrecisionResult(False, c.fmt.int_bits, c.fmt.frac_bits, str(c.fmt),
                               f"budget of {budget.seconds:g} s spent after {len(probes)} probe(s)", tuple(probes))


def _smallest(lo: int, hi: int, good) -> int:
    """Binary search for the smallest x in [lo, hi] with good(x), given good(hi)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if good(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def _search(c, task, params, attention, budget, probes) -> PrecisionResult:
    def ok(I: int, F: int, label: str) -> bool:
        if budget.expired():
            raise _OutOfBudget
        v = certify(c, task, params, fixed(I, F), attention, budget)
        if budget.expired():
            raise _OutOfBudget
        probes.append({"probe": label, "format": f"fixed:{I}.{F}", "verdict": v.status.value,
                       "reason": v.reason})
        return v.status is Status.VERIFIED

    I, F = c.fmt.int_bits, c.fmt.frac_bits
    while not ok(I, F, "start"):
        if I + F + 2 > MAX_FORMAT_BITS:
            return PrecisionResult(False, I, F, str(c.fmt), probes[-1]["reason"], tuple(probes))
        I, F = I + 1, F + 1
    F = _smallest(0, F, lambda f: ok(I, f, "fraction bits"))
    I = _smallest(1, I, lambda i: ok(i, F, "integer bits"))
    if not ok(I, F, "minimum (re-certified)"):
        return PrecisionResult(False, I, F, str(c.fmt), probes[-1]["reason"], tuple(probes))
    why = []
    if F > 0:
        ok(I, F - 1, "one fraction bit fewer")
        why.append(probes[-1]["reason"])
    if I > 1:
        ok(I - 1, F, "one integer bit fewer")
        why.append(probes[-1]["reason"])
    return PrecisionResult(True, I, F, str(c.fmt), " | ".join(why), tuple(probes))
