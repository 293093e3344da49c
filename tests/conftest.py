"""Shared test helpers: run the CLI in-process and capture (exit code, stdout, stderr); the
theorem catalogue (docs/theorems.md, read through attncheck.bounds.theorems)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO = Path(__file__).resolve().parents[1]
#: The theorem catalogue travels with the repository (tests read nothing outside the checkout).
THEOREMS_MD = REPO / "docs" / "theorems.md"


class CliResult:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """``cli("verify", "induction", "--N", "8")`` -> CliResult(code, stdout, stderr)."""
    from attncheck.cli.main import main

    def run(*args):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)
    return run


@pytest.fixture(scope="session")
def catalogue():
    """Every entry of docs/theorems.md, as the installed package reads it."""
    from attncheck.bounds.theorems import load_catalogue
    return load_catalogue()
