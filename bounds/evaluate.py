"""Bounds beside constructions: the data behind ``attncheck bounds table`` and ``sweep``.

Pipeline (STYLE.md practice 1): ``params -> evaluate every bound -> measure the matching
constructions -> compare``.  A row says "the bound says X (status, source); our construction
uses Y; ratio Y/X".  For a lower bound the ratio should be >= 1 wherever the bound applies;
for an upper bound with a hidden constant (O(·), "c unknown") the ratio is our constant at
these sizes; for an exact statement (``L = ⌊log2 k⌋ + 2``) ratio 1 means we match it.

Bounds outside their regime (``OutOfRegime``) become rows carrying the reason; invalid
parameters (negative, zero under a logarithm) raise BadInput before anything is evaluated.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

from attncheck.bounds.formulas import BOUNDS, all_param_names, get
from attncheck.bounds.records import (Bound, BoundValue, OutOfRegime, QuantityValue, Value,
                                      json_param)
from attncheck.bounds.sizes import COMPANIONS, Measured, measure
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.executor import Executor, current
from attncheck.constructions.verdict import BadInput, BudgetExceeded

#: Table-wide defaults for construction parameters that are not bound parameters.
CONSTRUCTION_DEFAULTS = {"alphabet": 3, "q": 2, "dprime": 1}
#: Most points a sweep may have (refused beyond, with the count).
MAX_POINTS = 200


@dataclass(frozen=True)
class Comparison:
    """One construction's value of one quantity's resource, and its ratio to the bound."""

    construction: str
    uses: int | None
    ratio: Value | None
    reason: str = ""

    def to_json(self) -> dict:
        return {"construction": self.construction, "uses": self.uses,
                "ratio": None if self.ratio is None else self.ratio.to_json(),
                "reason": self.reason or None}


@dataclass(frozen=True)
class PartRow:
    value: QuantityValue
    ours: tuple[Comparison, ...]

    def to_json(self) -> dict:
        return {**self.value.to_json(), "ours": [c.to_json() for c in self.ours]}


@dataclass(frozen=True)
class BoundRow:
    """One bound at the table's parameters: its quantities, or why it is out of regime."""

    bound: Bound
    params: Mapping[str, Any]
    result: BoundValue | None
    problem: str | None
    parts: tuple[PartRow, ...]
    measured: tuple[Measured, ...]

    def to_json(self) -> dict:
        b = self.bound
        return {"id": b.id, "title": b.title, "source": str(b.source), "status": b.source.tag,
                "direction": b.direction, "conditional_on": b.conditional_on, "constant": b.constant,
                "params": {k: json_param(v) for k, v in self.params.items()},
                "outside_regime": self.problem,
                "quantities": [p.to_json() for p in self.parts],
                "notes": [] if self.result is None else list(self.result.notes),
                "construction": b.construction, "construction_note": b.construction_note or None}


def ratio(uses: int | None, bound: Value) -> Value | None:
    """``uses / bound`` (exact where the bound value is), None when undefined."""
    if uses is None or bound.approx == 0:
        return None
    if bound.exact is not None:
        r = Fraction(uses) / Fraction(bound.exact)
        return Value(r, float(r), _short(float(r)))
    r = uses / bound.approx
    return Value(None, r, _short(r))


def _short(x: float) -> str:
    return f"{x:.3g}" if x < 1e6 else f"{x:.2e}"


