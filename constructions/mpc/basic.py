"""Basic MPC protocols written against :mod:`attncheck.constructions.mpc.model` (``model.mpc``) [R].

Each builder returns a :class:`~attncheck.constructions.mpc.model.Protocol`; plain-Python ground truth for
each sits beside it (``*_truth``), independent of the machine model.

* ``broadcast`` -- the first input word reaches every machine.  Machines ``[0, s^r)`` know it
  after r rounds; each sends it to ``s - 1`` new machines and to itself: ``ceil(log_s q)``
  rounds.
* ``prefix_sum`` -- inclusive prefix sums mod ``2^p``.  Each input chunk is split between two
  holder machines (so a holder's words plus one offset fit in ``s``); chunk sums go to one
  machine per chunk; Hillis--Steele doubling over the chunk sums (``ceil(log2 m)`` rounds for
  ``m`` chunks); the offsets go back to the holders: ``3 + ceil(log2 m)`` rounds.  Needs s >= 4.
* ``sort`` -- ascending sort by a bitonic network over blocks of ``c = s/2`` words with
  merge-split at every comparator (Knuth's block version of a sorting network; padding words are
  ``2^p - 1``): ``1 + L(L+1)/2`` rounds for ``2^L`` blocks.  Needs even s >= 2.
"""
from __future__ import annotations

import math
from typing import Sequence

from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.constructions.verdict import BadInput


def ceil_log(x: int, base: int) -> int:
    """Smallest r >= 0 with base^r >= x (integers only, STYLE.md 9)."""
    r, v = 0, 1
    while v < x:
        v *= base
        r += 1
    return r


def _words(inbox: Inbox, src: int | None = None) -> list[int]:
    return [w for s, w in inbox if src is None or s == src]


# --- broadcast -----------------------------------------------------------------------------
def broadcast(n: int, s: int, p: int, q: int | None = None) -> Protocol:
    """Broadcast input word 0 to ``q`` machines (default ``q = max(n, s)``); output: one word per
    machine."""
    if s < 2:
        raise BadInput(f"broadcast needs s >= 2 (a machine keeps one word and sends >= 1), got {s}")
    q = max(n, s) if q is None else q
    lim = Limits(q, s, p)
    R = ceil_log(q, s)

    def step(r: int, i: int, inbox: Inbox):
        known = s ** r
        if i >= known:
            return ()
        v = inbox[0][1]
        out = [(i, v)]
        out += [(i + known * t, v) for t in range(1, s) if i + known * t < q]
        return tuple(out)

    def output(i: int, inbox: Inbox):
        return (inbox[0][1],) if inbox else ()

    return Protocol("broadcast", "model.mpc", "R", lim, n, R, step, output,
                    params={"N": n, "s": s, "p": p, "q": q})


def broadcast_truth(words: Sequence[int], q: int) -> tuple[int, ...]:
    return tuple(words[0] for _ in range(q))


