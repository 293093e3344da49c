"""What our constructions actually use: sizes measured from built construction objects.

Every number here comes from ``build_*(...).size()`` of a real construction (STYLE.md practice
2: a construction is data), never from a formula.  Builders are registered by name and
imported lazily; a builder module that does not exist yet (another engineer's work in
progress) gives a row that says so instead of a number.

Resources compared with bound quantities (``Quantity.resource``):

=========  =====================================================
layers     ``size["layers"]``
heads      ``size["heads"]`` (largest number of heads in a layer)
width      the width the bound's m means (qSA: the head's key width ``size["m"]``)
bits       ``size["bits"]`` (None for float64 ``exact`` formats)
state_bits an RNN's hidden-state bits per layer (``size["state_bits"]``)
h(m+1)p    heads · (width + 1) · bits     (one-layer communication bounds)
hmp, mp,   products of the above
mH, mHp
=========  =====================================================
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from attncheck.constructions.verdict import BadInput

#: Largest N at which tables build constructions (the induction builder's code-gap check is
#: O(N^2) in memory; N = 4096 takes ~0.3 s, N = 65536 would need 32 GiB).
MAX_MEASURE_N = 4096


@dataclass(frozen=True)
class Builder:
    """How to build one construction from table parameters."""

    name: str
    module: str
    attr: str
    kwargs: Callable[[Mapping[str, Any]], dict]
    width_key: str = "width"
    label: str = ""


BUILDERS: dict[str, Builder] = {b.name: b for b in (
    Builder("induction", "attncheck.constructions.induction", "build_induction",
            lambda p: {"N": p["N"], "alphabet": p["alphabet"], "seed": p["seed"]}, label="2-layer induction head"),
    Builder("hop", "attncheck.constructions.hop", "build_hop",
            lambda p: {"N": p["N"], "k": p["k"], "alphabet": p["alphabet"], "residual": "overwrite",
                       "seed": p["seed"]},
            label="k-hop head, overwrite residual"),
    Builder("hop-additive", "attncheck.constructions.hop", "build_hop",
            lambda p: {"N": p["N"], "k": p["k"], "alphabet": p["alphabet"], "residual": "additive",
                       "seed": p["seed"]},
            label="k-hop head, additive residual (paper-literal Def 2.2)"),
    Builder("qsa", "attncheck.constructions.qsa", "build_qsa",
            lambda p: {"N": p["N"], "q": p["q"], "d_prime": p["dprime"], "seed": p["seed"]}, width_key="m",
            label="qSA head, random sign codes"),
    Builder("qsa-moment", "attncheck.constructions.qsa", "build_qsa",
            lambda p: {"N": p["N"], "q": p["q"], "d_prime": p["dprime"], "codes": "moment"},
            width_key="m", label="qSA head, moment-curve codes (real arithmetic)"),
    Builder("match2", "attncheck.constructions.match", "build_match2",
            lambda p: {"N": p["N"], "M": p["M"]}, width_key="qk_width", label="Match2 head"),
    Builder("rnn-index", "attncheck.constructions.rnn", "build_rnn",
            lambda p: {"task": "index", "N": p["N"] - 1 + p["N"] % 2},
            label="streaming INDEX RNN (one cell; the family has odd length, so N is rounded down to odd)"),
    Builder("rnn-hop", "attncheck.constructions.rnn", "build_rnn",
            lambda p: {"task": "hop", "N": p["N"], "alphabet": p["alphabet"], "k": p["k"]},
            label="k stacked successor-table RNN cells"),
    Builder("mpc-components", "attncheck.constructions.mpc.lowmem_algos", "build_components_lowmem",
            lambda p: {"N": p["N"], "delta": str(p.get("eps", "1/2"))},
            label="MPC components of any degree, s = ceil(N^eps), Borůvka (layers = R + 1; compiled where it fits)"),
    Builder("mpc-reach", "attncheck.constructions.mpc.lowmem_algos", "build_reach_lowmem",
            lambda p: {"N": p["N"], "delta": str(p.get("eps", "1/2")), "D": p.get("diam")},
            label="MPC components by Boolean squaring, s = ceil(N^eps), ceil(log2 D) squarings (O(N^3/s) memory)"),
    Builder("mpc-msf", "attncheck.constructions.mpc.lowmem_algos", "build_msf_lowmem",
            lambda p: {"N": p["N"], "delta": str(p.get("eps", "1/2"))},
            label="MPC minimum spanning forest, s = ceil(N^eps), Borůvka (Cor B.9)"),
)}

#: Extra constructions shown beside a bound's own (the residual variants of section 11 item 4).
COMPANIONS: dict[str, tuple[str, ...]] = {"hop": ("hop-additive",), "mpc-components": ("mpc-reach", "mpc-msf")}


@dataclass(frozen=True)
class Measured:
    """A construction's size, or why there is none (``size`` None and ``reason`` set)."""

    name: str
    kwargs: Mapping[str, Any]
    size: Mapping[str, Any] | None
    reason: str = ""
    width_key: str = "width"
    label: str = field(default="", compare=False)

    def resource(self, key: str) -> int | None:
        """The construction's value of a bound resource (None when it has none)."""
        if self.size is None:
            return None
        s = self.size
        width = s.get(self.width_key, s.get("width"))
        base = {"layers": s.get("layers"), "heads": s.get("heads"), "width": width, "bits": s.get("bits"),
                "state_bits": s.get("state_bits")}
        if key in base:
            return base[key]
        h, m, p = base["heads"], base["width"], base["bits"]
        if None in (h, m) or (p is None and "p" in key):
            return None
        products = {"h(m+1)p": lambda: h * (m + 1) * p, "hmp": lambda: h * m * p, "mp": lambda: m * p,
                    "mH": lambda: m * h, "mHp": lambda: m * h * p}
        return products[key]() if key in products else None

    def to_json(self) -> dict:
        return {"name": self.name, "label": self.label, "build": dict(self.kwargs),
                "size": None if self.size is None else dict(self.size), "reason": self.reason or None}


def available(name: str) -> bool:
    return importlib.util.find_spec(BUILDERS[name].module) is not None


def measure(name: str, params: Mapping[str, Any]) -> Measured:
    """Build construction ``name`` at ``params`` and read its ``.size()``.

    Builder refusals (BadInput) and N above :data:`MAX_MEASURE_N` become a reason; any other
    exception is a bug and propagates (exit 4)."""
    b = BUILDERS[name]
    try:
        kwargs = b.kwargs(params)
    except KeyError as e:
        return Measured(name, {}, None, f"needs parameter {e.args[0]}", b.width_key, b.label)
    return _measure_cached(name, tuple(sorted(kwargs.items())))


_CACHE: dict[tuple, Measured] = {}


def _measure_cached(name: str, key: tuple) -> Measured:
    if (name, key) in _CACHE:
        return _CACHE[(name, key)]
    b, kwargs = BUILDERS[name], dict(key)
    if not available(name):
        out = Measured(name, kwargs, None, f"{b.module} not available yet", b.width_key, b.label)
    elif kwargs.get("N", 0) > MAX_MEASURE_N:
        out = Measured(name, kwargs, None, f"not built above N = {MAX_MEASURE_N}", b.width_key, b.label)
    else:
        builder = getattr(importlib.import_module(b.module), b.attr)
        try:
            size = dict(builder(**kwargs).size())
            out = Measured(name, kwargs, size, "", b.width_key, b.label)
        except BadInput as e:
            out = Measured(name, kwargs, None, f"builder refused: {e}", b.width_key, b.label)
    _CACHE[(name, key)] = out
    return out
