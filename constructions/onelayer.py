"""Small one-layer attention models to refute (``sht24b.one-layer-ih-lb`` [P-abs/S]).

Shape glossary: V alphabet, N positions, T = N + 1 rows (0 = start token), D residual width,
H heads, dk query/key width, dv value width.  Row vectors, ``x @ W``.

The one-layer lower bound says that no one-layer model with few heads, a narrow residual and few
bits computes the induction head; ``attncheck refute one-layer`` finds the failing input of a
given model.  These builders make such models for its tests and examples (none claims to be
correct; the lower bound says most cannot be):

* :func:`random_one_layer` -- seeded random weights with a declared ``fixed:I.F`` format: a
  token slot, a position slot and an output slot that the H heads write and the decoder reads
  (nearest of |Σ| + 1 random codes, the last meaning bottom);
* :func:`layer_of` -- one layer of a construction (e.g. the induction head's layer 1 alone, or
  its lastOccurrence layer alone), with the same embedding and decoder;
* :func:`match_at_two` -- a hand-made model that *is* correct on the answer at position 2 for
  N = 2 (hardmax: position 2 attends to position 1 exactly when x_1 = x_2), the case where the
  refuter must never claim a counterexample.

All embeddings and weights are exact binary fractions, embeddings on the format's grid.
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions.precision import Format, parse_format
from attncheck.constructions.spec import (Construction, Decoder, Head, Label, Layer, LayoutBuilder)
from attncheck.constructions.verdict import BadInput

THEOREM = "sht24b.one-layer-ih-lb"


def _grid(rng: np.random.Generator, shape, fmt: Format, span: int) -> np.ndarray:
    """Random grid values ``n 2^-F`` with ``|n| <= span`` (inside the format's range)."""
    top = min(span, fmt.int_hi)
    return rng.integers(-top, top + 1, size=shape).astype(np.float64) * fmt.ulp


def random_one_layer(N: int, alphabet: int, H: int = 1, head_width: int = 1, fmt: str | Format = "fixed:3.1",
                     seed: int = 0, tok_width: int = 2, pos_width: int = 1, out_width: int = 2,
                     attention_scale: float = 1.0, index_specific: bool = False) -> Construction:
    """A seeded random one-layer model in a declared fixed format.

    Layout: ``tok`` (tok_width, token), ``pos`` (pos_width, const), ``out`` (out_width, written).
    Each head: ``W_Q, W_K`` (D, head_width), ``W_V`` (D, head_width), ``W_O`` (head_width, D)
    writing ``out`` only; entries are multiples of 1/4 in [-1, 1] (``index_specific``: W_Q, W_K
    and W_V are (T, D, head_width), one matrix per position).  Decoder: nearest of
    ``alphabet + 1`` random codes in ``out`` (code ``alphabet`` = bottom)."""
    fmt = parse_format(fmt) if isinstance(fmt, str) else fmt
    if fmt.is_exact:
        raise BadInput("random_one_layer needs a fixed:I.F format (the refuter's messages are grid integers)")
    for name, v, lo in (("N", N, 2), ("alphabet", alphabet, 2), ("H", H, 1), ("head_width", head_width, 1),
                        ("tok_width", tok_width, 1), ("pos_width", pos_width, 1), ("out_width", out_width, 1)):
        if not isinstance(v, (int, np.integer)) or v < lo:
            raise BadInput(f"--{name.replace('_', '-')} must be an integer >= {lo}, got {v!r}")
    rng = np.random.default_rng(seed)
    b = LayoutBuilder()
    tok = b.add("tok", tok_width, "token", "tok", Label("X"))
    pos = b.add("pos", pos_width, "const")
    out = b.add("out", out_width, "written", "out", Label("X", (("find", 1),)))
    layout = b.build()
    D = layout.width
    span = max(1, 1 << fmt.frac_bits)                       # grid values in [-1, 1]
    tok_embed = np.zeros((alphabet, D))
    tok_embed[:, tok.sl] = _grid(rng, (alphabet, tok_width), fmt, span)
    pos_embed = np.zeros((N + 1, D))
    pos_embed[1:, pos.sl] = _grid(rng, (N, pos_width), fmt, span)
    start = np.zeros(D)
    start[pos.sl] = _grid(rng, (pos_width,), fmt, span)

    def quarter(shape):
        return rng.integers(-4, 5, size=shape).astype(np.float64) / 4.0

    heads = []
    for _ in range(H):
        W_O = np.zeros((head_width, D))
        W_O[:, out.sl] = quarter((head_width, out_width))
        shape = (N + 1, D, head_width) if index_specific else (D, head_width)
        heads.append(Head(W_Q=quarter(shape), W_K=quarter(shape), W_V=quarter(shape), W_O=W_O,
                          temperature=attention_scale))
    codes = rng.integers(-2, 3, size=(alphabet + 1, out_width)).astype(np.float64) / 2.0
    decoder = Decoder("out", "out", tuple(range(alphabet)) + (None,))
    params = {"N": N, "alphabet": alphabet, "H": H, "head_width": head_width, "seed": seed,
              "tok_width": tok_width, "pos_width": pos_width, "out_width": out_width}
    return Construction(name="random-one-layer", task="induction", theorem=THEOREM, status="[R] random weights",
                        params=params, layout=layout, codebooks={"tok": tok_embed[:, tok.sl].copy(), "out": codes},
                        tok_embed=tok_embed, pos_embed=pos_embed, start_row=start,
                        layers=(Layer(tuple(heads)),), decoder=decoder, fmt=fmt,
                        target=Label("X", (("find", 1),)),
                        notes=("random one-layer model for attncheck refute one-layer",))


def layer_of(c: Construction, index: int) -> Construction:
    """The construction ``c`` with its layer ``index`` (0-based) alone: same embedding, layout,
    codebooks and decoder (the decoder then reads whatever that layer writes)."""
    if not 0 <= index < c.n_layers:
        raise BadInput(f"layer index {index} out of range: {c.name} has {c.n_layers} layers")
    return c.replace(name=f"{c.name}-layer{index + 1}-alone", layers=(c.layers[index],),
                     notes=tuple(c.notes) + (f"layer {index + 1} of {c.n_layers} alone",))


def match_at_two(alphabet: int = 2, fmt: str | Format = "fixed:4.2") -> Construction:
    """A one-layer model correct at position 2 of every input of length 2 under hardmax
    (``tau_2 = x_2`` if ``x_1 = x_2``, else bottom).

    Slot ``out`` (token kind, width V + 1): the token embedding writes ``onehot(x)`` into the
    first V coordinates; the head writes a match flag into the last.  The head's key is
    index-specific: ``onehot(x_1)`` at position 1, zero at position 2, and ``1/2`` on a constant
    coordinate of the start row; the query is ``onehot(x_2)``.  Position 2 therefore scores 1 on
    position 1 exactly when ``x_1 = x_2`` (else 0), 1/2 on the start row and 0 on itself: hardmax
    picks position 1 on a match (value 1: the flag) and the start row otherwise (value 0).  The
    decoder maps ``(onehot(a), 1)`` to a and ``(onehot(a), 0)`` to bottom."""
    fmt = parse_format(fmt) if isinstance(fmt, str) else fmt
    V, N = alphabet, 2
    b = LayoutBuilder()
    out = b.add("out", V + 1, "token", "out", Label("X", (("find", 1),)))
    one = b.add("one", 1, "const")
    layout = b.build()
    D, T = layout.width, N + 1
    tok_embed = np.zeros((V, D))
    tok_embed[:, out.start:out.start + V] = np.eye(V)
    pos_embed = np.zeros((T, D))
    pos_embed[1:, one.start] = 1.0
    start = np.zeros(D)
    W_Q = np.zeros((D, V + 1))
    W_Q[out.start:out.start + V, :V] = np.eye(V)
    W_Q[one.start, V] = 1.0
    W_K = np.zeros((T, D, V + 1))
    W_K[1, out.start:out.start + V, :V] = np.eye(V)              # position 1: its token
    W_O = np.zeros((1, D))
    W_O[0, out.start + V] = 1.0
    # The start row's score 1/2 comes from a constant key coordinate at row 0 meeting q[V] = 1.
    W_K[0, one.start, V] = 0.5
    start[one.start] = 1.0
    W_V_rows = np.zeros((T, D, 1))
    W_V_rows[1:, one.start, 0] = 1.0                             # start row's value is 0
    head = Head(W_Q=W_Q, W_K=W_K, W_V=W_V_rows, W_O=W_O, temperature=1.0)
    codes = np.zeros((2 * V, V + 1))
    symbols: list[int | None] = []
    for a in range(V):
        codes[2 * a, a], codes[2 * a, V] = 1.0, 1.0
        codes[2 * a + 1, a] = 1.0
        symbols += [a, None]
    return Construction(name="match-at-two", task="induction", theorem=THEOREM,
                        status="[R] hand-made, correct at N = 2 under hardmax",
                        params={"N": N, "alphabet": V}, layout=layout,
                        codebooks={"out": codes}, tok_embed=tok_embed, pos_embed=pos_embed,
                        start_row=start, layers=(Layer((head,)),), decoder=Decoder("out", "out", tuple(symbols)),
                        fmt=fmt, target=Label("X", (("find", 1),)),
                        notes=("correct at position 2 for N = 2 under hardmax",))
