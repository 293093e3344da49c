"""Frozen records for bounds: parameters, quantities, sources and evaluated values.

A :class:`Bound` is one theorem id of docs/theorems.md (STYLE.md practice 14: extension by
registration in :data:`attncheck.bounds.formulas.BOUNDS`).  Its *quantities* are the driving
quantities that section 10 of docs/theorems.md says to print, each with

* an exact path (``fn``): Python integers / Fractions for integer- and rational-valued
  quantities (:mod:`attncheck.bounds.intmath`), a float only for genuinely real values;
* a sympy source (``expr``) kept for display (unicode and LaTeX) and tested against ``fn``;
* its own status tag (the depth row of ``sht24a.thm4_2`` has a [P] and an [R] quantity);
* the constant: ``exact`` (the value is the statement), ``explicit`` (a stated constant), or
  ``c unknown`` (hidden in O/Ω; the value is the driving quantity only);
* the construction resource it is compared with (``layers``, ``width``, ``bits``, ...).

Evaluation validates every parameter (typed :class:`BadInput`, the bad value named), derives
defaults, checks the bound's *regime* (a conditional or asymptotic hypothesis such as
``N >= 4.5 k^2 + 1`` or ``D >= N^eps``) and raises :class:`OutOfRegime` with the reason instead
of returning nan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping

from attncheck.constructions.verdict import BadInput

Params = Mapping[str, Any]
Raw = int | Fraction | float


class OutOfRegime(BadInput):
    """Parameters are valid numbers but outside the bound's stated regime (exit 2)."""


@dataclass(frozen=True)
class Source:
    """Where a statement comes from: paper key, item (``Thm 4.2``) and status tag."""

    paper: str
    item: str
    tag: str

    def __str__(self) -> str:
        return f"{self.paper} {self.item}".strip()


@dataclass(frozen=True)
class Param:
    """One parameter of a bound.

    ``kind`` is ``"int"`` or ``"frac"`` (an exact rational, parsed from ``1/4`` or ``0.25``).
    Bounds: ``lo``/``hi`` inclusive unless ``lo_open``/``hi_open``.  A parameter that is not
    given takes ``default`` or, when ``derive`` is set, ``derive(resolved_so_far)``;
    ``derive_text`` says how in words.
    """

    name: str
    symbol: str
    meaning: str
    kind: str = "int"
    lo: Raw | None = None
    hi: Raw | None = None
    lo_open: bool = False
    hi_open: bool = False
    default: Raw | None = None
    derive: Callable[[Params], Raw] | None = None
    derive_text: str = ""
    option: str = ""                 # the CLI option when it is not --<name> (m is --D, p is --word-bits)

    @property
    def spelled(self) -> str:
        return f"{self.name} ({self.option})" if self.option else self.name

    def domain(self) -> str:
        left = "" if self.lo is None else f"{self.lo} {'<' if self.lo_open else '≤'} "
        right = "" if self.hi is None else f" {'<' if self.hi_open else '≤'} {self.hi}"
        what = "integer" if self.kind == "int" else "rational"
        return f"{left}{self.symbol}{right} ({what})"

    def default_text(self) -> str:
        if self.derive is not None:
            return self.derive_text
        return "required" if self.default is None else str(self.default)

    def coerce(self, value: Any) -> Raw:
        """The value in this parameter's kind and domain, or BadInput naming it."""
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, Fraction) and value.denominator == 1:
                    value = int(value)
                else:
                    raise BadInput(f"bad parameter {self.spelled} = {value!r}: must be an integer")
        else:
            try:
                value = Fraction(value)
            except (TypeError, ValueError, ZeroDivisionError):
                raise BadInput(f"bad parameter {self.spelled} = {value!r}: must be a number like 1/4 or 0.25") \
                    from None
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            raise BadInput(f"bad parameter {self.spelled} = {value}: must be {self.domain()}")
        if self.hi is not None and (value > self.hi or (self.hi_open and value == self.hi)):
            raise BadInput(f"bad parameter {self.spelled} = {value}: must be {self.domain()}")
        return value


@dataclass(frozen=True)
class Quantity:
    """A driving quantity of a bound (see module docstring)."""

    key: str
    label: str
    text: str
    expr: str
    kind: str
    fn: Callable[[Params], Raw]
    tag: str
    constant: str
    resource: str | None = None

    def compute(self, p: Params) -> "Value":
        return make_value(self.fn(p), self.kind)


@dataclass(frozen=True)
class Value:
    """A number with its exact form where it has one.

    ``exact``: the int or Fraction (None for real values); ``approx``: a float; ``display``:
    the string tables print (``1/4096 ≈ 0.000244``)."""

    exact: int | Fraction | None
    approx: float
    display: str

    def to_json(self) -> dict:
        ex = self.exact
        return {"value": _json_float(self.approx),
                "exact": ex if isinstance(ex, int) else (None if ex is None else str(ex)),
                "display": self.display}


def _json_float(x: float) -> float:
    return float(f"{x:.10g}")


def make_value(raw: Raw, kind: str) -> Value:
    if kind == "int":
        if isinstance(raw, Fraction) and raw.denominator == 1:
            raw = int(raw)
        if not isinstance(raw, int):
            raise TypeError(f"integer quantity computed a {type(raw).__name__}")
        return Value(raw, _float(raw), fmt_int(raw))
    if kind == "rational":
        raw = Fraction(raw)
        if raw.denominator == 1:
            return Value(raw, float(raw), fmt_int(int(raw)))
        return Value(raw, float(raw), f"{raw} ≈ {fmt_real(float(raw))}")
    if kind == "real":
        return Value(None, float(raw), fmt_real(float(raw)))
    raise ValueError(f"unknown quantity kind {kind!r}")


