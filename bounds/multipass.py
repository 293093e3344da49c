"""Multi-layer RNNs as blackboard protocols (``sht24a.cor5_2`` [P], ``an21.prop4_12`` [P],
``cc.blackboard`` [P]), checked as finite identities on small instances.

Shape glossary: N positions, L layers, s state bits of one layer, V input symbols, W stream
symbols of a layer (its outputs), P players (blocks of the input).

An L-layer recurrent model (docs/theorems.md ``sht24a.cor5_2``) maps ``(Z^{l-1}_i, H^l_{i-1})`` to
``(Z^l_i, H^l_i)``; here ``Z^l_i = (x_i, v^l_i)`` (the token is passed up, ``v^0 = x``) and the hidden
state is a tuple of integer entries with declared sizes, written as a bit string of exactly
``s = sum bitlen(size - 1)`` bits.  Cut the input into P contiguous blocks; in the order of
``cc.blackboard`` the owner of the **first** block (P_P) speaks first and the owner of the last
block (P_1) last.  Two simulations of the model by a blackboard protocol:

* **L rounds, s-bit messages** (the proof of cor5_2): in round l each player reads, from the board,
  the layer-l state at the start of its block (the previous player's round-l message), recomputes
  its own layer-1..l-1 streams from its block and the earlier rounds' messages, runs layer l over
  its block and writes the layer-l state at the block's end.  P_1's round-L message is the output.
* **1 round, L*s-bit messages** [R]: each player runs all L layers over its block from the L
  states on the board and writes the L states at its block's end (a multi-layer RNN is a one-pass
  streaming algorithm with L*s bits of memory).  With an21.prop4_12 (R >= k or s = Omega(q/k^5))
  and R = 1 < k this gives L*s = Omega(q/k^5) as well.

A player is a function of (round, its own block, the board so far) and nothing else, so the
protocols are blackboard protocols by construction; the identity checked is that P_1's last
message equals the model's output at position N and that every message has the stated length.

Layers are data (:class:`Layer`): ``successor`` (the successor-table cell of constructions/rnn.py,
re-implemented here; tests compare it with ``verifiers/rnn_run.py``), ``mealy`` (the ``table`` cells of
constructions/rnn_table.py, so that RNN files run as protocols), ``table`` (an arbitrary cell
given by seeded random transition and output tables over 2^s states: the binary hidden state of
cor5_2) and ``elman`` (a seeded tanh RNN whose m units are rounded to 2 bits each, s = 2m).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from attncheck.constructions.rnn import RNN, build_rnn
from attncheck.constructions.rnn_table import load_rnn
from attncheck.constructions.verdict import BadInput

MODELS = ("successor", "table", "elman")
ELMAN_BITS = 2                 # bits per unit of an elman layer


@dataclass(frozen=True)
class Layer:
    """One recurrent layer: ``kind``, the sizes of its state entries (``sizes[e]`` values each),
    its input stream alphabet ``w_in`` (layer 1: V), its output alphabet ``w_out`` and the
    kind's parameters (tables for ``table``, integer weights for ``elman``)."""

    kind: str
    sizes: tuple[int, ...]
    w_in: int
    w_out: int
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bits(self) -> int:
        """s: the length of the state written as bits (entries in bitlen(size - 1) bits each)."""
        return sum((n - 1).bit_length() for n in self.sizes)


# --- the cells -----------------------------------------------------------------------------
def successor_layer(V: int) -> Layer:
    """``prev`` in 0..V (V: none yet) and ``table[c]`` in 0..V (V: bottom) for c < V."""
    return Layer("successor", (V + 1,) * (V + 1), V + 1, V + 1, {"V": V})


def table_layer(rnd: random.Random, s: int, V: int, w_in: int, w_out: int) -> Layer:
    """An arbitrary cell with 2^s states: seeded tables ``delta[h][x][v]`` and ``out[h'][x][v]``."""
    S = 1 << s
    delta = tuple(tuple(tuple(rnd.randrange(S) for _ in range(w_in)) for _ in range(V)) for _ in range(S))
    out = tuple(tuple(tuple(rnd.randrange(w_out) for _ in range(w_in)) for _ in range(V)) for _ in range(S))
    return Layer("table", (S,), w_in, w_out, {"V": V, "delta": delta, "out": out})


