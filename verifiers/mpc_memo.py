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
        """Ids (n,) of canonical rows (n, 2 + 2 m) with status 0, 1 or 2 (zero padded: the bytes
        without trailing zeros are a key whatever m is, since the count is in the row)."""
        first, inv = unique_rows(rows)
        u = np.ascontiguousarray(rows[first], dtype=np.int64)
        blob, width = u.tobytes(), 8 * u.shape[1]
        keys = [blob[at:at + width].rstrip(b"\0") for at in range(0, len(blob), width)]
        get = self._bytes.get
        ids = [get(key) for key in keys]
        new = [n for n, i in enumerate(ids) if i is None]
        if new:                                    # the new rows' inboxes, built from flat lists
            v = u[new]
            m = (v.shape[1] - 2) // 2
            pairs = list(zip(v[:, 2::2].ravel().tolist(), v[:, 3::2].ravel().tolist()))   # (len(new) m)
            table, items, by_bytes = self.ids, self.items, self._bytes
            for k, (n, status, count) in enumerate(zip(new, v[:, 0].tolist(), v[:, 1].tolist())):
                inbox = memory_of(v[k]) if status else tuple(pairs[k * m:k * m + count])
                i = table.get(inbox)                       # :meth:`Interner.__call__`, written out
                if i is None:
                    i = table[inbox] = len(items)
                    items.append(inbox)
                ids[n] = by_bytes[keys[n]] = i
        return np.array(ids, dtype=np.int64)[inv]


class Outboxes(Interner):
    """Outboxes ``((dest, word), ...)`` by id, with their messages as int64 arrays when every
    message is a pair of Python ints of magnitude below 2^62 (``plain``)."""

    def __init__(self):
        super().__init__()
        self.plain: list[bool] = []
        self._flat: list[int] = []                 # plain outboxes' fields, appended
        self._at: list[int] = []                   # where each outbox's fields start in _flat
        self._len: list[int] = []
        self._table = None
        self._done = 0                             # outboxes already in _table

    def __call__(self, obj) -> int:
        i = self.ids.get(obj)
        if i is not None:
            return i
        i = self.ids[obj] = len(self.items)
        self.items.append(obj)
        # a new outbox: its messages as plain fields
        flat, ok = [], True
        for m in obj:
            if type(m) is not tuple or len(m) != 2 or type(m[0]) is not int or type(m[1]) is not int \
                    or not (-PLAIN < m[0] < PLAIN and -PLAIN < m[1] < PLAIN):
                ok = False
                break
            flat += m
        self.plain.append(ok)
        self._at.append(len(self._flat))
        self._len.append(len(obj) if ok else 0)
        if ok:
            self._flat.extend(flat)
        return i

    def plain_array(self) -> np.ndarray:
        """``plain`` as a bool array indexed by id."""
        return np.array(self.plain, dtype=bool)

    def arrays(self, ids: np.ndarray):
        """dest, word (n, m) int64 and length (n,) of plain outboxes ``ids`` (n,)."""
        n = len(self.items)
        if self._table is None or self._done < n:
            flat = np.array(self._flat, dtype=np.int64)
            length = np.array(self._len, dtype=np.int64)
            at = np.array(self._at, dtype=np.int64)
            m = max(int(length.max(initial=0)), 1)
            k = np.arange(m)
            has = k[None, :] < length[:, None]
            pos = np.where(has, at[:, None] + 2 * k[None, :], 0)
            take = flat if len(flat) else np.zeros(2, dtype=np.int64)
            dest = np.where(has, take[np.minimum(pos, len(take) - 2)], 0)
            word = np.where(has, take[np.minimum(pos, len(take) - 2) + 1], 0)
            self._table, self._done = (dest, word, length), n
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

    def many(self, r: int, pairs) -> np.ndarray | None:
        """Outbox ids (n,) of :meth:`raw` of round r for every (machine, memory id) of ``pairs``,
        or None when one raised or broke a limit (:meth:`valid`, checked here on the outboxes'
        int64 arrays at once): the loop of :func:`~attncheck.verifiers.mpc_batch.run_batch`."""
        table, step, items, intern = self._step, self.protocol.step, self.memories.items, self.outboxes.intern
        get, out = table.get, []
        for i, m in pairs:
            key = (r, i, m)
            o = get(key, -1)
            if o == -1:                                    # :meth:`raw`, written out
                try:
                    got = tuple(step(r, i, items[m]))
                except Exception:
                    got = None
                o = table[key] = None if got is None else intern(got)
            if o is None:
                return None
            out.append(o)
        ids = np.array(out, dtype=np.int64)
        return ids if self.all_valid(ids) else None

    def all_valid(self, ids: np.ndarray) -> bool:
        """Whether :meth:`valid` holds for every outbox of ``ids`` (n,), from the int64 arrays."""
        if not len(ids):
            return True
        plain = np.array(self.outboxes.plain, dtype=bool)[ids]
        if not plain.all():
            return False
        lim = self.protocol.limits
        dest, word, length = self.outboxes.arrays(ids)
        live = np.arange(dest.shape[1])[None, :] < length[:, None]
        inside = (dest >= 0) & (dest < lim.q) & (word >= 0) & (word <= lim.word_max)
        return bool((length <= lim.s).all() and (inside | ~live).all())

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
