"""The MPC runtime on many inputs at once: the memories of :func:`run_protocol`, as interned ids.

Shape glossary: B inputs, q machines, s words, R rounds.

``model.mpc`` [P]: :func:`attncheck.verifiers.mpc_machine.run_protocol` runs one input and
enforces every limit.  :func:`run_batch` computes the same memories and outputs for a batch [R]:
the input distribution and every round's delivery are array operations (messages ordered by
(source, send index), a stable sort by (input, destination)), and the protocol's local function
runs once per distinct (round, machine, memory) of the whole check (``mpc_memo.Steps``; the local
functions are pure, as the model's Def 2.3 has them).  It only handles the regular case: when an
input word, a sent word, a destination, an outbox or output size breaks a limit, or a local
function raises, it returns None and the caller runs :func:`run_protocol` on each input, which
raises the same :class:`~attncheck.verifiers.mpc_machine.MPCViolation` it always did.
``tests/mpc/test_mpc_batch.py`` compares the two on seeded inputs of every protocol.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from attncheck.verifiers.mpc_memo import Memories, Steps, Unhandled, unique_rows


@dataclass(frozen=True, eq=False)
class BatchRun:
    """``memories`` (R+1, B, q) ids (``Run.memories`` of each input); ``outputs`` (B, q) ids of
    each machine's output words (``Steps.outs``); ``output[b]`` their concatenation (``Run.output``)."""

    memories: np.ndarray
    outputs: np.ndarray
    output: list


def run_batch(steps: Steps, inputs: list[list[int]]) -> BatchRun | None:
    """The memories and outputs of ``run_protocol(protocol, w)`` for every w, or None when one of
    them would break a limit or raise (the caller then runs :func:`run_protocol`)."""
    protocol = steps.protocol
    lim = protocol.limits
    q, s, B = lim.q, lim.s, len(inputs)
    if any(len(w) != protocol.n_in for w in inputs) or \
            set(map(type, itertools.chain.from_iterable(inputs))) - {int}:
        return None
    try:                                          # Python ints only (checked above): exact or overflow
        given = np.array(inputs, dtype=np.int64).reshape(B, protocol.n_in)
    except OverflowError:
        return None
    if given.size and not (given.min() >= 0 and given.max() <= lim.word_max):
        return None
    words = np.zeros((B, q * s), dtype=np.int64)
    words[:, :protocol.n_in] = given
    present = np.zeros((B, q * s), dtype=bool)
    present[:, :protocol.n_in] = True
    # round 0 memories: machine j holds words j s .. j s + s - 1, as messages from itself
    src = np.broadcast_to(np.repeat(np.arange(q), s), (B, q * s))
    try:
        mem = _intern(steps.memories, present, src, words, q, s)
        out = [mem]
        for r in range(protocol.rounds):
            uniq, inv = _distinct(mem)
            oids = steps.many(r, uniq)
            if oids is None:
                return None
            dest, word, length = steps.outboxes.arrays(oids[inv])
            valid = np.arange(dest.shape[1])[None, :] < length[:, None]
            mem = _deliver(steps.memories, dest.reshape(B, q, -1), word.reshape(B, q, -1),
                           valid.reshape(B, q, -1), q, s)
            if mem is None:
                return None
            out.append(mem)
        uniq, inv = _distinct(mem)
        outs = [steps.output(i, m) for i, m in uniq]
    except Unhandled:
        return None
    if any(o is None for o in outs):
        return None
    outputs = np.array(outs, dtype=np.int64)[inv].reshape(B, q)
    items = steps.outs.items
    first, which = unique_rows(outputs)                        # few distinct output rows
    joined = [tuple(w for o in row for w in items[o]) for row in outputs[first].tolist()]
    output = [joined[k] for k in which.tolist()]
    return BatchRun(np.stack(out), outputs, output)


def _distinct(mem: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Distinct (machine, memory id) pairs of mem (B, q) and the inverse (B q,)."""
    B, q = mem.shape
    span = int(mem.max(initial=0)) + 1
    key = (np.arange(q, dtype=np.int64)[None, :] * span + mem).reshape(-1)    # (machine, id) in order
    u, inv = np.unique(key, return_inverse=True)
    return list(zip((u // span).tolist(), (u % span).tolist())), inv.reshape(-1)


def _deliver(memories: Memories, dest, word, valid, q: int, s: int) -> np.ndarray | None:
    """Messages (B, q, m) from machine i, send index k -> memory ids (B, q): each machine's
    messages ordered by (source, send index); None when one receives more than s."""
    B = dest.shape[0]
    b, i, k = np.nonzero(valid)                                       # (b, src, k) order
    d = dest[b, i, k]
    g = b * q + d
    if B * q <= np.iinfo(np.uint16).max:                              # numpy radix-sorts 16-bit keys
        g = g.astype(np.uint16)
    order = np.argsort(g, kind="stable")                              # by (b, dest), then (src, k)
    b, i, d, w = b[order], i[order], d[order], word[b[order], i[order], k[order]]
    g = b * q + d
    counts = np.bincount(g, minlength=B * q)
    if counts.max(initial=0) > s:
        return None
    pos = np.arange(len(g)) - (np.cumsum(counts) - counts)[g]        # index within its receiver
    has = np.zeros((B, q * s), dtype=bool)
    src = np.zeros((B, q * s), dtype=np.int64)
    wrd = np.zeros((B, q * s), dtype=np.int64)
    flat = (b, d * s + pos)
    has[flat], src[flat], wrd[flat] = True, i, w
    return _intern(memories, has, src, wrd, q, s)


def _intern(memories: Memories, has, src, word, q: int, s: int) -> np.ndarray:
    """Memory ids (B, q) of inboxes given slot by slot (B, q s): machine j's slots j s .. j s +
    s - 1, the present ones first and in order (the canonical rows of ``decode_batch``)."""
    B = has.shape[0]
    has, src, word = (np.asarray(a).reshape(B * q, s) for a in (has, src, word))
    rows = np.zeros((B * q, 2 + 2 * s), dtype=np.int64)
    rows[:, 1] = has.sum(axis=1)
    rows[:, 2::2] = np.where(has, src, 0)
    rows[:, 3::2] = np.where(has, word, 0)
    return memories.rows(rows).reshape(B, q)
