"""Wall-clock budgets for long work (``--budget SECONDS``).

Long loops call :meth:`Budget.check` between chunks; when time is up it raises
:class:`~attncheck.constructions.verdict.BudgetExceeded` carrying the progress so far, and the
caller reports an honest UNKNOWN (exit 3).  Solvers are bounded by work (rlimit) as well.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from attncheck.constructions.verdict import BadInput, BudgetExceeded


@dataclass
class Budget:
    seconds: float | None = None
    start: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        if self.seconds is not None and not (self.seconds > 0):
            raise BadInput(f"--budget must be a positive number of seconds, got {self.seconds}")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    @property
    def remaining(self) -> float | None:
        return None if self.seconds is None else self.seconds - self.elapsed

    def expired(self) -> bool:
        return self.seconds is not None and self.elapsed > self.seconds

    def check(self, **progress) -> None:
        if self.expired():
            raise BudgetExceeded(f"budget of {self.seconds:g} s spent", progress)


UNLIMITED = Budget(None)
