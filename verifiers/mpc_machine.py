"""The MPC machine runtime: run a protocol round by round and enforce the limits (``model.mpc``).

The model itself -- what a protocol, its limits and its inboxes are -- is data in
:mod:`attncheck.constructions.mpc.model` (SHT24a Def 2.3).  :func:`run_protocol` executes a
:class:`~attncheck.constructions.mpc.model.Protocol` on one input: the input is distributed
``s`` words per machine, every round's outboxes are checked and delivered in ``(src, k)`` order,
and the output function reads the final memories.

Every limit is checked when it is used; a violation raises :class:`MPCViolation` (a
:class:`~attncheck.constructions.verdict.BadInput`: exit 2) naming the round, the machine and the
count.  :class:`Run` records every round's memories and the traffic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.constructions.verdict import BadInput


class MPCViolation(BadInput):
    """A protocol broke a rule of the model; the message names round, machine and limit."""

    def __init__(self, what: str, *, round_: int | None, machine: int | None, count: int | None = None,
                 limit: int | None = None):
        where = []
        if round_ is not None:
            where.append(f"round {round_}")
        if machine is not None:
            where.append(f"machine {machine}")
        super().__init__(f"MPC limit broken at {', '.join(where) or 'input'}: {what}")
        self.round = round_
        self.machine = machine
        self.count = count
        self.limit = limit


@dataclass(frozen=True)
class Run:
    """``memories[r][i]``: machine i's inbox at the start of round r (r = 0 is the input
    distribution, r = rounds is what ``output`` reads).  ``sent[r]``/``received[r]``: words per
    machine in round r.  ``outputs[i]``: machine i's output words; ``output`` their concatenation."""

    memories: tuple[tuple[Inbox, ...], ...]
    sent: tuple[tuple[int, ...], ...]
    received: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]

    @property
    def output(self) -> tuple[int, ...]:
        return tuple(w for out in self.outputs for w in out)

    @property
    def rounds(self) -> int:
        return len(self.sent)

    def traffic(self) -> dict:
        """Total words sent, the busiest machine-round (sent, received) and per-round totals."""
        return {"words": sum(sum(r) for r in self.sent),
                "max_sent": max((max(r) for r in self.sent if r), default=0),
                "max_received": max((max(r) for r in self.received if r), default=0),
                "per_round": [sum(r) for r in self.sent]}


def _check_word(w, *, limits: Limits, round_, machine, what: str) -> int:
    if isinstance(w, bool) or not isinstance(w, int):
        raise MPCViolation(f"{what} {w!r} is not an integer word", round_=round_, machine=machine)
    if not 0 <= w <= limits.word_max:
        raise MPCViolation(f"{what} {w} does not fit in p = {limits.p} bits"
                           f" (0 .. {limits.word_max})", round_=round_, machine=machine)
    return w


def distribute_input(limits: Limits, words: Sequence[int]) -> tuple[Inbox, ...]:
    """Round-0 memories: machine j holds words j*s .. j*s+s-1 (as messages from itself)."""
    mem: list[list[tuple[int, int]]] = [[] for _ in range(limits.q)]
    for t, w in enumerate(words):
        j = t // limits.s
        mem[j].append((j, _check_word(w, limits=limits, round_=None, machine=j, what="input word")))
    return tuple(tuple(m) for m in mem)


def deliver(limits: Limits, r: int, outboxes: Sequence[Sequence[tuple[int, int]]]
            ) -> tuple[tuple[Inbox, ...], tuple[int, ...], tuple[int, ...]]:
    """Check one round's outboxes and deliver them: -> (inboxes, sent counts, received counts)."""
    inb: list[list[tuple[int, int, int]]] = [[] for _ in range(limits.q)]
    sent = []
    for i, out in enumerate(outboxes):
        out = tuple(out)
        if len(out) > limits.s:
            raise MPCViolation(f"sends {len(out)} words, limit s = {limits.s}", round_=r, machine=i,
                               count=len(out), limit=limits.s)
        for k, msg in enumerate(out):
            if not (isinstance(msg, tuple) and len(msg) == 2):
                raise MPCViolation(f"message {msg!r} is not a (dest, word) pair", round_=r, machine=i)
            dest, w = msg
            if isinstance(dest, bool) or not isinstance(dest, int) or not 0 <= dest < limits.q:
                raise MPCViolation(f"message to machine {dest!r}, which does not exist"
                                   f" (q = {limits.q})", round_=r, machine=i)
            inb[dest].append((i, k, _check_word(w, limits=limits, round_=r, machine=i,
                                                what="sent word")))
        sent.append(len(out))
    received = []
    for j, got in enumerate(inb):
        if len(got) > limits.s:
            raise MPCViolation(f"receives {len(got)} words, limit s = {limits.s}", round_=r,
                               machine=j, count=len(got), limit=limits.s)
        received.append(len(got))
    inboxes = tuple(tuple((src, w) for src, _, w in sorted(got)) for got in inb)
    return inboxes, tuple(sent), tuple(received)


def read_output(protocol: Protocol, memories: Sequence[Inbox], round_: int) -> tuple[tuple[int, ...], ...]:
    """Apply the protocol's output function to every machine, checking the s-word limit."""
    lim = protocol.limits
    outs = []
    for i, mem in enumerate(memories):
        out = tuple(protocol.output(i, mem))
        if len(out) > lim.s:
            raise MPCViolation(f"outputs {len(out)} words, limit s = {lim.s}", round_=round_,
                               machine=i, count=len(out), limit=lim.s)
        for w in out:
            _check_word(w, limits=lim, round_=round_, machine=i, what="output word")
        outs.append(out)
    return tuple(outs)


def run_protocol(protocol: Protocol, words: Sequence[int]) -> Run:
    """Execute ``protocol`` on the input ``words`` under the model's rules."""
    lim = protocol.limits
    words = list(words)
    if len(words) != protocol.n_in:
        raise BadInput(f"protocol {protocol.name} takes {protocol.n_in} input words, got {len(words)}")
    mem = distribute_input(lim, words)
    memories, sent, received = [mem], [], []
    for r in range(protocol.rounds):
        outboxes = [protocol.step(r, i, mem[i]) for i in range(lim.q)]
        mem, s_r, g_r = deliver(lim, r, outboxes)
        memories.append(mem)
        sent.append(s_r)
        received.append(g_r)
    outs = read_output(protocol, mem, protocol.rounds)
    return Run(tuple(memories), tuple(sent), tuple(received), outs)