def bound_params(b: Bound, given: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of table parameters this bound takes (None means: use its default)."""
    return {k: v for k, v in given.items() if k in b.param_names and v is not None}


def check_names(given: Mapping[str, Any]) -> None:
    """BadInput for a parameter name no bound takes (a typo in ``--set``)."""
    known = set(all_param_names())
    unknown = sorted(set(given) - known)
    if unknown:
        raise BadInput(f"no bound takes parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def check_k_le_n(given: Mapping[str, Any]) -> None:
    n, k = given.get("N"), given.get("k")
    if isinstance(n, int) and isinstance(k, int) and n >= 2 and k > n:
        raise BadInput(f"k = {k} > N = {n}: the hop count must satisfy k ≤ N")


def validate_all(given: Mapping[str, Any], ids: tuple[str, ...]) -> None:
    """Resolve every bound's parameters first, so a bad value is one BadInput (exit 2)
    rather than a table of failed rows."""
    check_k_le_n(given)
    for bid in ids:
        BOUNDS[bid].resolve(bound_params(BOUNDS[bid], given))


def bound_row(b: Bound, given: Mapping[str, Any], do_measure: bool, seed: int = 0,
              measure_fn: Callable[[str, Mapping[str, Any]], Measured] = measure) -> BoundRow:
    """Evaluate one bound and measure its construction(s) at the same parameters
    (construction-only parameters such as the alphabet take :data:`CONSTRUCTION_DEFAULTS`)."""
    resolved = b.resolve(bound_params(b, given))
    try:
        result = b.evaluate(**bound_params(b, given))
    except OutOfRegime as e:
        problem = str(e).split("outside its regime: ", 1)[-1]
        return BoundRow(b, resolved, None, problem, (), ())
    measured: tuple[Measured, ...] = ()
    if do_measure and b.construction:
        cparams = {**CONSTRUCTION_DEFAULTS, "seed": seed,
                   **{k: v for k, v in given.items() if v is not None}, **resolved}
        names = (b.construction,) + COMPANIONS.get(b.construction, ())
        measured = tuple(measure_fn(name, cparams) for name in names)
    parts = tuple(PartRow(qv, _compare(qv, measured)) for qv in result.parts)
    return BoundRow(b, resolved, result, None, parts, measured)


def _compare(qv: QuantityValue, measured: tuple[Measured, ...]) -> tuple[Comparison, ...]:
    res = qv.quantity.resource
    if res is None:
        return ()
    out = []
    for m in measured:
        uses = m.resource(res)
        out.append(Comparison(m.name, uses, ratio(uses, qv.value),
                              m.reason if m.size is None else ("" if uses is not None else f"no {res}")))
    return tuple(out)


@dataclass(frozen=True)
class Table:
    params: Mapping[str, Any]
    rows: tuple[BoundRow, ...]
    budget_spent: bool = False

    def to_json(self) -> dict:
        seen: dict[tuple, Measured] = {}
        for r in self.rows:
            for m in r.measured:
                seen.setdefault((m.name, tuple(sorted(m.kwargs.items()))), m)
        return {"bounds": [r.to_json() for r in self.rows],
                "constructions": [m.to_json() for m in seen.values()],
                "budget_spent": self.budget_spent}


def table(given: Mapping[str, Any], do_measure: bool = True, budget: Budget = UNLIMITED,
          ids: tuple[str, ...] | None = None, seed: int = 0) -> Table:
    """Every registered bound (or ``ids``) at the given parameters, with constructions."""
    ids = tuple(BOUNDS) if ids is None else tuple(get(i).id for i in ids)
    check_names(given)
    validate_all(given, ids)
    rows, spent = [], False
    for bid in ids:
        try:
            budget.check(bound=bid)
        except BudgetExceeded:
            spent = True
        rows.append(bound_row(BOUNDS[bid], given, do_measure and not spent, seed))
    return Table(dict(given), tuple(rows), spent)


# --- sweeps ---------------------------------------------------------------------------------------
def parse_range(text: str, name: str, geometric: bool) -> tuple[int, ...]:
    """``64`` | ``3,5,7`` | ``a..b`` (×2 steps if ``geometric`` else +1) | ``a..b:*r`` | ``a..b:+d``."""
    text = str(text).strip()
    try:
        if ".." not in text:
            values = tuple(int(t) for t in text.split(",") if t.strip())
        else:
            span, _, step = text.partition(":")
            lo, hi = (int(t) for t in span.split(".."))
            step = step or ("*2" if geometric else "+1")
            op, amount = step[0], int(step[1:])
            if lo > hi or op not in "*+" or amount < (2 if op == "*" else 1) or lo < 1:
                raise ValueError
            values, v = [], lo
            while v <= hi and len(values) <= MAX_POINTS:
                values.append(v)
                v = v * amount if op == "*" else v + amount
            values = tuple(values)
    except ValueError:
        raise BadInput(f"--{name} {text!r}: expected an integer, a list like 3,5,7, or a range a..b"
                       f" with optional step :*r or :+d (a >= 1, a <= b)") from None
    if not values:
        raise BadInput(f"--{name} {text!r} has no values")
    if len(values) > MAX_POINTS:
        raise BadInput(f"--{name} {text!r} has more than {MAX_POINTS} values")
    return values


@dataclass(frozen=True)
class Sweep:
    bound: Bound
    points: tuple[BoundRow, ...]
    budget_spent: bool = False

    def to_json(self) -> dict:
        return {"id": self.bound.id, "source": str(self.bound.source), "status": self.bound.source.tag,
                "direction": self.bound.direction, "conditional_on": self.bound.conditional_on,
                "points": [p.to_json() for p in self.points], "budget_spent": self.budget_spent}


def sweep_grid(bound_id: str, Ns: tuple[int, ...], ks: tuple[int, ...] | None,
               given: Mapping[str, Any]) -> tuple[Bound, list[dict[str, Any]]]:
    """Validate a sweep before any work: the bound, and the parameters of every point."""
    b = get(bound_id)
    if ks is not None and "k" not in b.param_names:
        raise BadInput(f"{b.id} does not take k; drop --k")
    if "k" in b.param_names and ks is None:
        ks = (given.get("k") or 8,)
    grid = [{**given, "N": n, **({} if k is None else {"k": k})} for n in Ns for k in (ks or (None,))]
    if len(grid) > MAX_POINTS:
        raise BadInput(f"sweep of {len(grid)} points (|N| × |k|) exceeds {MAX_POINTS}; narrow the ranges")
    check_names(given)
    problems = []
    for here in grid:
        check_k_le_n(here)
        problems.append(b.regime_problem(b.resolve(bound_params(b, here))))
    if all(problems):
        raise OutOfRegime(f"{b.id} is outside its regime at every point of the sweep (e.g. {problems[0]})")
    return b, grid


def measured_job(job: tuple | None) -> tuple[Measured, ...]:
    """The constructions of one sweep point, built and measured wherever the point runs:
    ``job = (bound id, point parameters, seed)``, or None for a point not measured."""
    if job is None:
        return ()
    bid, here, seed = job
    return bound_row(BOUNDS[bid], here, True, seed).measured


def sweep(bound_id: str, Ns: tuple[int, ...], ks: tuple[int, ...] | None, given: Mapping[str, Any],
          do_measure: bool = True, budget: Budget = UNLIMITED,
          advance: Callable[[int], None] = lambda n=1: None, seed: int = 0,
          executor: Executor | None = None) -> Sweep:
    """The bound (and its construction) at every (N, k) of the grid, N outer.  Building the
    constructions (the costly part) is one chunk per point on ``executor`` (default: the
    command's, serial unless --workers/--scheduler); the rows are assembled here, in grid order.
    Once the budget is spent, the points not yet started are not measured."""
    b, grid = sweep_grid(bound_id, Ns, ks, given)
    ex = current() if executor is None else executor
    measured: list = [()] * len(grid)
    wanted = [False] * len(grid)
    spent = False

    def job(i: int) -> tuple | None:
        nonlocal spent
        if not spent:
            try:
                budget.check(points=i, total=len(grid))
            except BudgetExceeded:
                spent = True
        wanted[i] = do_measure and not spent
        return (b.id, grid[i], seed) if wanted[i] else None

    with ex.stream(measured_job, len(grid), job) as stream:
        for i, ms in stream:
            measured[i] = ms
            advance(1)
    points = tuple(bound_row(b, here, want, seed, measure_fn=_replay(ms))
                   for here, want, ms in zip(grid, wanted, measured))
    return Sweep(b, points, spent)


def _replay(measured: tuple[Measured, ...]) -> Callable[[str, Mapping[str, Any]], Measured]:
    """A ``measure_fn`` that hands back constructions already measured (by a sweep's chunk)."""
    done = {m.name: m for m in measured}
    return lambda name, params: done[name]


def sweep_columns(s: Sweep) -> list[str]:
    """Column names of the CSV/plot form: N, k, each quantity's key, then each construction's
    value of each resource the quantities are compared with (``hop.layers``)."""
    b = s.bound
    cols = ["N"] + (["k"] if "k" in b.param_names else []) + [q.key for q in b.quantities]
    if b.construction:
        names = (b.construction,) + COMPANIONS.get(b.construction, ())
        resources = dict.fromkeys(q.resource for q in b.quantities if q.resource)
        cols += [f"{name}.{res}" for res in resources for name in names]
    return cols


def sweep_records(s: Sweep) -> list[dict[str, Any]]:
    """One flat dict per point (ints, floats, or '' where there is none)."""
    cols = sweep_columns(s)
    out = []
    for pt in s.points:
        rec: dict[str, Any] = dict.fromkeys(cols, "")
        rec.update({k: pt.params[k] for k in ("N", "k") if k in rec})
        for part in pt.parts:
            v = part.value.value
            rec[part.value.quantity.key] = v.exact if isinstance(v.exact, int) else v.approx
            for c in part.ours:
                if c.uses is not None:
                    rec[f"{c.construction}.{part.value.quantity.resource}"] = c.uses
        out.append(rec)
    return out
