"""The MPC machine model as data (docs/theorems.md ``model.mpc``, SHT24a Def 2.3) [P].

A protocol runs on ``q`` machines with ``s`` words of local memory each; a word is an integer in
``Z_{2^p}``.  One *round*: every machine applies its local function to its memory (the words it
received in the previous round) and sends at most ``s`` one-word messages to addressed machines;
messages are delivered simultaneously; every machine receives at most ``s`` words, and what it
received is its whole memory for the next round (a machine keeps state by sending it to itself).
After the last round an output function reads each machine's memory.

This module holds what a protocol *is* (:class:`Limits`, :class:`Protocol`, the inbox and
outbox conventions, words of packed fields).  Running one and enforcing the limits is the
runtime's job: :func:`attncheck.verifiers.mpc_machine.run_protocol`.

Conventions [R] that make the model executable:

* ``Inbox`` = tuple of ``(src, word)`` pairs in the order ``(src, k)``, where ``k`` is the index of
  the message in the sender's outbox, so a sender can ship an ordered block of words.
  SHT24a's ``Rcvd_i = {(Msg, Src)}`` carries the source too; it is not counted as a word.
* The input (``n_in`` words) sits on machines ``0 .. ceil(n_in/s)-1``, ``s`` consecutive words
  each, as messages from the machine to itself (round 0).
* The output is the concatenation, over machines in order, of ``output(i, inbox)`` (at most
  ``s`` words per machine).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from attncheck.constructions.verdict import BadInput

Inbox = tuple[tuple[int, int], ...]          # ((src, word), ...) in (src, k) order
Outbox = tuple[tuple[int, int], ...]         # ((dest, word), ...)
Step = Callable[[int, int, Inbox], Sequence[tuple[int, int]]]     # (round, machine, inbox)
Output = Callable[[int, Inbox], Sequence[int]]                    # (machine, inbox) -> words


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
    """The inverse of :func:`pack`: k fields of ``bits`` bits, most significant first."""
    mask = (1 << bits) - 1
    return tuple((word >> (bits * (k - 1 - t))) & mask for t in range(k))
