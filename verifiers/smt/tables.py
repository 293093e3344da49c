"""The finite model class of the SMT impossibility queries, and its replay through the emulator.

Shape glossary: B inputs, N positions, T = N + 1 (0 = start token), V alphabet, H heads,
D head width, R context codes (1 for layer 1), L layers (1 or 2).

**The class** (``sht24b.one-layer-ih-lb`` query, docs/theorems.md section 9.4 template 2) [R]:
an L-layer transformer with H heads of width D per layer, hardmax (ties averaged) or p-bit
softmax attention, causal mask and a constant start token, in which

* Q, K and V are *arbitrary element-wise maps* (SHT24a Def 2.1): tables over the residual
  row of a position, i.e. over (position t, token x_t, context), whose entries are stored
  numbers of the format ``fmt`` (fixed:I.F, b = I + F bits); the start token has its own
  constant key and value per head;
* the context of layer 2 at position t is the tuple of every layer-1 head's D outputs at t
  (heads write disjoint residual coordinates), coded as one integer in ``0..R-1``;
* scores ``quantize(q . k)``, the attention arithmetic and every rounding are those of
  :func:`attncheck.verifiers.emulator.attend` (precision.py's format, saturating);
* the decoder is arbitrary: it sees the token x_N and every head output at N, so a model
  solves a family iff no two inputs with different answers get the same
  ``(x_N, outputs at N)`` key ("only distinguishability counts").

This class contains every Def 2.2 transformer with embedding width m = D and p = b bits
(summing heads into the residual is a function of the disjoint outputs), so an UNSAT answer
for it is an impossibility for those too.

**Replay.**  :func:`forward` runs a :class:`TableModel` through the emulator's own
:func:`~attncheck.verifiers.emulator.attend`: the element-wise map of each layer is realised
as a one-hot embedding of (t, x_t, context) and the tables become the rows of W_Q, W_K, W_V,
so lookups are exact and every rounding is the emulator's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.spec import Head
from attncheck.verifiers.emulator import attend
from attncheck.constructions.precision import Format
from attncheck.constructions.verdict import BadInput

ATTENTIONS = ("hardmax", "softmax")
MAX_CONTEXTS = 256
ELEMS_PER_CHUNK = 1 << 22        # floats of one replay chunk's one-hot residual


@dataclass(frozen=True)
class ModelClass:
    """The finite class: layers, heads, width, number format, attention."""

    layers: int
    heads: int
    width: int
    fmt: Format
    attention: str

    def __post_init__(self):
        if self.layers not in (1, 2):
            raise BadInput(f"--layers must be 1 or 2, got {self.layers}")
        if self.heads < 1 or self.width < 1:
            raise BadInput(f"--H and --head-width must be >= 1, got --H {self.heads},"
                           f" --head-width {self.width}")
        if self.fmt.is_exact:
            raise BadInput("the SMT model class needs a fixed-point format")
        if self.fmt.int_bits < 2:
            raise BadInput(f"--precision {self.fmt}: the format needs >= 2 integer bits (it must hold 1.0,"
                           " the identity temperature)")
        if self.attention not in ATTENTIONS:
            raise BadInput(f"--attention must be hardmax or softmax, got {self.attention!r}")
        if self.layers == 2 and self.contexts(2) > MAX_CONTEXTS:
            raise BadInput(f"layer-2 tables are indexed by 2^(bits * H * head width) = {self.contexts(2):,}"
                           f" context codes; at most {MAX_CONTEXTS} are supported (lower the bits of"
                           " --precision, --H or --head-width)")

    @property
    def bits(self) -> int:
        return self.fmt.int_bits + self.fmt.frac_bits

    @property
    def grid(self) -> int:
        """Number of stored values ``2^b``."""
        return 1 << self.bits

    def contexts(self, layer: int) -> int:
        """R: context codes a layer's tables are indexed by."""
        return 1 if layer == 1 else self.grid ** (self.heads * self.width)

    def describe(self) -> str:
        att = "hardmax (ties averaged)" if self.attention == "hardmax" else f"{self.bits}-bit softmax"
        return (f"{self.layers}-layer, H={self.heads} heads, head width {self.width}, {att},"
                f" every stored number in {self.fmt} ({self.bits} bits, half-even, saturating);"
                " Q/K/V arbitrary tables over (position, token, earlier head outputs);"
                " decoder arbitrary over (x_N, head outputs at N)")

    def to_json(self) -> dict:
        return {"layers": self.layers, "heads": self.heads, "width": self.width,
                "format": self.fmt.to_json(), "attention": self.attention,
                "description": self.describe()}


@dataclass(frozen=True, eq=False)
class LayerTables:
    """Grid integers of one layer: ``Q``, ``K``, ``V`` (H, T, V, R, D) (row t = 0 unused),
    ``k0``, ``v0`` (H, D) the start token's key and value."""

    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    k0: np.ndarray
    v0: np.ndarray

    def __post_init__(self):
        for name in ("Q", "K", "V", "k0", "v0"):
            a = np.array(getattr(self, name), dtype=np.int64, copy=True)
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    def to_json(self) -> dict:
        return {k: getattr(self, k).tolist() for k in ("k0", "v0", "Q", "K", "V")}


@dataclass(frozen=True, eq=False)
class TableModel:
    cls: ModelClass
    N: int
    alphabet: int
    layers: tuple[LayerTables, ...]

    def to_json(self) -> dict:
        return {"class": self.cls.to_json(), "N": self.N, "alphabet": self.alphabet,
                "layers": [l.to_json() for l in self.layers],
                "indexing": "Q/K/V[head][position t][token][context code][coordinate];"
                            " grid integers n mean n * 2^-F"}