def _float(n: int) -> float:
    try:
        return float(n)
    except OverflowError:
        return float("inf")


def fmt_int(n: int) -> str:
    return str(n) if abs(n) < 10 ** 12 else f"{_float(n):.4g}"


def fmt_real(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:.4g}" if 1e-4 <= abs(x) < 1e12 else f"{x:.3e}"


@dataclass(frozen=True)
class QuantityValue:
    quantity: Quantity
    value: Value

    def to_json(self) -> dict:
        q = self.quantity
        return {"key": q.key, "label": q.label, "formula": q.text, "tag": q.tag,
                "constant": q.constant, "resource": q.resource, **self.value.to_json()}


@dataclass(frozen=True)
class BoundValue:
    """``BOUNDS[id].evaluate(**params)``: all quantities at the resolved parameters.

    ``value``/``exact``/``display`` are those of the first (headline) quantity; ``parts``
    holds every quantity; ``notes`` are remarks the parameters trigger (vacuous bound, the
    paper's depth differing from the needed one)."""

    id: str
    params: Mapping[str, Raw]
    parts: tuple[QuantityValue, ...]
    notes: tuple[str, ...] = ()

    @property
    def value(self) -> float:
        return self.parts[0].value.approx

    @property
    def exact(self) -> int | Fraction | None:
        return self.parts[0].value.exact

    @property
    def display(self) -> str:
        return self.parts[0].value.display

    def part(self, key: str) -> QuantityValue:
        for qv in self.parts:
            if qv.quantity.key == key:
                return qv
        raise KeyError(key)

    def to_json(self) -> dict:
        return {"id": self.id, "params": {k: json_param(v) for k, v in self.params.items()},
                "quantities": [qv.to_json() for qv in self.parts], "notes": list(self.notes)}


def json_param(v: Raw):
    return str(v) if isinstance(v, Fraction) else v


@dataclass(frozen=True)
class Bound:
    """One theorem id: statement, provenance, parameters, quantities, assumptions, checks."""

    id: str
    title: str
    statement: str
    source: Source
    direction: str                       # "lower" | "upper" | "conditional"
    params: tuple[Param, ...]
    quantities: tuple[Quantity, ...]
    constant: str
    assumptions: tuple[str, ...]
    check: str
    construction: str | None = None      # name in attncheck.bounds.sizes.BUILDERS
    construction_note: str = ""
    conditional_on: str | None = None
    aliases: tuple[str, ...] = ()
    regime: Callable[[Params], str | None] | None = None
    notes: Callable[[Params], tuple[str, ...]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def symbols(self) -> dict[str, tuple[str, str]]:
        """``name -> (display symbol, kind)`` for :mod:`attncheck.bounds.symbolic`."""
        return {p.name: (p.symbol, p.kind) for p in self.params}

    def resolve(self, given: Params) -> dict[str, Raw]:
        """Validate given parameters and fill defaults (BadInput on unknown or bad values)."""
        unknown = sorted(set(given) - set(self.param_names))
        if unknown:
            raise BadInput(f"{self.id} takes parameters {', '.join(self.param_names)};"
                           f" unknown: {', '.join(unknown)}")
        out: dict[str, Raw] = {}
        for prm in self.params:
            if given.get(prm.name) is not None:
                out[prm.name] = prm.coerce(given[prm.name])
            elif prm.derive is not None:
                out[prm.name] = prm.coerce(prm.derive(out))
            elif prm.default is not None:
                out[prm.name] = prm.coerce(prm.default)
            else:
                raise BadInput(f"{self.id} needs parameter {prm.name} ({prm.meaning})")
        return out

    def regime_problem(self, p: Params) -> str | None:
        return None if self.regime is None else self.regime(p)

    def evaluate(self, **given) -> BoundValue:
        """Every quantity at the given parameters; OutOfRegime outside the bound's regime."""
        p = self.resolve(given)
        problem = self.regime_problem(p)
        if problem:
            raise OutOfRegime(f"{self.id} is outside its regime: {problem}")
        parts = tuple(QuantityValue(q, q.compute(p)) for q in self.quantities)
        notes = tuple(self.notes(p)) if self.notes else ()
        return BoundValue(self.id, p, parts, notes)

    def describe(self) -> dict:
        """JSON-ready description (no evaluation): what ``bounds show --json`` prints."""
        return {"id": self.id, "title": self.title, "statement": self.statement,
                "source": {"paper": self.source.paper, "item": self.source.item, "tag": self.source.tag},
                "direction": self.direction, "conditional_on": self.conditional_on,
                "constant": self.constant, "aliases": list(self.aliases),
                "params": [{"name": p.name, "symbol": p.symbol, "meaning": p.meaning,
                            "domain": p.domain(), "default": p.default_text()} for p in self.params],
                "quantities": [{"key": q.key, "label": q.label, "formula": q.text, "sympy": q.expr,
                                "kind": q.kind, "tag": q.tag, "constant": q.constant,
                                "resource": q.resource} for q in self.quantities],
                "assumptions": list(self.assumptions), "check": self.check,
                "construction": self.construction, "construction_note": self.construction_note}
