"""The theorem catalogue: every id attncheck prints, read from ``docs/theorems.md``.

``docs/theorems.md`` is the single copy of the catalogue.  It ships inside the installed
package as the data package ``attncheck.docs`` (setup.cfg maps it onto ``docs/``), so an
editable and a regular install read the same file through :mod:`importlib.resources`.

The file is regular on purpose, so that this module can parse it::

    ## 4. SHT24a: transformers, parallel computation and logarithmic depth

    ### `sht24a.thm4_2` — k-hop induction heads in logarithmic depth [P]
    - paper: sht24a
    - source: SHT24a Thm 4.2
    - status: [P]
    - checked by: attncheck verify hop --k 8 --N 64

    Statement, one or more paragraphs, until the next heading.

Each ``### `id` — title [tags]`` heading opens one :class:`TheoremEntry`; the ``## N.``
heading above it gives its section number (the numbering of the original catalogue, so
"docs/theorems.md §10" names the formula table).  Unknown ids raise :class:`BadInput` with a
"did you mean" suggestion (the CLI turns that into one line and exit 2).
"""
from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from importlib import resources

from attncheck.constructions.verdict import BadInput

#: The papers an entry may belong to (``other`` covers standard results and third works).
PAPERS: tuple[str, ...] = ("sht24a", "sht24b", "sht23", "sfh24", "pnp24", "other")

#: Status tags, as defined at the top of docs/theorems.md.  ``standard`` marks textbook
#: results (INDEX, DISJ) that none of the papers claims as its own.
TAGS: tuple[str, ...] = ("P", "P-abs", "A", "S", "R", "M", "standard")

_FENCE = re.compile(r"^\s*```")
_SECTION = re.compile(r"^## (\d+)\. ")
_ENTRY = re.compile(r"^#{3,4} (?:\d+(?:\.\d+)+ )?`(?P<id>[^`]+)` — (?P<title>.+?) "
                    r"(?P<status>\[[^\]]+\])\s*$")
_HEADING = re.compile(r"^#{1,6} ")
_FIELD = re.compile(r"^- (?P<key>paper|source|status|checked by): (?P<value>.*)$")
_KEYS = {"paper": "paper", "source": "source", "status": "status", "checked by": "checked_by"}


def split_status(status: str) -> tuple[str, ...]:
    """``"[P-abs/S]"`` -> ``("P-abs", "S")``."""
    return tuple(t.strip() for t in status.strip().strip("[]").split("/"))


@dataclass(frozen=True)
class TheoremEntry:
    """One catalogue entry: a task, model, lemma, theorem, construction, bound row or erratum.

    ``status`` is the tag as printed, brackets included (``"[P-abs/S]"``); ``section`` is the
    number of the ``##`` section that holds it; ``checked_by`` is an attncheck command or
    ``"not checkable: <reason>"``.
    """

    id: str
    paper: str
    title: str
    status: str
    source: str
    statement: str
    checked_by: str
    section: int

    @property
    def tags(self) -> tuple[str, ...]:
        """The individual tags of :attr:`status`: ``"[P-abs/S]"`` -> ``("P-abs", "S")``."""
        return split_status(self.status)

    @property
    def checkable(self) -> bool:
        return not self.checked_by.startswith("not checkable")

    def to_json(self) -> dict:
        return {"id": self.id, "paper": self.paper, "title": self.title, "status": self.status,
                "tags": list(self.tags), "source": self.source, "section": self.section,
                "checked_by": self.checked_by, "statement": self.statement}


def catalogue_text() -> str:
    """The text of docs/theorems.md as installed with the package."""
    return resources.files("attncheck.docs").joinpath("theorems.md").read_text(encoding="utf-8")


def parse(text: str) -> tuple[TheoremEntry, ...]:
    """Entries of a catalogue text, in file order.

    A ``## N.`` heading sets the section; an entry heading opens an entry; any other heading
    closes it (group headings such as ``### 4.2 k-hop induction heads``).  Lines inside code
    fences are statement text, never headings.  A malformed entry raises ``ValueError`` naming
    its id: the file is ours, so a broken entry is a bug, not user input.
    """
    entries: list[TheoremEntry] = []
    section, fenced = 0, False
    current: dict | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            entries.append(_entry(current, body))

    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and _HEADING.match(line):
            close()
            current, body = None, []
            m = _SECTION.match(line)
            section = int(m.group(1)) if m else section
            m = _ENTRY.match(line)
            if m:
                current = {"id": m["id"], "title": m["title"].strip(), "heading": m["status"],
                           "section": section}
            elif "`" in line.split("—")[0] and line.startswith("###"):
                raise ValueError(f"docs/theorems.md: malformed entry heading: {line!r}")
            continue
        if current is None:
            continue
        m = _FIELD.match(line)
        if m and not body and not fenced:
            current[_KEYS[m["key"]]] = m["value"].strip()
        else:
            body.append(line)
    close()
    seen: set[str] = set()
    for e in entries:
        if e.id in seen:
            raise ValueError(f"docs/theorems.md: entry {e.id} appears twice")
        seen.add(e.id)
    return tuple(entries)


def _entry(fields: dict, body: list[str]) -> TheoremEntry:
    tid = fields["id"]
    missing = [k for k in ("paper", "source", "status", "checked_by") if not fields.get(k)]
    if missing:
        raise ValueError(f"docs/theorems.md: entry {tid} lacks {', '.join(missing)}")
    if fields["status"] != fields.pop("heading"):
        raise ValueError(f"docs/theorems.md: entry {tid}: heading tag and status differ")
    bad = [t for t in split_status(fields["status"]) if t not in TAGS]
    if bad:
        raise ValueError(f"docs/theorems.md: entry {tid}: unknown status tag(s) {bad}")
    if fields["paper"] not in PAPERS:
        raise ValueError(f"docs/theorems.md: entry {tid}: unknown paper {fields['paper']!r}")
    return TheoremEntry(statement="\n".join(body).strip(), **fields)


@functools.lru_cache(maxsize=1)
def load_catalogue() -> tuple[TheoremEntry, ...]:
    """Every entry of docs/theorems.md (parsed once per process)."""
    return parse(catalogue_text())


@functools.lru_cache(maxsize=1)
def _by_id() -> dict[str, TheoremEntry]:
    return {e.id: e for e in load_catalogue()}


def ids() -> tuple[str, ...]:
    return tuple(e.id for e in load_catalogue())


def get(theorem_id: str) -> TheoremEntry:
    """The entry with this id; unknown ids raise :class:`BadInput` with a suggestion."""
    entry = _by_id().get(theorem_id)
    if entry is not None:
        return entry
    close = difflib.get_close_matches(str(theorem_id), list(_by_id()), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else " (attncheck theorems lists every id)"
    raise BadInput(f"unknown theorem id {theorem_id!r}{hint}")


def for_paper(paper: str) -> tuple[TheoremEntry, ...]:
    """Entries of one paper (``sht24a``, ``sht24b``, ``sht23``, ``sfh24``, ``pnp24``, ``other``)."""
    key = str(paper).lower()
    if key not in PAPERS:
        close = difflib.get_close_matches(key, PAPERS, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else f" (one of {', '.join(PAPERS)})"
        raise BadInput(f"unknown paper {paper!r}{hint}")
    return tuple(e for e in load_catalogue() if e.paper == key)
