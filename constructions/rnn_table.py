"""Finite-state RNN cells given by tables, small-state variants of the baselines, and the RNN file.

Theorem: ``sht23.rnn-ih`` [R] (a one-pass model needs as many states as there are Myhill-Nerode
classes); ``attncheck refute rnn`` finds the failing input of a model with fewer.

Shape glossary: S states, V = |Sigma| symbols (input code V = bottom from a lower layer), R
reachable states of the successor cell.

* **The ``table`` cell** is the most general deterministic one-layer recurrent cell with S
  states: a Mealy machine.  Its state is one field ``state`` in ``range(S)`` (start 0); reading
  the input ``v`` (the token for layer 1, the lower layer's stream above) it outputs
  ``out[state][v]`` (code V = bottom) and moves to ``delta[state][v]``.  Tables have V + 1
  columns.  The step function is registered in :data:`attncheck.verifiers.rnn_run.STEPS`.
* :func:`quantised_successor` keeps only ``state_bits`` bits of the successor cell of
  :mod:`attncheck.constructions.rnn` (``sht23.rnn-ih``'s baseline, (V+1) ceil(log2(V+1)) bits):
  the reachable successor states, numbered in breadth-first order from the start, are merged
  into ``2^state_bits`` buckets (number mod 2^b); a bucket moves and outputs as its first state.
  Below the Myhill-Nerode count it must be wrong somewhere; at or above the successor's own
  count (``2^b >= R``) it is the successor cell exactly.
* :func:`random_table_rnn` -- seeded random tables with S states.
* :func:`save_rnn` / :func:`load_rnn` -- the ``.npz`` file of an RNN: a JSON ``meta`` entry (name,
  task, theorem, status, alphabet, answer, params, cells with kind and fields) and, per table
  cell ``l``, arrays ``L<l>/delta`` and ``L<l>/out``; loaded strictly (closed keys, shapes,
  ranges; never a pickle), every failure one BadInput line.
"""
from __future__ import annotations

import json
import zipfile

import numpy as np

from attncheck.constructions.rnn import RNN, Cell, Field, index_cell, successor_cell
from attncheck.constructions.verdict import BadInput

FILE_SCHEMA = 1
KINDS = ("successor", "index", "table")
META_KEYS = {"schema", "name", "task", "theorem", "status", "alphabet", "answer", "params", "cells"}
MAX_STATES = 1 << 16


def table_cell(delta, out, alphabet: int) -> Cell:
    """A ``table`` cell from ``delta`` and ``out`` (S, V + 1) integer tables (validated)."""
    d = np.asarray(delta)
    o = np.asarray(out)
    S = d.shape[0] if d.ndim == 2 else 0
    if d.ndim != 2 or o.shape != d.shape or d.shape[1] != alphabet + 1 or S < 1:
        raise BadInput(f"table cell: delta and out must both be (S, |Σ|+1) = (S, {alphabet + 1}),"
                       f" got {d.shape} and {o.shape}")
    if S > MAX_STATES:
        raise BadInput(f"table cell: {S} states exceed the supported {MAX_STATES}")
    if d.dtype.kind not in "iu" or o.dtype.kind not in "iu":
        raise BadInput("table cell: delta and out must be integer tables")
    if d.min() < 0 or d.max() >= S:
        raise BadInput(f"table cell: delta entries must lie in 0..{S - 1}")
    if o.min() < 0 or o.max() > alphabet:
        raise BadInput(f"table cell: out entries must lie in 0..{alphabet} ({alphabet} = bottom)")
    as_t = lambda a: tuple(tuple(int(x) for x in row) for row in a.tolist())
    return Cell("table", (Field("state", S),), {"alphabet": alphabet, "delta": as_t(d), "out": as_t(o)})


def _successor_machine(V: int) -> tuple[list, dict]:
    """Reachable states of the successor cell (prev, table[0..V-1]) in BFS order from the start,
    and its transitions ``{(state, v): (next, output)}`` for inputs v in 0..V-1."""
    start = (V,) + (V,) * V
    order, index, moves = [start], {start: 0}, {}
    i = 0
    while i < len(order):
        s = order[i]
        for v in range(V):
            prev, table = s[0], list(s[1:])
            if prev < V:
                table[prev] = v                        # table[x_{i-1}] = v_i (layer 1: v = x)
            nxt = (v,) + tuple(table)
            if nxt not in index:
                index[nxt] = len(order)
                order.append(nxt)
            moves[(i, v)] = (index[nxt], table[v])     # output table[x_i]
        i += 1
    return order, moves


def successor_states(V: int) -> int:
    """Number of reachable states of the successor cell over V symbols."""
    return len(_successor_machine(V)[0])


def quantised_successor(N: int, alphabet: int, state_bits: int) -> RNN:
    """The successor RNN of ``sht23.rnn-ih`` with its state merged into ``2^state_bits`` buckets."""
    V = alphabet
    if not isinstance(V, int) or not 2 <= V <= 8:
        raise BadInput(f"--alphabet must be an integer in 2..8 for the quantised successor RNN, got {V!r}")
    if not isinstance(state_bits, int) or state_bits < 0:
        raise BadInput(f"--state-bits must be an integer >= 0, got {state_bits!r}")
    order, moves = _successor_machine(V)
    S = min(1 << state_bits, len(order))
    first = {}
    for i in range(len(order)):
        first.setdefault(i % S, i)
    delta = np.zeros((S, V + 1), dtype=np.int64)
    out = np.full((S, V + 1), V, dtype=np.int64)
    for q in range(S):
        for v in range(V):
            nxt, o = moves[(first[q], v)]
            delta[q, v], out[q, v] = nxt % S, o
        delta[q, V] = q                                # bottom input (unused in layer 1): stay
    return RNN(f"successor-rnn-{state_bits}bit", "induction", "sht23.rnn-ih",
               f"[R] successor table merged into 2^{state_bits} states (hand-edited variant)", V,
               (table_cell(delta, out, V),), "all",
               {"N": N, "alphabet": V, "k": 1, "layers": 1, "state_bits": state_bits,
                "successor_states": len(order)})


