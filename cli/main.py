"""The ``attncheck`` command group: lazy sub-commands, the exit-code table and error mapping.

Exit codes (every command):

\b
  0  holds      VERIFIED (or a table / report printed successfully)
  1  refuted    a counterexample was found and replayed
  2  bad input  one line on stderr says which value and why
  3  undecided  UNKNOWN: budget spent, margins too thin, solver gave up
  4  internal   a bug in attncheck (rerun with --debug for the traceback)

Sub-commands live in their own modules and are imported only when invoked, so
``attncheck --help`` and ``--version`` never import numpy-heavy code, sympy or z3.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys

import click

from attncheck.constructions.verdict import (EXIT_BAD_INPUT, EXIT_INTERNAL, AttncheckError)

#: name -> (module, attribute, one-line help).  Extension by registration (STYLE.md 14).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "verify": ("attncheck.cli.verify", "verify", "Check a construction against its task (exit 0/1/3)."),
    "run": ("attncheck.cli.verify", "run", "Run a construction on one input and show the attention."),
    "build": ("attncheck.cli.verify", "build", "Build a construction; print its size/layout, save weights."),
    "precision": ("attncheck.cli.verify", "precision", "Find the fewest fixed-point bits the certificate needs."),
    "depth": ("attncheck.cli.depth", "depth", "Depth evidence: stated vs needed layers, reach analysis."),
    "bounds": ("attncheck.cli.bounds_cmd", "bounds", "Lower/upper bounds as formulas, tables, sweeps."),
    "witness": ("attncheck.cli.witness", "witness", "Exact finite witnesses of lower bounds."),
    "reduction": ("attncheck.cli.witness", "reduction", "Check a reduction as a finite identity."),
    "smt": ("attncheck.cli.smt", "smt", "z3 checks of impossibility claims on small instances."),
    "mpc": ("attncheck.cli.mpc", "mpc", "MPC protocols and their transformer simulations."),
    "search": ("attncheck.cli.search", "search", "Search the smallest size for which a construction works."),
    "report": ("attncheck.cli.report", "report", "Run every check of a paper; write report.md/.html/.json."),
    "refute": ("attncheck.cli.refute", "refute", "Find the failing input of a small model from a lower bound (exit 1/3)."),
    "theorems": ("attncheck.cli.theorems_cmd", "theorems", "The theorem catalogue: ids, status tags, statements."),
    "export": ("attncheck.cli.export", "export", "Write a construction as safetensors weights + attncheck.json (docs/format.md)."),
    "inspect": ("attncheck.cli.inspect_cmd", "inspect", "Where each head attends, against the roles of the SHT constructions."),
    "help": ("attncheck.cli.main", "help_cmd", "Show the help of a command: attncheck help verify induction."),
}


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("attncheck")
    except Exception:  # pragma: no cover - running from a tree that is not installed
        return "0+unknown"


def _print_version(ctx: click.Context, param, value) -> None:
    """``--version``: the installed version, read only when asked for (importlib.metadata costs
    more than the rest of ``attncheck --help`` together)."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"attncheck, version {_version()}", color=ctx.color)
    ctx.exit()


