"""Compile an MPC protocol into a transformer (SHT24a Thm 3.1): the simulation as data.

Shape glossary: B instances, T tokens (row 0 = start token, rows 1..T = tokens 0..T-1), D
residual width, d packet slots, F = 5 packet fields, dq query/key width, L layers.

``sht24a.thm3_1`` [P]: an R-round (gamma, delta)-MPC protocol is computed by a transformer with
L = R + 1 layers, one token per machine, local computation pushed into element-wise maps and
every message carried by attention (``lemma.sht24a.3_2``).  Built here [R]:

* T = max(n_in, q) tokens (pad tokens as in Thm B.3); token t holds input word t.
* Layer 0 (init, ``lemma.sht24a.B4`` by routing): the map makes token t send its word to
  machine floor(t/s); the routing head delivers it.
* Layer l = 1..R: the map decodes machine i's memory from the received packets, applies the
  protocol's local function for round l-1 (an arbitrary element-wise function -- the paper's
  Q/K/V), and writes the outbox as hashed packets plus the key code w_{dests}; the routing head
  (a real :class:`~attncheck.constructions.spec.Head`, run by the one emulator arithmetic,
  ``verifiers.emulator.attend``, unmasked) delivers them.
* psi: each machine token decodes its final memory and applies the protocol's output function.
  [R] the output stays as one block of <= s words per machine token (d_out = s) instead of a
  further routing to one word per token (``lemma.sht24a.B6``), so L = R + 1 counts init + R rounds.

This module only builds (no forward pass): running the layers is ``verifiers/mpc_simulate.py``,
the side-by-side check ``verifiers/mpc_sidebyside.py``, the routing certificate
``verifiers/mpc_certify.py``.  The element-wise map type is :class:`LocalMap` (the emulator's
SnapMap only snaps to codes).  The map's residual update *overwrites* the packet slots: the
per-layer MLP option of THEOREMS.md section 11 item 4, reported as such.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from attncheck.constructions.mpc.routing import (F, Hashing, SparseCodes, decode, decode_safe, encode,
                                                 encode_batch, make_codes, make_hashing)
from attncheck.constructions.primitives import place, select, temperature
from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.constructions.spec import Head, Layout, LayoutBuilder, Promise
from attncheck.constructions.verdict import BadInput

MAX_DENSE = 3e8      # dense head parameters one compile may allocate (~2.4 GB of float64)


@dataclass(frozen=True, eq=False)
class LocalMap:
    """Element-wise map ``(token index t, row (D,)) -> row (D,)``: arbitrary per token (SHT24a
    Def 2.1 allows arbitrary, index-specific element-wise functions).  ``round`` is the protocol
    round whose local function it runs (-1: init).

    ``fn`` is the map.  It is built as ``read -> local -> write`` and the halves are kept, so a
    runtime can run the same map on many tokens at once: ``local(t, memory) -> (outbox, failed)``
    with ``memory`` the token's input word (init) or its decoded memory (a round: the inbox
    ``decode`` gives on ``layout``'s recv slot, or ``("error", name)`` when decoding raised), and
    ``fn(t, row) == write_row(row, t, outbox, failed, layout, hashing, codes)`` (:func:`write_row`;
    an outbox whose packets or key cannot be written counts as failed, :func:`writable`).
    ``layout``, ``hashing``, ``codes``: what the map reads and writes with -- data, so the routing
    certificate can check they are the simulation's own."""

    name: str
    round: int
    fn: Callable[[int, np.ndarray], np.ndarray]
    local: Callable[[int, object], tuple[tuple, bool]] | None = None
    layout: Layout | None = None
    hashing: Hashing | None = None
    codes: SparseCodes | None = None


@dataclass(frozen=True, eq=False)
class SimLayer:
    map: LocalMap
    head: Head