def zero_model(cls: ModelClass, N: int, alphabet: int) -> dict:
    """Mutable arrays of an all-zero model (filled from a solver model or a search)."""
    H, T, V, D = cls.heads, N + 1, alphabet, cls.width
    return {l: {k: np.zeros((H, T, V, cls.contexts(l), D), dtype=np.int64) for k in ("Q", "K", "V")}
            | {"k0": np.zeros((H, D), dtype=np.int64), "v0": np.zeros((H, D), dtype=np.int64)}
            for l in range(1, cls.layers + 1)}


def freeze(cls: ModelClass, N: int, alphabet: int, arrays: dict) -> TableModel:
    return TableModel(cls, N, alphabet, tuple(LayerTables(**arrays[l]) for l in range(1, cls.layers + 1)))


def context_codes(cls: ModelClass, outs: np.ndarray) -> np.ndarray:
    """Layer outputs (B, N, H, D) grid integers -> context codes (B, N)."""
    B, N = outs.shape[:2]
    digits = (outs.reshape(B, N, -1) - cls.fmt.int_lo).astype(np.int64)      # (B, N, H*D)
    weights = cls.grid ** np.arange(digits.shape[2], dtype=np.int64)
    return digits @ weights


def _one_hot(X: np.ndarray, ctx: np.ndarray, V: int, R: int) -> np.ndarray:
    """(B, N) tokens and contexts -> residual (B, T, 1 + N*V*R): column 0 flags the start row."""
    B, N = X.shape
    res = np.zeros((B, N + 1, 1 + N * V * R))
    res[:, 0, 0] = 1.0
    col = 1 + (np.arange(N)[None, :] * V + X) * R + ctx                     # (B, N)
    b, t = np.meshgrid(np.arange(B), np.arange(N), indexing="ij")
    res[b, t + 1, col] = 1.0
    return res


def _weights(fmt: Format, table: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Head table (T, V, R, D) and start row (D,) -> W (1 + N*V*R, D) in grid values."""
    W = np.concatenate([start[None, :], table[1:].reshape(-1, table.shape[-1])], axis=0)
    return fmt.from_ints(W)


def forward(model: TableModel, X) -> list[np.ndarray]:
    """Head outputs of every layer at positions 1..N: a list of (B, N, H, D) grid integers."""
    cls, fmt = model.cls, model.cls.fmt
    X = np.atleast_2d(np.asarray(X, dtype=np.int64))
    B, N = X.shape
    mask = np.tril(np.ones((N + 1, N + 1), dtype=bool))[None]
    ctx = np.zeros((B, N), dtype=np.int64)
    outs = []
    for li, lt in enumerate(model.layers, start=1):
        R = cls.contexts(li)
        res = _one_hot(X, ctx, model.alphabet, R)
        ys = []
        for h in range(cls.heads):
            head = Head(W_Q=_weights(fmt, lt.Q[h], np.zeros(cls.width, dtype=np.int64)),
                        W_K=_weights(fmt, lt.K[h], lt.k0[h]), W_V=_weights(fmt, lt.V[h], lt.v0[h]),
                        W_O=np.eye(cls.width), temperature=1.0)
            y, _ = attend(head, res, fmt, cls.attention, mask)               # (B, T, D)
            ys.append(fmt.to_ints(y[:, 1:, :]))
        out = np.stack(ys, axis=2)                                            # (B, N, H, D)
        outs.append(out)
        ctx = context_codes(cls, out)
    return outs


def keys(model: TableModel, X) -> np.ndarray:
    """What the arbitrary decoder sees at N: (B, 1 + L*H*D) = (x_N, all head outputs at N).
    Inputs run in chunks so that a chunk's one-hot residual stays near ELEMS_PER_CHUNK floats."""
    X = np.atleast_2d(np.asarray(X, dtype=np.int64))
    N = X.shape[1]
    width = 1 + N * model.alphabet * max(model.cls.contexts(l) for l in range(1, model.cls.layers + 1))
    step = max(1, ELEMS_PER_CHUNK // ((N + 1) * width))
    parts = []
    for s in range(0, len(X), step):
        xs = X[s:s + step]
        outs = forward(model, xs)
        parts.append(np.concatenate([xs[:, -1:]] + [o[:, -1].reshape(len(xs), -1) for o in outs], axis=1))
    return np.concatenate(parts, axis=0)


@dataclass(frozen=True)
class Replay:
    """Exhaustive replay over a family: ``collisions`` are pairs of input indices with the same
    decoder key and different answers (empty iff some decoder solves the family)."""

    checked: int
    distinct_keys: int
    collisions: tuple[tuple[int, int], ...]
    decoder: tuple[tuple[tuple[int, ...], int], ...]

    @property
    def solves(self) -> bool:
        return not self.collisions


def replay(model: TableModel, inputs, answers, max_collisions: int = 4) -> Replay:
    """Run the model on every input and read off whether a decoder exists (and which)."""
    ks = keys(model, np.asarray(inputs))
    first: dict[tuple[int, ...], int] = {}
    collisions: list[tuple[int, int]] = []
    clashing: set[tuple[int, ...]] = set()
    for i, k in enumerate(map(tuple, ks.tolist())):
        j = first.setdefault(k, i)
        if answers[j] != answers[i] and k not in clashing:
            clashing.add(k)                      # one witness pair per clashing key
            if len(collisions) < max_collisions:
                collisions.append((j, i))
    decoder = tuple(sorted((k, int(answers[i])) for k, i in first.items()))
    return Replay(len(ks), len(first), tuple(collisions), decoder)
