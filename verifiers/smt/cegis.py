"""Counterexample-guided synthesis: is there ANY model of a finite class that solves a family?

The query (docs/theorems.md section 9.4 template 2) is ``exists theta in class, forall x in family:
decoder(x_N, outputs_theta(x)) = answer(x)``.  With an arbitrary decoder this is "no two inputs
with the same last token and different answers share their head outputs at N".

Loop (every step deterministic: seeded solver, rlimit, inputs in family order):

1. start from one input per (last token, answer) class;
2. solve for tables that separate every conflicting pair of the current inputs;
3. UNSAT -> no model separates even these inputs, hence none solves the family (the answer is a
   proof about the whole finite class); unknown -> UNKNOWN;
4. SAT -> read the tables, check that z3's outputs on the current inputs equal the emulator's
   (a differential check on every iteration), then replay the model on *every* input of the
   family through the emulator (:func:`.tables.replay`).  No clash -> the model is reported
   (verified exhaustively); otherwise add the clashing inputs and go to 2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from attncheck.verifiers.smt.encode import fresh_context
from attncheck.verifiers.smt.families import Family
from attncheck.verifiers.smt.solver import Limits, Session
from attncheck.verifiers.smt.synth import Encoding
from attncheck.verifiers.smt.tables import ModelClass, Replay, TableModel, keys, replay
from attncheck.constructions.verdict import BudgetExceeded


class EncodingMismatch(RuntimeError):
    """z3's evaluation of a model disagrees with the emulator (a bug: exit 4)."""


@dataclass(frozen=True)
class SynthResult:
    """Outcome of one synthesis query.  ``solver_result`` is z3's raw answer on the final input
    set; for ``sat`` the ``model`` was replayed over the whole family (``replay.solves``)."""

    solver_result: str
    cls: ModelClass
    family: Family
    limits: Limits
    iterations: int
    inputs_used: tuple[int, ...]
    model: TableModel | None
    replay: Replay | None
    reason: str
    rlimit_used: int
    symmetry: bool

    def to_json(self, with_model: bool = True) -> dict:
        out = {"solver_result": self.solver_result, "class": self.cls.to_json(),
               "family": self.family.to_json(), **self.limits.to_json(),
               "rlimit_used": self.rlimit_used, "cegis_iterations": self.iterations,
               "inputs_in_final_query": len(self.inputs_used), "symmetry_breaking": self.symmetry,
               "reason": self.reason}
        if self.model is not None and with_model:
            out["model"] = {"tables": self.model.to_json(),
                            "replay": {"inputs_checked": self.replay.checked,
                                       "distinct_decoder_keys": self.replay.distinct_keys,
                                       "solves_family": self.replay.solves,
                                       "decoder": [{"key": list(k),
                                                    "answer": None if a == self.family.bot else a}
                                                   for k, a in self.replay.decoder]}}
        return out


def seed_inputs(family: Family) -> list[int]:
    """First input of every (last token, answer) class, in family order."""
    seen: dict[tuple[int, int], int] = {}
    for i, (x, y) in enumerate(zip(family.inputs, family.answers)):
        seen.setdefault((x[-1], y), i)
    return sorted(seen.values())


def synthesize(cls: ModelClass, family: Family, limits: Limits, symmetry: bool = True,
               per_round: int = 4, on_step: Callable[[int], None] | None = None,
               pins: dict | None = None) -> SynthResult:
    """Run the CEGIS loop until UNSAT, a replayed model, or the limits.  ``pins`` fixes table
    entries (key -> grid integers; see :meth:`.synth.Encoding.entry`) to query a sub-class."""
    with fresh_context():
        return _synthesize(cls, family, limits, symmetry, per_round, on_step, pins)


def _synthesize(cls, family, limits, symmetry, per_round, on_step, pins) -> SynthResult:
    enc = Encoding(cls, family, symmetry, pins, check=limits.budget.check)
    session = Session(limits)
    used: list[int] = []
    xs, ys = family.inputs, family.answers

    def add(i: int) -> None:
        limits.budget.check(inputs_in_query=len(used))
        cons = [enc.separate(xs[i], xs[j]) for j in used if xs[i][-1] == xs[j][-1] and ys[i] != ys[j]]
        used.append(i)
        session.add(enc.pending + cons)
        enc.pending = []

    def result(status: str, reason: str, model=None, rep=None) -> SynthResult:
        return SynthResult(status, cls, family, limits, session.checks, tuple(used), model, rep,
                           reason, session.used, symmetry)

    try:
        return _loop(enc, session, used, add, result, family, per_round, on_step)
    except BudgetExceeded as e:
        return result("unknown", f"{e} while building the query")


def _loop(enc, session, used, add, result, family, per_round, on_step) -> SynthResult:
    xs, ys = family.inputs, family.answers
    for i in seed_inputs(family):
        add(i)
    while True:
        status = session.check()
        if on_step:
            on_step(1)
        if status == "unsat":
            return result("unsat", f"no model of the class separates {len(used)} inputs of the"
                                   f" family (so none solves all {family.size})")
        if status == "unknown":
            return result("unknown", session.reason)
        model = session.model()
        tm = enc.table_model(model)
        check_agreement(enc, model, tm, [xs[i] for i in used[-per_round - len(seed_inputs(family)):]])
        rep = replay(tm, xs, ys, max_collisions=per_round)
        if rep.solves:
            return result("sat", f"model replayed through the emulator on all {family.size} inputs:"
                                 f" {rep.distinct_keys} distinct decoder keys, no clash", tm, rep)
        fresh = [i for pair in rep.collisions for i in pair if i not in used]
        if not fresh:
            raise EncodingMismatch("the solver's model clashes only on inputs it was constrained on")
        for i in dict.fromkeys(fresh):
            add(i)


def check_agreement(enc: Encoding, model, tm: TableModel, inputs) -> None:
    """z3's key on each input must equal the emulator's, bit for bit."""
    want = keys(tm, np.asarray(inputs))[:, 1:]
    for x, w in zip(inputs, want.tolist()):
        got = enc.evaluate_key(model, x)
        if got != w:
            raise EncodingMismatch(f"z3 and the emulator disagree on input {x}: {got} vs {w}")
