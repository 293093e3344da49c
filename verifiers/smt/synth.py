"""z3 encoding of the table model class (:mod:`.tables`) on concrete inputs.

Every table entry the family can reach is a free stored number (a ``b``-bit grid integer).  For a concrete input x the layer-1 query, key
and value at position t are just the variables of ``(t, x_t)``; layer-2 entries are chosen by
the symbolic context (the layer-1 outputs at t) through an If-chain over the R codes.  Scores
and attention use :class:`~.encode.Arith`, i.e. precision.py's rounding.  Outputs are cached
per prefix (a position's output depends on ``x_1..x_t`` only), so inputs that share a prefix
share their formula.

Symmetry breaking (all sound: each constraint only picks one representative of an orbit of
models that solve exactly the same inputs):

* value coordinates of a head (D >= 2): permuting them permutes the head's outputs, which the
  arbitrary decoder / next-layer tables absorb -> the start value ``v0[h]`` is non-decreasing;
* query/key coordinates (D >= 2): a joint permutation leaves every exact dot product, hence
  every score, unchanged -> the start key ``k0[h]`` is non-decreasing;
* heads of a layer (H >= 2): permuting heads permutes disjoint output blocks -> heads are in
  lexicographic order of ``(v0[h], k0[h])``;
* symbols (``full`` family only, which with its task is closed under renaming symbols): the
  tables of ``pi(a)`` in place of those of ``a`` solve the family with a renamed decoder ->
  symbols are in lexicographic order of their layer-1 queries at N.
Coordinates are sorted first, heads second, symbols last; no later step disturbs an earlier
one's order (start entries do not depend on symbols), so all constraints hold together.
"""
from __future__ import annotations

import itertools

from attncheck.verifiers.smt.encode import Arith, ctx, model_value, z3mod
from attncheck.verifiers.smt.families import Family
from attncheck.verifiers.smt.tables import ModelClass, TableModel, freeze, zero_model


def lex_le(a, b):
    """``a <=_lex b`` for equal-length lists of signed bit-vectors."""
    z3 = z3mod()
    if not a:
        return z3.BoolVal(True, ctx())
    return z3.Or(a[0] < b[0], z3.And(a[0] == b[0], lex_le(a[1:], b[1:])))


