"""The ``attncheck`` command group: lazy sub-commands, the exit-code table and error mapping.

Exit codes (every command):

\b
  0  holds      VERIFIED (or a table / report printed successfully)
  1  refuted    a counterexample was found and replayed
  2  bad input  one line on stderr says which value and why
  3  undecided  UNKNOWN: budget spent, margins too thin, solver gave up
  4  internal   a bug in attncheck (rerun with --debug for the traceback)

Sub-commands live in their own modules and are imported only when invoked, so
``attncheck --help`` and ``--version`` never import numpy-heavy code, sympy or z3.  The click
group itself lives in :mod:`attncheck.cli.group` (its names are served from here too);
``attncheck``, ``attncheck --help`` and ``-h`` print the top-level help without importing click
when :mod:`attncheck.cli.fast_help` can reproduce click's rendering exactly (it falls back to
click otherwise; tests/cli/test_fast_help.py compares the two).
"""
from __future__ import annotations

import os
import sys

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
    "train": ("attncheck.cli.train", "train", "Train attention-only models (torch) on hop / induction, then verify and inspect them."),
    "check-proof": ("attncheck.cli.proof_cmd", "check_proof", "Re-check a certificate's proof in exact arithmetic (exit 0/1)."),
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
    import click
    click.echo(f"attncheck, version {_version()}", color=ctx.color)
    ctx.exit()


def suggestion(word: str, choices) -> str:
    """'; did you mean 'verify'?' (the closest names, difflib) or '; choose one of a, b, c'."""
    import difflib
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "; choose one of " + ", ".join(choices)


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


#: what :mod:`attncheck.cli.group` defines (the click group and its helpers), served from here
#: on first use so that ``from attncheck.cli.main import LazyGroup`` keeps working while
#: ``attncheck --help`` never imports click (:mod:`attncheck.cli.fast_help`).
_GROUP_NAMES = ("LazyGroup", "cli", "help_cmd", "no_such_command", "command_of")


def __getattr__(name: str):
    if name in _GROUP_NAMES:
        from attncheck.cli import group
        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _fail(args, message: str, rc: int, prefix: str = "error") -> int:
    """Report a failure: one line on stderr and, when ``--json`` was asked for, one JSON object
    on stdout (:func:`attncheck.cli.render.error_object`).  Returns the exit code."""
    import click
    line = _one_line(message)
    click.echo(f"attncheck: {prefix}: {line}" if prefix else f"attncheck: {line}", err=True)
    if "--json" in args and "--help" not in args and "-h" not in args:
        from attncheck.cli import render
        from attncheck.cli.group import command_of
        render.print_json(render.error_object(command_of(args), line, rc))
    return rc


def main(argv=None) -> None:
    """Console entry point: run the group and map every failure to one line (plus one JSON
    object under ``--json``) and an exit code.  The one error mapping of every command."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in ([], ["--help"], ["-h"]) and "click" not in sys.modules \
            and not os.environ.get("_ATTNCHECK_COMPLETE"):     # click's shell completion asks with no args
        from attncheck.cli.fast_help import top_help           # the top-level help without click
        text = top_help()
        if text is not None:
            try:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            except BrokenPipeError:                            # as click does: quietly, exit 1
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(1)
            sys.exit(0)
    import click

    from attncheck.cli.group import cli
    from attncheck.constructions.verdict import EXIT_BAD_INPUT, EXIT_INTERNAL, AttncheckError
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
