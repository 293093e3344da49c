"""A seeded z3 solver bounded by work (rlimit) and optionally by wall-clock (--budget).

Determinism (STYLE.md practice 7, after CrossHair): every query runs with a fixed solver seed
and a resource limit counted in z3's deterministic work units (``rlimit``), so the same command
gives the same answer on any machine.  ``--budget`` adds a wall-clock timeout, which is *not*
deterministic; reports say which limit ended a run.  The rlimit is a total over all the checks
of one query (CEGIS calls the solver many times): before each check the solver gets what is
left, read from z3's ``rlimit count`` (a counter of the whole z3 context, so a session
subtracts the value it found when it started).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.verifiers.smt.encode import ctx, z3mod
from attncheck.constructions.verdict import BadInput

DEFAULT_RLIMIT = 50_000_000
MAX_RLIMIT = 10 ** 12


@dataclass(frozen=True)
class Limits:
    """Solver seed and work limit (z3 resource units) for one query."""

    seed: int = 0
    rlimit: int = DEFAULT_RLIMIT
    budget: Budget = field(default_factory=lambda: UNLIMITED, compare=False)

    def __post_init__(self):
        if not isinstance(self.rlimit, int) or not 0 < self.rlimit <= MAX_RLIMIT:
            raise BadInput(f"--rlimit must be an integer in 1..{MAX_RLIMIT}, got {self.rlimit}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise BadInput(f"--seed must be a non-negative integer for the solver, got {self.seed}")

    def to_json(self) -> dict:
        return {"solver_seed": self.seed, "rlimit": self.rlimit,
                "budget_s": self.budget.seconds}


class Session:
    """The constraints of one query; :meth:`check` returns ``"sat"``, ``"unsat"`` or
    ``"unknown"``.  Each check runs a fresh solver on all constraints so far: z3's one-shot
    bit-blasting path, which is faster here than its incremental core, and independent of the
    history of earlier checks."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.constraints: list = []
        self.solver = None
        self.used = 0
        self.checks = 0
        self.reason = ""

    def add(self, constraints) -> None:
        self.constraints += list(constraints)

    def _fresh(self):
        z3 = z3mod()
        probe = z3.Solver(ctx=ctx())
        probe.check()                       # an empty check reads the context's work counter
        s = z3.Solver(ctx=ctx())
        s.set("random_seed", self.limits.seed)
        s.add(*self.constraints)
        return s, self._count(probe)

    def check(self) -> str:
        z3 = z3mod()
        self.solver, base = self._fresh()
        left = self.limits.rlimit - self.used
        if left <= 0:
            self.reason = f"rlimit {self.limits.rlimit:,} spent"
            return "unknown"
        self.solver.set("rlimit", left)
        remaining = self.limits.budget.remaining
        if remaining is not None:
            if remaining <= 0:
                self.reason = f"budget of {self.limits.budget.seconds:g} s spent"
                return "unknown"
            self.solver.set("timeout", max(1, int(remaining * 1000)))
        r = self.solver.check()
        self.checks += 1
        self.used += self._count(self.solver) - base
        if r == z3.sat:
            return "sat"
        if r == z3.unsat:
            return "unsat"
        why = self.solver.reason_unknown()
        if self.used >= self.limits.rlimit:
            self.reason = f"rlimit {self.limits.rlimit:,} spent ({why})"
        elif self.limits.budget.expired():
            self.reason = f"budget of {self.limits.budget.seconds:g} s spent ({why})"
        else:
            self.reason = f"z3 gave up: {why}"
        return "unknown"

    def model(self):
        return self.solver.model()

    @staticmethod
    def _count(solver) -> int:
        """z3's cumulative work counter of the (shared) context."""
        st = solver.statistics()
        return int(st.get_key_value("rlimit count")) if "rlimit count" in st.keys() else 0

    def to_json(self) -> dict:
        return {"rlimit_used": self.used, "checks": self.checks}
