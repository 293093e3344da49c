"""Shared click options and option types: one spelling of every option across all commands.

Option names are the contract (docs/cli.md has the table: ``--N``, ``--k``, ``--alphabet``,
``--D``, ``--precision``, ``--attention``, ``--mode``, ``--samples``, ``--seed``, ``--budget``,
``--workers``, ``--scheduler``, ``--json``, ...); every command that takes a parameter takes it
under this name with this meaning.  The click name of an option is its long name without the
dashes (``--N`` -> ``N``, ``--paper-part`` -> ``paper_part``): the field of the parameter
object (:mod:`attncheck.cli.params`) and the key in the JSON ``params``.  Old spellings stay as hidden
aliases for one release (:func:`attncheck.cli.params.alias`).

The option types live here too: :class:`Precision` (``declared | exact | fixed:I.F``) and
:class:`Range` (``64``, ``5,9,13``, ``16..4096``, ``a..b:*r``, ``a..b:+d``).
"""
from __future__ import annotations

import click


def _positive_float(ctx, param, value):
    if value is not None and not value > 0:
        raise click.BadParameter(f"must be > 0, got {value}")
    return value


def json_option(f):
    return click.option("--json", "json", is_flag=True,
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


def _scheduler(ctx, param, value):
    if value is None:
        return None
    from attncheck.constructions.executor import parse_scheduler
    from attncheck.constructions.verdict import BadInput
    try:
        return parse_scheduler(value)
    except BadInput:
        raise click.BadParameter(f"must be tcp://HOST:PORT (PORT 1..65535), got {value!r}") from None


def dist_options(f):
    """``--workers N`` / ``--scheduler tcp://HOST:PORT``: run the command's chunks (check-loop
    batches, sweep points, table cells) on dask.distributed, a local cluster of N worker
    processes or a running scheduler; neither is one process, as before.  The parameter object
    turns them into the command's executor (:func:`attncheck.cli.params.takes`)."""
    f = click.option("--scheduler", "scheduler", default=None, callback=_scheduler, metavar="tcp://HOST:PORT",
                     help="Run the chunks on the workers of this running Dask scheduler (needs"
                          " attncheck[dist]).")(f)
    f = click.option("--workers", "workers", type=click.IntRange(min=1), default=None,
                     help="Run the chunks on a local Dask cluster of this many worker processes, one"
                          " thread each (needs attncheck[dist]).  [default: one process, no Dask]")(f)
    return f


def executor_evidence() -> dict:
    """``{"executor": {"scheduler", "workers", "tasks", "cancelled"}}`` when the command's chunks
    ran on Dask (nothing for one process, so the JSON of a plain run is as before)."""
    from attncheck.constructions.executor import current
    ex = current()
    return {"executor": ex.summary()} if ex.distributed else {}


def n_option(required: bool = True, default: int | None = None):
    return click.option("--N", "N", type=int, required=required and default is None, default=default,
                        show_default=default is not None, help="Sequence length N (>= 2).")


def alphabet_option(default: int | None = None, help_: str | None = None):
    """``--alphabet``: the alphabet size |Σ| (every command spells it this way)."""
    return click.option("--alphabet", "alphabet", type=int, default=default, show_default=default is not None,
                        help=help_ or "Alphabet size |Σ| (>= 2).")


def k_option(default: int | None = None, required: bool = False):
    return click.option("--k", "k", type=int, default=default, required=required,
                        show_default=default is not None, help="Number of hops k (>= 1).")


#: |Σ| when --alphabet is not given: 3, or N when N < 3 (the constructions need |Σ| <= N).
DEFAULT_ALPHABET = 3


def default_alphabet(n: int | None, alphabet: int | None) -> int | None:
    """The alphabet a command uses: ``--alphabet`` when given, else min(3, N) (None while N is
    unknown, e.g. before ``--from`` is read)."""
    if alphabet is not None or n is None:
        return alphabet
    return min(DEFAULT_ALPHABET, n)


def construction_options(f):
    """Options that pick a transformer construction (alphabet, encoding, variant, width).
    ``--alphabet`` defaults to None: resolve it with :func:`default_alphabet` once N is known."""
    f = alphabet_option(help_="Alphabet size |Σ| (2 <= |Σ| <= N).  [default: min(3, N)]")(f)
    f = click.option("--encoding", type=click.Choice(["sinusoidal", "random", "onehot"]),
                     default="sinusoidal", show_default=True,
                     help="Position/token codes: angles (O(1) width), random signs (D = O(log N)),"
                          " one-hot (width ~ N).")(f)
    f = click.option("--variant", type=click.Choice(["corrected", "paper"]), default="corrected",
                     show_default=True,
                     help="'paper' builds the paper-literal variant that attncheck refutes (errata).")(f)
    f = click.option("--D", "D", type=int, default=None,
                     help="Residual code width D for --encoding random (default: derived from N).")(f)
    return f


class Precision(click.ParamType):
    """``--precision``: one of ``forms`` (``declared``, ``exact``, ``fixed:I.F``), validated at
    parse time so that every malformed value is a usage error listing all the accepted forms.
    The value stays the text given (lower case); commands resolve it against their
    construction (``declared`` is the construction's own format)."""

    name = "precision"

    def __init__(self, forms: tuple[str, ...] = ("declared", "exact", "fixed:I.F")):
        self.forms = forms

    def _expected(self) -> str:
        return ", ".join(f"'{f}'" for f in self.forms[:-1]) + f" or '{self.forms[-1]}'"

    def convert(self, value, param, ctx):
        text = str(value).strip().lower()
        text = "exact" if text == "float64" else text           # parse_format's alias
        if text in self.forms:
            return text
        if "fixed:I.F" in self.forms and text.startswith("fixed:"):
            from attncheck.constructions.precision import parse_format
            from attncheck.constructions.verdict import BadInput
            try:
                parse_format(text)
                return text
            except BadInput as e:
                if "fixed:I.F" not in str(e):            # well formed but out of range
                    self.fail(f"{value!r}: {e}", param, ctx)
        self.fail(f"{value!r} is not {self._expected()} (e.g. fixed:16.12)", param, ctx)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.forms) + "]"


