"""Running the recurrent baselines (``sht23.rnn-ih``, ``sht23.thm11``, ``sht24a.cor5_2``): the
step function of every cell kind and the stacked runner.

Shape glossary: B batch, N steps (positions 1..N), V = |Sigma| input symbols; in every integer
stream the code V stands for bottom / "none".

Layer l reads ``(x_i, v^{l-1}_i)`` and writes ``v^l_i`` (``v^0 = x``); its hidden state is the
cell's integer fields, and :func:`run` checks after every step that each field stays in its
declared range, so the declared bits of :class:`~attncheck.constructions.rnn.Cell` are a real
bound.  States are exact integers: no rounding is involved (the RNN has no number format).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from attncheck.constructions.rnn import BOT_CODE, RNN, Cell
from attncheck.constructions.verdict import BadInput


def _successor_step(cell: Cell, st: dict, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Step i of a successor cell on (B,) tokens x_i and inputs v^{l-1}_i: ``table[x_{i-1}] = v_i``,
    then output ``table[x_i]`` = ``v^{l-1}_{find^1(i)}`` (code V = bottom)."""
    V = cell.params["alphabet"]
    b = np.flatnonzero(st["prev"] < V)                               # rows with a previous token
    st["table"][b, st["prev"][b]] = v[b]                             # table[x_{i-1}] = v_i
    st["prev"] = x.copy()
    return st["table"][np.arange(len(x)), x]                         # table[x_i]


def _index_step(cell: Cell, st: dict, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Step of the streaming INDEX cell: a marker m_j outputs the stored a_j (bottom when none yet)
    and becomes pending; a data symbol right after m_j is stored as a_j."""
    V, data = cell.params["alphabet"], cell.params["data"]
    marker = x >= data
    out = np.full(len(x), V, dtype=np.int64)
    rows = np.flatnonzero(marker)
    out[rows] = st["stored"][rows, x[rows] - data]                   # marker m_j reads a_j
    store = np.flatnonzero(~marker & (st["pending"] > 0))
    st["stored"][store, st["pending"][store] - 1] = x[store]         # a_j right after m_j
    st["pending"] = np.where(marker, x - data + 1, 0)
    return out


def _table_step(cell: Cell, st: dict, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Step of a ``table`` cell (constructions/rnn_table.py, a Mealy machine): read the input
    stream v_i (the token in layer 1), output ``out[state][v_i]``, move to ``delta[state][v_i]``."""
    delta, out = cell.params["delta"], cell.params["out"]
    d, o = np.asarray(delta, dtype=np.int64), np.asarray(out, dtype=np.int64)
    s = st["state"]
    y = o[s, v]
    st["state"] = d[s, v]
    return y


#: kind -> (initial value of every field, step function).
STEPS: dict[str, tuple[Callable[[Cell], int], Callable]] = {
    "successor": (lambda cell: cell.params["alphabet"], _successor_step),
    "index": (lambda cell: 0, _index_step),
    "table": (lambda cell: 0, _table_step),
}


@dataclass(frozen=True, eq=False)
class RNNTrace:
    """``streams[l]``: (B, N) value stream of layer l+1 (code V = bottom); ``outputs``: the last
    stream with BOT_CODE for bottom; ``states[l]``: (B, N) packed state after each step."""

    streams: list
    outputs: np.ndarray
    states: list


def _pack(cell: Cell, st: dict) -> np.ndarray:
    """Mixed-radix code of the whole state, one int per row (enforces every field's range)."""
    code = np.zeros(len(next(iter(st.values()))), dtype=np.int64)
    for f in cell.fields:
        a = st[f.name].reshape(len(code), -1)
        if a.min() < 0 or a.max() >= f.size:
            raise RuntimeError(f"cell {cell.kind}: field {f.name} left range({f.size})")
        for col in range(f.entries):
            code = code * f.size + a[:, col]
    return code


def run(rnn: RNN, tokens) -> RNNTrace:
    """Run the stack on tokens (B, N), layer by layer, step by step (batched over B)."""
    x = np.atleast_2d(np.asarray(tokens, dtype=np.int64))
    B, N = x.shape
    if x.min() < 0 or x.max() >= rnn.alphabet:
        raise BadInput(f"tokens must lie in 0..{rnn.alphabet - 1}")
    v = x
    streams, states = [], []
    for cell in rnn.layers:
        init, step = STEPS[cell.kind]
        st = {f.name: np.full((B,) if f.count is None else (B, f.count), init(cell), dtype=np.int64)
              for f in cell.fields}
        out = np.empty((B, N), dtype=np.int64)
        packed = np.empty((B, N), dtype=np.int64)
        for i in range(N):
            out[:, i] = step(cell, st, x[:, i], v[:, i])
            packed[:, i] = _pack(cell, st)
        streams.append(out)
        states.append(packed)
        v = out
    V = rnn.layers[-1].params["alphabet"]
    return RNNTrace(streams, np.where(v == V, BOT_CODE, v), states)
