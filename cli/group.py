"""The click group of ``attncheck``: :class:`LazyGroup`, the root group :data:`cli` and ``help``.

Moved out of :mod:`attncheck.cli.main` (issue 15) so that the entry point can print the
top-level help without importing click (:mod:`attncheck.cli.fast_help`); every name here is
also served by ``attncheck.cli.main`` (``from attncheck.cli.main import LazyGroup`` works).
The registry of sub-commands stays in :data:`attncheck.cli.main.COMMANDS`.
"""
from __future__ import annotations

import importlib
import importlib.util

import click

from attncheck.cli.main import COMMANDS, _print_version, suggestion


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
