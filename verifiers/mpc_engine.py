"""The MPC simulation on many instances at once, each distinct piece of work done once.

Shape glossary: B instances, T tokens (row 0 = start token, rows 1..T = tokens 0..T-1), D
residual width, d packet slots, F = 5 packet fields, L layers, n distinct items of a batch.

``sht24a.thm3_1`` [P]; this module computes what :func:`attncheck.verifiers.mpc_simulate.
reference_run` computes -- every layer's element-wise map on every token row, then its routing
head through :func:`attncheck.verifiers.mpc_attend.attend` -- for a batch of instances [R]:

* **Memories decoded once.**  Each layer's packets are decoded once (``decode_batch``); the
  same memories are the trace and the next map's input (the map reads nothing else of the row
  it overwrites: ``LocalMap.local``), where the per-token loop decoded every row twice.
* **Distinct work once.**  Memories, outboxes and outputs are interned (:mod:`mpc_memo`); a
  map's local function runs once per distinct (layer, token, memory) of the whole check, and a
  round's step is the protocol side's own (``Steps.raw``, settled by ``RoundLocal.settle``).
* **Sparse routing** (hardmax, float64, every head a selection writing only the recv slot --
  proved from the numbers, :func:`sparse_plan`): after the map a token row is a function of
  (token, outbox, fault flag, input word), so queries, keys and value rows are computed once per
  distinct such row; scores come from a table of exact integer products between distinct
  queries and keys; receiver i's packets are the sum of its argmax set's value rows over its
  size -- integers below 2^53, so the numbers of ``w @ v / z`` -- computed and decoded once per
  distinct (receiver, argmax set), on the slots some member fills (an all-zero slot is never
  live).  A batch whose numbers leave that regime (scores or values not such integers) runs
  densely.
* **Dense** (softmax, edited heads): the residual (B, T+1, D) is carried, each map applied to
  all rows at once (``write_rows``), the head run by ``mpc_attend.attend``.

``tests/mpc/test_mpc_engine.py`` checks both against the per-token reference on seeded
instances of every protocol and on hand-edited heads: the same memories, outputs and faults.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.routing import F, ONE_BY_ONE, decode_batch, decode_safe
from attncheck.constructions.mpc.simulate import RoundLocal, Simulation, writable, write_row, write_rows
from attncheck.constructions.precision import Format
from attncheck.verifiers.mpc_attend import EXACT_FLOAT_SUM, attend, int_scores
from attncheck.verifiers.mpc_memo import Interner, Memories, Outboxes, Steps, unique_rows
from attncheck.verifiers.mpc_sparse import compact, gather, sparse_plan, sum_rows

MAX_SCORE_CELLS = 1 << 22        # B T (T+1) cells of one batch's score array (int64: 32 MB)
MAX_DENSE_CELLS = 1 << 22        # B (T+1) D cells of one batch's residual (float64: 32 MB)
ROW_CHUNK = 2048                 # distinct rows materialised at a time


@dataclass(frozen=True, eq=False)
class IdTrace:
    """``memories`` (L, B, T) ids of ``Engine.memories`` (each token's decoded memory after each
    layer), ``outputs`` (B, T) ids of ``Engine.outputs`` (psi), ``faults`` (B, T)."""

    memories: np.ndarray
    outputs: np.ndarray
    faults: np.ndarray


class _Dense(Exception):
    """A batch left the sparse regime: run it densely."""


class Engine:
    """Runs ``sim`` (layer l with ``heads[l]``) on batches.  Memories, outboxes and outputs are
    interned for the whole check; ``steps`` (the protocol side's) makes round maps reuse its
    protocol steps."""

    def __init__(self, sim: Simulation, heads, fmt: Format, attention: str, steps: Steps | None = None):
        self.sim, self.heads, self.fmt, self.attention = sim, tuple(heads), fmt, attention
        self.steps = steps
        self.memories = steps.memories if steps is not None else Memories()
        self.outboxes = steps.outboxes if steps is not None else Outboxes()
        self.outputs = steps.outs if steps is not None else Interner()
        self.empty = self.memories(())
        self._local: dict = {}                    # (layer, t, memory id or word) -> (outbox id, failed)
        self._settle: dict = {}                   # (layer, raw outbox id) -> (outbox id, failed)
        self._ok: dict = {}                       # (pad?, outbox id) -> writable
        self._psi: dict = {}                      # (t, memory id) -> output id
        self._keys: dict = {}                     # frozenset of dests -> key code (dq,) or None
        self._key_rows: dict = {}                 # outbox id -> key code
        self.sl = {n: sim.layout[n].sl for n in ("qcode", "kcode", "input", "send", "recv", "fault")}
        m0 = sim.layers[0].map
        self.H, self.C = m0.hashing, m0.codes                  # what every map writes with
        self.structured = all(layer.map.local is not None and layer.map.layout == sim.layout
                              and layer.map.hashing is m0.hashing and layer.map.codes is m0.codes
                              and m0.hashing is not None and m0.codes is not None
                              and (not isinstance(layer.map.local, RoundLocal)
                                   or layer.map.local.protocol.limits == sim.protocol.limits)
                              for layer in sim.layers)
        plans = [sparse_plan(sim, h) for h in self.heads]
        self.plans = plans if (self.structured and fmt.is_exact and attention == "hardmax"
                               and len(sim.layers) >= 2 and None not in plans) else None

    @property
    def sparse(self) -> bool:
        return self.plans is not None

    def batch_size(self) -> int:
        """Instances per batch: bounded by the score array (sparse) or the residual (dense)."""
        T1 = self.sim.tokens + 1
        if self.sparse:
            return int(max(16, min(4096, MAX_SCORE_CELLS // (T1 * T1))))
        return int(max(1, min(16, MAX_DENSE_CELLS // (T1 * self.sim.layout.width))))

    # --- the whole batch ---------------------------------------------------------------------
    def run(self, inputs, tick=lambda layer: None) -> IdTrace:
        """Run a batch; ``tick(layer)`` before every layer (a budget check may raise there).
        Raises :class:`~attncheck.verifiers.mpc_memo.Unhandled` for a local function returning
        what cannot be interned (the caller runs the reference)."""
        inputs = np.atleast_2d(np.asarray(inputs, dtype=np.int64))
        if self.sparse:
            try:
                return self._run(inputs, True, tick)
            except _Dense:
                pass
        return self._run(inputs, False, tick)

    def _run(self, inputs: np.ndarray, sparse: bool, tick) -> IdTrace:
        sim = self.sim
        B, T, L = inputs.shape[0], sim.tokens, len(sim.layers)
        t_idx = np.broadcast_to(np.arange(T), (B, T))
        stored = np.zeros((B, T))                                     # the input slot as embedded
        stored[:, :inputs.shape[1]] = inputs
        mem = np.zeros((L, B, T), dtype=np.int64)
        fault = np.zeros((B, T), dtype=bool)
        X = None if sparse else self._embed(inputs)
        for li in range(L):
            tick(li)
            vals = stored.astype(np.int64) if li == 0 else mem[li - 1]
            oid, failed = self._map(li, t_idx, vals)
            fault |= failed
            if sparse:
                mem[li] = self._route_sparse(li, oid, fault, stored, t_idx)
            else:
                X = self._route_dense(li, X, oid, failed, t_idx)
                mem[li] = self._decode(X[:, 1:, self.sl["recv"]].reshape(B * T, -1, F),
                                       t_idx.reshape(-1), li == 0).reshape(B, T)
        if sparse:
            fault_out, last = fault.astype(np.float64), mem[L - 1]
        else:
            fault_out = X[:, 1:, self.sl["fault"].start].copy()
            last = mem[L - 1] if L > 1 else self._decode(
                X[:, 1:, self.sl["recv"]].reshape(B * T, -1, F), t_idx.reshape(-1), False).reshape(B, T)
        return IdTrace(mem, self._readout(t_idx, last), fault_out)

    # --- the element-wise map ----------------------------------------------------------------
    def _map(self, li: int, t_idx: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(outbox ids (B, T), failed (B, T)) of layer li's map, once per distinct (token,
        memory id or input word)."""
        uniq, inv = unique_rows(np.stack([t_idx.reshape(-1), vals.reshape(-1)], axis=1))
        pairs = zip(t_idx.reshape(-1)[uniq].tolist(), vals.reshape(-1)[uniq].tolist())
        local = self.sim.layers[li].map.local
        if self.steps is not None and isinstance(local, RoundLocal) and local.protocol is self.steps.protocol:
            got = self._settled(li, local, pairs)
        else:
            memo = self._local
            got = []
            for t, v in pairs:
                g = memo.get((li, t, v))
                if g is None:
                    g = memo[(li, t, v)] = self._written(t, *local(t, v if li == 0 else self.memories.items[v]))
                got.append(g)
        arr = np.array(got, dtype=np.int64).reshape(-1, 2)
        return arr[inv, 0].reshape(t_idx.shape), arr[inv, 1].astype(bool).reshape(t_idx.shape)

    def _settled(self, li: int, local: RoundLocal, pairs) -> list[tuple[int, bool]]:
        """A round map whose local function is the protocol side's step:
        ``local(t, memory) == settle(step(r, t, memory))`` for a machine's decoded memory, so its
        result is the step the protocol side took (``Steps.raw``), settled once per outbox."""
        q, r, items = self.sim.protocol.limits.q, local.r, self.memories.items
        raw_memo, raw = self.steps._step, self.steps.raw
        settle = self._settle
        empty = self.outboxes(())
        out = []
        for t, v in pairs:
            if t >= q:
                out.append((empty, False))
                continue
            memory = items[v]
            if memory and isinstance(memory[0], str):                    # a corrupted memory
                out.append((empty, True))
                continue
            o = raw_memo.get((r, t, v), -1)
            if o == -1:
                o = raw(r, t, v)
            if o is None:                                                # the step raised
                out.append((empty, True))
                continue
            g = settle.get((li, o))
            if g is None:
                g = settle[(li, o)] = self._written(t, *local.settle(self.outboxes.items[o]))
            out.append(g)
        return out

    def _written(self, t: int, outbox, failed: bool) -> tuple[int, bool]:
        """(outbox id, failed) as the map writes it: an outbox it cannot write is a failed step."""
        oid = self.outboxes.intern(outbox)
        if failed:
            return oid, True
        pad = t >= self.sim.protocol.limits.q
        ok = self._ok.get((pad, oid))
        if ok is None:
            plain = self.outboxes.plain[oid] and len(outbox) <= (1 if pad else self.H.s)
            ok = self._ok[(pad, oid)] = (plain and self._key_of_set({d_ for d_, _ in outbox}) is not None) or \
                (not plain and writable(t, outbox, self.H, self.C))
        return (oid, False) if ok else (self.outboxes(()), True)

    def _key_of_set(self, S) -> np.ndarray | None:
        """``codes.key(S)`` once per destination set (None: it raises)."""
        S = frozenset(S)
        if S not in self._keys:
            try:
                self._keys[S] = self.C.key(S)
            except Exception:
                self._keys[S] = None
        return self._keys[S]

    def _write(self, X: np.ndarray, t: np.ndarray, oid: np.ndarray, failed: np.ndarray) -> None:
        """The map's writes, in place, on rows X (n, D) of tokens t (n,) with outboxes ``oid``
        (n,): all at once (``write_rows``), an outbox that is not plain integers one by one
        (``write_row``)."""
        plain = self.outboxes.plain_array()[oid]
        if not plain.all():
            for n in np.flatnonzero(~plain).tolist():
                X[n] = write_row(X[n], int(t[n]), self.outboxes.items[oid[n]], bool(failed[n]),
                                 self.sim.layout, self.H, self.C)
            idx = np.flatnonzero(plain)
            sub = X[idx]
            self._write(sub, t[idx], oid[idx], failed[idx])
            X[idx] = sub
            return
        dest, word, length = self.outboxes.arrays(oid)
        write_rows(X, t, dest, word, length, self._keys_of(oid), failed, self.sim.layout, self.H)

    def _keys_of(self, oid: np.ndarray) -> np.ndarray:
        uniq, inv = np.unique(oid, return_inverse=True)
        rows = []
        for i in uniq.tolist():
            k = self._key_rows.get(i)
            if k is None:
                k = self._key_rows[i] = self._key_of_set({d_ for d_, _ in self.outboxes.items[i]})
            rows.append(k)
        return np.array(rows).reshape(len(uniq), -1)[inv.reshape(-1)]

    def _embed(self, inputs: np.ndarray) -> np.ndarray:
        sim = self.sim
        X = np.zeros((inputs.shape[0], sim.tokens + 1, sim.layout.width))          # (B, T+1, D)
        X[:, 0, :] = sim.start_row
        X[:, 1:, self.sl["qcode"]] = sim.codes.queries[None]
        X[:, 1:inputs.shape[1] + 1, self.sl["input"].start] = inputs
        return X

    # --- dense routing -----------------------------------------------------------------------
    def _route_dense(self, li, X, oid, failed, t_idx) -> np.ndarray:
        B, T1, D = X.shape
        rows = X[:, 1:].reshape(-1, D)                                               # (B T, D) copy
        self._write(rows, t_idx.reshape(-1), oid.reshape(-1), failed.reshape(-1))
        X = X.copy()
        X[:, 1:] = rows.reshape(B, T1 - 1, D)
        y, _ = attend(self.heads[li], X, self.fmt, self.attention)
        X = X + y
        X[:, 0, :] = self.sim.start_row
        return X

    # --- sparse routing ----------------------------------------------------------------------
    def _route_sparse(self, li, oid, fault, stored, t_idx) -> np.ndarray:
        """Memory ids (B, T) after layer li's head, from the distinct token rows and argmax sets."""
        sim, sp = self.sim, self.plans[li]
        B, T = oid.shape
        use_input = bool(np.isin(self.sl["input"].start, sp.reads))
        use_fault = bool(np.isin(self.sl["fault"].start, sp.reads))
        cols = [t_idx.reshape(-1), oid.reshape(-1)]
        cols += [fault.reshape(-1).astype(np.int64)] if use_fault else []
        cols += [stored.reshape(-1).view(np.int64)] if use_input else []
        uniq, rid = unique_rows(np.stack(cols, axis=1))                # rid (B T,): row id per token
        n = len(uniq)
        q = np.empty((n + 1, len(sp.q.col)))
        k = np.empty((n + 1, len(sp.k.col)))
        parts = []
        flat = [a.reshape(-1) for a in (t_idx, oid, fault, stored)]
        for a in range(0, n, ROW_CHUNK):                               # the distinct rows, materialised
            sel = uniq[a:a + ROW_CHUNK]
            rows = self._rows(*(f[sel] for f in flat))
            q[a:a + len(sel)], k[a:a + len(sel)] = gather(rows, sp.q), gather(rows, sp.k)
            parts.append(compact(gather(rows, sp.recv).reshape(len(sel), -1, F)))
        start = sim.start_row[None]
        q[n], k[n] = gather(start, sp.q)[0], gather(start, sp.k)[0]
        parts.append(compact(gather(start, sp.recv).reshape(1, -1, F)))
        w = max(p_[0].shape[1] for p_ in parts)
        slots = np.concatenate([np.pad(p_[0], ((0, 0), (0, w - p_[0].shape[1])), constant_values=-1) for p_ in parts])
        vals = np.concatenate([np.pad(p_[1], ((0, 0), (0, w - p_[1].shape[1]), (0, 0))) for p_ in parts])
        if not (np.array_equal(vals, np.rint(vals)) and np.abs(vals).max(initial=0.0) * (T + 1) < EXACT_FLOAT_SUM):
            raise _Dense                                               # sums of value rows might round
        # scores: exact integers between the distinct queries and the distinct keys
        qu, qinv = unique_rows(q.view(np.int64))
        ku, kinv = unique_rows(k.view(np.int64))
        table = int_scores(q[qu][None], k[ku][None])
        if table is None:
            raise _Dense
        rid = rid.reshape(B, T)
        S = table[0][qinv[rid][:, :, None],
                     np.concatenate([np.full((B, 1), kinv[n]), kinv[rid]], axis=1)[:, None, :]]   # (B, T, T+1)
        J = S == S.max(axis=2, keepdims=True)
        # receiver keys: (token, argmax-set size, the set's row ids in token order; n = start row)
        b, i, j = np.nonzero(J)
        member = np.where(j == 0, n, rid[b, np.maximum(j - 1, 0)])
        g = b * T + i
        z = np.bincount(g, minlength=B * T)
        keys = np.full((B * T, 2 + int(z.max(initial=1))), -1, dtype=np.int64)
        keys[:, 0], keys[:, 1] = np.tile(np.arange(T), B), z
        keys[g, 2 + np.arange(len(g)) - np.searchsorted(g, g)] = member
        kuniq, kinv2 = unique_rows(keys)
        K = keys[kuniq]                                                # (nk, 2 + m)
        recv = sum_rows(slots, vals, K[:, 2:], K[:, 1])               # (nk, w, F)
        ids = self._decode(recv, K[:, 0], li == 0, (slots, vals, K))
        return ids[kinv2].reshape(B, T)

    def _rows(self, t, oid, fault, stored) -> np.ndarray:
        """Token rows after the map (n, D): the embedding's row (query code, input word), the
        fault flag, then the map's writes."""
        sim = self.sim
        X = np.zeros((len(t), sim.layout.width))
        X[:, self.sl["qcode"]] = sim.codes.queries[t]
        X[:, self.sl["input"].start] = np.where(t < sim.protocol.n_in, stored, 0.0)
        X[:, self.sl["fault"].start] = fault
        self._write(X, t, oid, np.zeros(len(t), dtype=bool))
        return X

    # --- decoding and psi --------------------------------------------------------------------
    def _decode(self, recv: np.ndarray, j: np.ndarray, input_layer: bool, sparse_src=None) -> np.ndarray:
        """Memory ids of n receivers' packets (n, w, F); a row ``decode_batch`` leaves to
        ``decode`` is decoded from its d slots (rebuilt from the value rows when sparse)."""
        s = self.sim.protocol.limits.s
        rows = decode_batch(recv, j, s, input_layer)
        slow = rows[:, 0] == ONE_BY_ONE
        ids = np.empty(len(rows), dtype=np.int64)
        if (~slow).any():
            ids[~slow] = self.memories.rows(rows[~slow])
        for i in np.flatnonzero(slow):
            dense = recv[i] if sparse_src is None else self._dense_recv(i, *sparse_src)
            ids[i] = self.memories(decode_safe(dense, int(j[i]), s, input_layer))
        return ids

    def _dense_recv(self, i: int, slots, vals, K) -> np.ndarray:
        """Receiver key i's packets on all d slots (what ``decode`` reads)."""
        dense = np.zeros((self.sim.layout["recv"].width // F, F))
        for row in K[i, 2:][K[i, 2:] >= 0]:
            ok = slots[row] >= 0
            dense[slots[row][ok]] += vals[row][ok]
        return dense / float(K[i, 1]) + 0.0

    def _readout(self, t_idx: np.ndarray, last: np.ndarray) -> np.ndarray:
        """psi: output ids (B, T), ``protocol.output`` once per distinct (token, final memory)."""
        uniq, inv = unique_rows(np.stack([t_idx.reshape(-1), last.reshape(-1)], axis=1))
        out = np.empty(len(uniq), dtype=np.int64)
        for n, (t, m) in enumerate(zip(t_idx.reshape(-1)[uniq].tolist(), last.reshape(-1)[uniq].tolist())):
            got = self._psi.get((t, m))
            if got is None:
                got = self._psi[(t, m)] = self.outputs.intern(_psi(self.sim, t, self.memories.items[m]))
            out[n] = got
        return out[inv].reshape(t_idx.shape)


def _psi(sim: Simulation, t: int, memory):
    """``Simulation.readout`` on a decoded memory: the protocol's output function, or
    ``("error", name)`` when decoding or the output function raised."""
    if t >= sim.protocol.limits.q:
        return ()
    if memory and isinstance(memory[0], str):
        return memory
    try:
        return tuple(sim.protocol.output(t, memory))
    except Exception as e:
        return ("error", type(e).__name__)
