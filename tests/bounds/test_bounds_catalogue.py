"""The bound registry and the theorem catalogue (docs/theorems.md) name the same bounds.

* every row of the section-10 formula table resolves to a registered bound (by id or alias);
* every registered id and alias appears in the catalogue: as an entry id, a backticked id, or a
  first-column name of the section-10 table;
* every section-10 row and every registered bound is a catalogue entry, and the entry carries
  the bound's own status tag.

The catalogue is read through ``attncheck.bounds.theorems``, i.e. from inside the repository
(or the installed package): nothing outside the checkout is needed.
"""
from __future__ import annotations

import re

import pytest

from attncheck.bounds import theorems
from attncheck.bounds.formulas import ALIASES, BOUNDS, get


@pytest.fixture(scope="module")
def text() -> str:
    return theorems.catalogue_text()


def section(text: str, number: int) -> str:
    m = re.search(rf"^## {number}\. .*?$(.*?)(?=^## \d+\. |\Z)", text, flags=re.M | re.S)
    assert m, f"section {number} not found"
    return m.group(1)


def section10_names(text: str) -> list[str]:
    """First-column names of the section-10 table, normalised: '(Performer)' dropped,
    'sht23.thm10/11' split into sht23.thm10 and sht23.thm11."""
    names = []
    for line in section(text, 10).splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("id", "") or set(cells[0]) <= set("-: "):
            continue
        name = re.sub(r"\s*\(.*\)$", "", cells[0]).strip("`")
        m = re.fullmatch(r"(.+\.\D+)(\d+)/(\d+)", name)
        names += [m.group(1) + m.group(2), m.group(1) + m.group(3)] if m else [name]
    return names


def backticked_ids(text: str) -> set[str]:
    return set(re.findall(r"`([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+)`", text))


def test_section_10_parser_sees_the_whole_table(text):
    names = section10_names(text)
    assert len(names) >= 25
    assert {"sht24a.thm4_2", "sht23.thm10", "sht23.thm11", "sht24a.cor5_2", "INDEX"} <= set(names)


def test_every_section_10_row_is_registered(text):
    missing = []
    for name in section10_names(text):
        try:
            get(name)
        except Exception:
            missing.append(name)
    assert not missing, f"section-10 rows without a registered bound: {missing}"


def test_every_section_10_row_is_a_catalogue_entry(text):
    """A row names an entry directly, or through the bound registry's alias."""
    ids = set(theorems.ids())
    missing = [n for n in section10_names(text) if n not in ids and get(n).id not in ids]
    assert not missing, f"section-10 rows without a catalogue entry: {missing}"


def test_every_registered_id_and_alias_appears_in_the_catalogue(text):
    known = set(theorems.ids()) | backticked_ids(text) | set(section10_names(text))
    unknown = sorted(set(BOUNDS) - known) + sorted(set(ALIASES) - known)
    assert not unknown, f"registered names that docs/theorems.md does not contain: {unknown}"


def test_every_registered_bound_is_an_entry_with_its_status_tag():
    wrong = []
    for bid, bound in BOUNDS.items():
        entry = theorems.get(bid)
        if not set(theorems.split_status(bound.source.tag)) <= set(entry.tags):
            wrong.append((bid, bound.source.tag, entry.status))
    assert not wrong, f"bound tag not among the entry's tags (id, bound, entry): {wrong}"


def test_section_10_rows_map_to_distinct_bounds(text):
    ids = [get(n).id for n in section10_names(text)]
    assert len(ids) == len(set(ids)), "two section-10 rows resolve to the same bound"
