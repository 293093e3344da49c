"""Interned memories, outboxes and protocol steps: each distinct piece of MPC work done once.

Shape glossary: n rows, w columns, q machines, s words.

The MPC checks (``sht24a.thm3_1``, ``model.mpc``) run the protocol and its transformer on many
instances whose machines often hold the same memory.  This module gives every distinct memory,
outbox and output a dense integer id for the duration of one check, so both runtimes
(:mod:`attncheck.verifiers.mpc_batch`, :mod:`attncheck.verifiers.mpc_engine`) compare ids and
call the protocol's local functions once per distinct (round, machine, memory) (:class:`Steps`;
the local functions are pure functions of their arguments, as SHT24a Def 2.3 has them) [R].
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions.mpc.model import Protocol
from attncheck.constructions.mpc.routing import memory_of

PLAIN = 2 ** 62                  # message fields below this go into the int64 outbox arrays
_MUL = np.int64(0x5BD1E995)      # row hash multiplier (collisions are detected, not assumed away)


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of one representative of each distinct row, inverse (n,)) of an int64 array (n, w):
    packed into one integer when the columns' ranges fit 62 bits, else hashed, the hash groups
    checked row by row against their representative (a collision falls back to comparing bytes)."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a = np.ascontiguousarray(rows, dtype=np.int64)
    lo, hi = a.min(axis=0), a.max(axis=0)
    bits = [(int(h) - int(l)).bit_length() for l, h in zip(lo.tolist(), hi.tolist())]
    if sum(bits) <= 62:
        packed = np.zeros(len(a), dtype=np.int64)
        for col, b in enumerate(bits):
            if b:
                packed = (packed << b) | (a[:, col] - lo[col])
        _, first, inv = np.unique(packed, return_index=True, return_inverse=True)
        return first, inv.reshape(-1)
    h = a[:, 0].copy()
    for col in range(1, a.shape[1]):
        h = h * _MUL + a[:, col]                                          # wraps: a hash, checked below
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if np.array_equal(a, a[first[inv]]):
        return first, inv
    v = a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()
    _, first, inv = np.unique(v, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


class Unhandled(Exception):
    """A value the interned runtimes cannot hold (an unhashable outbox): run the reference."""


class Interner:
    """Python objects <-> dense integer ids, for one check."""

    def __init__(self):
        self.ids: dict = {}
        self.items: list = []

    def __call__(self, obj) -> int:
        i = self.ids.get(obj)
        if i is None:
            i = self.ids[obj] = len(self.items)
            self.items.append(obj)
        return i

    def intern(self, obj) -> int:
        """:meth:`__call__`, raising :class:`Unhandled` for an unhashable object."""
        try:
            return self(obj)
        except TypeError as e:
            raise Unhandled(str(e)) from e


class Memories(Interner):
    """Memories (inboxes, or ``("error", name)``) by id; :meth:`rows` interns canonical rows
    (``routing.decode_batch``'s layout) by their bytes, building the inbox only for a new one."""

    def __init__(self):
        super().__init__()
        self._bytes: dict = {}

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Ids (n,) of canonical rows (n, 2 + 2 m) with status 0, 1 or 2."""
        first, inv = unique_rows(rows)
        ids = np.empty(len(first), dtype=np.int64)
        for n, f in enumerate(first.tolist()):
            row = rows[f]
            key = row[:2 + 2 * int(row[1])].tobytes() if row[0] == 0 else row[:2].tobytes()
            i = self._bytes.get(key)
            if i is None:
                i = self._bytes[key] = self(memory_of(row))
            ids[n] = i
        return ids[inv]


class Outboxes(Interner):
    """Outboxes ``((dest, word), ...)`` by id, with their messages as int64 arrays when every field
    is a Python int of magnitude below 2^62 (``plain``)."""

    def __init__(self):
        super().__init__()
        self.plain: list[bool] = []
        self._rows: list = []
        self._table = None

    def __call__(self, obj) -> int:
        n = len(self.items)
        i = super().__call__(obj)
        if i == n:
            try:
                ok = all(type(d_) is int and type(w_) is int and -PLAIN < d_ < PLAIN and -PLAIN < w_ < PLAIN
                         for d_, w_ in obj)
            except (TypeError, ValueError):
                ok = False
            self.plain.append(ok)
            self._rows.append(obj if ok else ())
            self._table = None
        return i

    def plain_array(self) -> np.ndarray:
        """``plain`` as a bool array indexed by id."""
        return np.array(self.plain, dtype=bool)

    def arrays(self, ids: np.ndarray):
        """dest, word (n, m) int64 and length (n,) of plain outboxes ``ids`` (n,)."""
        if self._table is None:
            m = max((len(r) for r in self._rows), default=0)
            dest = np.zeros((len(self._rows), max(m, 1)), dtype=np.int64)
            word = np.zeros_like(dest)
            for n, r in enumerate(self._rows):
                for k, (d_, w_) in enumerate(r):
                    dest[n, k], word[n, k] = d_, w_
            self._table = (dest, word, np.array([len(r) for r in self._rows], dtype=np.int64))
        dest, word, length = self._table
        return dest[ids], word[ids], length[ids]


class Steps:
    """``protocol.step`` and ``protocol.output`` once per distinct (round, machine, memory id):
    :meth:`raw` gives the outbox id of ``tuple(step(r, i, memory))`` (None: it raised),
    :meth:`valid` whether that outbox keeps the model's limits (:func:`~attncheck.verifiers.
    mpc_machine.deliver`'s checks), :meth:`output` the output id (None: raised or broke a limit)."""

    def __init__(self, protocol: Protocol, memories: Memories, outboxes: Outboxes):
        self.protocol, self.memories, self.outboxes = protocol, memories, outboxes
        self.outs = Interner()
        self._step: dict = {}
        self._valid: dict = {}
        self._out: dict = {}

    def raw(self, r: int, i: int, m: int) -> int | None:
        key = (r, i, m)
        got = self._step.get(key, -1)
        if got == -1:
            try:
                out = tuple(self.protocol.step(r, i, self.memories.items[m]))
            except Exception:
                out = None
            got = self._step[key] = None if out is None else self.outboxes.intern(out)
        return got

    def valid(self, oid: int) -> bool:
        ok = self._valid.get(oid)
        if ok is None:
            lim, out = self.protocol.limits, self.outboxes.items[oid]
            ok = self._valid[oid] = self.outboxes.plain[oid] and len(out) <= lim.s and all(
                isinstance(msg, tuple) and len(msg) == 2 and 0 <= msg[0] < lim.q and 0 <= msg[1] <= lim.word_max
                for msg in out)
        return ok

    def output(self, i: int, m: int) -> int | None:
        key = (i, m)
        got = self._out.get(key, -1)
        if got == -1:
            lim = self.protocol.limits
            try:
                out = tuple(self.protocol.output(i, self.memories.items[m]))
                ok = len(out) <= lim.s and all(type(w) is int and 0 <= w <= lim.word_max for w in out)
            except Exception:
                ok = False
            got = self._out[key] = self.outs(out) if ok else None
        return got