def elman_layer(rnd: random.Random, m: int, V: int, w_in: int, w_out: int) -> Layer:
    """h' = round3(tanh((A h + B[x] + C[v]) / 4)) with h in {-1, 0, 1}^m stored as 0..2 per unit
    (2 bits), output argmax_w O[w] . h' (first maximum); small integer weights, seeded."""
    r = lambda: rnd.randint(-3, 3)                                             # noqa: E731
    A = tuple(tuple(r() for _ in range(m)) for _ in range(m))
    B = tuple(tuple(r() for _ in range(m)) for _ in range(V))
    C = tuple(tuple(r() for _ in range(m)) for _ in range(w_in))
    O = tuple(tuple(r() for _ in range(m)) for _ in range(w_out))
    return Layer("elman", (1 << ELMAN_BITS,) * m, w_in, w_out, {"V": V, "A": A, "B": B, "C": C, "O": O})


def mealy_layer(delta, out, V: int) -> Layer:
    """A ``table`` cell of constructions/rnn_table.py (a Mealy machine over the stream only): from
    state h on input v it outputs ``out[h][v]`` and moves to ``delta[h][v]`` (v in 0..V, V = bottom)."""
    return Layer("mealy", (len(delta),), V + 1, V + 1, {"V": V, "delta": tuple(map(tuple, delta)),
                                                        "out": tuple(map(tuple, out))})


def initial(layer: Layer) -> tuple[int, ...]:
    if layer.kind == "successor":
        return (layer.params["V"],) * len(layer.sizes)
    if layer.kind == "elman":
        return (1,) * len(layer.sizes)                                          # every unit 0
    return (0,)


def step(layer: Layer, h: tuple[int, ...], x: int, v: int) -> tuple[tuple[int, ...], int]:
    """One position: state h and input (x_i, v^{l-1}_i) -> (new state, v^l_i)."""
    if layer.kind == "successor":                      # table[x_{i-1}] = v_i, then read table[x_i]
        V = layer.params["V"]
        prev, table = h[0], list(h[1:])
        if prev < V:
            table[prev] = v
        return (x, *table), table[x]
    if layer.kind == "table":
        p = layer.params
        g = p["delta"][h[0]][x][v]
        return (g,), p["out"][g][x][v]
    if layer.kind == "mealy":
        p = layer.params
        return (p["delta"][h[0]][v],), p["out"][h[0]][v]
    p = layer.params                                   # elman
    units = [u - 1 for u in h]
    pre = [sum(a * u for a, u in zip(row, units)) + p["B"][x][j] + p["C"][v][j]
           for j, row in enumerate(p["A"])]
    new = [max(-1, min(1, round(math.tanh(z / 4) * 1.5))) for z in pre]
    scores = [sum(o * u for o, u in zip(row, new)) for row in p["O"]]
    return tuple(u + 1 for u in new), scores.index(max(scores))


# --- messages: states as bit strings ----------------------------------------------------------
def encode_state(layer: Layer, h: tuple[int, ...]) -> tuple[int, ...]:
    """The state as exactly ``layer.bits`` bits (each entry big-endian in bitlen(size - 1) bits);
    raises if an entry leaves its range (a model cannot smuggle more than s bits)."""
    out: list[int] = []
    for n, e in zip(layer.sizes, h, strict=True):
        if not 0 <= e < n:
            raise RuntimeError(f"{layer.kind} state entry {e} outside range({n})")
        w = (n - 1).bit_length()
        out += [(e >> (w - 1 - b)) & 1 for b in range(w)]
    return tuple(out)


