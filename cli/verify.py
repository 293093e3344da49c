"""The task-verb groups ``verify``, ``run``, ``build`` and ``precision``.

Each is a lazy group over :data:`attncheck.cli.registry.TASK_COMMANDS`, so ``attncheck verify
--help`` lists every task without importing any construction.
"""
from __future__ import annotations

import click

from attncheck.cli.main import LazyGroup
from attncheck.cli.registry import TASK_COMMANDS


def _group(verb: str, help_: str) -> click.Group:
    return LazyGroup(name=verb, lazy=TASK_COMMANDS[verb], help=help_)


verify = _group("verify", "Check a construction against its task.  Exit 0 verified, 1 refuted,"
                " 2 bad input, 3 unknown.")
run = _group("run", "Run a construction on one input; show outputs, ground truth and attention.")
build = _group("build", "Build a construction: size, layout, temperatures; optionally save weights.")
precision = _group("precision", "Find the fewest fixed-point integer and fraction bits that a"
                   " construction's certificate needs.")
