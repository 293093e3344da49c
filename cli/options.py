"""Shared click options: one spelling of every option across all commands.

Option names are the contract (``--N``, ``--k``, ``--alphabet``, ``--D``, ``--precision``,
``--attention``, ``--mode``, ``--samples``, ``--seed``, ``--budget``, ``--json``); every command
that takes a parameter takes it under this name with this meaning.  Python parameter names are
lower case (``--N`` -> ``n``).
"""
from __future__ import annotations

import click


def _positive_float(ctx, param, value):
    if value is not None and not value > 0:
        raise click.BadParameter(f"must be > 0, got {value}")
    return value


def json_option(f):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object (schema-versioned) instead of tables.")(f)


def seed_option(f):
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Seed for everything random (codes, samples, solver).")(f)


def budget_option(f):
    return click.option("--budget", type=float, default=None, callback=_positive_float,
                        help="Wall-clock limit in seconds; when spent the verdict is UNKNOWN (exit 3).")(f)


def common_options(f):
    """--json, --seed, --budget."""
    return json_option(seed_option(budget_option(f)))


def n_option(required: bool = True, default: int | None = None):
    return click.option("--N", "n", type=int, required=required and default is None, default=default,
                        help="Sequence length N (>= 2).")


def k_option(default: int | None = None, required: bool = False):
    return click.option("--k", "k", type=int, default=default, required=required,
                        show_default=default is not None, help="Number of hops k (>= 1).")


def construction_options(f):
    """Options that pick a transformer construction (alphabet, encoding, variant, width)."""
    f = click.option("--alphabet", "alphabet", type=int, default=3, show_default=True,
                     help="Alphabet size |Σ| (2 <= |Σ| <= N).")(f)
    f = click.option("--encoding", type=click.Choice(["sinusoidal", "random", "onehot"]),
                     default="sinusoidal", show_default=True,
                     help="Position/token codes: angles (O(1) width), random signs (D = O(log N)),"
                          " one-hot (width ~ N).")(f)
    f = click.option("--variant", type=click.Choice(["corrected", "paper"]), default="corrected",
                     show_default=True,
                     help="'paper' builds the paper-literal variant that attncheck refutes (errata).")(f)
    f = click.option("--D", "d", type=int, default=None,
                     help="Code width for --encoding random (default: derived from N).")(f)
    return f


def arithmetic_options(f):
    f = click.option("--precision", "precision", default="declared", show_default=True,
                     help="'declared' (the construction's own fixed-point format), 'exact' (float64)"
                          " or 'fixed:I.F'.")(f)
    f = click.option("--attention", type=click.Choice(["softmax", "hardmax"]), default="softmax",
                     show_default=True, help="Softmax at the derived temperature, or hardmax (ties averaged).")(f)
    return f


def check_options(f):
    f = click.option("--mode", type=click.Choice(["auto", "exhaustive", "certificate", "sample"]),
                     default="auto", show_default=True,
                     help="auto = exhaustive when |Σ|^N fits the budget, else certificate.")(f)
    f = click.option("--samples", type=int, default=1000, show_default=True,
                     help="Inputs drawn by --mode sample.")(f)
    return f