def random_table_rnn(N: int, alphabet: int, states: int, seed: int = 0) -> RNN:
    """A one-layer RNN with seeded random tables over ``states`` states."""
    if not isinstance(states, int) or states < 1:
        raise BadInput(f"--states must be an integer >= 1, got {states!r}")
    rng = np.random.default_rng(seed)
    delta = rng.integers(0, states, size=(states, alphabet + 1))
    out = rng.integers(0, alphabet + 1, size=(states, alphabet + 1))
    return RNN(f"random-table-rnn-{states}", "induction", "sht23.rnn-ih", "[R] random tables", alphabet,
               (table_cell(delta, out, alphabet),), "all",
               {"N": N, "alphabet": alphabet, "k": 1, "layers": 1, "states": states, "seed": seed})


# --- the file ----------------------------------------------------------------------------------
def save_rnn(rnn: RNN, path: str) -> None:
    """Write ``rnn`` to ``path`` (.npz): tables as arrays, everything else as JSON metadata."""
    arrays, cells = {}, []
    for l, cell in enumerate(rnn.layers):
        entry = {"kind": cell.kind, "params": {k: v for k, v in cell.params.items() if k not in ("delta", "out")}}
        if cell.kind == "table":
            arrays[f"L{l}/delta"] = np.asarray(cell.params["delta"], dtype=np.int64)
            arrays[f"L{l}/out"] = np.asarray(cell.params["out"], dtype=np.int64)
        cells.append(entry)
    meta = {"schema": FILE_SCHEMA, "name": rnn.name, "task": rnn.task, "theorem": rnn.theorem,
            "status": rnn.status, "alphabet": rnn.alphabet, "answer": rnn.answer,
            "params": dict(rnn.params), "cells": cells}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def _need(cond: bool, path: str, msg: str) -> None:
    if not cond:
        raise BadInput(f"{path}: {msg}")


def load_rnn(path: str) -> RNN:
    """Read an RNN file strictly (module docstring); BadInput names the first problem."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise BadInput(f"{path}: not an RNN .npz file ({type(e).__name__})") from None
    _need("meta" in arrays, path, "no 'meta' entry")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError:
        raise BadInput(f"{path}: 'meta' is not JSON") from None
    _need(isinstance(meta, dict) and set(meta) == META_KEYS, path,
          f"meta keys must be exactly {sorted(META_KEYS)}")
    _need(meta["schema"] == FILE_SCHEMA, path, f"schema {meta['schema']!r} is not {FILE_SCHEMA}")
    V = meta["alphabet"]
    _need(isinstance(V, int) and V >= 2, path, f"alphabet must be an integer >= 2, got {V!r}")
    _need(meta["answer"] in ("all", "last"), path, "answer must be 'all' or 'last'")
    _need(meta["task"] in ("induction", "hop"), path, f"task must be induction or hop, got {meta['task']!r}")
    _need(isinstance(meta["params"], dict) and isinstance(meta["params"].get("N"), int), path,
          "params must hold the integer N")
    _need(isinstance(meta["cells"], list) and meta["cells"], path, "cells must be a non-empty list")
    layers, used = [], set()
    for l, entry in enumerate(meta["cells"]):
        _need(isinstance(entry, dict) and set(entry) == {"kind", "params"}, path,
              f"cell {l}: keys must be kind and params")
        kind, cp = entry["kind"], entry["params"]
        _need(kind in KINDS, path, f"cell {l}: kind {kind!r} is not one of {', '.join(KINDS)}")
        _need(isinstance(cp, dict), path, f"cell {l}: params must be an object")
        if kind == "table":
            keys = (f"L{l}/delta", f"L{l}/out")
            _need(all(k in arrays for k in keys), path, f"cell {l}: arrays {keys[0]} and {keys[1]} missing")
            used.update(keys)
            try:
                layers.append(table_cell(arrays[keys[0]], arrays[keys[1]], V if l == 0 else cp.get("alphabet", V)))
            except BadInput as e:
                raise BadInput(f"{path}: cell {l}: {e}") from None
        elif kind == "successor":
            _need(cp.get("alphabet") == V, path, f"cell {l}: successor alphabet must be {V}")
            layers.append(successor_cell(V))
        else:
            _need(isinstance(cp.get("n"), int) and isinstance(cp.get("data"), int), path,
                  f"cell {l}: index cells need integer n and data")
            layers.append(index_cell(cp["n"], cp["data"]))
    _need(not (set(arrays) - used), path, f"unexpected arrays {sorted(set(arrays) - used)}")
    return RNN(str(meta["name"]), meta["task"], str(meta["theorem"]), str(meta["status"]), V,
               tuple(layers), meta["answer"], meta["params"])