def decode_state(layer: Layer, bits: Sequence[int]) -> tuple[int, ...]:
    if len(bits) != layer.bits:
        raise RuntimeError(f"message of {len(bits)} bits where the state has {layer.bits}")
    h, at = [], 0
    for n in layer.sizes:
        w = (n - 1).bit_length()
        h.append(int("".join(map(str, bits[at:at + w])) or "0", 2))
        at += w
    return tuple(h)


def out_bits(layers: Sequence[Layer]) -> int:
    """Bits of the final message (the output symbol of the last layer)."""
    return (layers[-1].w_out - 1).bit_length()


# --- the model, run position by position over the whole input --------------------------------
def run_stack(layers: Sequence[Layer], tokens: Sequence[int]) -> list[list[int]]:
    """The L value streams (each of length N) of the model on ``tokens`` (the reference side)."""
    v = list(tokens)
    streams = []
    for layer in layers:
        h, out = initial(layer), []
        for x, vi in zip(tokens, v):
            h, o = step(layer, h, x, vi)
            out.append(o)
        streams.append(out)
        v = out
    return streams


# --- the protocols ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    round: int          # 1..R
    player: int         # P_j: j = P for the first block, ..., 1 for the last
    bits: tuple[int, ...]


@dataclass(frozen=True)
class Transcript:
    """The board after the protocol: every message in writing order; ``output`` is P_1's last."""

    rounds: int
    messages: tuple[Message, ...]
    output: int

    def key(self) -> tuple:
        return tuple(m.bits for m in self.messages)


def blocks(N: int, players: int) -> tuple[tuple[int, int], ...]:
    """P contiguous spans [a, b) of 0..N-1, sizes as equal as possible, first span to P_P."""
    if not 1 <= players <= N:
        raise BadInput(f"--players must be in 1..N = {N}, got {players}")
    cut = [round(j * N / players) for j in range(players + 1)]
    return tuple((cut[j], cut[j + 1]) for j in range(players))


def _run_block(layer: Layer, h, xs, vs):
    out = []
    for x, v in zip(xs, vs):
        h, o = step(layer, h, x, v)
        out.append(o)
    return h, out


def _layer_rounds_speak(layers, rnd: int, index: int, own: Sequence[int], board: list[Message],
                        P: int) -> tuple[int, ...]:
    """Player number ``index`` (0 = first block) in round ``rnd``: a function of its own block and
    the board only.  Earlier rounds' incoming states are read back from the board."""
    per_round = [board[r * P:(r + 1) * P] for r in range(rnd)]     # rounds 1..rnd (last partial)
    v = list(own)
    for r, layer in enumerate(layers[:rnd]):
        msgs = per_round[r]
        h = initial(layer) if index == 0 else decode_state(layer, msgs[index - 1].bits)
        h, v = _run_block(layer, h, own, v)
    if rnd == len(layers) and index == P - 1:
        w = out_bits(layers)
        return tuple((v[-1] >> (w - 1 - b)) & 1 for b in range(w))                # the output
    return encode_state(layers[rnd - 1], h)


def layer_rounds(layers: Sequence[Layer], tokens: Sequence[int], spans) -> Transcript:
    """The L-round, s-bit protocol of cor5_2 on ``tokens`` cut at ``spans``."""
    P, board = len(spans), []
    for rnd in range(1, len(layers) + 1):
        for index, (a, b) in enumerate(spans):
            bits = _layer_rounds_speak(layers, rnd, index, tokens[a:b], board, P)
            board.append(Message(rnd, P - index, bits))
    return Transcript(len(layers), tuple(board), int("".join(map(str, board[-1].bits)) or "0", 2))


def one_round(layers: Sequence[Layer], tokens: Sequence[int], spans) -> Transcript:
    """The 1-round protocol with L*s-bit messages: player j continues all L layers over its block."""
    P, board = len(spans), []
    for index, (a, b) in enumerate(spans):
        own, at = tokens[a:b], 0
        v, bits = list(own), []
        for layer in layers:
            if index == 0:
                h = initial(layer)
            else:
                h = decode_state(layer, board[-1].bits[at:at + layer.bits])
            at += layer.bits
            h, v = _run_block(layer, h, own, v)
            bits += encode_state(layer, h)
        if index == P - 1:
            w = out_bits(layers)
            bits = [(v[-1] >> (w - 1 - b)) & 1 for b in range(w)]
        board.append(Message(1, P - index, tuple(bits)))
    return Transcript(1, tuple(board), int("".join(map(str, board[-1].bits)) or "0", 2))


