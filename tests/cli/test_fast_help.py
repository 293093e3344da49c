"""The top-level help printed without click (``cli/fast_help.py``, issue 15) is click's own.

In this process click is imported, so ``main`` renders every help with click; the fast path is
compared with that output, for the real registry and for edited ones (wrapped, long, missing,
empty), and run in a fresh process to see that it imports no click.
"""
import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from attncheck.cli import fast_help
from attncheck.cli.main import COMMANDS, cli, main


def through_click(args) -> tuple[int, str]:
    assert "click" in sys.modules                 # so main() takes click's path, not the fast one
    buf = io.StringIO()
    with redirect_stdout(buf):
        try:
            main(list(args))
            rc = 0
        except SystemExit as e:
            rc = e.code
    return rc, buf.getvalue()


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "40")


def test_head_is_what_click_renders():
    got = fast_help.click_head()
    assert got == fast_help.HEAD, ("the root group's help changed: set fast_help.HEAD to\n" + got)


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"]])
def test_fast_text_equals_clicks_for_the_registry(wide, args):
    rc, out = through_click(args)
    text = fast_help.top_help()
    assert rc == 0 and text is not None and out == text + "\n"


EXTRA = {
    "zz-wrapped": ("attncheck.cli.render", "x", "A help line long enough that it has to wrap onto a"
                   " second line, with hyphen-joined words like fixed-point and 1-vs-2 near the end."),
    "a-name-longer-than-thirty-columns": ("attncheck.cli.render", "x", "Sits on the next line."),
    "missing": ("attncheck.cli.no_such_module_here", "x", "Hidden: its module does not exist."),
    "empty": ("attncheck.cli.render", "x", ""),
}


@pytest.mark.parametrize("extra", [["zz-wrapped"], ["a-name-longer-than-thirty-columns"], ["missing"],
                                   ["empty"], list(EXTRA)])
def test_edited_registries_render_as_click_does(wide, monkeypatch, extra):
    reg = {**COMMANDS, **{k: EXTRA[k] for k in extra}}
    monkeypatch.setattr(cli, "lazy", reg)
    rc, out = through_click(["--help"])
    text = fast_help.top_help(reg)
    assert rc == 0 and text is not None and out == text + "\n"
    assert "Hidden" not in out and all(name in out for name in extra if name != "missing")


def test_rows_it_cannot_reproduce_fall_back_to_click(wide, monkeypatch):
    odd = {"x": ("attncheck.cli.render", "x", "tab\tinside"),
           "y": ("attncheck.cli.render", "x", "w" * 80),                     # a word wider than the column
           "z": ("attncheck.cli.render", "x", "  leading spaces")}
    for name, entry in odd.items():
        assert fast_help.top_help({**COMMANDS, name: entry}) is None


def test_narrow_terminals_fall_back(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    assert fast_help.top_help() is None
    rc, out = through_click(["--help"])
    assert rc == 0 and out.splitlines()[2] != fast_help.HEAD.splitlines()[2]     # wrapped at 58


@pytest.mark.parametrize("env", [{"COLUMNS": "100"}, {"COLUMNS": "79", "LINES": "5"}, {"COLUMNS": "abc"},
                                 {"COLUMNS": "-3"}, {}])
def test_columns_are_shutils(monkeypatch, env):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert fast_help.columns() == shutil.get_terminal_size().columns


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"]])
def test_a_fresh_process_prints_it_without_click(args):
    code = ("import sys\nfrom attncheck.cli.main import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as e:\n    print(e.code, 'click' in sys.modules, file=sys.stderr)\n")
    env = {**os.environ, "COLUMNS": "100"}
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    assert p.stderr.split() == ["0", "False"]
    assert p.stdout == fast_help.top_help(COMMANDS) + "\n"


def test_other_invocations_still_go_through_click():
    env = {**os.environ, "COLUMNS": "100"}
    v = subprocess.run([sys.executable, "-m", "attncheck.cli.main", "--version"], capture_output=True,
                       text=True, env=env)
    assert v.returncode == 0 and v.stdout.startswith("attncheck, version ")
    h = subprocess.run([sys.executable, "-m", "attncheck.cli.main", "help"], capture_output=True,
                       text=True, env=env)
    assert h.returncode == 0 and h.stdout == fast_help.top_help(COMMANDS) + "\n"


def test_shell_completion_is_not_answered_with_the_help():
    # click answers _ATTNCHECK_COMPLETE with no arguments: the fast path must leave that to click
    env = {**os.environ, "COLUMNS": "100", "_ATTNCHECK_COMPLETE": "bash_source"}
    p = subprocess.run([sys.executable, "-m", "attncheck.cli.main"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and "_attncheck_completion" in p.stdout


def test_a_closed_pipe_ends_quietly_as_with_click():
    # click answers a reader that went away (EPIPE) with exit 1 and nothing on stderr
    for code in ["from attncheck.cli.main import main; main(['--help'])",
                 "import click; from attncheck.cli.main import main; main(['--help'])"]:
        r, w = os.pipe()
        os.close(r)                       # the reader is gone before the child starts: EPIPE, always
        try:
            p = subprocess.run([sys.executable, "-c", code], stdout=w, stderr=subprocess.PIPE)
        finally:
            os.close(w)
        assert p.returncode == 1 and p.stderr.decode() == ""
