"""Find every registered attncheck command and run it in this process under guards (issue 9).

Shared by the fuzz suite (random option values) and the repro suite (same command twice).

* :func:`entries` lists the registered top-level paths without importing any command module:
  ``("bounds",)``, ``("verify", "induction")``, ...  An entry whose module does not exist yet is
  skipped, exactly as ``attncheck --help`` hides it (``importlib.util.find_spec``).
* :func:`leaves` imports one entry and walks its click groups down to the commands.
* :func:`invoke` runs ``attncheck ARGV`` in-process (like tests/conftest.py's ``cli`` fixture)
  under a wall-clock guard (SIGALRM) and an address-space cap, so a command that ignores its
  budget or allocates without bound fails the test instead of stalling the shared machine.
* :func:`violation` checks an outcome against the CLI contract of cli/main.py: exit 0/1/2/3,
  one non-empty stderr line for 2, no traceback, one JSON object under ``--json`` whose verdict
  (if any) agrees with the exit code -- for exit 2 the error object (verdict "error", exit_code 2,
  the stderr line as "error").
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import os
import resource
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

import click

GUARD_S = float(os.environ.get("ATTNCHECK_FUZZ_GUARD", "25"))   # wall-clock limit of one call (shared 2-core box)
BUDGET_SLACK_S = 8.0              # a run given --budget B must end within B + this (imports, build, render)
MEMORY_CAP = 3 << 30              # bytes of address space a call may add to the test process
VERDICT_EXIT = {"verified": 0, "refuted": 1, "unknown": 3}

#: Figures printed at the end of the run (tests/fuzz/conftest.py) and recorded in docs/reliability.md.
STATS: Counter = Counter()
SLOWEST: dict[str, float] = {}


def entries() -> list[tuple[str, ...]]:
    """Registered top-level command paths whose module exists (no command module imported)."""
    from attncheck.cli.main import COMMANDS
    from attncheck.cli.registry import TASK_COMMANDS
    out = []
    for name, (mod, _, _) in COMMANDS.items():
        if importlib.util.find_spec(mod) is None:
            continue
        if name in TASK_COMMANDS:
            out += [(name, task) for task, (m, _, _) in TASK_COMMANDS[name].items()
                    if importlib.util.find_spec(m) is not None]
        else:
            out.append((name,))
    return out


def registered_but_missing() -> list[str]:
    """Entries whose module does not exist yet (reported, not fuzzed)."""
    from attncheck.cli.main import COMMANDS
    from attncheck.cli.registry import TASK_COMMANDS
    miss = [n for n, (m, _, _) in COMMANDS.items() if importlib.util.find_spec(m) is None]
    miss += [f"{verb} {t}" for verb, tasks in TASK_COMMANDS.items() for t, (m, _, _) in tasks.items()
             if importlib.util.find_spec(m) is None]
    return miss


@dataclass(frozen=True)
class Leaf:
    """One runnable command: its path under ``attncheck`` and the click object."""

    path: tuple[str, ...]
    command: click.Command

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def options(self) -> list[click.Option]:
        return [p for p in self.command.params if isinstance(p, click.Option)]

    @property
    def arguments(self) -> list[click.Argument]:
        return [p for p in self.command.params if isinstance(p, click.Argument)]

    def has(self, name: str) -> bool:
        return any(p.name == name for p in self.command.params)


def _walk(cmd: click.Command, path: tuple[str, ...]) -> list[Leaf]:
    if not isinstance(cmd, click.Group):
        return [Leaf(path, cmd)]
    ctx = click.Context(cmd, info_name=path[-1])
    out = []
    for sub in cmd.list_commands(ctx):
        c = cmd.get_command(ctx, sub)
        if c is not None:
            out += _walk(c, path + (sub,))
    return out


def leaves(entry: tuple[str, ...]) -> list[Leaf]:
    """Import one entry (``("bounds",)`` or ``("verify", "hop")``) and list its commands."""
    from attncheck.cli.main import COMMANDS
    from attncheck.cli.registry import TASK_COMMANDS
    if len(entry) == 2:
        mod, attr, _ = TASK_COMMANDS[entry[0]][entry[1]]
    else:
        mod, attr, _ = COMMANDS[entry[0]]
    return _walk(getattr(importlib.import_module(mod), attr), entry)


# --- running one command ----------------------------------------------------------------------
class GuardTimeout(BaseException):
    """Raised by SIGALRM inside a call that overran GUARD_S (BaseException: main() must not map
    it to exit 4)."""


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    code: int | None
    out: str
    err: str
    seconds: float
    timed_out: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def line(self) -> str:
        return "attncheck " + " ".join(repr(a) if (not a or " " in a) else a for a in self.argv)


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for row in fh:
            if row.startswith("VmSize:"):
                return int(row.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def _guards(seconds: float, memory: int | None):
    def on_alarm(signum, frame):
        raise GuardTimeout(f"no exit after {seconds:g} s")
    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_limit = resource.getrlimit(resource.RLIMIT_AS)
    if memory is not None:
        cap = _vm_size() + memory
        hard = old_limit[1]
        resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_AS, old_limit)


def invoke(argv, guard_s: float = GUARD_S, memory: int | None = MEMORY_CAP) -> Outcome:
    """Run ``attncheck *argv`` in this process; never raises for the command's own failures."""
    from attncheck.cli.main import main
    argv = tuple(str(a) for a in argv)
    out, err = io.StringIO(), io.StringIO()
    code, timed_out = None, False
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _guards(guard_s, memory):
            try:
                main(list(argv))
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except GuardTimeout:
        timed_out = True
    dt = time.perf_counter() - t0
    return Outcome(argv, code, out.getvalue(), err.getvalue(), dt, timed_out)


