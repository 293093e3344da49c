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

from attncheck.constructions.mpc.routing import (F, Hashing, SparseCodes, decode, encode,
                                                 make_codes, make_hashing)
from attncheck.constructions.primitives import place, select, temperature
from attncheck.constructions.mpc.model import Inbox, Protocol
from attncheck.constructions.spec import Head, Layout, LayoutBuilder, Promise
from attncheck.constructions.verdict import BadInput

MAX_DENSE = 3e8      # dense head parameters one compile may allocate (~2.4 GB of float64)


@dataclass(frozen=True, eq=False)
class LocalMap:
    """Element-wise map ``(token index t, row (D,)) -> row (D,)``: arbitrary per token (SHT24a
    Def 2.1 allows arbitrary, index-specific element-wise functions).  ``round`` is the protocol
    round whose local function it runs (-1: init)."""

    name: str
    round: int
    fn: Callable[[int, np.ndarray], np.ndarray]


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
    sl = {n: lay[n].sl for n in ("kcode", "send", "recv", "fault", "input")}

    def write(row: np.ndarray, t: int, outbox) -> np.ndarray:
        out = row.copy()
        out[sl["recv"]] = 0.0
        out[sl["send"]] = encode(t, outbox, H).reshape(-1)
        out[sl["kcode"]] = C.key({dest for dest, _ in outbox})
        return out

    def init_fn(t: int, row: np.ndarray) -> np.ndarray:
        if t >= protocol.n_in:
            return write(row, t, ())
        return write(row, t, ((t // lim.s, int(row[sl["input"]][0])),))

    def round_fn(r: int) -> Callable[[int, np.ndarray], np.ndarray]:
        def fn(t: int, row: np.ndarray) -> np.ndarray:
            if t >= lim.q:
                return write(row, t, ())
            try:
                inbox = decode(row[sl["recv"]].reshape(H.d, F), t, lim.s,
                               input_src=t if r == 0 else None)
                outbox = tuple(protocol.step(r, t, inbox))
                if len(outbox) > lim.s or any(not 0 <= d_ < lim.q for d_, _ in outbox):
                    raise ValueError("outbox breaks the MPC limits")
                out = write(row, t, outbox)
            except Exception:                      # a corrupted memory: flag it, send nothing
                out = write(row, t, ())
                out[sl["fault"]] = 1.0
            return out
        return fn

    layers = [SimLayer(LocalMap("init", -1, init_fn), head)]
    layers += [SimLayer(LocalMap(f"round {r}", r, round_fn(r)), head) for r in range(protocol.rounds)]
    start = np.zeros(lay.width)
    start[sl["kcode"]] = C.start_key
    notes = ("one head per layer with one word per message id (beta = 1); SHT24a buckets"
             " multi-word messages over H = O(log log N) heads",
             "element-wise maps overwrite the packet slots (per-layer MLP, THEOREMS.md 11.4)",
             "output kept as one block per machine token (d_out = s), no final routing layer")
    return Simulation(protocol, lay, C, H, tuple(layers), T, start, temp, notes)


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
