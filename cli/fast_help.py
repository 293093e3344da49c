"""``attncheck``, ``attncheck --help`` and ``-h`` without importing click (issue 15).

Importing click costs about as much as starting Python, so the top-level help, printed by every
first look at the tool, would take more than twice a bare ``python -c pass`` however little the
rest costs.  :func:`top_help` returns the text click renders for the root group, or None when it
cannot be sure of it (then :func:`attncheck.cli.main.main` lets click render it as before):

* the part that only the root group's docstring and options decide (usage line, description,
  ``Options``) is :data:`HEAD`, click's own rendering at the standard width :data:`WIDTH`, stored;
* the ``Commands`` section is built at run time from :data:`attncheck.cli.main.COMMANDS` exactly
  as :class:`attncheck.cli.group.LazyGroup` lists it (only commands whose module exists, sorted)
  and laid out as click's ``HelpFormatter.write_dl`` does (first column min(longest name, 30) +
  2, help wrapped by ``textwrap`` to the rest of the width), for rows where that layout is known
  to match (ASCII, single-spaced, no word wider than the column); any other row means None;
* the width is click's: min(terminal columns, 80) - 2, the columns found as
  ``shutil.get_terminal_size`` finds them (``COLUMNS``, then the terminal, else 80); a narrower
  terminal means None.

``tests/cli/test_fast_help.py`` compares :func:`top_help` with click's rendering through the real
entry point, also for added, long and missing commands, so :data:`HEAD` cannot drift from the
group: when the root group's docstring or options change, that test fails and prints the new
:data:`HEAD` (or run ``python -m attncheck.cli.fast_help``).
"""
from __future__ import annotations

import importlib.util
import os
import sys

WIDTH = 78                       # click's help width on a terminal of 80 or more columns
COL_MAX, COL_SPACING, INDENT = 30, 2, 2  # write_dl's defaults; a section indents by 2

#: click's rendering of the root group up to its options (``Context.get_help`` at WIDTH).
HEAD = """\
Usage: attncheck [OPTIONS] COMMAND [ARGS]...

  attncheck: check what transformers, RNNs and parallel computers can and
  cannot represent.

  Theorem ids and status tags ([P] paper, [R] reconstructed, ...) follow
  docs/theorems.md.

  Exit codes (every command):
    0  holds      VERIFIED (or a table printed)
    1  refuted    a counterexample was found and replayed
    2  bad input  one line on stderr says which value and why
    3  undecided  UNKNOWN: budget spent, margins too thin, solver gave up
    4  internal   a bug in attncheck (rerun with --debug)

Options:
  --version   Show the version and exit.
  --debug     Show Python tracebacks for internal errors.
  -h, --help  Show this message and exit."""


def columns() -> int:
    """The terminal's columns as ``shutil.get_terminal_size().columns`` finds them (its steps,
    without importing shutil)."""
    try:
        cols = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        cols = 0
    try:
        lines = int(os.environ["LINES"])
    except (KeyError, ValueError):
        lines = 0
    if cols <= 0 or lines <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        if cols <= 0:
            cols = size.columns or 80
    return cols


def command_rows(commands: dict[str, tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(name, help) of the registered commands whose module exists, sorted by name: what
    ``LazyGroup.format_commands`` lists for the root group."""
    return sorted((name, help_) for name, (mod, _, help_) in commands.items()
                  if importlib.util.find_spec(mod) is not None)


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable() and text == " ".join(text.split())


def commands_section(rows: list[tuple[str, str]], width: int = WIDTH) -> str | None:
    """The ``Commands`` section as click writes it after the options (leading blank line
    included), or None when a row is outside what this layout reproduces."""
    if not rows:
        return ""
    first_col = min(max(len(name) for name, _ in rows), COL_MAX) + COL_SPACING
    text_width = max(width - first_col - 2, 10)
    if any(not _plain(name) or " " in name or not _plain(help_) or
           any(len(word) > text_width for word in help_.split()) for name, help_ in rows):
        return None
    import textwrap
    wrapper = textwrap.TextWrapper(text_width, replace_whitespace=False)
    out = ["\n\nCommands:\n"]
    for name, help_ in rows:
        out.append(" " * INDENT + name)
        if not help_:
            out.append("\n")
            continue
        if len(name) <= first_col - COL_SPACING:
            out.append(" " * (first_col - len(name)))
        else:
            out.append("\n" + " " * (first_col + INDENT))
        lines = wrapper.fill(help_).splitlines()
        out.append(lines[0] + "\n")
        out.extend(" " * (first_col + INDENT) + line + "\n" for line in lines[1:])
    return "".join(out)


def top_help(commands: dict[str, tuple[str, str, str]] | None = None) -> str | None:
    """The root group's help as ``Context.get_help`` returns it (no trailing newline), or None."""
    if max(min(columns(), 80) - 2, 50) != WIDTH:
        return None
    if commands is None:
        from attncheck.cli.main import COMMANDS
        commands = COMMANDS
    section = commands_section(command_rows(commands))
    return None if section is None else (HEAD + section).rstrip("\n")


def click_head() -> str:
    """click's own rendering of :data:`HEAD` (imports click; for the test and regeneration)."""
    import click

    from attncheck.cli.group import cli
    ctx = click.Context(cli, info_name="attncheck", **cli.context_settings)
    formatter = click.HelpFormatter(width=WIDTH)
    cli.format_usage(ctx, formatter)
    cli.format_help_text(ctx, formatter)
    click.Command.format_options(cli, ctx, formatter)            # the options, not the commands
    cli.format_epilog(ctx, formatter)
    return formatter.getvalue().rstrip("\n")


if __name__ == "__main__":  # pragma: no cover - regeneration aid
    print(click_head())
