"""The package layers of docs/architecture.md, read from the code's own imports (issue 14).

cli -> verifiers -> constructions and cli -> bounds -> constructions, nothing else between the
four packages: constructions import none of the others, verifiers and bounds do not import
each other, nothing imports cli.  Outside cli/ (whose commands load lazily on purpose) no
function imports attncheck: every edge between modules stands at the top of a file, where a
reader sees it.  The picture in docs/architecture.md is checked against the same scan.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("cli", "bounds", "constructions", "verifiers")
ALLOWED = {
    "cli": {"cli", "bounds", "constructions", "verifiers", "docs"},
    "verifiers": {"verifiers", "constructions"},
    "bounds": {"bounds", "constructions", "docs"},
    "constructions": {"constructions"},
}


def imported_packages(node: ast.AST, here: list[str]) -> list[str]:
    """attncheck packages an import statement reaches (absolute or relative)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = here[: len(here) - node.level + 1]
            names = [".".join(["attncheck", *base, *([node.module] if node.module else [])])]
        else:
            names = [node.module or ""]
    out = []
    for name in names:
        parts = name.split(".")
        if parts[0] == "attncheck" and len(parts) > 1:
            out.append(parts[1])
    return out


@functools.lru_cache(maxsize=1)
def scan() -> tuple:
    """(module path, line, importing package, imported package, inside a function?) for every
    attncheck import in the four packages."""
    rows = []
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            rel = path.relative_to(REPO)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            in_func = {id(sub) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for sub in ast.walk(fn)}
            here = list(rel.parts[:-1])
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for target in imported_packages(node, here):
                        rows.append((str(rel), node.lineno, pkg, target, id(node) in in_func))
    return tuple(rows)


def test_the_scan_sees_the_code():
    rows = scan()
    assert len(rows) > 200 and {r[2] for r in rows} == set(PACKAGES)


def test_imports_point_one_way():
    wrong = [f"{f}:{line} ({pkg} -> {target})" for f, line, pkg, target, _ in scan()
             if target in PACKAGES and target not in ALLOWED[pkg]]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_function_local_attncheck_import_outside_cli():
    local = [f"{f}:{line}" for f, line, pkg, target, inside in scan() if inside and pkg != "cli"]
    assert not local, "function-local imports hide edges:\n" + "\n".join(local)


@pytest.mark.parametrize("edge", ["cli -> verifiers", "cli -> bounds", "verifiers -> constructions",
                                  "bounds -> constructions"])
def test_architecture_page_draws_the_real_edges(edge):
    """docs/architecture.md names every edge that exists, and only allowed ones."""
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    src, dst = edge.split(" -> ")
    assert any(pkg == src and target == dst for _, _, pkg, target, _ in scan())
    assert edge in text