class Encoding:
    """Builds the formula of ``cls`` on inputs of ``family``; the symmetry constraints wait in
    :attr:`pending` for the caller to assert."""

    def __init__(self, cls: ModelClass, family: Family, symmetry: bool = True,
                 pins: dict | None = None, check=None):
        if pins and symmetry:
            raise ValueError("pinned entries and symmetry breaking together are unsound")
        self.cls, self.family, self.pins = cls, family, dict(pins or {})
        self.check = check or (lambda **_: None)      # budget check, called per position
        self.ar = Arith(cls.fmt)
        self.vars: dict[tuple, list] = {}
        self.pending: list = []
        self._out: dict[tuple, list] = {}
        self._codes = {l: list(itertools.product(range(cls.fmt.int_lo, cls.fmt.int_hi + 1),
                                                 repeat=cls.heads * cls.width))
                       for l in range(2, cls.layers + 1)}
        if symmetry:
            self.pending += self.symmetry()

    # -- variables ------------------------------------------------------------------------
    def entry(self, layer: int, kind: str, h: int, t: int, a: int = 0, r: int = 0) -> list:
        """The D variables of table ``kind`` (Q, K, V; t = 0 is the start key/value); a key in
        ``pins`` is fixed to the given grid integers."""
        key = (layer, kind, h, t, a, r)
        if key not in self.vars:
            name = f"L{layer}{kind}h{h}t{t}" + (f"a{a}r{r}" if t else "")
            self.vars[key] = [self.ar.var(f"{name}d{d}") for d in range(self.cls.width)]
            if key in self.pins:                 # a restricted class (cross-checks by enumeration)
                self.pending += [v == self.ar.stored(p) for v, p in zip(self.vars[key], self.pins[key])]
        return self.vars[key]

    def lookup(self, layer: int, kind: str, h: int, t: int, a: int, ctx) -> list:
        """Table entry at (t, a) for a symbolic context (a tuple of stored numbers)."""
        if layer == 1:
            return self.entry(1, kind, h, t, a)
        z3 = z3mod()
        codes = self._codes[layer]
        out = self.entry(layer, kind, h, t, a, len(codes) - 1)
        for r in range(len(codes) - 2, -1, -1):
            hit = z3.And([c == self.ar.stored(v) for c, v in zip(ctx, codes[r])])
            ent = self.entry(layer, kind, h, t, a, r)
            out = [z3.If(hit, e, o) for e, o in zip(ent, out)]
        return out

    # -- the forward pass -------------------------------------------------------------------
    def context(self, layer: int, x: tuple, t: int):
        """Symbolic context of ``layer`` at position t: the previous layer's outputs there."""
        if layer == 1:
            return ()
        return tuple(v for head in self.output(layer - 1, x, t) for v in head)

    def output(self, layer: int, x: tuple, t: int) -> list:
        """Head outputs (H lists of D expressions) of ``layer`` at 1-indexed position t."""
        key = (layer, x[:t])
        if key in self._out:
            return self._out[key]
        ctx = {j: self.context(layer, x, j) for j in range(1, t + 1)}
        self.check(layer=layer, position=t)
        heads = []
        for h in range(self.cls.heads):
            q = self.lookup(layer, "Q", h, t, x[t - 1], ctx[t])
            keys = [self.entry(layer, "K", h, 0)]
            vals = [self.entry(layer, "V", h, 0)]
            for j in range(1, t + 1):
                keys.append(self.lookup(layer, "K", h, j, x[j - 1], ctx[j]))
                vals.append(self.lookup(layer, "V", h, j, x[j - 1], ctx[j]))
            scores = [self.ar.score(q, k) for k in keys]
            heads.append(self.ar.attend(self.cls.attention, scores, vals))
        self._out[key] = heads
        return heads

    def key(self, x: tuple) -> list:
        """What the decoder sees besides x_N: every layer's head outputs at N."""
        N = self.family.N
        return [v for l in range(1, self.cls.layers + 1) for head in self.output(l, x, N) for v in head]

    def separate(self, x: tuple, y: tuple):
        """Inputs with different answers and the same last token must get different keys."""
        z3 = z3mod()
        return z3.Or([a != b for a, b in zip(self.key(x), self.key(y))])

    # -- symmetry ----------------------------------------------------------------------------
    def symmetry(self) -> list:
        cons = []
        for l in range(1, self.cls.layers + 1):
            sig = []
            for h in range(self.cls.heads):
                v0, k0 = self.entry(l, "V", h, 0), self.entry(l, "K", h, 0)
                for vec in (v0, k0):
                    cons += [vec[d] <= vec[d + 1] for d in range(len(vec) - 1)]
                sig.append(v0 + k0)
            cons += [lex_le(sig[h], sig[h + 1]) for h in range(len(sig) - 1)]
        if self.family.name == "full":
            N, A = self.family.N, self.family.alphabet
            sig = [[v for h in range(self.cls.heads) for v in self.entry(1, "Q", h, N, a)]
                   for a in range(A)]
            cons += [lex_le(sig[a], sig[a + 1]) for a in range(A - 1)]
        return cons

    # -- reading a model ---------------------------------------------------------------------
    def table_model(self, model) -> TableModel:
        """The solver's tables; entries no input of the family reaches stay 0."""
        arrays = zero_model(self.cls, self.family.N, self.family.alphabet)
        for (l, kind, h, t, a, r), vs in self.vars.items():
            vals = [model_value(model, v) for v in vs]
            if t == 0:
                arrays[l][kind.lower() + "0"][h] = vals
            else:
                arrays[l][kind][h, t, a, r] = vals
        return freeze(self.cls, self.family.N, self.family.alphabet, arrays)

    def evaluate_key(self, model, x: tuple) -> list[int]:
        return [model_value(model, v) for v in self.key(x)]
