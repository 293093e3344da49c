"""The parameter object of every command: click's keyword arguments become one frozen dataclass.

Option names are the contract (docs/cli.md).  The click name of an option is its long name
without the dashes, ``-`` read as ``_`` (``--N`` -> ``N``, ``--paper-part`` -> ``paper_part``,
``--from`` -> ``from_``); the same name is the field of the command family's parameter class
below and the key of the ``params`` object in ``--json`` output (``from_`` -> ``"from"``).

Commands never read click's keyword arguments: :func:`takes` builds the object once, in one
place, and hands it to the command (``p.N``, ``p.alphabet``, ``p.budget``).  On the way it folds
the old spellings of renamed options (hidden :class:`AliasOption` s, kept for one release) onto
their new names.  Library messages name options by their new names only; when the user typed an
old spelling, a one-line error that names its new option says so at the end
(``--alphabet must be an integer >= 2, got 1 (--M is the old spelling of --alphabet)``).
"""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping

import click
from click.core import ParameterSource

#: Options that choose how the result is printed, not what is computed: not in ``params``.
NOT_IN_JSON = frozenset({"json", "markdown", "latex", "csv"})


class AliasOption(click.Option):
    """A hidden old spelling of an option (``--M`` for ``--alphabet``), kept for one release.

    ``target`` is the click name of the new option.  ``fold`` turns the values of every alias
    of one target (``{"--bits": 2, "--frac": 0}``) into the new option's value as text, which
    the new option's type then converts; without ``fold`` the alias takes the new option's type
    and its value is used as it is."""

    def __init__(self, param_decls, *, target: str, fold: Callable[[dict], Any] | None = None, **kw):
        kw.setdefault("default", None)
        super().__init__(param_decls, hidden=True, **kw)
        self.old, self.target, self.fold = param_decls[0], target, fold


def alias(old: str, target: str, **kw):
    """Decorator: add the hidden old spelling ``old`` of the option named ``target``."""
    return click.option(old, "old_" + re.sub(r"\W", "_", old.lstrip("-")), cls=AliasOption,
                        target=target, **kw)


@dataclass(frozen=True)
class Meta:
    """Where a parameter object came from: the command, the options it declares (in order),
    those given on the command line, and how each option was spelled (``flags``: click name ->
    the spelling typed, an old one where the user used it)."""

    command: str = ""
    declared: tuple[str, ...] = ()
    explicit: frozenset[str] = frozenset()
    flags: Mapping[str, str] = field(default_factory=dict)
    old: Mapping[str, str] = field(default_factory=dict)

    def old_spelling_note(self, message: str) -> str:
        """`` (--M is the old spelling of --alphabet)`` for every old spelling the user typed
        whose new option ``message`` names; empty when there is none."""
        notes = []
        for new, typed in self.old.items():
            if re.search(rf"(?<![\w-]){re.escape(new)}(?![\w-])", message):
                what = "are old spellings" if " " in typed else "is the old spelling"
                notes.append(f"{typed} {what} of {new}")
        return f" ({'; '.join(notes)})" if notes else ""


def _flag(param: click.Parameter) -> str:
    """The long spelling of an option (``--alphabet``), or the name of an argument."""
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    return opts[0] if opts else param.name


def _fold_aliases(ctx: click.Context, kw: dict, explicit: set, flags: dict) -> dict[str, str]:
    """Move the values of old spellings onto the new options (in place; ``flags`` records the
    old spelling a new option was given by); returns {new spelling: old spelling typed} of the
    aliases that were used."""
    params = {p.name: p for p in ctx.command.params}
    groups: dict[str, list[AliasOption]] = {}
    for p in ctx.command.params:
        if isinstance(p, AliasOption):
            groups.setdefault(p.target, []).append(p)
    used = {}
    for target, aliases in groups.items():
        new = params[target]
        given = {a.old: kw.pop(a.name) for a in aliases}
        given = {old: v for old, v in given.items() if v is not None and v != ()}
        if not given:
            continue
        if target in explicit:
            what = "is the old spelling" if len(given) == 1 else "are old spellings"
            raise click.UsageError(f"{' and '.join(given)} {what} of {_flag(new)}; give only {_flag(new)}",
                                   ctx=ctx)
        fold = next((a.fold for a in aliases if a.fold is not None), None)
        if fold is None:
            (value,) = given.values()
        else:
            value = new.type_cast_value(ctx, fold(given))
            if new.callback is not None:
                value = new.callback(ctx, new, value)
        kw[target] = value
        explicit.add(target)
        flags[target] = used[_flag(new)] = " ".join(given)
    return used


def _plain(v):
    if isinstance(v, Fraction):
        return str(v)
    if isinstance(v, (tuple, list, frozenset, set)):
        return [_plain(x) for x in v]
    return v


