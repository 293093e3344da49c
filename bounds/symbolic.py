"""The sympy side of bound formulas: parsing, unicode/LaTeX display, careful evaluation.

sympy is imported lazily inside functions (``attncheck --help`` and the table path never
import it).  Formulas are written in sympy syntax with ``log2(x)`` for the binary logarithm
(printed ``log₂ x`` / ``\\log_2 x``), ``log`` for the natural logarithm, ``floor``, ``ceiling``,
``sqrt`` and ``Max``.

:func:`evaluate` is the independent *sympy path* that tests compare with the exact integer
path of :mod:`attncheck.bounds.intmath`.  It does not use sympy's auto-evaluation of
``floor``/``ceiling`` (which is wrong at ``ceiling(log(2**31 + 1, 2))``): it rebuilds the tree
bottom-up with ``floor``/``ceiling`` held inert, evaluates their arguments to
:data:`DIGITS` significant digits, and decides an argument that lands within ``10^-(DIGITS-10)``
of an integer only if sympy proves the difference is exactly zero.
"""
from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any, Mapping

DIGITS = 100


@functools.lru_cache(maxsize=1)
def _env() -> dict[str, Any]:
    import sympy as sp

    class log2(sp.Function):  # noqa: N801 - the name is what formulas write
        """Binary logarithm; exact on powers of two, unevaluated otherwise."""

        @classmethod
        def eval(cls, x):
            if x.is_Rational and x.is_positive:
                r = sp.log(x, 2)
                if r.is_Rational:
                    return r
            return None

        def _eval_evalf(self, prec):
            return (sp.log(self.args[0]) / sp.log(2))._eval_evalf(prec)

        def _latex(self, printer, exp=None):
            arg = printer._print(self.args[0])
            base = rf"\log_{{2}}{{\left({arg}\right)}}"
            return base if exp is None else rf"{base}^{{{exp}}}"

        def _pretty(self, printer):
            from sympy.printing.pretty.stringpict import prettyForm
            arg = printer._print(self.args[0])
            inner = prettyForm(*arg.parens())
            return prettyForm(*inner.left("log₂"))

        def _sympystr(self, printer):
            return f"log2({printer._print(self.args[0])})"

    return {"sp": sp, "log2": log2}


#: Display names of parameter symbols that sympy prints better under another name.
SYMPY_NAMES = {"ε": "epsilon", "δ": "delta", "β": "beta", "ξ": "xi", "|Σ|": "Sigma"}


def symbol_table(params: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """sympy symbols for parameters ``name -> (display symbol, kind)``; integer parameters
    are integer and positive.  The sympy name is the display symbol, so formulas print as
    the papers write them (ε, δ, d′)."""
    sp = _env()["sp"]
    return {name: sp.Symbol(SYMPY_NAMES.get(sym, sym), positive=True, integer=kind == "int")
            for name, (sym, kind) in params.items()}


def parse(expr: str, params: Mapping[str, tuple[str, str]]):
    """The sympy expression of a formula source written over parameter *names*."""
    env = _env()
    sp = env["sp"]
    local = {"log2": env["log2"], "log": sp.log, "floor": sp.floor, "ceiling": sp.ceiling,
             "sqrt": sp.sqrt, "Max": sp.Max}
    local.update(symbol_table(params))
    return sp.sympify(expr, locals=local)


def unicode(expr) -> str:
    sp = _env()["sp"]
    return sp.pretty(expr, use_unicode=True, wrap_line=False)


def latex(expr) -> str:
    return _env()["sp"].latex(expr)


class Undecided(ArithmeticError):
    """floor/ceiling of a value numerically on an integer that sympy cannot prove exact."""


def evaluate(expr, values: Mapping[str, int | Fraction], params: Mapping[str, tuple[str, str]]):
    """The expression at parameter values keyed by parameter *name*: a sympy Integer/Rational
    when exact, else a Float with :data:`DIGITS` digits (see module docstring)."""
    sp = _env()["sp"]
    by_symbol = symbol_table(params)
    subs = {}
    for name, sym in by_symbol.items():
        v = Fraction(values[name])
        subs[sym] = sp.Rational(v.numerator, v.denominator)
    return _walk(sp, expr, subs)


def _walk(sp, node, subs):
    if node.is_Symbol:
        return subs[node]
    if node.is_Number or not node.args:
        return node
    args = [_walk(sp, a, subs) for a in node.args]
    if node.func in (sp.floor, sp.ceiling):
        return _round(sp, args[0], up=node.func is sp.ceiling)
    return node.func(*args)


def _round(sp, arg, up: bool):
    if arg.is_Rational:
        return sp.ceiling(arg) if up else sp.floor(arg)
    approx = arg.evalf(DIGITS)
    nearest = sp.Integer(int(sp.Float(approx, DIGITS).round()))
    if abs(approx - nearest) < sp.Float(10) ** (-(DIGITS - 10)):
        diff = sp.simplify(sp.expand_log(arg - nearest, force=True))
        if diff == 0:
            return nearest
        raise Undecided(f"cannot decide {'ceiling' if up else 'floor'} of {arg} ≈ {nearest}")
    return sp.Integer(int(sp.ceiling(approx) if up else sp.floor(approx)))
