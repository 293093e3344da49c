"""Verdicts: the one result type every verifier returns and every command renders.

A verdict is three-valued (STYLE.md practice 7, after CrossHair):

* ``VERIFIED``  -- the claim holds on the whole stated domain, and ``method`` says how
  (exhaustive over ``cases`` inputs, a certificate, an UNSAT SMT query);
* ``REFUTED``   -- a concrete counterexample was found and replayed through the emulator;
* ``UNKNOWN``   -- neither: budget spent, margins too thin for the certificate, a sampled run
  that found nothing, or a solver that gave up.  Never a pass.

Exit codes (``EXIT_*``) are the CLI contract shared by every command.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

# --- exit codes: the contract every command shares -------------------------------------
EXIT_HOLDS = 0        # VERIFIED
EXIT_REFUTED = 1      # REFUTED (counterexample replayed)
EXIT_BAD_INPUT = 2    # bad input / refused before starting (estimate too large)
EXIT_UNDECIDED = 3    # UNKNOWN: budget spent, margins too thin, solver unknown
EXIT_INTERNAL = 4     # internal error (a bug in attncheck)

#: Version of the JSON object every ``--json`` command prints.
JSON_SCHEMA = 1


class Status(str, enum.Enum):
    VERIFIED = "verified"
    REFUTED = "refuted"
    UNKNOWN = "unknown"

    @property
    def exit_code(self) -> int:
        return {Status.VERIFIED: EXIT_HOLDS, Status.REFUTED: EXIT_REFUTED,
                Status.UNKNOWN: EXIT_UNDECIDED}[self]


class Method(str, enum.Enum):
    EXHAUSTIVE = "exhaustive"
    CERTIFICATE = "certificate"
    SAMPLE = "sample"
    SMT = "smt"
    REDUCTION = "reduction"   # finite identity checked case by case


@dataclass(frozen=True)
class Counterexample:
    """One input on which the checked object disagrees with the ground truth.

    ``tokens`` are integer symbol codes (1-indexed positions 1..N map to list indices 0..N-1),
    ``position`` is the 1-indexed position that is wrong, ``expected``/``got`` are symbol codes
    with ``None`` for the bottom symbol.  ``explanation`` holds per-layer evidence (attention
    argmax, weights) from replaying the input through the emulator.
    """

    tokens: tuple[int, ...]
    position: int
    expected: int | None
    got: int | None
    explanation: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"tokens": list(self.tokens), "position": self.position,
                "expected": self.expected, "got": self.got,
                "explanation": dict(self.explanation)}


@dataclass(frozen=True)
class Verdict:
    """The result of one check.

    ``cases`` counts what was covered (inputs enumerated, inputs covered by a certificate as
    a string like ``"3^64"``, samples drawn).  ``evidence`` is method-specific and JSON-ready
    (margins for a certificate, the solver result and rlimit for SMT).  ``reason`` is one line
    a human reads first: why UNKNOWN, or what the counterexample shows.
    """

    status: Status
    method: Method
    claim: str
    cases: int | str
    reason: str = ""
    counterexample: Counterexample | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    def to_json(self) -> dict:
        return {
            "verdict": self.status.value,
            "method": self.method.value,
            "claim": self.claim,
            "cases": self.cases,
            "reason": self.reason,
            "counterexample": None if self.counterexample is None else self.counterexample.to_json(),
            "evidence": dict(self.evidence),
        }


class AttncheckError(Exception):
    """Base of the typed errors that the CLI maps to exit codes (never a traceback)."""

    exit_code = EXIT_INTERNAL


class BadInput(AttncheckError, ValueError):
    """User input that cannot be honoured: N < 2, k > N, too-small D, malformed formats,
    enumerations over budget before starting.  Message is one line naming the bad value."""

    exit_code = EXIT_BAD_INPUT


class BudgetExceeded(AttncheckError):
    """Raised inside long work when ``--budget`` runs out; callers turn it into UNKNOWN."""

    exit_code = EXIT_UNDECIDED

    def __init__(self, message: str, progress: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.progress = dict(progress or {})
