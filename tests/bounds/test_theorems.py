"""The theorem catalogue (docs/theorems.md via attncheck.bounds.theorems) and `attncheck theorems`.

* the file parses into well-formed entries: a paper, a status tag, a source, a check;
* every theorem id the tool prints is an entry: the ``theorem`` of every construction the
  builders make, every bound record, every id written in the source (claims, witnesses,
  reductions, errata notes), and every "section 11 item N" an erratum entry;
* every "checked by" command names a real attncheck command with options it accepts;
* ``attncheck theorems [ID] [--paper P] [--json]`` prints the catalogue; unknown ids exit 2.
"""
from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import click
import pytest

from attncheck.bounds import theorems
from attncheck.bounds.formulas import ALIASES, BOUNDS
from attncheck.constructions.verdict import BadInput

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("bounds", "cli", "constructions", "verifiers")

#: A theorem id inside any text: a known prefix, a dot, more name (not part of a path or a
#: format field such as ``{task.description}``).
ID_IN_TEXT = re.compile(r"(?<![\w./{])((?:sht24a|sht24b|sht23|sfh24|pnp24|an21|lemma|fact|prop|conj|cc|"
                        r"task|model|ih|ngram|erratum|unconfirmed)\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)")
ERRATUM_REF = re.compile(r"(?:§ ?11|section 11)\s+items?\s+(\d+)(?:\s*[-–]\s*(\d+))?|theorems\.md\s+11\.(\d+)",
                         re.I)


# --- the file ----------------------------------------------------------------------------------

def test_the_package_reads_the_file_in_the_repository():
    assert theorems.catalogue_text() == (REPO / "docs" / "theorems.md").read_text(encoding="utf-8")


def test_catalogue_is_loaded_once_and_covers_every_paper(catalogue):
    assert theorems.load_catalogue() is catalogue
    assert len(catalogue) >= 80
    for paper in theorems.PAPERS:
        assert theorems.for_paper(paper), f"no entry for paper {paper}"
    assert sum(len(theorems.for_paper(p)) for p in theorems.PAPERS) == len(catalogue)


def test_every_entry_is_well_formed(catalogue):
    for e in catalogue:
        assert e.paper in theorems.PAPERS, e.id
        assert e.tags and set(e.tags) <= set(theorems.TAGS), (e.id, e.status)
        assert e.status == "[" + "/".join(e.tags) + "]", (e.id, e.status)
        assert e.title and e.source and e.statement, e.id
        assert e.checked_by.startswith(("`attncheck ", "not checkable: ")), (e.id, e.checked_by)
        assert _commands(e.checked_by) or not e.checkable, e.id
        assert 1 <= e.section <= 12, (e.id, e.section)


def test_the_numbered_sections_are_those_the_code_cites():
    text = theorems.catalogue_text()
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. ", text, flags=re.M)]
    assert numbers == list(range(1, 13))
    for sub in ("1.1", "2.2", "4.2", "9.1", "9.2", "9.3", "9.4", "11.1", "11.4"):
        assert re.search(rf"^### {re.escape(sub)} ", text, flags=re.M), f"subsection {sub} missing"


def test_sample_entries(catalogue):
    e = theorems.get("sht24a.thm4_2")
    assert (e.paper, e.section, e.tags) == ("sht24a", 4, ("P", "R"))
    assert "⌊log2 k⌋ + 2" in e.statement and "2 + ⌈log2 k⌉" in e.statement
    assert theorems.get("task.ih").paper == "sht24b"
    assert theorems.get("cc.oneway").status == "[standard]"
    assert theorems.get("erratum.2").section == 11
    assert theorems.get("unconfirmed.sht23").section == 12
    assert not theorems.get("sht24a.thm5_1").checkable