def suggestion(word: str, choices) -> str:
    """'; did you mean 'verify'?' (the closest names, difflib) or '; choose one of a, b, c'."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "; choose one of " + ", ".join(choices)


def no_such_command(ctx: click.Context, name: str) -> click.UsageError:
    """The one-line error for an unknown sub-command of ``ctx.command``, with suggestions."""
    choices = ctx.command.list_commands(ctx) if isinstance(ctx.command, click.Group) else []
    return click.UsageError(f"no such command {name!r}{suggestion(name, choices)}", ctx=ctx)


class LazyGroup(click.Group):
    """The click group of every attncheck group: sub-commands imported on first use (``lazy``),
    the group's help on stdout (exit 0) when it is given no sub-command, and an unknown
    sub-command answered with the closest names."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def _available(self) -> dict[str, tuple[str, str, str]]:
        out = {}
        for name, (mod, attr, help_) in self.lazy.items():
            if importlib.util.find_spec(mod) is not None:
                out[name] = (mod, attr, help_)
        return out

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def get_command(self, ctx, name):
        if name in self.commands:
            return self.commands[name]
        entry = self._available().get(name)
        if entry is None:
            return None
        mod, attr, _ = entry
        return getattr(importlib.import_module(mod), attr)

    def parse_args(self, ctx, args):
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)      # a bare group is a request for help
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx, args):
        name = args[0]
        if (not ctx.resilient_parsing and not name.startswith("-")
                and self.get_command(ctx, name) is None):
            raise no_such_command(ctx, name)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx, formatter):
        rows = {name: help_ for name, (_, _, help_) in self._available().items()}
        rows.update((n, c.get_short_help_str()) for n, c in self.commands.items())
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows.items()))


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.pass_context
def cli(ctx, debug):
    """attncheck: check what transformers, RNNs and parallel computers can and cannot represent.

    Theorem ids and status tags ([P] paper, [R] reconstructed, ...) follow docs/theorems.md.

    \b
    Exit codes (every command):
      0  holds      VERIFIED (or a table printed)
      1  refuted    a counterexample was found and replayed
      2  bad input  one line on stderr says which value and why
      3  undecided  UNKNOWN: budget spent, margins too thin, solver gave up
      4  internal   a bug in attncheck (rerun with --debug)
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@click.command(name="help")
@click.argument("path", nargs=-1, metavar="[COMMAND]...")
@click.pass_context
def help_cmd(ctx, path):
    """Show the help of a command path: 'attncheck help verify induction' is
    'attncheck verify induction --help'; 'attncheck help' is 'attncheck --help'."""
    target = ctx.find_root()
    for name in path:
        if not isinstance(target.command, click.Group):
            raise click.UsageError(f"'{target.command_path}' has no sub-commands, so none named {name!r}",
                                   ctx=target)
        sub = target.command.get_command(target, name)
        if sub is None:
            raise no_such_command(target, name)
        target = click.Context(sub, info_name=name, parent=target, **sub.context_settings)
    click.echo(target.get_help(), color=ctx.color)


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def command_of(args) -> str:
    """The command path that ``args`` names (``verify induction``), as far as it resolves, without
    importing more than that path; "" when not even the first word is a command."""
    ctx = click.Context(cli, info_name="attncheck", resilient_parsing=True)
    group, path = cli, []
    for word in (a for a in args if a != "--debug"):
        if word.startswith("-") or not isinstance(group, click.Group):
            break
        try:
            sub = group.get_command(ctx, word)
        except Exception:  # noqa: BLE001 - a module that fails to import: name what resolved
            sub = None
        if sub is None:
            break
        path.append(word)
        group, ctx = sub, click.Context(sub, info_name=word, parent=ctx, resilient_parsing=True)
    return " ".join(path)


def _fail(args, message: str, rc: int, prefix: str = "error") -> int:
    """Report a failure: one line on stderr and, when ``--json`` was asked for, one JSON object
    on stdout (:func:`attncheck.cli.render.error_object`).  Returns the exit code."""
    line = _one_line(message)
    click.echo(f"attncheck: {prefix}: {line}" if prefix else f"attncheck: {line}", err=True)
    if "--json" in args and "--help" not in args and "-h" not in args:
        from attncheck.cli import render
        render.print_json(render.error_object(command_of(args), line, rc))
    return rc


def main(argv=None) -> None:
    """Console entry point: run the group and map every failure to one line (plus one JSON
    object under ``--json``) and an exit code.  The one error mapping of every command."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("ATTNCHECK_DEBUG") == "1"
    try:
        rc = cli.main(args=args, prog_name="attncheck", standalone_mode=False)
    except click.exceptions.Exit as e:
        rc = e.exit_code
    except click.exceptions.Abort:
        rc = _fail(args, "aborted", EXIT_BAD_INPUT, prefix="")
    except click.ClickException as e:          # usage errors, bad option values
        cmd = f" (see 'attncheck {e.ctx.command_path.split(' ', 1)[1]} --help')" if getattr(e, "ctx", None) \
            and " " in e.ctx.command_path else ""
        rc = _fail(args, f"{_one_line(e.format_message())}{cmd}", EXIT_BAD_INPUT)
    except AttncheckError as e:
        rc = _fail(args, str(e), e.exit_code)
    except KeyboardInterrupt:
        rc = _fail(args, "interrupted", 130, prefix="")
    except Exception as e:  # noqa: BLE001 - the contract: never a traceback without --debug
        if debug:
            raise
        rc = _fail(args, f"{type(e).__name__}: {_one_line(e)} (rerun with --debug for the traceback)",
                   EXIT_INTERNAL, prefix="internal error")
    sys.exit(0 if rc is None else rc)


if __name__ == "__main__":  # pragma: no cover
    main()