@dataclass(frozen=True, eq=False)
class Simulation:
    """The compiled transformer: layout, codes, hashing, layers, and psi (``readout``)."""

    protocol: Protocol
    layout: Layout
    codes: SparseCodes
    hashing: Hashing
    layers: tuple[SimLayer, ...]
    tokens: int
    start_row: np.ndarray
    temperature: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def readout(self, t: int, row: np.ndarray) -> tuple[int, ...]:
        """psi at token t: the protocol's output function on the decoded final memory."""
        if t >= self.protocol.limits.q:
            return ()
        return tuple(self.protocol.output(t, self.inbox(t, row)))

    def inbox(self, t: int, row: np.ndarray, input_layer: bool = False) -> Inbox:
        recv = row[self.layout["recv"].sl].reshape(self.hashing.d, F)
        return decode(recv, t, self.protocol.limits.s, input_src=t if input_layer else None)

    def size(self) -> dict:
        h = self.layers[0].head
        return {"layers": len(self.layers), "heads": 1, "width": self.layout.width,
                "query_width": int(h.W_Q.shape[-1]), "value_width": int(h.W_V.shape[-1]),
                "slots": self.hashing.d, "tokens": self.tokens, "rounds": self.protocol.rounds,
                "parameters": int(sum(l.head.n_params for l in self.layers))}

    def to_json(self) -> dict:
        return {"theorem": "sht24a.thm3_1", "status": "P (statement); R (this construction)",
                **self.size(), "codes": self.codes.kind, "hashing": self.hashing.to_json(),
                "temperature": self.temperature, "protocol": self.protocol.describe(),
                "layout": self.layout.to_json(), "notes": list(self.notes)}


def _layout(T: int, codes: SparseCodes, d: int) -> Layout:
    b = LayoutBuilder()
    b.add("qcode", codes.width, "const")          # (u_t, 1)
    b.add("kcode", codes.width, "written")        # (w_{S_t}, 0); start row: (0, sigma_0)
    b.add("input", 1, "token")                    # input word of token t
    b.add("send", F * d, "written")               # outgoing packet slots
    b.add("recv", F * d, "written")               # averaged incoming packet slots
    b.add("fault", 1, "written")                  # 1 if a local function failed on this token
    return b.build()


def routing_head(layout: Layout, temp: float, margin: float) -> Head:
    """Sparse-propagation head: Q reads qcode, K reads kcode, V copies send into recv."""
    return Head(W_Q=select(layout, ["qcode"]), W_K=select(layout, ["kcode"]),
                W_V=select(layout, ["send"]), W_O=place(layout, ["recv"]), temperature=temp,
                promise=Promise("sparse_propagate", "qcode", "kcode", ("send",), ("recv",), margin))


def compile_protocol(protocol: Protocol, *, hashing: str = "auto", slots: int | None = None,
                     codes: str = "poly", seed: int = 0) -> Simulation:
    """Build the L = R + 1 layer transformer of ``protocol`` (pure: no forward pass)."""
    lim = protocol.limits
    T = max(protocol.n_in, lim.q)
    n_ids = lim.q * lim.s + max(0, T - lim.q)
    est = 3 * (2 * F * n_ids) ** 2                    # dense W_V, W_O and residual-width terms
    if hashing in ("auto", "onehot") and est > MAX_DENSE:
        raise BadInput(f"the compiled transformer at T = {T} tokens needs ~{est:.3g} dense head"
                       f" weights (width ~{2 * F * n_ids}); the limit is {MAX_DENSE:.0e}")
    H = make_hashing(T, lim.q, lim.s, hashing, slots, seed)
    C = make_codes(T, lim.s, codes, seed)
    lay = _layout(T, C, H.d)
    dense = 2 * lay.width * F * H.d                    # W_V (D, F d) and W_O (F d, D), dense
    if dense > MAX_DENSE:
        raise BadInput(f"{H.kind} hashing with d = {H.d} packet slots makes a routing head of ~{dense:.3g}"
                       f" dense weights (width {lay.width}); the limit is {MAX_DENSE:.0e}")
    v_max = float(max(lim.word_max, T, lim.s)) * lim.s
    temp = temperature(C.margin, T, v_max, 1.0 / (8.0 * lim.s * v_max))
    head = routing_head(lay, temp, C.margin)
    layers = [SimLayer(make_map("init", -1, InitLocal(protocol.n_in, lim.s), lim, lay, H, C), head)]
    layers += [SimLayer(make_map(f"round {r}", r, RoundLocal(protocol, r), lim, lay, H, C), head)
               for r in range(protocol.rounds)]
    start = np.zeros(lay.width)
    start[lay["kcode"].sl] = C.start_key
    notes = ("one head per layer with one word per message id (beta = 1); SHT24a buckets"
             " multi-word messages over H = O(log log N) heads",
             "element-wise maps overwrite the packet slots (per-layer MLP, THEOREMS.md 11.4)",
             "output kept as one block per machine token (d_out = s), no final routing layer")
    return Simulation(protocol, lay, C, H, tuple(layers), T, start, temp, notes)