@dataclass(frozen=True)
class Params:
    """The options shared by several command families (docs/cli.md has the whole table)."""

    meta: Meta = field(default_factory=Meta, repr=False, compare=False)
    N: Any = None                    # int, or a tuple of ints where the command sweeps (Range)
    k: Any = None                    # int, or a tuple of ints (bounds sweep)
    alphabet: int | None = None
    precision: str | None = None
    attention: str | None = None
    mode: str | None = None
    samples: int | None = None
    seed: int | None = None
    budget: float | None = None
    json: bool = False
    markdown: bool = False
    latex: bool = False
    plot: str | None = None
    out: str | None = None
    workers: int | None = None       # Dask worker processes (report: its own thread pool)
    scheduler: str | None = None     # tcp://HOST:PORT of a running Dask scheduler

    @classmethod
    def from_click(cls, ctx: click.Context, kw: Mapping[str, Any]):
        """The one place where click's keyword arguments become a parameter object."""
        kw = dict(kw)
        explicit = {n for n in kw if ctx.get_parameter_source(n) is ParameterSource.COMMANDLINE}
        flags = {p.name: _flag(p) for p in ctx.command.params}
        old = _fold_aliases(ctx, kw, explicit, flags)
        declared = tuple(p.name for p in ctx.command.params
                         if p.expose_value and not isinstance(p, AliasOption))
        path = ctx.command_path.split(" ", 1)
        meta = Meta(path[1] if len(path) > 1 else path[0], declared, frozenset(explicit), flags, old)
        return cls(meta=meta, **kw)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def given(self, name: str) -> bool:
        """Whether option ``name`` was given on the command line (an old spelling counts)."""
        return name in self.meta.explicit

    def flag(self, name: str) -> str:
        """How option ``name`` is spelled in a message: as the user typed it (an old spelling
        when they used one), else its current spelling (``--head-width-max``)."""
        return self.meta.flags.get(name, "--" + name.replace("_", "-"))

    def to_json(self) -> dict:
        """The ``params`` object: every option the command declares, keyed by its name."""
        return {name.rstrip("_"): _plain(getattr(self, name)) for name in self.meta.declared
                if name not in NOT_IN_JSON}


@dataclass(frozen=True)
class SequenceParams(Params):
    """verify / run / build / precision of the sequence tasks (induction, hop)."""

    encoding: str | None = None
    variant: str | None = None
    D: int | None = None
    residual: str | None = None
    paper_part: str | None = None
    from_: str | None = None
    input: str | None = None
    mechanism_inputs: int | None = None


@dataclass(frozen=True)
class SmtParams(SequenceParams):
    """``smt``: the model class (H, head width, precision), the family, the solver limits."""

    task: str | None = None
    H: int | None = None
    head_width: int | None = None
    family: str | None = None
    no_symmetry: bool = False
    split: str | None = None
    message_bits: int | None = None
    rlimit: int | None = None


@dataclass(frozen=True)
class Sht23Params(Params):
    """``verify qsa | match2 | match3 | rnn`` and ``search width``."""

    task: str | None = None
    q: int | None = None
    d_prime: int | None = None
    head_width: int | None = None
    head_width_max: int | None = None
    codes: str | None = None
    accuracy: float | None = None
    variant: str | None = None
    allow_self: bool | None = None
    allow_repeat: bool | None = None
    layers: int | None = None
    theta: float | None = None
    tries: int | None = None


@dataclass(frozen=True)
class MpcParams(Params):
    """``mpc compile | covering | reverse`` and ``verify mpc``."""

    algo: str | None = None
    s: int | None = None
    slots: int | None = None
    hashing: str | None = None
    codes: str | None = None
    corrupt: str | None = None
    rows: Any = None
    set_size: Any = None
    trials: int | None = None
    branching: int | None = None
    delta: str | None = None           # verify mpc --delta: s = ceil(N^delta) (constructions/mpc/lowmem.py)
    diameter: int | None = None        # verify mpc reach --diameter: the promise D (ceil(log2 D) squarings)


@dataclass(frozen=True)
class WitnessParams(Params):
    """``witness ...`` and ``reduction ...``."""

    task: str | None = None
    matrix: str | None = None
    id: str | None = None
    n: int | None = None
    q: int | None = None
    order: int | None = None
    marker: bool = False
    method: str | None = None
    split: str | None = None
    fooling: bool | None = None
    exhaustive: bool | None = None
    variant: str | None = None
    layers: int | None = None          # reduction check rnn-* / reduction collide (cli/reduction_seq.py)
    model: str | None = None
    state_bits: int | None = None
    players: int | None = None
    cot: int | None = None
    H: int | None = None
    search: str | None = None
    from_: str | None = None


@dataclass(frozen=True)
class BoundsParams(Params):
    """``bounds list | show | table | sweep``: the model under test and the bound parameters."""

    id: str | None = None
    D: int | None = None
    H: int | None = None
    word_bits: int | None = None
    q: int | None = None
    diameter: int | None = None
    eps: Fraction | None = None
    delta: Fraction | None = None
    set: tuple[str, ...] = ()
    measure: bool = True
    only: tuple[str, ...] = ()
    csv: bool = False


@dataclass(frozen=True)
class DepthParams(Params):
    """``depth hop``."""

    k_max: int | None = None
    residual: str | None = None


@dataclass(frozen=True)
class ReportParams(Params):
    """``report`` and ``theorems``."""

    paper: str | None = None
    id: str | None = None
    only: tuple[str, ...] = ()


def takes(cls: type[Params]):
    """Decorator of a command callback ``f(p)``: click's keyword arguments become one ``cls``
    (:meth:`Params.from_click`); for a command with ``--workers``/``--scheduler``
    (:func:`attncheck.cli.options.dist_options`) ``f`` runs with their executor as the ambient one
    (:func:`attncheck.constructions.executor.from_options`: check loops and sweeps pick it up; a
    local cluster starts on first use and stops when the command ends).  A one-line error that
    names the new option of an old spelling the user typed ends with a note saying so
    (:meth:`Meta.old_spelling_note`); its text is otherwise the library's own."""
    from attncheck.constructions.verdict import BadInput

    def deco(f):
        @functools.wraps(f)
        def callback(**kw):
            p = cls.from_click(click.get_current_context(), kw)
            try:
                if "scheduler" not in p.meta.declared:      # report's --workers is its thread pool
                    return f(p)
                from attncheck.constructions.executor import from_options
                with from_options(p.workers, p.scheduler):  # the command's executor, closed after it
                    return f(p)
            except BadInput as e:
                note = p.meta.old_spelling_note(str(e))
                if not note:
                    raise
                raise type(e)(str(e) + note) from e
        return callback
    return deco
