"""Broken constructions, generated per construction family, for mutation testing (issue 9).

A *mutant* is a construction, a number format and an attention kind that differ from a correct
construction in one deliberate way.  Exhaustive mode decides, over every input of Sigma^N,
whether the mutant is *really wrong* (REFUTED) or *equivalent* (VERIFIED: the change did not
matter at this size); a sound certificate (or SMT certify query) must never say VERIFIED for a
really-wrong mutant.  The mutation score is caught / really wrong and must stay 100 %.

Kinds (the issue's list, plus one):

* ``perturbed weights``     -- one entry of W_Q / W_K / W_V / W_O, the embeddings or the start row
                               moved (the largest entry negated, a seeded entry shifted);
* ``swapped heads``         -- the heads of two layers exchanged (maps stay where they were);
* ``dropped layer``         -- one layer removed;
* ``wrong temperature``     -- a head's temperature divided by 10, negated, or set to 1;
* ``too few bits``          -- the declared ``fixed:I.F`` with fewer integer or fraction bits;
* ``wrong bit of k``        -- (hop) one bit of the accumulator schedule flipped, one layer too
                               few, or the construction for k checked against hop_(k xor 1);
* ``off-by-one positions``  -- the previous-position pointer, the key position codes, the
                               recency channel or the start token's pointer shifted by one;
* ``wrong decoder``         -- the decoder's symbol table rotated.

Families are registered in :data:`FAMILIES` with a builder; a family whose builder module does
not exist yet (``attncheck.constructions.hop`` before it lands) is reported as skipped.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from attncheck.constructions.spec import Construction, Decoder, Layer
from attncheck.constructions.precision import Format, fixed

KINDS = ("perturbed weights", "swapped heads", "dropped layer", "wrong temperature", "too few bits",
         "wrong bit of k", "off-by-one positions", "wrong decoder")
WEIGHTS = ("W_Q", "W_K", "W_V", "W_O")


@dataclass(frozen=True, eq=False)
class Mutant:
    family: str
    kind: str
    name: str
    construction: Construction
    task: str
    params: dict
    fmt: Format
    attention: str

    @property
    def label(self) -> str:
        return f"{self.family}: {self.name} [{self.fmt}, {self.attention}]"


@dataclass(frozen=True)
class Family:
    """A construction family: ``build()`` -> (correct construction, task, task params)."""

    name: str
    module: str
    build: Callable[[], tuple[Construction, str, dict]]
    extra: Callable[[Construction, dict], Iterator[tuple[str, str, Construction, dict]]] | None = None
    attentions: tuple[str, ...] = ("softmax", "hardmax")
    notes: str = ""

    @property
    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


# --- generic mutation operators: (kind, name, construction) ------------------------------------
def _replace_head(c: Construction, li: int, hi: int, **changes) -> Construction:
    layer = c.layers[li]
    heads = list(layer.heads)
    heads[hi] = heads[hi].replace(**changes)
    return c.with_layer(li, Layer(tuple(heads), layer.map))


def perturbed_weights(c: Construction, rng: np.random.Generator):
    for li, layer in enumerate(c.layers):
        for hi, h in enumerate(layer.heads):
            for w in WEIGHTS:
                W = getattr(h, w)
                if not np.any(W):
                    continue
                big = np.unravel_index(int(np.argmax(np.abs(W))), W.shape)
                neg = W.copy()
                neg[big] = -neg[big]
                yield f"L{li + 1}H{hi + 1} {w}{list(big)} negated", _replace_head(c, li, hi, **{w: neg})
                at = tuple(int(rng.integers(0, s)) for s in W.shape)
                moved = W.copy()
                moved[at] += 0.25 * float(np.max(np.abs(W)))
                yield f"L{li + 1}H{hi + 1} {w}{list(at)} += max/4", _replace_head(c, li, hi, **{w: moved})
    for name in ("tok_embed", "pos_embed"):
        A = getattr(c, name).copy()
        at = (int(rng.integers(1 if name == "pos_embed" else 0, A.shape[0])),
              int(rng.integers(0, A.shape[1])))
        A[at] += 0.5
        yield f"{name}{list(at)} += 0.5", c.replace(**{name: A})
    s = c.start_row.copy()
    s[int(np.argmax(np.abs(s)))] *= -1
    yield "start row: largest entry negated", c.replace(start_row=s)


def swapped_heads(c: Construction, rng=None):
    for a in range(len(c.layers)):
        for b in range(a + 1, len(c.layers)):
            layers = list(c.layers)
            layers[a] = Layer(c.layers[b].heads, c.layers[a].map)
            layers[b] = Layer(c.layers[a].heads, c.layers[b].map)
            yield f"heads of layers {a + 1} and {b + 1} swapped", c.replace(layers=tuple(layers))


def dropped_layer(c: Construction, rng=None):
    for li in range(len(c.layers)):
        yield f"layer {li + 1} dropped", c.replace(layers=c.layers[:li] + c.layers[li + 1:])


def wrong_temperature(c: Construction, rng=None):
    for li, layer in enumerate(c.layers):
        for hi, h in enumerate(layer.heads):
            for how, t in (("/10", h.temperature / 10), ("negated", -h.temperature), ("= 1", 1.0)):
                yield f"L{li + 1}H{hi + 1} temperature {how}", _replace_head(c, li, hi, temperature=t)


def off_by_one_positions(c: Construction, rng=None):
    names = c.layout.names()
    codes = c.codebooks.get("pos")
    if codes is None:
        return
    if "pos_prev" in names:
        sl = c.layout["pos_prev"].sl
        pe = c.pos_embed.copy()
        pe[2:, sl] = codes[:-2]
        yield "previous pointer reads i-2", c.replace(pos_embed=pe)
        pe = c.pos_embed.copy()
        pe[1:, sl] = codes[1:]
        yield "previous pointer reads i", c.replace(pos_embed=pe)
    if "pos" in names:
        sl = c.layout["pos"].sl
        pe = c.pos_embed.copy()
        pe[1:, sl] = np.roll(codes, -1, axis=0)[1:]
        yield "key position codes shifted to i+1", c.replace(pos_embed=pe)
        s = c.start_row.copy()
        s[sl] = codes[1]
        yield "start token carries pointer 1", c.replace(start_row=s)
    if "pos_scalar" in names:
        pe = c.pos_embed.copy()
        pe[1:, c.layout["pos_scalar"].start] += 1.0
        yield "recency channel counts from 2", c.replace(pos_embed=pe)


def wrong_decoder(c: Construction, rng=None):
    d = c.decoder
    sym = d.symbols
    yield "decoder symbols rotated", c.replace(decoder=Decoder(d.slot, d.codebook, sym[1:] + sym[:1]))
    yield "decoder: bottom and first symbol exchanged", \
        c.replace(decoder=Decoder(d.slot, d.codebook, (sym[1], sym[0]) + sym[2:]))


OPERATORS = {"perturbed weights": perturbed_weights, "swapped heads": swapped_heads,
             "dropped layer": dropped_layer, "wrong temperature": wrong_temperature,
             "off-by-one positions": off_by_one_positions, "wrong decoder": wrong_decoder}


def fewer_bits(fmt: Format) -> list[Format]:
    """Formats below the declared one: fewer fraction bits, fewer integer bits."""
    I, F = fmt.int_bits, fmt.frac_bits
    cand = [(I, F - 1), (I, F - 2), (I, F // 2), (I - 1, F), (I - 2, F), (I // 2 + 1, F)]
    out = []
    for i, f in cand:
        if i >= 2 and f >= 1 and (i, f) != (I, F) and fixed(i, f) not in out:
            out.append(fixed(i, f))
    return out


# --- families ------------------------------------------------------------------------------
def _induction(N: int, S: int, encoding: str):
    def build():
        from attncheck.constructions.induction import build_induction
        return build_induction(N, S, encoding), "induction", {}
    return build


def _hop(N: int, k: int, S: int, residual: str):
    def build():
        from attncheck.constructions.hop import build_hop
        return build_hop(N, k, S, residual=residual), "hop", {"k": k}
    return build


def hop_wrong_k(c: Construction, params: dict):
    """Schedules with one bit flipped or one layer too few, and a claim about k xor 1."""
    from attncheck.constructions.hop import build_hop
    from attncheck.constructions.pointer_programs import corrected_schedule, flip_bit, truncated_schedule
    p, k = c.params, params["k"]
    s = corrected_schedule(k)
    kw = dict(N=p["N"], k=k, alphabet=p["alphabet"], encoding=p["encoding"], residual=p["residual"])
    for layer in range(2, s.layers + 1):
        yield "wrong bit of k", f"schedule bit of layer {layer} flipped", \
            build_hop(**kw, schedule=flip_bit(s, layer)), params
    if s.extend:
        yield "wrong bit of k", "one layer too few", build_hop(**kw, schedule=truncated_schedule(s)), params
    yield "wrong bit of k", f"checked against hop_{k ^ 1} instead of hop_{k}", c, {"k": k ^ 1}


FAMILIES: dict[str, Family] = {
    "induction/sinusoidal N=6": Family("induction/sinusoidal N=6", "attncheck.constructions.induction",
                                       _induction(6, 3, "sinusoidal")),
    "induction/random N=5": Family("induction/random N=5", "attncheck.constructions.induction",
                                   _induction(5, 3, "random")),
    "induction/onehot N=5": Family("induction/onehot N=5", "attncheck.constructions.induction",
                                   _induction(5, 3, "onehot")),
    "hop k=3 overwrite N=5": Family("hop k=3 overwrite N=5", "attncheck.constructions.hop",
                                    _hop(5, 3, 3, "overwrite"), hop_wrong_k),
    "hop k=2 additive N=5": Family("hop k=2 additive N=5", "attncheck.constructions.hop",
                                   _hop(5, 2, 3, "additive"), hop_wrong_k),
}


def mutants(family: Family, seed: int = 0) -> list[Mutant]:
    """Every mutant of ``family`` under each of its attention kinds."""
    c, task, params = family.build()
    rng = np.random.default_rng(seed)
    made: list[tuple[str, str, Construction, dict, Format]] = []
    for kind, op in OPERATORS.items():
        for name, m in op(c, rng):
            made.append((kind, name, m, params, c.fmt))
    for f in fewer_bits(c.fmt):
        made.append(("too few bits", f"{f} instead of the declared {c.fmt}", c, params, f))
    if family.extra is not None:
        for kind, name, m, p in family.extra(c, params):
            made.append((kind, name, m, p, m.fmt))
    return [Mutant(family.name, kind, name, m, task, p, f, att)
            for kind, name, m, p, f in made for att in family.attentions]


@dataclass
class Score:
    """Mutation figures of one run, per family and kind."""

    generated: int = 0
    wrong: int = 0          # exhaustive REFUTED
    caught: int = 0         # wrong and not VERIFIED by the certificate (and SMT when present)
    equivalent_certified: int = 0
    asked_smt: int = 0      # really-wrong hardmax mutants also put to the SMT certify query
    by_kind: dict = field(default_factory=dict)

    def add(self, kind: str, wrong: bool, caught: bool, certified: bool) -> None:
        self.generated += 1
        self.wrong += wrong
        self.caught += wrong and caught
        self.equivalent_certified += (not wrong) and certified
        g, w, c = self.by_kind.get(kind, (0, 0, 0))
        self.by_kind[kind] = (g + 1, w + wrong, c + (wrong and caught))

    def line(self) -> str:
        pct = 100.0 * self.caught / self.wrong if self.wrong else 100.0
        return (f"generated {self.generated}, really wrong {self.wrong}, caught {self.caught}"
                f" ({pct:.0f} %), equivalent {self.generated - self.wrong}"
                f" (certified {self.equivalent_certified}), SMT asked {self.asked_smt}")


#: Filled by the tests, printed by tests/soundness/conftest.py and copied into docs/reliability.md.
SCORES: dict[str, Score] = {}
SKIPPED: dict[str, str] = {}