# --- the maps: read -> local -> write ---------------------------------------------------------
def make_map(name: str, round_: int, local, lim: Limits, lay: Layout, H: Hashing, C: SparseCodes) -> LocalMap:
    """The element-wise map of a layer: read the token's input word (init, ``round_ = -1``) or
    decode its memory from the recv slot (a round; machines only), run ``local``, write the
    outbox (:func:`write_row`; an outbox it cannot write is a failed step)."""
    sl = {n: lay[n].sl for n in ("input", "recv")}

    if round_ < 0:
        def fn(t: int, row: np.ndarray) -> np.ndarray:
            return _write_checked(row, t, *local(t, int(row[sl["input"]][0])), lay, H, C)
    else:
        def fn(t: int, row: np.ndarray) -> np.ndarray:
            if t >= lim.q:
                return write_row(row, t, (), False, lay, H, C)
            memory = decode_safe(row[sl["recv"]].reshape(H.d, F), t, lim.s, input_layer=round_ == 0)
            return _write_checked(row, t, *local(t, memory), lay, H, C)
    return LocalMap(name, round_, fn, local, lay, H, C)


def with_hashing(sim: Simulation, hashing: Hashing) -> Simulation:
    """The same simulation with another hashing matrix, in ``sim.hashing`` *and* in every map."""
    lim = sim.protocol.limits
    layers = tuple(dataclasses.replace(layer, map=make_map(layer.map.name, layer.map.round, layer.map.local,
                                                            lim, layer.map.layout, hashing, layer.map.codes))
                   for layer in sim.layers)
    return dataclasses.replace(sim, hashing=hashing, layers=layers)


# --- the local half of every map -------------------------------------------------------------
def _is_error(memory) -> bool:
    return bool(memory) and isinstance(memory[0], str)


