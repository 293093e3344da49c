"""The MPC machine model with enforced limits (docs/theorems.md ``model.mpc``, SHT24a Def 2.3) [P].

A protocol runs on ``q`` machines with ``s`` words of local memory each; a word is an integer in
``Z_{2^p}``.  One *round*: every machine applies its local function to its memory (the words it
received in the previous round) and sends at most ``s`` one-word messages to addressed machines;
messages are delivered simultaneously; every machine receives at most ``s`` words, and what it
received is its whole memory for the next round (a machine keeps state by sending it to itself).
After the last round an output function reads each machine's memory.

Conventions [R] that make the model executable:

* ``Inbox`` = tuple of ``(src, word)`` pairs in the order ``(src, k)``, where ``k`` is the index of
  the message in the sender's outbox, so a sender can ship an ordered block of words.
  SHT24a's ``Rcvd_i = {(Msg, Src)}`` carries the source too; it is not counted as a word.
* The input (``n_in`` words) sits on machines ``0 .. ceil(n_in/s)-1``, ``s`` consecutive words
  each, as messages from the machine to itself (round 0).
* The output is the concatenation, over machines in order, of ``output(i, inbox)`` (at most
  ``s`` words per machine).

Every limit is checked when it is used; a violation raises :class:`MPCViolation` (a
:class:`~attncheck.constructions.verdict.BadInput`: exit 2) naming the round, the machine and the
count.  :class:`Run` records every round's memories and the traffic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from attncheck.constructions.verdict import BadInput

Inbox = tuple[tuple[int, int], ...]          # ((src, word), ...) in (src, k) order
Outbox = tuple[tuple[int, int], ...]         # ((dest, word), ...)
Step = Callable[[int, int, Inbox], Sequence[tuple[int, int]]]     # (round, machine, inbox)
Output = Callable[[int, Inbox], Sequence[int]]                    # (machine, inbox) -> words


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
class Limits:
    """``q`` machines, ``s`` words of local memory (and of traffic per round), ``p``-bit words."""

    q: int
    s: int
    p: int

    def __post_init__(self):
        for name, lo in (("q", 1), ("s", 1), ("p", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or v < lo:
                raise BadInput(f"MPC {name} must be an integer >= {lo}, got {v!r}")
        if self.p > 62:
            raise BadInput(f"MPC word size p = {self.p} bits; at most 62 are supported")

    @property
    def word_max(self) -> int:
        return (1 << self.p) - 1

    def input_machines(self, n_in: int) -> int:
        return -(-n_in // self.s)

    def to_json(self) -> dict:
        return {"q": self.q, "s": self.s, "p": self.p}


@dataclass(frozen=True)
class Protocol:
    """An R-round protocol: ``step(r, i, inbox)`` for r = 0..rounds-1, then ``output(i, inbox)``.

    ``theorem``/``status``: docs/theorems.md id and tag of what the protocol implements.
    ``params``: the build parameters (N, s, ...), echoed in reports.
    """

    name: str
    theorem: str
    status: str
    limits: Limits
    n_in: int
    rounds: int
    step: Step
    output: Output
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.n_in < 1:
            raise BadInput(f"protocol {self.name}: n_in must be >= 1, got {self.n_in}")
        if self.limits.input_machines(self.n_in) > self.limits.q:
            raise BadInput(f"protocol {self.name}: {self.n_in} input words need"
                           f" {self.limits.input_machines(self.n_in)} machines of s = {self.limits.s}"
                           f" words, only q = {self.limits.q} exist")

    def describe(self) -> dict:
        return {"name": self.name, "theorem": self.theorem, "status": self.status,
                "rounds": self.rounds, "n_in": self.n_in, **self.limits.to_json(),
                "params": dict(self.params), "notes": list(self.notes)}


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


# --- words holding several small fields (p = fields * field_bits) ----------------------------
def pack(fields: Sequence[int], bits: int) -> int:
    """Fields f_0..f_{k-1}, each < 2^bits, as one word f_0 * 2^(bits(k-1)) + ... + f_{k-1}."""
    w = 0
    for f in fields:
        if not 0 <= f < (1 << bits):
            raise ValueError(f"field {f} does not fit in {bits} bits")
        w = (w << bits) | f
    return w


def unpack(word: int, k: int, bits: int) -> tuple[int, ...]:
    mask = (1 << bits) - 1
    return tuple((word >> (bits * (k - 1 - t))) & mask for t in range(k))