def test_parser_rejects_a_broken_entry():
    good = ("## 3. x\n\n### `a.b` — t [P]\n- paper: other\n- source: s\n- status: [P]\n"
            "- checked by: not checkable: r\n\nStatement.\n")
    assert theorems.parse(good)[0].statement == "Statement."
    with pytest.raises(ValueError, match="a.b lacks source"):
        theorems.parse(good.replace("- source: s\n", ""))
    with pytest.raises(ValueError, match="heading tag and status differ"):
        theorems.parse(good.replace("- status: [P]", "- status: [R]"))
    with pytest.raises(ValueError, match="unknown status tag"):
        theorems.parse(good.replace("[P]", "[Q]"))
    with pytest.raises(ValueError, match="appears twice"):
        theorems.parse(good + good)


def test_code_fences_are_statement_text_not_headings():
    text = ("## 2. x\n\n### `a.b` — t [P]\n- paper: other\n- source: s\n- status: [P]\n"
            "- checked by: not checkable: r\n\n```python\n# a comment, not a heading\nx = 1\n```\n")
    (e,) = theorems.parse(text)
    assert "# a comment, not a heading" in e.statement


# --- the API -------------------------------------------------------------------------------------

def test_unknown_id_is_bad_input_with_a_suggestion():
    with pytest.raises(BadInput, match=r"unknown theorem id 'sht24a\.thm4_3'; did you mean sht24a\.thm4_2\?"):
        theorems.get("sht24a.thm4_3")
    with pytest.raises(BadInput, match="attncheck theorems lists every id"):
        theorems.get("no-such-thing")
    with pytest.raises(BadInput, match=r"unknown paper 'sht2x'; did you mean sht23\?"):
        theorems.for_paper("sht2x")


def test_entries_are_frozen(catalogue):
    with pytest.raises(AttributeError):
        catalogue[0].title = "changed"


# --- every id the tool prints is an entry -----------------------------------------------------------