# --- prefix sums ---------------------------------------------------------------------------
def prefix_sum(n: int, s: int, p: int) -> Protocol:
    """Inclusive prefix sums mod 2^p of ``n`` words.  Machines: ``m`` chunk machines, then two
    holders (A, B) per chunk at ``m + 2j`` and ``m + 2j + 1``."""
    if s < 4:
        raise BadInput(f"prefix_sum needs s >= 4 (a chunk machine keeps P, sigma, a and receives"
                       f" one word), got {s}")
    m = -(-n // s)
    L = ceil_log(m, 2)
    lim = Limits(3 * m, s, p)
    mod = 1 << p
    R = 3 + L

    def chunk_sizes(j: int) -> tuple[int, int]:
        c = min(s, n - j * s)
        return (c + 1) // 2, c // 2

    def holder(i: int) -> tuple[int, int] | None:
        return None if i < m else divmod(i - m, 2)

    def chunk_state(r: int, j: int, inbox: Inbox) -> tuple[int, int, int]:
        """(P, sigma, a) of chunk machine j at the start of round r >= 2."""
        if r == 2:
            a = sum(_words(inbox, m + 2 * j)) % mod
            b = sum(_words(inbox, m + 2 * j + 1)) % mod
            return (a + b) % mod, (a + b) % mod, a
        P, sigma, a = _words(inbox, j)
        incoming = [w for src, w in inbox if src != j]
        return (P + sum(incoming)) % mod, sigma, a

    def step(r: int, i: int, inbox: Inbox):
        h = holder(i)
        if r == 0:
            if i >= m or not inbox:
                return ()
            ws = _words(inbox)
            na, _ = chunk_sizes(i)
            return tuple((m + 2 * i, w) for w in ws[:na]) + tuple((m + 2 * i + 1, w) for w in ws[na:])
        if h is not None:                                   # holders keep their words
            ws = _words(inbox)
            out = [(i, w) for w in ws]
            if r == 1:
                out.append((h[0], sum(ws) % mod))
            return tuple(out)
        if r == 1:                                          # chunk machines wait for sums
            return ()
        P, sigma, a = chunk_state(r, i, inbox)
        if r < R - 1:                                       # doubling, shift 2^(r-2)
            shift = 1 << (r - 2)
            out = [(i, P), (i, sigma), (i, a)]
            if i + shift < m:
                out.insert(0, (i + shift, P))
            return tuple(out)
        E = (P - sigma) % mod
        return ((m + 2 * i, E), (m + 2 * i + 1, (E + a) % mod))

    def output(i: int, inbox: Inbox):
        h = holder(i)
        if h is None:
            return ()
        j, _ = h
        offset = _words(inbox, j)[0]
        acc, out = offset, []
        for w in _words(inbox, i):
            acc = (acc + w) % mod
            out.append(acc)
        return tuple(out)

    return Protocol("prefix", "model.mpc", "R", lim, n, R, step, output,
                    params={"N": n, "s": s, "p": p, "chunks": m})


def prefix_truth(words: Sequence[int], p: int) -> tuple[int, ...]:
    out, acc = [], 0
    for w in words:
        acc = (acc + w) % (1 << p)
        out.append(acc)
    return tuple(out)


# --- bitonic block sort --------------------------------------------------------------------
def bitonic_steps(blocks: int) -> list[tuple[int, int]]:
    """The (k, j) comparator stages of a bitonic network on ``blocks`` = 2^L items."""
    steps, k = [], 2
    while k <= blocks:
        j = k // 2
        while j >= 1:
            steps.append((k, j))
            j //= 2
        k *= 2
    return steps


def sort(n: int, s: int, p: int) -> Protocol:
    """Ascending sort of ``n`` words; output in machine order, ``c = s/2`` words per block."""
    if s < 2 or s % 2:
        raise BadInput(f"sort needs an even s >= 2 (a block of s/2 words meets its partner's),"
                       f" got {s}")
    c = s // 2
    inputs = -(-n // s)
    blocks = 1 << ceil_log(2 * inputs, 2)
    steps = bitonic_steps(blocks)
    lim = Limits(max(blocks, inputs), s, p)
    pad = lim.word_max

    def keep_low(i: int, k: int, j: int) -> bool:
        partner = i ^ j
        ascending = (i & k) == 0
        return (i < partner) == ascending

    def block(r: int, i: int, inbox: Inbox) -> list[int]:
        """Machine i's block at the start of round r >= 1."""
        if r == 1:
            ws = _words(inbox)
            return ws + [pad] * (c - len(ws))
        k, j = steps[r - 2]
        merged = sorted(_words(inbox))
        return merged[:c] if keep_low(i, k, j) else merged[c:]

    def step(r: int, i: int, inbox: Inbox):
        if r == 0:
            if i >= inputs or not inbox:
                return ()
            ws = _words(inbox)
            ws += [pad] * (s - len(ws))
            return tuple((2 * i, w) for w in ws[:c]) + tuple((2 * i + 1, w) for w in ws[c:])
        if i >= blocks:
            return ()
        b = block(r, i, inbox)
        _, j = steps[r - 1]
        return tuple((i, w) for w in b) + tuple((i ^ j, w) for w in b)

    R = 1 + len(steps)

    def output(i: int, inbox: Inbox):
        if i >= blocks:
            return ()
        b = block(R, i, inbox) if steps else block(1, i, inbox)
        return tuple(w for t, w in enumerate(b) if i * c + t < n)

    return Protocol("sort", "model.mpc", "R", lim, n, R, step, output,
                    params={"N": n, "s": s, "p": p, "blocks": blocks,
                            "stages": len(steps)})


def sort_truth(words: Sequence[int]) -> tuple[int, ...]:
    return tuple(sorted(words))


def default_word_bits(n: int) -> int:
    """p = Theta(log n): enough bits for values and indices up to n^2 (at least 8)."""
    return max(8, 2 * max(1, math.ceil(math.log2(max(n, 2)))))