def precision_option(forms: tuple[str, ...] = ("declared", "exact", "fixed:I.F"), help_: str | None = None,
                     default: str = "declared"):
    return click.option("--precision", "precision", type=Precision(forms), default=default,
                        show_default=True,
                        help=help_ or "'declared' (the construction's own fixed-point format), 'exact'"
                                      " (float64) or 'fixed:I.F'.")


def arithmetic_options(f):
    f = precision_option()(f)
    f = click.option("--attention", type=click.Choice(["softmax", "hardmax"]), default="softmax",
                     show_default=True, help="Softmax at the derived temperature, or hardmax (ties averaged).")(f)
    return f


class Range(click.ParamType):
    """One or more integers, in one syntax everywhere: ``64``, a list ``5,9,13``, or a range
    ``a..b`` whose step is ``geometric`` (x2, for sizes such as N) or +1 (counts such as k),
    unless given as ``a..b:*r`` or ``a..b:+d``.  The value is a tuple of ints (parsing:
    :func:`attncheck.bounds.evaluate.parse_range`)."""

    name = "range"

    def __init__(self, geometric: bool = True):
        self.geometric = geometric

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        from attncheck.bounds.evaluate import parse_range
        from attncheck.constructions.verdict import BadInput
        flag = param.opts[0].lstrip("-") if param is not None else "range"
        try:
            return parse_range(str(value), flag, geometric=self.geometric)
        except BadInput as e:
            self.fail(str(e), param, ctx)

    def get_metavar(self, param, ctx=None):
        return "N|A,B,C|A..B" if self.geometric else "K|A,B,C|A..B"


MODES = ("auto", "exhaustive", "certificate", "sample")


def check_options(f=None, *, modes: tuple[str, ...] = MODES, auto: str | None = None):
    """``--mode`` and ``--samples``.  ``modes``: the modes the command implements (a mode it does
    not is a usage error listing the valid ones); ``auto``: what auto mode does, for the help."""
    if f is None:
        return lambda g: check_options(g, modes=modes, auto=auto)
    auto = auto or ("exhaustive when |Σ|^N fits the budget, else certificate (then sampling for"
                    " a counterexample if the certificate does not close)" if "certificate" in modes
                    else "exhaustive when the inputs fit the limit, else sample")
    f = click.option("--mode", type=click.Choice(list(modes)), default="auto", show_default=True,
                     help=f"auto = {auto}.")(f)
    f = click.option("--samples", type=int, default=1000, show_default=True,
                     help="Inputs drawn by --mode sample" + (" (and by auto mode when the certificate"
                          " does not close)." if "certificate" in modes else "."))(f)
    return f


def table_format_options(f):
    """``--markdown`` / ``--latex``: print the command's table as ONE Markdown or LaTeX (booktabs)
    table on stdout and nothing else.  Resolve with :func:`table_format`."""
    f = click.option("--latex", is_flag=True,
                     help="Print one LaTeX table (booktabs: \\toprule, \\midrule, \\bottomrule) and nothing else.")(f)
    f = click.option("--markdown", is_flag=True, help="Print one Markdown table (README/docs) and nothing else.")(f)
    return f


def table_format(markdown: bool, latex: bool, as_json: bool = False) -> str | None:
    """'markdown', 'latex' or None (rich tables / JSON); two of --markdown, --latex, --json are a
    usage error."""
    chosen = [flag for flag, on in (("--markdown", markdown), ("--latex", latex), ("--json", as_json)) if on]
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} are exclusive; pick one")
    return "markdown" if markdown else "latex" if latex else None
