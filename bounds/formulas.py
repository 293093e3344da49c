"""The registry of bounds: ``BOUNDS[theorem_id] -> Bound`` (STYLE.md practice 14).

One frozen :class:`~attncheck.bounds.records.Bound` per docs/theorems.md id, covering every row of
the formula table in section 10 plus ``sht23.match2_ub`` and ``sht23.rnn-ih``.  Use::

    from attncheck.bounds.formulas import BOUNDS
    r = BOUNDS["sht24a.thm4_2"].evaluate(N=64, k=6)
    r.exact, r.display                    # headline quantity: (4, "4") = ⌊log2 6⌋ + 2 [P]
    r.part("layers_needed").value.exact   # 5 = 2 + ⌈log2 6⌉ [R]

Aliases (the spelling used in section 10 where it differs from the heading id, e.g.
``sht24a.lemma3_2`` for ``lemma.sht24a.3_2``, ``INDEX`` for ``cc.oneway``) resolve through
:func:`get`.  Nothing here imports sympy; see :mod:`attncheck.bounds.symbolic`.
"""
from __future__ import annotations

import difflib

from attncheck.bounds.catalog_other import BOUNDS_OTHER
from attncheck.bounds.catalog_separations import BOUNDS_SEPARATIONS
from attncheck.bounds.catalog_sht24 import BOUNDS_SHT24
from attncheck.bounds.records import Bound
from attncheck.constructions.verdict import BadInput


def _registry(*groups: tuple[Bound, ...]) -> dict[str, Bound]:
    out: dict[str, Bound] = {}
    for group in groups:
        for b in group:
            if b.id in out:
                raise ValueError(f"duplicate bound id {b.id}")
            out[b.id] = b
    return out


BOUNDS: dict[str, Bound] = _registry(BOUNDS_SHT24, BOUNDS_SEPARATIONS, BOUNDS_OTHER)

ALIASES: dict[str, str] = {a: b.id for b in BOUNDS.values() for a in b.aliases}


def get(name: str) -> Bound:
    """The bound with this id or alias, or BadInput with the nearest ids."""
    key = ALIASES.get(name, name)
    if key in BOUNDS:
        return BOUNDS[key]
    near = difflib.get_close_matches(name, list(BOUNDS) + list(ALIASES), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; see 'attncheck bounds list'"
    raise BadInput(f"unknown bound id {name!r}{hint}")


def all_param_names() -> tuple[str, ...]:
    """Every parameter name some bound takes, in first-seen order."""
    seen: dict[str, None] = {}
    for b in BOUNDS.values():
        for name in b.param_names:
            seen.setdefault(name)
    return tuple(seen)
