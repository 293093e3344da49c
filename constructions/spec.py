"""The frozen data model of a transformer construction (STYLE.md practices 2, 3, 10).

Shape glossary: B batch, T = N + 1 positions (index 0 is the start token X_0), D residual
width, dk query/key width, dv value width.  Row vectors throughout: ``x @ W``.

Model (docs/theorems.md ``model.sht24a``, Def 2.1/2.2 and App. A.1):

* Residual rows ``X_i = tok_embed[x_i] + pos_embed[i]`` for i = 1..N; ``X_0 = start_row``.
  The start token is a *constant* row: it provides a default key and value (App. A.1) and is
  not updated by the layers.  Weights read from the exchange format (docs/format.md) run the
  plain pass instead, which updates row 0 like every row (``Construction.start = "token"``).
* Each layer adds its heads: ``X <- X + sum_h softmax(c_h (X W_Q)(X W_K)^T + Gamma)(X W_V) W_O``
  with the causal mask Gamma (i attends to j <= i, including itself and the start token).
  ``W_Q``/``W_K``/``W_V`` may be *index-specific* (shape (T, D, d)): SHT24a allows Q/K/V to
  depend on the position, "obviating the need for positional embeddings".
* An optional element-wise map after a layer (:class:`SnapMap`): each listed slot is decoded to
  the nearest code of its codebook and re-written exactly (moves and clears); this is the
  per-layer MLP of docs/theorems.md section 4.2 "Residual bookkeeping" option (iii), a finite
  table whose size is reported.
* A decoder reads one slot at positions 1..N and returns the nearest code of a codebook,
  mapped to an output symbol (``None`` = bottom); or (``Decoder.kind = "linear"``, the exchange
  format's read-out) the argmax of ``x W_U + b_U`` over the whole residual row.
* The attention mask is a named *kind* (:data:`MASKS`, :func:`attention_mask`): ``causal`` for
  the sequence tasks; the SHT23 heads (qSA, Match2) see the whole sequence
  (docs/theorems.md section 5).  The start row sees only itself under every kind.

Every residual coordinate belongs to a named :class:`Slot` (so D is derived, not chosen), and
every slot that carries discrete information names the codebook its contents come from and
a *label* saying what it holds (``X[i-1]``, ``pos[find^2(i)]``): the certificate composes the
heads' promises through these labels (see :mod:`attncheck.verifiers.semantics`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from attncheck.constructions.precision import Format
from attncheck.constructions.verdict import BadInput


def _frozen_array(a, dtype=np.float64) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


# --- labels: what a slot holds -------------------------------------------------------------
@dataclass(frozen=True)
class Label:
    """``base[pointer(i)]``: the slot at position i holds the code of ``base`` at the position
    obtained from i by applying ``ops`` left to right.

    ``base`` is ``"X"`` (a token code) or ``"pos"`` (a position code, i.e. a pointer).
    ``ops`` items: ``("shift", d)`` (i -> i + d, clipped at 0 = start) and ``("find", t)``
    (i -> find^t(i), SHT24a Def 4.1).  Consecutive finds merge: find^b o find^a = find^(a+b).
    """

    base: str
    ops: tuple[tuple[str, int], ...] = ()

    def then(self, ops: tuple[tuple[str, int], ...]) -> "Label":
        """The label of reading this slot at the position ``ops(i)``."""
        merged: list[tuple[str, int]] = []
        for op in tuple(ops) + self.ops:
            if merged and op[0] == "find" and merged[-1][0] == "find":
                merged[-1] = ("find", merged[-1][1] + op[1])
            elif op[0] == "find" and op[1] == 0:
                continue
            else:
                merged.append(op)
        return Label(self.base, tuple(merged))

    def __str__(self) -> str:
        p = "i"
        for name, arg in self.ops:
            if name == "shift":
                p = f"{p}{arg:+d}"
            else:
                p = f"find^{arg}({p})"
        return f"{self.base}[{p}]"


# --- layout --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """A named block of residual coordinates ``[start, stop)``.

    ``kind``: ``"const"`` (fixed per position by the embedding: position codes, the constant 1,
    scalar positions), ``"token"`` (set by the token embedding), ``"written"`` (zero until a head
    or map writes it).  ``codebook``: name of the codebook whose rows the slot holds (None for
    constants).  ``label``: what it holds once written (None for pure scratch).
    """

    name: str
    start: int
    stop: int
    kind: str
    codebook: str | None = None
    label: Label | None = None

    @property
    def width(self) -> int:
        return self.stop - self.start

    @property
    def sl(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class Layout:
    slots: tuple[Slot, ...]

    @property
    def width(self) -> int:
        return max((s.stop for s in self.slots), default=0)

    def __getitem__(self, name: str) -> Slot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(name)

    def names(self) -> list[str]:
        return [s.name for s in self.slots]

    def to_json(self) -> dict:
        return {s.name: {"start": s.start, "stop": s.stop, "kind": s.kind, "codebook": s.codebook,
                         "label": None if s.label is None else str(s.label)} for s in self.slots}


class LayoutBuilder:
    """Allocate slots one after another: ``b.add("tok", 2, "token", "tok", Label("X"))``."""

    def __init__(self):
        self._slots: list[Slot] = []
        self._next = 0

    def add(self, name: str, width: int, kind: str, codebook: str | None = None,
            label: Label | None = None) -> Slot:
        s = Slot(name, self._next, self._next + width, kind, codebook, label)
        self._slots.append(s)
        self._next += width
        return s

    def build(self) -> Layout:
        return Layout(tuple(self._slots))


# --- attention masks -----------------------------------------------------------------------
#: Mask kinds: which rows token row i (1..N) may attend to.  Row 0 (the start token) sees only
#: itself under every kind, so it stays the constant row the layers do not update.
MASKS: Mapping[str, str] = {
    "causal": "rows j <= i, the start row included (model.sht24a)",
    "full": "every token row j = 1..N, not the start row (qSA, sht23.thm2: no default key)",
    "full+start": "the start row and every token row (Match2, sht23.match2_ub, j = i allowed)",
    "full+start-self": "the start row and every token row except i (Match2, j != i)",
    "causal-nostart": "rows 1 <= j <= i, not the start row (weights of the exchange format without a start"
                      " token, docs/format.md: row 0 is a zero placeholder nobody reads)",
}


def attention_mask(kind: str, T: int) -> np.ndarray:
    """(T, T) bool, rows = queries: ``mask[i, j]`` iff row i may attend to row j under ``kind``
    (:data:`MASKS`).  T = N + 1 rows, row 0 the start token."""
    if kind not in MASKS:
        raise ValueError(f"unknown mask kind {kind!r} (known: {', '.join(MASKS)})")
    if kind == "causal":
        return np.tril(np.ones((T, T), dtype=bool))
    if kind == "causal-nostart":
        mask = np.tril(np.ones((T, T), dtype=bool))
        mask[1:, 0] = False
        return mask
    mask = np.zeros((T, T), dtype=bool)
    mask[0, 0] = True                                                # start row: itself only
    mask[1:, 1:] = True
    if kind == "full+start-self":
        np.fill_diagonal(mask[1:, 1:], False)
    if kind != "full":
        mask[1:, 0] = True
    return mask


#: What the layers do to row 0 (:attr:`Construction.start`).
START_KINDS: Mapping[str, str] = {
    "constant": "row 0 is start_row after every layer (SHT24a App. A.1: the layers do not update it)",
    "token": "row 0 is the start token's embedding and every layer updates it like any row (the plain"
             " pass of the exchange format, docs/format.md); it sees only itself, so it is still the"
             " same for every input",
}


# --- heads, layers, maps -------------------------------------------------------------------
@dataclass(frozen=True)
class Promise:
    """What a head promises to compute (the semantic its weights implement).

    ``kind``:
      * ``"lookup"`` (SHT24a Lemma D.1): the query slot holds a position code p (a pointer,
        p <= i); attention lands on position p (p = 0: the start token).
      * ``"last_occurrence"`` (Lemma D.2): the query slot holds a token code a; attention lands
        on the largest j <= i whose key slot holds a, or on the start token when none does.
    ``values``/``writes``: the head copies the contents of slots ``values`` at the target into
    slots ``writes`` (same widths, same codebooks).  ``margin``: the designed score gap xi
    before the temperature (the Lemma A.2 rule derives the temperature from it).
    """

    kind: str
    query: str
    key: str
    values: tuple[str, ...]
    writes: tuple[str, ...]
    margin: float

    def describe(self) -> str:
        v = ",".join(self.values)
        return f"{self.kind}(q={self.query}, k={self.key}) copies {v}"


@dataclass(frozen=True, eq=False)
class Head:
    """One attention head.  ``W_Q``, ``W_K``: (D, dk) or index-specific (T, D, dk);
    ``W_V``: (D, dv) or (T, D, dv); ``W_O``: (dv, D).  Scores are ``temperature * q.k``."""

    W_Q: np.ndarray
    W_K: np.ndarray
    W_V: np.ndarray
    W_O: np.ndarray
    temperature: float
    promise: Promise | None = None

    def __post_init__(self):
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name)))
        if self.W_Q.shape[-1] != self.W_K.shape[-1]:
            raise ValueError(f"W_Q and W_K widths differ: {self.W_Q.shape} vs {self.W_K.shape}")
        if self.W_V.shape[-1] != self.W_O.shape[0]:
            raise ValueError(f"W_V and W_O do not chain: {self.W_V.shape} vs {self.W_O.shape}")

    @property
    def n_params(self) -> int:
        return int(self.W_Q.size + self.W_K.size + self.W_V.size + self.W_O.size)

    def replace(self, **changes) -> "Head":
        d = dict(W_Q=self.W_Q, W_K=self.W_K, W_V=self.W_V, W_O=self.W_O,
                 temperature=self.temperature, promise=self.promise)
        d.update(changes)
        return Head(**d)


@dataclass(frozen=True)
class SnapMap:
    """Element-wise map after a layer: for each ``(src, dst)`` in ``moves`` write the nearest
    code (of ``src``'s codebook) of the contents of ``src`` into ``dst`` (overwrite); then zero
    every slot in ``clears``.  Moves read the pre-map row, so swaps are well defined."""

    moves: tuple[tuple[str, str], ...] = ()
    clears: tuple[str, ...] = ()

    def table_size(self, layout: Layout, codebooks: Mapping[str, np.ndarray]) -> int:
        """Entries of the finite table this map is (one row per code of each moved slot)."""
        return int(sum(len(codebooks[layout[s].codebook]) for s, _ in self.moves))


@dataclass(frozen=True, eq=False)
class Layer:
    heads: tuple[Head, ...]
    map: SnapMap | None = None


#: ``Decoder.symbols`` entry of a read-out column whose id is neither a symbol nor bottom
#: (exchange models, docs/format.md): an output that is always wrong.
NEITHER = -2


@dataclass(frozen=True, eq=False)
class Decoder:
    """Read slot ``slot`` at positions 1..N, pick the nearest row of ``codebook`` (L2) and output
    ``symbols[row]`` (None = bottom).

    ``kind="linear"`` (weights from the exchange format, docs/format.md): the output column is the
    argmax of ``x @ W_U + b_U`` over the whole residual row x (D,) (``W_U`` (D, n), ``b_U`` (n,),
    first maximum on ties, as numpy's argmax) and the output is ``symbols[column]`` (None bottom,
    :data:`NEITHER` an id that means neither).  ``slot`` then names a slot for display only and
    ``codebook`` is empty.  The nearest-code decoder is the special case ``W_U = codes^T`` on the
    slot's coordinates, ``b_U = -|code|^2 / 2``."""

    slot: str
    codebook: str
    symbols: tuple[int | None, ...]
    kind: str = "nearest"
    W_U: np.ndarray | None = None
    b_U: np.ndarray | None = None

    def __post_init__(self):
        if self.kind not in ("nearest", "linear"):
            raise ValueError(f"unknown decoder kind {self.kind!r} (known: nearest, linear)")
        if self.kind == "linear":
            W, b = _frozen_array(self.W_U), _frozen_array(self.b_U)
            if W.ndim != 2 or b.shape != (W.shape[1],) or len(self.symbols) != W.shape[1]:
                raise ValueError(f"linear decoder: W_U {W.shape}, b_U {b.shape} and {len(self.symbols)}"
                                 " symbols disagree")
            object.__setattr__(self, "W_U", W)
            object.__setattr__(self, "b_U", b)


@dataclass(frozen=True, eq=False)
class Construction:
    """A complete transformer construction: weights, layout, codebooks, provenance.

    ``tok_embed``: (V, D) rows for symbols 0..V-1.  ``pos_embed``: (T, D), row 0 unused (the start
    token is ``start_row``).  ``fmt``: the fixed-point format the construction declares it needs.
    ``theorem``/``status``: docs/theorems.md id and tag.  ``params``: the build parameters (N,
    alphabet, encoding, variant, ...).  ``target``: the label the decoder's slot must hold for
    the task (checked by the certificate's composition step).  ``decoder`` None: the output is
    read from the residual (qSA's real vectors).  ``mask``: the attention mask kind
    (:data:`MASKS`; the sequence-task certificate proves ``causal`` constructions only).
    ``start``: ``"constant"`` (row 0 stays ``start_row``) or ``"token"`` (the layers update row 0,
    :data:`START_KINDS`; weights from the exchange format, which the certificate does not prove).
    """

    name: str
    task: str
    theorem: str
    status: str
    params: Mapping[str, Any]
    layout: Layout
    codebooks: Mapping[str, np.ndarray]
    tok_embed: np.ndarray
    pos_embed: np.ndarray
    start_row: np.ndarray
    layers: tuple[Layer, ...]
    decoder: Decoder | None
    fmt: Format
    target: Label
    notes: tuple[str, ...] = field(default_factory=tuple)
    mask: str = "causal"
    start: str = "constant"

    def __post_init__(self):
        for name in ("tok_embed", "pos_embed", "start_row"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name)))
        object.__setattr__(self, "codebooks",
                           {k: _frozen_array(v) for k, v in dict(self.codebooks).items()})
        D = self.layout.width
        if self.tok_embed.shape[1] != D or self.pos_embed.shape[1] != D or self.start_row.shape != (D,):
            raise ValueError(f"embedding widths disagree with the layout width {D}")
        if self.mask not in MASKS:
            raise ValueError(f"unknown mask kind {self.mask!r} (known: {', '.join(MASKS)})")
        if self.start not in START_KINDS:
            raise ValueError(f"unknown start kind {self.start!r} (known: {', '.join(START_KINDS)})")
        dec = self.decoder
        if dec is not None and dec.kind == "linear" and dec.W_U.shape[0] != D:
            raise ValueError(f"linear decoder W_U has {dec.W_U.shape[0]} rows, the layout width is {D}")

    # -- sizes -----------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.pos_embed.shape[0] - 1

    @property
    def alphabet(self) -> int:
        return self.tok_embed.shape[0]

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def max_heads(self) -> int:
        return max((len(l.heads) for l in self.layers), default=0)

    @property
    def n_params(self) -> int:
        return int(sum(h.n_params for l in self.layers for h in l.heads)
                   + self.tok_embed.size + self.pos_embed.size + self.start_row.size)

    @property
    def map_table_size(self) -> int:
        return int(sum(l.map.table_size(self.layout, self.codebooks) for l in self.layers if l.map))

    @property
    def qk_width(self) -> int:
        """Largest query/key width over the heads (the m of SHT23's attention units)."""
        return max((h.W_Q.shape[-1] for l in self.layers for h in l.heads), default=0)

    def size(self) -> dict:
        """The sizes every report and bound table prints (``width`` is the residual width D)."""
        return {"layers": self.n_layers, "heads": self.max_heads, "width": self.width,
                "qk_width": self.qk_width,
                "bits": self.fmt.bits, "format": str(self.fmt), "parameters": self.n_params,
                "map_table_entries": self.map_table_size}

    def replace(self, **changes) -> "Construction":
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d.update(changes)
        return Construction(**d)

    def with_layer(self, index: int, layer: Layer) -> "Construction":
        layers = list(self.layers)
        layers[index] = layer
        return self.replace(layers=tuple(layers))

    def prefix(self, n: int) -> "Construction":
        """This construction cut to its first ``n`` positions (1 <= n <= N): rows 0..n of the
        positional embedding and of every index-specific weight (T, D, k).  Under the causal
        mask position i reads only j <= i, and every other weight is position-free, so on an
        input of length n the cut construction computes what this one computes on the first n
        positions of any longer input (bit for bit in a fixed-point format; ``run --from`` runs a
        file built at N on a shorter input this way).  A construction whose positions see later ones (a non-causal
        ``mask``) has no such prefix: BadInput."""
        if not 1 <= n <= self.n:
            raise BadInput(f"a prefix of a construction built at N = {self.n} has 1..{self.n} positions,"
                           f" got {n}")
        if n == self.n:
            return self
        if self.mask not in ("causal", "causal-nostart"):
            raise BadInput(f"{self.name} has the {self.mask!r} attention mask (positions see later ones):"
                           f" it runs only on inputs of its own length N = {self.n}, got {n}")
        T = n + 1

        def cut(W):
            return W[:T] if W.ndim == 3 else W                             # (T, D, k) -> (n+1, D, k)

        layers = tuple(replace(layer, heads=tuple(h.replace(W_Q=cut(h.W_Q), W_K=cut(h.W_K), W_V=cut(h.W_V))
                                                  for h in layer.heads)) for layer in self.layers)
        return self.replace(pos_embed=self.pos_embed[:T], layers=layers,           # (n+1, D)
                            notes=tuple(self.notes)
                            + (f"run on positions 0..{n} of a construction built at N = {self.n}",))

    def to_json(self) -> dict:
        return {"name": self.name, "task": self.task, "theorem": self.theorem, "status": self.status,
                "params": dict(self.params), **self.size(),
                "temperatures": [h.temperature for l in self.layers for h in l.heads],
                "layout": self.layout.to_json(), "target": str(self.target),
                "notes": list(self.notes), **({} if self.mask == "causal" else {"mask": self.mask}),
                **({} if self.start == "constant" else {"start": self.start}),
                **({} if self.decoder is None or self.decoder.kind == "nearest" else {"decoder": "linear"})}