@dataclass(frozen=True, eq=False)
class InitLocal:
    """Layer 0's local function: token t < n_in sends its input word to machine floor(t / s)."""

    n_in: int
    s: int

    def __call__(self, t: int, word: int) -> tuple[tuple, bool]:
        return (((t // self.s, word),) if t < self.n_in else ()), False


@dataclass(frozen=True, eq=False)
class RoundLocal:
    """A round map's local function: machine t's step of protocol round r on its decoded memory.
    A corrupted memory, a step that raises, or an outbox breaking the limits the map checks
    (more than s words, a destination outside [0, q)) is a failed step: nothing sent, the fault
    flag set.  ``local(t, memory) == settle(tuple(protocol.step(r, t, memory)))`` for a machine
    and a decoded memory, so a runtime holding that step's result can :meth:`settle` it."""

    protocol: Protocol
    r: int

    def __call__(self, t: int, memory) -> tuple[tuple, bool]:
        if t >= self.protocol.limits.q:
            return (), False
        if _is_error(memory):                      # a corrupted memory: flag it, send nothing
            return (), True
        try:
            raw = tuple(self.protocol.step(self.r, t, memory))
        except Exception:
            return (), True
        return self.settle(raw)

    def settle(self, raw: tuple) -> tuple[tuple, bool]:
        lim = self.protocol.limits
        try:
            if len(raw) > lim.s or any(not 0 <= d_ < lim.q for d_, _ in raw):
                return (), True
        except Exception:
            return (), True
        return raw, False


# --- the write half of every map ------------------------------------------------------------


def write_row(row: np.ndarray, t: int, outbox, failed: bool, lay: Layout, H: Hashing,
              C: SparseCodes) -> np.ndarray:
    """The map's output row: recv cleared, the outbox as hashed packets in send, the key code of
    its destinations in kcode, the fault flag set when the local step failed; the rest copied."""
    out = row.copy()
    out[lay["recv"].sl] = 0.0
    out[lay["send"].sl] = encode(t, outbox, H).reshape(-1)
    out[lay["kcode"].sl] = C.key({dest for dest, _ in outbox})
    if failed:
        out[lay["fault"].sl] = 1.0
    return out


def _write_checked(row, t, outbox, failed, lay, H, C) -> np.ndarray:
    """:func:`write_row`; an outbox it cannot write (a word float64 cannot hold, a key the codes
    refuse) is a failed step: nothing sent, the fault flag set."""
    try:
        return write_row(row, t, outbox, failed, lay, H, C)
    except Exception:
        return write_row(row, t, (), True, lay, H, C)


def writable(t: int, outbox, H: Hashing, C: SparseCodes, key=None) -> bool:
    """Whether :func:`write_row` can write ``outbox`` for token t (what :func:`_write_checked`
    tries): ``key`` (default ``C.key``) takes the destination set.  An outbox of at most s
    (dest, word) pairs of Python integers below 2^1000 always encodes (its packets are floats, its
    message ids rows of A), so :func:`encode` is only tried on anything else."""
    try:
        (key or C.key)({dest for dest, _ in outbox})
        if len(outbox) <= (H.s if t < H.q else 1) and all(
                type(d_) is int and type(w_) is int and abs(d_) < 2 ** 1000 and abs(w_) < 2 ** 1000
                for d_, w_ in outbox):
            return True
        encode(t, outbox, H)
        return True
    except Exception:
        return False


def write_rows(X: np.ndarray, t: np.ndarray, dest: np.ndarray, word: np.ndarray, length: np.ndarray,
               keys: np.ndarray, failed: np.ndarray, lay: Layout, H: Hashing) -> None:
    """:func:`write_row` on n rows at once, in place: X (n, D), tokens t (n,), outboxes as dest,
    word (n, m) with ``length`` (n,) valid entries (each writable), their key codes (n, dq) and
    the failed flags (n,)."""
    X[:, lay["recv"].sl] = 0.0
    X[:, lay["send"].sl] = encode_batch(t, dest, word, length, H).reshape(len(t), -1)
    X[:, lay["kcode"].sl] = keys
    X[failed, lay["fault"].start] = 1.0


# --- variants of a simulation (data edits; the checks run them) ----------------------------
def with_heads(sim: Simulation, heads: tuple[Head, ...]) -> Simulation:
    """The same simulation with layer l running ``heads[l]``."""
    layers = tuple(dataclasses.replace(layer, head=h) for layer, h in zip(sim.layers, heads))
    return dataclasses.replace(sim, layers=layers)


def corrupt_head(sim: Simulation, kind: str) -> Head:
    """A broken routing head: ``start`` negates the start token's key offset (the start token
    then outranks every sender, so nothing is delivered); ``fields`` writes the src field of
    every packet into its dest field and vice versa.  (Merely *dropping* the offset makes the
    start token tie with the senders; the decoder's 1/min-alpha count absorbs that, so the
    certificate fails while every run still agrees -- an UNKNOWN, not a refutation.)"""
    head = sim.layers[0].head
    if kind == "start":
        W_K = head.W_K.copy()
        W_K[:, -1] = -W_K[:, -1]
        return head.replace(W_K=W_K)
    if kind == "fields":
        W_O = head.W_O.copy()
        W_O[2::5], W_O[4::5] = head.W_O[4::5].copy(), head.W_O[2::5].copy()
        return head.replace(W_O=W_O)
    raise BadInput(f"--corrupt must be none, start or fields, got {kind!r}")