def record(entry: str, o: Outcome) -> None:
    STATS["calls"] += 1
    STATS[f"exit {o.code}"] += 1
    STATS[f"entry {entry}"] += 1
    if o.seconds > SLOWEST.get(entry, 0.0):
        SLOWEST[entry] = o.seconds


def budget_of(argv) -> float | None:
    """The --budget a command line gives (the last one, as click takes it), if it is a number > 0."""
    value = None
    for a, b in zip(argv, argv[1:]):
        if a == "--budget":
            value = b
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if 0 < x < float("inf") else None


def violation(o: Outcome) -> str | None:
    """What breaks the CLI contract in ``o`` (None when it holds)."""
    if o.timed_out:
        return f"no exit within {GUARD_S:g} s (budget or cost guard missing)"
    b = budget_of(o.argv)
    if b is not None and o.seconds > b + BUDGET_SLACK_S:       # a refusal (exit 2) must come quickly too
        return f"ran {o.seconds:.1f} s with --budget {b:g} (exit {o.code}): the budget is not respected"
    if "Traceback" in o.err or "Traceback" in o.out:
        return "printed a traceback"
    if o.code not in (0, 1, 2, 3):
        return f"exit {o.code}: {o.err.strip()[:300]}"
    wants_json = "--json" in o.argv and "--help" not in o.argv and "-h" not in o.argv
    if o.code == 2:
        lines = [l for l in o.err.splitlines() if l.strip()]
        if len(lines) != 1:
            return f"exit 2 with {len(lines)} stderr lines: {o.err[:300]!r}"
        return error_object_problem(o, lines[0]) if wants_json else None
    if wants_json:
        try:
            obj = json.loads(o.out)
        except ValueError as e:
            return f"--json output is not one JSON object ({e}): {o.out[:200]!r}"
        if not isinstance(obj, dict) or "schema" not in obj or "timing" not in obj:
            return f"--json object lacks schema/timing: keys {sorted(obj)[:12] if isinstance(obj, dict) else type(obj)}"
        v = obj.get("verdict")
        if v is not None and VERDICT_EXIT.get(v) != o.code:
            return f"verdict {v!r} but exit {o.code}"
    return None


def error_object_problem(o: Outcome, line: str) -> str | None:
    """What is wrong with the JSON error object of a bad-input run under ``--json`` (None: fine)."""
    try:
        obj = json.loads(o.out)
    except ValueError as e:
        return f"exit 2 under --json without one JSON error object ({e}): {o.out[:200]!r}"
    want = {"schema", "command", "verdict", "exit_code", "error", "timing"}
    if not isinstance(obj, dict) or not want <= set(obj):
        return f"--json error object lacks {sorted(want - set(obj or {}))}"
    if obj["verdict"] != "error" or obj["exit_code"] != 2 or obj["error"] not in line:
        return f"--json error object disagrees with the stderr line: {obj['verdict']!r}, {obj['exit_code']!r}"
    return None


def without_timing(text: str) -> str:
    """The ``--json`` text with the ``timing`` object removed, keys in printed order."""
    obj = json.loads(text)
    obj.pop("timing", None)
    return json.dumps(obj, indent=2, ensure_ascii=False)
