"""Sequential baselines as explicit recurrent models (``sht23.rnn-ih`` [R], ``sht23.thm11`` [S],
``sht24a.cor5_2`` [P]).

Shape glossary: B batch, N steps (positions 1..N), L layers, V = |Sigma| input symbols; in every
integer stream the code V stands for bottom / "none".

Model (``sht24a.cor5_2``): layer l maps ``(Z^{l-1}_i, H^l_{i-1})`` to ``(Z^l_i, H^l_i)``; the hidden
state H is a tuple of integer *fields* with declared sizes, so its bit count is
``sum count * ceil(log2 size)`` and the runner checks after every step that each field stays in
range (no model can smuggle unbounded information through a float).  ``Z^l_i = (x_i, v^l_i)``:
the input token is passed up and ``v^l`` is the layer's value stream; ``v^0 = x``.

Cells are data (a kind and its fields); each kind's step function is registered in
:data:`attncheck.verifiers.rnn_run.STEPS`, which runs the stack; the checks over the finite
families are :mod:`attncheck.verifiers.rnn_check`.

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
from typing import Any, Mapping

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


def index_cell(n: int, data: int) -> Cell:
    return Cell("index", (Field("stored", data, n), Field("pending", n + 1)),
                {"n": n, "data": data, "alphabet": data + n})


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
    if k > N:
        raise BadInput(f"--k {k} > N = {N}: use 1 <= k <= N")
    L = k if layers is None else layers
    if not 1 <= L <= MAX_N:
        raise BadInput(f"--layers must be in 1..{MAX_N} (L >= k suffices), got {L}")
    name = "successor-rnn" if task == "induction" else f"successor-rnn-x{L}"
    theorem = "sht23.rnn-ih" if task == "induction" else "sht24a.cor5_2"
    status = ("[R] successor-table state, |Σ| log |Σ| bits" if task == "induction"
              else "[P] cor5_2 (L >= k or m = Omega(N/k^6)); [R] stacked successor tables")
    return RNN(name, task, theorem, status, V, tuple(successor_cell(V) for _ in range(L)), "all",
               {"N": N, "alphabet": V, "k": k, "layers": L})
