"""Run a compiled MPC simulation (SHT24a Thm 3.1) layer by layer: maps, then the routing head.

Shape glossary: B instances, T tokens (row 0 = start token, rows 1..T = tokens 0..T-1), D
residual width, L layers.

``sht24a.thm3_1`` [P]: the transformer built by
:func:`attncheck.constructions.mpc.simulate.compile_protocol` (data: layout, codes, hashing, one
:class:`~attncheck.constructions.mpc.simulate.LocalMap` and one routing head per layer) computes
its protocol.  This module runs it: each layer applies its element-wise map to every token row,
then its head through the one emulator arithmetic (:func:`attncheck.verifiers.emulator.attend`,
unmasked, Def 2.2), adds the head's write to the residual and restores the start row.  After
every layer each token's memory is decoded (``Simulation.inbox``), so the trace compares with the
protocol run's memories round by round; psi (``Simulation.readout``) gives the outputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.simulate import Simulation
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.spec import Head
from attncheck.constructions.verdict import BadInput
from attncheck.verifiers.mpc_attend import attend
from attncheck.verifiers.mpc_engine import Engine, IdTrace
from attncheck.verifiers.mpc_memo import Unhandled
from attncheck.verifiers.mpc_threads import one_blas_thread


@dataclass(frozen=True, eq=False)
class SimTrace:
    """``memories[l][b][t]``: token t's decoded memory after layer l's routing (l = 0: init), so
    ``memories[l]`` compares with the protocol run's ``memories[l]``.  ``outputs[b][t]``: psi."""

    memories: list
    outputs: list
    faults: np.ndarray                  # (B, T) 1 where a local map failed


def embed(sim: Simulation, inputs: np.ndarray) -> np.ndarray:
    """inputs (B, n_in) ints -> residual (B, T+1, D)."""
    B = inputs.shape[0]
    X = np.zeros((B, sim.tokens + 1, sim.layout.width))                  # (B, T+1, D)
    X[:, 0, :] = sim.start_row
    X[:, 1:, sim.layout["qcode"].sl] = sim.codes.queries[None]
    X[:, 1:inputs.shape[1] + 1, sim.layout["input"].start] = inputs
    return X


def apply_layer(sim: Simulation, li: int, X: np.ndarray, head: Head, fmt: Format,
                attention: str) -> tuple[np.ndarray, np.ndarray]:
    """Layer ``li`` on X (B, T+1, D): its map on every token row, then ``head`` (unmasked).
    -> (new residual (B, T+1, D), attention weights (B, T+1, T+1))."""
    fn = sim.layers[li].map.fn
    B, T1, _ = X.shape
    X = np.stack([np.stack([X[b, 0]] + [fn(t, X[b, t + 1]) for t in range(T1 - 1)])
                  for b in range(B)])                                 # (B, T+1, D)
    y, w = attend(head, X, fmt, attention)                            # unmasked (Def 2.2)
    X = X + y
    X[:, 0, :] = sim.start_row
    return X, w


def run(sim: Simulation, inputs, fmt: Format = EXACT, attention: str = "hardmax",
        heads: tuple[Head, ...] | None = None, engine: Engine | None = None) -> SimTrace:
    """Run the compiled transformer on a batch of inputs (B, n_in).  ``heads`` overrides the
    routing head of each layer (used to check corrupted heads).  Runs on
    :class:`~attncheck.verifiers.mpc_engine.Engine` (the same numbers as :func:`reference_run`,
    each distinct piece of work once); ``engine`` reuses one across batches."""
    heads = tuple(layer.head for layer in sim.layers) if heads is None else tuple(heads)
    eng = engine if engine is not None else Engine(sim, heads, fmt, attention)
    return trace_of(eng, run_ids(eng, inputs))


def run_ids(eng: Engine, inputs, tick=lambda layer: None) -> IdTrace:
    """:meth:`Engine.run` on validated inputs (``tick`` before every layer); a simulation whose
    maps are not built as ``read -> local -> write`` runs :func:`reference_run`, its memories
    interned in ``eng``."""
    inputs = _check(eng.sim, inputs, eng.attention)
    if not eng.structured:
        return _intern_trace(eng, reference_run(eng.sim, inputs, eng.fmt, eng.attention, eng.heads),
                             inputs.shape[0])
    try:
        with one_blas_thread():
            return eng.run(inputs, tick)
    except Unhandled:                          # a local function returned what cannot be interned
        tr = reference_run(eng.sim, inputs, eng.fmt, eng.attention, eng.heads)
        return _intern_trace(eng, tr, inputs.shape[0])


