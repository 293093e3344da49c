"""Sequential baselines as explicit recurrent models (``sht23.rnn-ih`` [R], ``sht23.thm11`` [S],
``sht24a.cor5_2`` [P]).

Shape glossary: B batch, N steps (positions 1..N), L layers, V = |Sigma| input symbols; in every
integer stream the code V stands for bottom / "none".

Model (``sht24a.cor5_2``): layer l maps ``(Z^{l-1}_i, H^l_{i-1})`` to ``(Z^l_i, H^l_i)``; the hidden
state H is a tuple of integer *fields* with declared sizes, so its bit count is
``sum count * ceil(log2 size)`` and the runner checks after every step that each field stays in
range (no model can smuggle unbounded information through a float).  ``Z^l_i = (x_i, v^l_i)``:
the input token is passed up and ``v^l`` is the layer's value stream; ``v^0 = x``.

Cells (registered in :data:`STEPS`, data not subclasses):

* ``successor`` -- state ``prev`` (last token) and ``table[c]`` for every symbol c: the value
  ``v^{l-1}_j`` at the position j right after the last occurrence of c.  Step i: set
  ``table[x_{i-1}] = v^{l-1}_i`` (j = i when ``x_{i-1} = x_i``), then output ``table[x_i]``.
  Since ``find^1(i) = max{j <= i: x_{j-1} = x_i}``, the output is ``v^{l-1}_{find^1(i)}``
  (bottom when find^1(i) = 0).  With ``v^0 = x`` that is ``task.ih``; stacking L cells gives
  ``v^L_i = x_{find^L(i)} = hop_L(X)_i`` (``find^L = find^{L-1} o find^1``).  State
  ``(V + 1) ceil(log2(V + 1))`` bits, independent of N: for a fixed alphabet, L = k layers of
  O(|Sigma| log |Sigma|) bits solve hop_k -- consistent with cor5_2 (L >= k or m = Omega(N/k^6)).
* ``index`` -- the streaming INDEX family of ``sht23.rnn-ih``/``thm11`` (the marker family
  of :mod:`attncheck.bounds.witnesses.domain`): input ``(m_1, a_1, ..., m_n, a_n, m_{i*})``,
  data ``a_j in {0..|Sigma|-1}``, markers ``m_j = |Sigma| + j - 1``, N = 2n + 1; the induction
  head at position N is ``a_{i*}``.  State: the n data symbols and the pending marker,
  ``n ceil(log2 |Sigma|) + ceil(log2(n + 1))`` bits; one-way communication needs n log2 |Sigma|.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from attncheck.constructions.verdict import BadInput

BOT_CODE = -1          # bottom in decoded outputs (same code as attncheck.verifiers.emulator)
MAX_N = 64


@dataclass(frozen=True)
class Field:
    """An integer state field: a scalar (``count`` None) or a table of ``count`` entries, each
    in ``range(size)``."""

    name: str
    size: int
    count: int | None = None

    @property
    def entries(self) -> int:
        return 1 if self.count is None else self.count

    @property
    def bits(self) -> int:
        return self.entries * (self.size - 1).bit_length()


@dataclass(frozen=True)
class Cell:
    """One recurrent layer: a registered ``kind`` (its step function) and its state fields."""

    kind: str
    fields: tuple[Field, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bits(self) -> int:
        return sum(f.bits for f in self.fields)

    @property
    def states(self) -> int:
        """Number of distinct state values the fields can hold."""
        return math.prod(f.size ** f.entries for f in self.fields)


@dataclass(frozen=True)
class RNN:
    """A stack of cells over input symbols ``0..alphabet-1``; ``answer`` says which positions
    the task checks (``"all"`` or ``"last"``)."""

    name: str
    task: str
    theorem: str
    status: str
    alphabet: int
    layers: tuple[Cell, ...]
    answer: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def size(self) -> dict:
        bits = [c.bits for c in self.layers]
        return {"layers": len(self.layers), "state_bits": max(bits), "state_bits_per_layer": bits,
                "total_state_bits": sum(bits), "stream_bits": (self.alphabet - 1).bit_length() + self.alphabet.bit_length()}

    def to_json(self) -> dict:
        return {"name": self.name, "task": self.task, "theorem": self.theorem, "status": self.status,
                "params": dict(self.params), "alphabet": self.alphabet, "answer": self.answer,
                **self.size(),
                "cells": [{"kind": c.kind, "fields": [{"name": f.name, "size": f.size, "count": f.count,
                                                       "bits": f.bits} for f in c.fields]}
                          for c in self.layers]}


# --- cells ------------------------------------------------------------------------------------
def successor_cell(V: int) -> Cell:
    return Cell("successor", (Field("prev", V + 1), Field("table", V + 1, V)), {"alphabet": V})


def _successor_step(cell: Cell, st: dict, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    V = cell.params["alphabet"]
    b = np.flatnonzero(st["prev"] < V)                               # rows with a previous token
    st["table"][b, st["prev"][b]] = v[b]                             # table[x_{i-1}] = v_i
    st["prev"] = x.copy()
    return st["table"][np.arange(len(x)), x]                         # table[x_i]


def index_cell(n: int, data: int) -> Cell:
    return Cell("index", (Field("stored", data, n), Field("pending", n + 1)),
                {"n": n, "data": data, "alphabet": data + n})


def _index_step(cell: Cell, st: dict, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    V, data = cell.params["alphabet"], cell.params["data"]
    marker = x >= data
    out = np.full(len(x), V, dtype=np.int64)
    rows = np.flatnonzero(marker)
    out[rows] = st["stored"][rows, x[rows] - data]                   # marker m_j reads a_j
    store = np.flatnonzero(~marker & (st["pending"] > 0))
    st["stored"][store, st["pending"][store] - 1] = x[store]         # a_j right after m_j
    st["pending"] = np.where(marker, x - data + 1, 0)
    return out


#: kind -> (initial value of every field, step function).
STEPS: dict[str, tuple[Callable[[Cell], int], Callable]] = {
    "successor": (lambda cell: cell.params["alphabet"], _successor_step),
    "index": (lambda cell: 0, _index_step),
}


# --- builders ---------------------------------------------------------------------------------
def index_layout(N: int) -> int:
    """n = (N - 1) / 2 stored bits for the INDEX family of length N (odd, >= 3)."""
    if N < 3 or N % 2 == 0:
        raise BadInput(f"the INDEX family (m_1, a_1, ..., m_n, a_n, m_i*) has odd length N = 2n + 1 >= 3; got --N {N}")
    return (N - 1) // 2


def build_rnn(task: str, N: int, alphabet: int | None = None, k: int = 1,
              layers: int | None = None) -> RNN:
    """``induction`` (one successor cell), ``hop`` (``layers`` = k successor cells by default;
    fewer layers build the broken variant that ``verify`` refutes), ``index`` (one index cell)."""
    if not isinstance(N, int) or N < 2:
        raise BadInput(f"--N must be an integer >= 2, got {N}")
    if N > MAX_N:
        raise BadInput(f"--N {N} exceeds the supported maximum {MAX_N}")
    if task == "index":
        n, data = index_layout(N), 2 if alphabet is None else alphabet
        if data < 2:
            raise BadInput(f"--alphabet (data symbols of the INDEX family) must be >= 2, got {data}")
        if index_cell(n, data).bits > 62:
            raise BadInput(f"the INDEX state at N = {N}, |Σ| = {data} needs {index_cell(n, data).bits} bits (> 62)")
        return RNN("index-rnn", "index", "sht23.rnn-ih", "[R] streaming INDEX family; sht23.thm11 [S]",
                   data + n, (index_cell(n, data),), "last", {"N": N, "n": n, "alphabet": data})
    if task not in ("induction", "hop"):
        raise BadInput(f"unknown RNN task {task!r} (induction, index, hop)")
    V = 3 if alphabet is None else alphabet
    if V < 2:
        raise BadInput(f"--alphabet must be >= 2, got {V}")
    if V > 12:
        raise BadInput(f"--alphabet {V} > 12: the successor table has (|Σ|+1)^(|Σ|+1) states; use <= 12")
    if task == "induction":
        k = 1
    if k < 1:
        raise BadInput(f"--k must be >= 1, got {k}")
    L = k if layers is None else layers
    if L < 1:
        raise BadInput(f"--layers must be >= 1, got {L}")
    name = "successor-rnn" if task == "induction" else f"successor-rnn-x{L}"
    theorem = "sht23.rnn-ih" if task == "induction" else "sht24a.cor5_2"
    status = ("[R] successor-table state, |Σ| log |Σ| bits" if task == "induction"
              else "[P] cor5_2 (L >= k or m = Omega(N/k^6)); [R] stacked successor tables")
    return RNN(name, task, theorem, status, V, tuple(successor_cell(V) for _ in range(L)), "all",
               {"N": N, "alphabet": V, "k": k, "layers": L})


# --- runner -------------------------------------------------------------------------------------
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


# --- verdicts -------------------------------------------------------------------------------------
MAX_INPUTS = 1 << 21           # exhaustive families beyond this are refused up front


def family_size(rnn: RNN) -> int:
    """Inputs of the finite family: |Sigma|^N, or n |Sigma|^n for INDEX (all a, all i*)."""
    if rnn.task == "index":
        return rnn.params["n"] * rnn.params["alphabet"] ** rnn.params["n"]
    return rnn.alphabet ** rnn.params["N"]


def index_inputs(n: int, data: int, codes: np.ndarray) -> np.ndarray:
    """Family members number ``codes`` -> (B, 2n + 1): i* = code // data^n, and a_1..a_n the
    base-``data`` digits of code % data^n (a_1 most significant)."""
    istar, a = np.divmod(codes, data ** n)
    digits = (a[:, None] // data ** np.arange(n - 1, -1, -1)[None, :]) % data   # (B, n)
    X = np.empty((len(codes), 2 * n + 1), dtype=np.int64)
    X[:, 0:2 * n:2] = data + np.arange(n)[None, :]
    X[:, 1:2 * n:2] = digits
    X[:, -1] = data + istar
    return X


def family_inputs(rnn: RNN, start: int, stop: int, rng=None, count: int = 0) -> np.ndarray:
    """Members start..stop-1 of the family in order, or ``count`` random ones with ``rng``."""
    from attncheck.verifiers.checkloop import enumerate_sequences as enumerate_inputs
    total = family_size(rnn)
    if rnn.task == "index":
        codes = np.arange(start, stop) if rng is None else rng.integers(0, total, size=count)
        return index_inputs(rnn.params["n"], rnn.params["alphabet"], codes)
    if rng is None:
        return enumerate_inputs(rnn.alphabet, rnn.params["N"], start, stop)
    return rng.integers(0, rnn.alphabet, size=(count, rnn.params["N"]))


def truth(rnn: RNN, X: np.ndarray) -> np.ndarray:
    """Plain-Python ground truth (B, N) with BOT_CODE; INDEX rows hold the answer at position N
    (``tasks.induction_heads`` there must equal ``tasks.index(a, i*)``: the reduction identity)."""
    from attncheck.constructions import tasks
    rows = []
    for x in X.tolist():
        if rnn.task == "index":
            n, data = rnn.params["n"], rnn.params["alphabet"]
            ih, idx = tasks.induction_heads(x)[-1], tasks.index(x[1:2 * n:2], x[-1] - data + 1)
            if ih != idx:
                raise RuntimeError(f"INDEX embedding broken on {x}: induction head {ih} != a_i* {idx}")
            rows.append([BOT_CODE] * (len(x) - 1) + [idx])
        else:
            out = tasks.hop(x, rnn.params["k"]) if rnn.task == "hop" else tasks.induction_heads(x)
            rows.append([BOT_CODE if o is None else o for o in out])
    return np.array(rows, dtype=np.int64).reshape(X.shape)


def check_rnn(rnn: RNN, mode: str = "auto", samples: int = 1000, seed: int = 0, budget=None,
              advance=None):
    """Compare the RNN with the ground truth on every member of its finite family (exhaustive)
    or on seeded random members (sample).  Returns (Verdict, measured) where ``measured`` has
    the distinct states each layer reached."""
    from attncheck.constructions.match import compare_family, resolve_mode
    total = family_size(rnn)
    mode = resolve_mode(f"RNN {rnn.task} family", mode, total, MAX_INPUTS, samples)
    N = rnn.params["N"]
    where = "position N" if rnn.answer == "last" else "every position"
    fam = (f"(m_1, a_1, ..., m_n, a_n, m_i*), n = {rnn.params['n']}" if rnn.task == "index"
           else f"{rnn.alphabet}^{N}")
    claim = (f"{rnn.theorem} {rnn.status.split(';')[0]}: {len(rnn.layers)}-layer RNN with"
             f" {rnn.size()['state_bits']}-bit states computes {rnn.task}"
             + (f" (k = {rnn.params['k']})" if rnn.task == "hop" else "")
             + f" at {where}: " + (f"all {total} inputs of {fam}" if mode == "exhaustive"
                                    else f"{samples} random inputs of {fam} (seed {seed})"))
    reached = [set() for _ in rnn.layers]
    seen = [0]

    def measured() -> dict:
        return {"states_reached": [len(r) for r in reached], "inputs": seen[0],
                "log2_states_reached": [round(math.log2(max(len(r), 1)), 3) for r in reached]}

    def compare(X):
        tr = run(rnn, X)
        for r, s in zip(reached, tr.states):
            r.update(np.unique(s).tolist())
        seen[0] += len(X)
        got = tr.outputs if rnn.answer == "all" else np.where(np.arange(N) == N - 1, tr.outputs, BOT_CODE)
        return got, truth(rnn, X)

    def explain(x, got, want):
        from attncheck.constructions.verdict import Counterexample
        pos = int(np.flatnonzero(got != want)[0])
        again = run(rnn, x[None])
        if again.outputs[0, pos] != got[pos]:
            raise RuntimeError("RNN counterexample replay disagrees")
        dec = lambda v: None if v in (BOT_CODE, rnn.alphabet) else int(v)
        return Counterexample(tuple(int(t) for t in x), pos + 1, dec(want[pos]), dec(got[pos]),
                              {"replayed": True, "layer_values": [dec(s[0, pos]) for s in again.streams]})

    draw = lambda start, stop, rng: family_inputs(rnn, start, stop, rng, stop - start)
    verdict = compare_family(claim, total, mode, samples, seed, max(1, 200_000 // N), draw, compare,
                             explain, budget, advance, measured)
    return verdict, measured()
