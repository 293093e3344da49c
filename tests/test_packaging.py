"""The design card: one import namespace from the top-level folders, a cheap CLI import."""
import configparser
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    listed = {p.strip() for p in cfg["options"]["packages"].split() if p.strip()}
    found = set()
    for top in ("cli", "bounds", "constructions", "verifiers", "docs"):
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO).parts
            found.add(".".join(("attncheck",) + rel))
    assert found == listed


def test_theorem_catalogue_ships_as_package_data():
    """docs/theorems.md is the single copy; setup.cfg ships it inside attncheck.docs."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert "attncheck.docs = docs" in cfg["options"]["package_dir"]
    assert "theorems.md" in cfg["options.package_data"]["attncheck.docs"].split()
    assert (REPO / "docs" / "theorems.md").is_file()


def test_cli_import_pulls_in_neither_z3_nor_sympy():
    code = ("import sys, attncheck.cli.main, attncheck.cli.verify, attncheck.cli.seqtask;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('z3', 'sympy', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version_and_help(cli):
    r = cli("--version")
    assert r.code == 0 and "attncheck" in r.out
    r = cli("--help")
    assert r.code == 0 and "Exit codes" in r.out and "verify" in r.out