def protocol_identity(layers: Sequence[Layer], tokens: Sequence[int], spans) -> tuple[bool, dict]:
    """Both protocols against the whole-input run: outputs equal, message lengths exact."""
    want = run_stack(layers, tokens)[-1][-1]
    s, Lb, ob = [lay.bits for lay in layers], sum(lay.bits for lay in layers), out_bits(layers)
    multi, single = layer_rounds(layers, tokens, spans), one_round(layers, tokens, spans)
    last = len(multi.messages) - 1
    multi_ok = all(len(m.bits) == (ob if i == last else s[m.round - 1]) for i, m in enumerate(multi.messages))
    single_ok = all(len(m.bits) == (ob if i == len(spans) - 1 else Lb) for i, m in enumerate(single.messages))
    ok = multi.output == want and single.output == want and multi_ok and single_ok
    return ok, {"rnn_output": want, "L_rounds_output": multi.output, "one_round_output": single.output,
                "L_rounds_sizes_ok": multi_ok, "one_round_sizes_ok": single_ok}


# --- models -----------------------------------------------------------------------------------
def from_rnn(rnn: RNN) -> tuple[Layer, ...]:
    """The successor and table cells of a constructions/rnn.py model as layers (index: BadInput)."""
    bad = [c.kind for c in rnn.layers if c.kind not in ("successor", "table")]
    if bad:
        raise BadInput(f"only successor and table cells run as protocols here, not {bad[0]!r}")
    return tuple(successor_layer(c.params["alphabet"]) if c.kind == "successor"
                 else mealy_layer(c.params["delta"], c.params["out"], c.params["alphabet"]) for c in rnn.layers)


def load_model(path: str) -> tuple[tuple[Layer, ...], int]:
    """The layers of an RNN file (constructions/rnn_table.py's strict ``.npz``) and its alphabet."""
    rnn = load_rnn(path)
    return from_rnn(rnn), rnn.alphabet


def random_model(kind: str, L: int, s: int, V: int, seed: int) -> tuple[Layer, ...]:
    """L seeded layers of ``kind`` (table: 2^s states; elman: s/2 units of 2 bits); streams of
    V + 1 symbols (the last layer's outputs read as tokens, V = bottom)."""
    if kind == "table" and not 1 <= s <= 8:
        raise BadInput(f"--state-bits of a table layer must be in 1..8, got {s}")
    if kind == "elman" and (s < 2 or s % ELMAN_BITS or s > 16):
        raise BadInput(f"--state-bits of an elman layer must be even, in 2..16 (2 bits per unit), got {s}")
    rnd = random.Random(seed)
    layers, w_in = [], V
    for _ in range(L):
        lay = (table_layer(rnd, s, V, w_in, V + 1) if kind == "table"
               else elman_layer(rnd, s // ELMAN_BITS, V, w_in, V + 1))
        layers.append(lay)
        w_in = V + 1
    return tuple(layers)


def build_model(kind: str, L: int, V: int, s: int | None, seed: int) -> tuple[Layer, ...]:
    """``successor``: L successor layers over V symbols (s is fixed by V); else random_model."""
    if kind not in MODELS:
        raise BadInput(f"--model must be one of {', '.join(MODELS)}, got {kind!r}")
    if not isinstance(L, int) or not 1 <= L <= 8:
        raise BadInput(f"--layers must be an integer in 1..8, got {L!r}")
    if kind == "successor":
        if s is not None:
            raise BadInput("--state-bits is fixed by the alphabet for --model successor ((V+1) bitlen(V) bits)")
        return from_rnn(build_rnn("hop", max(2, L), V, k=L, layers=L))
    return random_model(kind, L, 2 if s is None else s, V, seed)