def _ids_in_source() -> dict[str, set[str]]:
    """Every theorem id written in a string (docstrings included) of the package sources."""
    found: dict[str, set[str]] = {}
    for top in SOURCES:
        for path in (REPO / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    for tid in ID_IN_TEXT.findall(node.value):
                        found.setdefault(tid.rstrip(".-"), set()).add(str(path.relative_to(REPO)))
    return found


def _report_check_names() -> set[str]:
    """Names of ``attncheck report`` checks (``ih.N64``, ``erratum.hop-recursion``): names of
    commands to run, not theorem ids, though they share the id syntax."""
    try:
        from attncheck.cli.report_checks import CHECKS
    except ImportError:
        return set()
    return {c.name for c in CHECKS}


def test_every_id_in_the_source_is_an_entry_or_a_bound_alias():
    known = set(theorems.ids()) | set(ALIASES) | _report_check_names()
    found = _ids_in_source()
    assert {"sht24a.thm4_2", "sht24b.two-layer-ub", "ngram.ih", "sht24b.gap"} <= set(found)
    missing = {tid: sorted(where) for tid, where in found.items() if tid not in known}
    assert not missing, f"ids printed or cited by the code but missing from docs/theorems.md: {missing}"


def test_every_bound_record_is_an_entry():
    ids = set(theorems.ids())
    assert not sorted(set(BOUNDS) - ids)
    assert all(theorems.get(ALIASES[a]) for a in ALIASES)


def test_every_builder_construction_theorem_is_an_entry():
    """Build each registered construction at a small size and look its theorem up."""
    import importlib

    from attncheck.bounds.sizes import BUILDERS
    params = {"N": 8, "k": 2, "alphabet": 3, "seed": 0, "q": 2, "dprime": 1, "M": 5}
    seen = set()
    for b in BUILDERS.values():
        c = getattr(importlib.import_module(b.module), b.attr)(**b.kwargs(params))
        seen.add(c.theorem)
        theorems.get(c.theorem)
    assert {"sht24b.two-layer-ub", "sht24a.thm4_2", "sht23.thm2", "sht23.thm3"} <= seen


def test_every_errata_reference_is_an_erratum_entry():
    refs = set()
    paths = [p for top in SOURCES for p in (REPO / top).rglob("*.py")] + list((REPO / "docs").glob("*.md"))
    for path in paths:
        for a, b, dotted in ERRATUM_REF.findall(path.read_text(encoding="utf-8")):
            first = int(a or dotted)
            refs.update(range(first, int(b or first) + 1))
    assert refs, "no errata references found (the pattern is stale)"
    for n in sorted(refs):
        assert theorems.get(f"erratum.{n}").section == 11


# --- every "checked by" line names a real command -------------------------------------------------

def _commands(checked_by: str) -> list[list[str]]:
    """The backticked ``attncheck ...`` commands of a "checked by" line, as argument lists."""
    return [shlex.split(c)[1:] for c in re.findall(r"`(attncheck [^`]+)`", checked_by)]


def test_every_checked_by_command_parses(catalogue):
    """Resolve the sub-command and parse its arguments (no command is run); the options are
    spelled by their current names, not the old spellings kept for one release (docs/cli.md)."""
    from attncheck.cli.main import cli as group
    from attncheck.cli.params import AliasOption
    bad = []
    for e in catalogue:
        for args in _commands(e.checked_by):
            cmd, ctx, rest = group, click.Context(group, info_name="attncheck"), list(args)
            while isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
                sub = cmd.get_command(ctx, rest[0])
                if sub is None:
                    break
                cmd, ctx, rest = sub, click.Context(sub, parent=ctx, info_name=rest[0]), rest[1:]
            try:
                assert not isinstance(cmd, click.Group), "names a group, not a command"
                parsed = cmd.make_context(ctx.info_name, rest, parent=ctx.parent)
                old = [p.old for p in cmd.params
                       if isinstance(p, AliasOption) and parsed.params.get(p.name) not in (None, ())]
                assert not old, f"old spelling {', '.join(old)}"
            except (AssertionError, click.ClickException) as err:
                bad.append((e.id, " ".join(args), str(err)))
    assert not bad, f"checked-by commands that do not parse: {bad}"


# --- the command ----------------------------------------------------------------------------------

def test_theorems_lists_every_entry(cli, catalogue):
    r = cli("theorems")
    assert r.code == 0 and r.err == ""
    assert f"{len(catalogue)} catalogue entries" in r.out
    for tid in ("sht24a.thm4_2", "task.ih", "erratum.1"):
        assert tid in r.out


def test_theorems_one_entry(cli):
    r = cli("theorems", "sht24a.thm4_2")
    assert r.code == 0
    assert "k-hop induction heads in logarithmic depth" in r.out and "[P/R]" in r.out
    assert "attncheck verify hop --k 8 --N 64" in r.out and "docs/theorems.md §4" in r.out


def test_theorems_json_uses_the_envelope(cli):
    r = cli("theorems", "sht24b.one-layer-ih-lb", "--json")
    assert r.code == 0
    obj = r.json
    assert obj["schema"] == 1 and obj["command"] == "theorems"
    assert obj["theorem"]["id"] == "sht24b.one-layer-ih-lb" and obj["theorem"]["tags"] == ["P-abs", "S"]
    r = cli("theorems", "--paper", "pnp24", "--json")
    assert r.code == 0
    assert {t["paper"] for t in r.json["theorems"]} == {"pnp24"}
    assert r.json["count"] == len(theorems.for_paper("pnp24"))


@pytest.mark.parametrize("args, message", [
    (("theorems", "sht24a.thm4_3"), "did you mean sht24a.thm4_2?"),
    (("theorems", "zzz"), "attncheck theorems lists every id"),
    (("theorems", "sht24a.thm4_2", "--paper", "sht23"), "belongs to paper sht24a, not sht23"),
    (("theorems", "--paper", "nope"), "--paper"),
])
def test_theorems_bad_input_is_one_line_and_exit_2(cli, args, message):
    r = cli(*args)
    assert r.code == 2 and r.out == ""
    assert message in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err
