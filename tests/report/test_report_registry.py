"""The registry of ``attncheck report``: every catalogue id of SHT24a is covered (or the
catalogue says why it is not checkable), every argv parses, and ``--budget`` goes only to
commands that take it."""
from __future__ import annotations

import click
import pytest

from attncheck.cli.report_checks import (CHECKS, EXPECT, FIGURES, KINDS, NOT_RUN, PAPERS, checks_for,
                                         covered, select)


def _command(argv):
    """The click command an argv names, and the rest of the argv."""
    from attncheck.cli.main import cli
    ctx = click.Context(cli)
    cmd, rest = cli, list(argv)
    while isinstance(cmd, click.Group):
        cmd = cmd.get_command(ctx, rest[0])
        assert cmd is not None, argv
        rest = rest[1:]
    return cmd, rest


@pytest.mark.parametrize("paper", ["sht24a", "sht24b", "sht23"])
def test_every_catalogue_id_of_the_paper_is_covered_or_not_checkable(paper, catalogue):
    done = covered(checks_for(paper))
    missing = [e.id for e in catalogue if e.paper == paper and e.checkable
               and e.id not in done and e.id not in NOT_RUN]
    assert not missing, f"{paper}: catalogue ids with no check in the report registry: {missing}"


def test_sht24a_has_checks_for_each_kind_of_evidence():
    kinds = {c.kind for c in checks_for("sht24a")}
    assert {"construction", "erratum", "bound", "witness", "reduction", "smt", "mpc"} <= kinds


def test_every_registry_id_is_in_the_catalogue(catalogue):
    ids = {e.id for e in catalogue}
    assert not covered(CHECKS) - ids


def test_records_are_well_formed():
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
    for c in CHECKS:
        assert c.expect in EXPECT and c.kind in KINDS and c.theorems and c.papers, c
        assert set(c.papers) <= set(PAPERS), c
        assert c.figure in (None, *FIGURES), c
        assert "--json" not in c.argv and "--budget" not in c.argv, c


def test_paper_literal_variants_are_expected_refuted():
    for c in CHECKS:
        if "--variant" in c.argv and c.argv[c.argv.index("--variant") + 1] in ("paper", "no-threshold"):
            assert c.expect == "refuted", c.name
    assert {c.name for c in checks_for("sht24a") if c.expect == "refuted"} >= {
        "erratum.hop-recursion", "erratum.hop-embedding", "erratum.ih-embedding"}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_argv_parses_and_budget_flag_matches_the_command(check):
    cmd, rest = _command(check.argv)
    takes_budget = any("--budget" in p.opts for p in cmd.params)
    assert takes_budget == check.budget, check.name
    assert any("--json" in p.opts for p in cmd.params), check.name
    cmd.make_context(cmd.name, [*rest, "--json"], resilient_parsing=False)


def test_all_is_the_union_and_select_matches_names_and_ids():
    union = {c.name for p in PAPERS for c in checks_for(p)}
    assert {c.name for c in checks_for("all")} == union
    assert [c.name for c in select(checks_for("sht24a"), ["ih.N64"])] == ["ih.N64"]
    by_id = select(checks_for("sht24a"), ["sht24a.cor3_5"])
    assert by_id and all("sht24a.cor3_5" in c.theorems for c in by_id)


def test_docs_name_every_check_and_bound_row():
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "docs" / "report.md").read_text(encoding="utf-8")
    for c in CHECKS:
        key = f"`{c.theorem}`" if c.name.startswith("bound.") else f"| {c.name} |"
        assert key in doc, f"docs/report.md does not list {c.name}"