def _intern_trace(eng: Engine, tr: SimTrace, B: int) -> IdTrace:
    """A reference trace as ids of ``eng``'s tables (an object that cannot be interned keeps a
    fresh id of its own: it equals nothing else)."""
    def intern(table, obj) -> int:
        try:
            return table(obj)
        except TypeError:
            table.items.append(obj)
            return len(table.items) - 1
    mem = np.array([[[intern(eng.memories, m) for m in row] for row in layer] for layer in tr.memories],
                   dtype=np.int64).reshape(len(tr.memories), B, eng.sim.tokens)
    out = np.array([[intern(eng.outputs, o) for o in row] for row in tr.outputs],
                   dtype=np.int64).reshape(B, eng.sim.tokens)
    return IdTrace(mem, out, tr.faults)


def trace_of(eng: Engine, ids: IdTrace, b: slice | None = None) -> SimTrace:
    """The :class:`SimTrace` an :class:`IdTrace` stands for (instances ``b``, default all)."""
    b = slice(None) if b is None else b
    mem, out = eng.memories.items, eng.outputs.items
    memories = [[[mem[i] for i in row] for row in layer[b].tolist()] for layer in ids.memories]
    outputs = [[out[i] for i in row] for row in ids.outputs[b].tolist()]
    return SimTrace(memories, outputs, ids.faults[b].copy())


def reference_run(sim: Simulation, inputs, fmt: Format = EXACT, attention: str = "hardmax",
                  heads: tuple[Head, ...] | None = None) -> SimTrace:
    """The definition: every layer's map on every token row (``LocalMap.fn``), then its head
    (:func:`apply_layer`), each token's memory decoded after every layer."""
    inputs = _check(sim, inputs, attention)
    with one_blas_thread():
        X = embed(sim, inputs)                                        # (B, T+1, D)
        B, T1, _ = X.shape
        memories = []
        for li, layer in enumerate(sim.layers):
            X, _ = apply_layer(sim, li, X, layer.head if heads is None else heads[li], fmt, attention)
            memories.append([[_safe_inbox(sim, t, X[b, t + 1], li == 0) for t in range(T1 - 1)]
                             for b in range(B)])
        outputs = [[_safe(lambda: sim.readout(t, X[b, t + 1])) for t in range(T1 - 1)] for b in range(B)]
        faults = X[:, 1:, sim.layout["fault"].start].copy()
    return SimTrace(memories, outputs, faults)


def _check(sim: Simulation, inputs, attention: str) -> np.ndarray:
    if attention not in ("softmax", "hardmax"):
        raise BadInput(f"attention must be softmax or hardmax, got {attention!r}")
    if sim.codes.kind == "random" and attention == "hardmax":
        raise BadInput("random sparse codes tie only approximately; use --attention softmax")
    inputs = np.atleast_2d(np.asarray(inputs, dtype=np.int64))
    if inputs.shape[1] != sim.protocol.n_in:
        raise BadInput(f"the simulation takes {sim.protocol.n_in} input words, got {inputs.shape[1]}")
    return inputs


def attention_at(sim: Simulation, heads: tuple[Head, ...], words, layer: int, machine: int,
                 fmt: Format, attention: str) -> list[dict]:
    """Replay one instance up to ``layer`` and list where ``machine`` attends (token -1 = start)."""
    X = embed(sim, np.array([words]))                                 # (1, T+1, D)
    for li in range(layer + 1):
        X, w = apply_layer(sim, li, X, heads[li], fmt, attention)
    row = w[0, machine + 1]
    return [{"token": int(j) - 1, "weight": round(float(row[j]), 6)}
            for j in np.flatnonzero(row > 1e-6)]


def _safe(f):
    try:
        return f()
    except Exception as e:                 # a corrupted memory: report, do not crash
        return ("error", type(e).__name__)


def _safe_inbox(sim: Simulation, t: int, row: np.ndarray, input_layer: bool):
    return _safe(lambda: sim.inbox(t, row, input_layer))
