"""Refute a given one-layer model by the one-way communication argument on the model itself.

Theorems: ``sht24b.one-layer-ih-lb`` [P-abs/S] (one layer needs h·m·p = Ω(n)), through
``cc.oneway`` [standard] (a one-way protocol with fewer distinct messages than the communication
matrix has distinct rows cannot be correct).

Shape glossary: V symbols, N positions, T = N + 1 rows (0 = start), D residual width, H heads,
dv value width, Q query symbols (Bob's choices of x_N), C candidate maxima of one (query, head),
A Alice inputs, L message length (integers).

**The message.**  Positions 1..N are split between Alice (``alice``, all < N) and Bob (``bob``,
N included).  Fix Bob's symbol c = x_N and a head h.  In one causal layer the stored score
``s_j = round(temp * q_N . k_j)`` of row N at row j depends only on (c, x_j, j) (the query of
row N is the stored projection of the embedding of (c, N); key and value of row j those of
(x_j, j); the start row is a constant), and so does the stored value ``v_j``.  For every
candidate maximum m (``cand``: every possible score >= ``base = max(s_0, s_N)``) Alice's raw
message holds, summed over her positions j,

    cnt(m) = #{j : s_j > m},   Z(m) = sum_{s_j <= m} E(m - s_j),   S(m) = sum_{s_j <= m} E(m - s_j) v_j,

with ``E`` the emulator's stored exponential of a grid distance (``Grid.exp``; hardmax: E(d) =
[d = 0]).  The canonical message (:func:`canonical`) keeps ``M' = max(base, max_j s_j)`` (the
first m with cnt(m) = 0) and (Z(m), S(m)) only at m = M' and at larger m that Bob's own scores
can reach (``bob_cand``); everything else is zeroed.  The message of an Alice input is the tuple
of these over every query symbol c and head h.

**Claim: equal messages give equal outputs at N for every Bob input.**  The emulator's row N of
head h (:func:`attncheck.verifiers.emulator.mix`) takes the row maximum ``m* = max_j s_j`` over
the start row, Alice's and Bob's rows, the stored exponentials ``e_j = E(m* - s_j)``, the exact
sums ``z = sum_j e_j`` and ``P = sum_j e_j v_j`` (one saturation of z; one rounding and
saturation of P), then ``round(P / z)``, ``W_O``, the residual sum and the map and decoder of row
N, all row-wise.  Bob knows his scores and values and ``max(base, his maximum)``; from the
message he reads M', so ``m* = max(M', his maximum)``, which is M' or one of his scores above it:
both are kept entries.  There Z(m*) and S(m*) are Alice's exact share of z and P (every Alice
score is <= m*).  So (z, P) per head, hence the output at N, are functions of Bob's input and the
message.  If two Alice inputs share a message but lie in different rows of the task's
communication matrix, some Bob input gives the two full inputs different true answers and the
same model output: the model is wrong on one of them.  :func:`refute_one_layer` replays both
through :func:`attncheck.verifiers.emulator.forward` and reports only what the replay confirms
(a disagreement of the two outputs, or two answers that tasks.py does not tell apart, stops the
run as an internal error).

**Guaranteed.**  When every Alice input was enumerated, the number of distinct messages K is
exact; if K is below the number R of distinct rows (counted by the caller from the task alone),
pigeonhole puts two Alice inputs of different rows on one message, so the search must find a
counterexample (a miss raises).  The catalogue's form h(m+1)p assumes p-bit partial sums and a
fixed query; here the partial sums are the exact accumulations the emulator rounds once, and the
query varies with x_N, so K, not h(m+1)p, is the bound used (both are reported).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from attncheck.constructions import tasks
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction, attention_mask
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method,
                                             Status, Verdict)
from attncheck.verifiers.emulator import BOT_CODE, embedding_table, forward
from attncheck.verifiers.gridpass import Grid

THEOREM = ("sht24b.one-layer-ih-lb", "P-abs/S")
#: hop_k: the same one-layer argument, with no catalogue entry of its own: the one-way bound.
THEOREMS = {"induction": THEOREM, "hop": ("cc.oneway", "standard")}
#: Largest number of Alice inputs enumerated (beyond it the search samples ``samples`` of them).
MAX_ALICE = 1 << 20
#: Alice inputs per chunk of the scan.
CHUNK = 4096


@dataclass(frozen=True, eq=False)
class Segment:
    """One (query symbol, head) block of the raw message: candidate maxima ``cand`` (C,), which of
    them Bob can reach (``bob`` (C,) bool), the value width, and its offset in the raw vector."""

    query: int
    head: int
    cand: tuple
    bob: np.ndarray
    dv: int
    offset: int

    @property
    def length(self) -> int:
        return len(self.cand) * (2 + self.dv)


@dataclass(frozen=True, eq=False)
class Messages:
    """Per-position contributions to Alice's raw message: ``contrib[i]`` is (V_i, L) for her
    i-th position (choices in domain order); the raw message of an input is their sum."""

    alice: tuple[int, ...]
    choices: tuple[tuple[int, ...], ...]
    segments: tuple[Segment, ...]
    contrib: tuple[np.ndarray, ...]
    length: int


def _E(g: Grid, d: list[int], attention: str) -> list[int]:
    """The emulator's stored exponential of grid distances ``d >= 0`` (hardmax: [d = 0])."""
    if attention == "hardmax":
        return [1 if x == 0 else 0 for x in d]
    arr = np.asarray(d, dtype=np.float64) if g.fast else np.asarray(d, dtype=object)
    return [int(x) for x in np.asarray(g.exp(arr)).ravel().tolist()]


def _ints(a: np.ndarray) -> list:
    return [int(x) for x in np.asarray(a).ravel().tolist()]


def head_scores(c: Construction, g: Grid, head, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored scores and values of one head, from the emulator's own arithmetic.

    Returns ``S`` (V, V, T) object ints: ``S[c, x, j]`` = score of row N holding symbol c against
    row j holding x (row 0: the start row, the same for every x; in one layer its key and value
    come from its embedding under either ``Construction.start`` mode); and ``vals`` (V, T, dv) object
    ints: the stored value of x at row j."""
    start, table = embedding_table(c, g)                            # (D,), (V, N, D)
    V = table.shape[0]
    X = np.empty((V, N + 1, table.shape[2]), dtype=table.dtype)     # (V, T, D)
    X[:, 0, :] = start
    X[:, 1:, :] = table[:, :N, :]
    ph = g.head(head)
    q = g.project(X, ph.W_Q, "query")                               # (V, T, dk)
    k = g.project(X, ph.W_K, "key")
    v = g.project(X, ph.W_V, "value")                               # (V, T, dv)
    S = g.scores(q[None, :, N, :], k.reshape(1, V * (N + 1), -1), ph.temperature)  # (1, V, V T)
    S = np.vectorize(int, otypes=[object])(np.asarray(S).reshape(V, V, N + 1))
    vals = np.vectorize(int, otypes=[object])(g.as_object(np.asarray(v)))
    return S, vals


def build_messages(c: Construction, fmt: Format, attention: str, N: int,
                   alice: tuple[int, ...], bob: tuple[int, ...],
                   choices: tuple[tuple[int, ...], ...]) -> Messages:
    """The per-position contribution tables of Alice's raw message (module docstring).
    ``choices[t-1]``: the symbols allowed at position t (the task's domain)."""
    g = Grid(fmt)
    queries = choices[N - 1]
    sees_start = bool(attention_mask(c.mask, N + 1)[N, 0])            # causal: yes; causal-nostart: no
    segs, per_pos = [], [[] for _ in alice]
    offset = 0
    for hi, head in enumerate(c.layers[0].heads):
        S, vals = head_scores(c, g, head, N)
        dv = vals.shape[-1]
        for qc in queries:
            base = max(S[qc, 0, 0], S[qc, qc, N]) if sees_start else S[qc, qc, N]   # constant rows
            a_scores = {S[qc, x, j] for j in alice for x in choices[j - 1]}
            b_scores = {S[qc, x, j] for j in bob if j != N for x in choices[j - 1]}
            cand = sorted({base} | {s for s in a_scores | b_scores if s >= base})
            bob_ok = np.array([m == base or m in b_scores for m in cand], dtype=bool)
            seg = Segment(qc, hi, tuple(cand), bob_ok, dv, offset)
            for i, j in enumerate(alice):
                rows = []
                for x in choices[j - 1]:
                    s = S[qc, x, j]
                    e = _E(g, [m - s if s <= m else 0 for m in cand], attention)
                    row = []
                    for m, em in zip(cand, e):
                        if s > m:
                            row += [1, 0] + [0] * dv
                        else:
                            row += [0, em] + [em * int(vv) for vv in vals[x, j]]
                    rows.append(row)
                per_pos[i].append(rows)
            segs.append(seg)
            offset += seg.length
    contrib = []
    for i in range(len(alice)):
        blocks = [np.array(r, dtype=object) for r in per_pos[i]]        # each (V_i, len)
        full = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(choices[alice[i] - 1]), 0), dtype=object)
        contrib.append(full)
    return Messages(tuple(alice), tuple(choices[j - 1] for j in alice), tuple(segs),
                    tuple(_narrow(cb, len(alice)) for cb in contrib), offset)


def _narrow(a: np.ndarray, terms: int) -> np.ndarray:
    """int64 when every sum of ``terms`` rows fits, else the object array."""
    top = max((abs(int(x)) for x in a.ravel()), default=0)
    return a.astype(np.int64) if top * max(terms, 1) < (1 << 62) else a


def raw_messages(msg: Messages, digits: np.ndarray) -> np.ndarray:
    """Raw messages of Alice inputs given as choice indices ``digits`` (B, |A|) -> (B, L)."""
    B = digits.shape[0]
    obj = any(cb.dtype == object for cb in msg.contrib)
    out = np.zeros((B, msg.length), dtype=object if obj else np.int64)
    if obj:
        out.fill(0)
    for i, cb in enumerate(msg.contrib):
        out = out + cb[digits[:, i]]
    return out


def canonical(msg: Messages, raw: np.ndarray) -> np.ndarray:
    """Canonical messages (B, L'): per segment the index of M' and the (Z, S) entries Bob can
    read (at M' and at his reachable maxima above it), every other entry zero."""
    parts = []
    for seg in msg.segments:
        C, w = len(seg.cand), 2 + seg.dv
        block = raw[:, seg.offset:seg.offset + C * w].reshape(len(raw), C, w)  # (B, C, 2 + dv)
        cnt = block[:, :, 0].astype(np.int64)
        first = np.argmax(cnt == 0, axis=1)                          # index of M' (exists)
        idx = np.arange(C)[None, :]
        keep = (idx == first[:, None]) | ((idx > first[:, None]) & seg.bob[None, :])
        body = np.where(keep[:, :, None], block[:, :, 1:], 0).reshape(len(raw), -1)
        parts += [first[:, None].astype(body.dtype), body]
    if not parts:
        return np.zeros((len(raw), 0), dtype=np.int64)
    return np.concatenate(parts, axis=1)


def _keys(canon: np.ndarray) -> list:
    if canon.dtype == object:
        return [tuple(int(x) for x in row) for row in canon.tolist()]
    canon = np.ascontiguousarray(canon, dtype=np.int64)
    return [row.tobytes() for row in canon]


def _digits(index: np.ndarray, radix: tuple[int, ...]) -> np.ndarray:
    """Mixed-radix digits (first position most significant): (B,) -> (B, len(radix))."""
    out = np.zeros((len(index), len(radix)), dtype=np.int64)
    rem = index.astype(np.int64).copy()
    for t in range(len(radix) - 1, -1, -1):
        out[:, t] = rem % radix[t]
        rem //= radix[t]
    return out


@dataclass(frozen=True)
class Collision:
    """Two Alice inputs (indices into her lexicographic list) with equal messages, different rows."""

    first: int
    second: int


@dataclass(frozen=True)
class Scan:
    """What the search saw: ``scanned`` Alice inputs, ``messages`` distinct among them, the first
    collision in different rows, and whether the scan covered every Alice input."""

    scanned: int
    messages: int
    collision: Collision | None
    complete: bool
    stopped: str = ""


def scan(msg: Messages, row_ids: np.ndarray, indices: np.ndarray | None = None,
         budget: Budget = UNLIMITED, on_step: Callable[[int], None] | None = None,
         stop_at_collision: bool = False) -> Scan:
    """Hash the canonical message of every Alice input (``indices``: a subset in this order, else
    all in lexicographic order) and find the first one whose message an earlier input of another
    row already had.  ``row_ids`` (A,): the task's row of every Alice input."""
    radix = tuple(len(ch) for ch in msg.choices)
    total = int(np.prod(radix, dtype=object))
    order = np.arange(total) if indices is None else np.asarray(indices, dtype=np.int64)
    seen: dict = {}
    collision, scanned = None, 0
    try:
        for s in range(0, len(order), CHUNK):
            budget.check(stage="messages", scanned=scanned, of=len(order))
            idx = order[s:s + CHUNK]
            keys = _keys(canonical(msg, raw_messages(msg, _digits(idx, radix))))
            for a, key in zip(idx.tolist(), keys):
                prev = seen.get(key)
                if prev is None:
                    seen[key] = a
                elif collision is None and row_ids[prev] != row_ids[a]:
                    collision = Collision(prev, a)
            scanned += len(idx)
            if on_step:
                on_step(len(idx))
            if collision is not None and stop_at_collision:
                break
    except BudgetExceeded as e:
        return Scan(scanned, len(seen), collision, False, str(e))
    return Scan(scanned, len(seen), collision, indices is None and scanned == total)


@dataclass(frozen=True)
class Instance:
    """The task side, computed by the caller from the task alone: the split, the domain's choices
    per position, the (A, B) matrix of answer codes (rows: Alice inputs, columns: Bob inputs, both
    lexicographic over ascending positions) and its distinct-row ids."""

    task: str
    N: int
    k: int
    split: str
    alice: tuple[int, ...]
    bob: tuple[int, ...]
    choices: tuple[tuple[int, ...], ...]
    matrix: np.ndarray
    row_ids: np.ndarray
    rows: int
    extra: dict = field(default_factory=dict)


def _truth(task: str, k: int, x: list[int]) -> int | None:
    out = tasks.induction_heads(x) if task == "induction" else tasks.hop(x, k)
    return out[-1]


def _merge(inst: Instance, a_digits, b_digits) -> list[int]:
    x = [0] * inst.N
    for t, d in zip(inst.alice, a_digits):
        x[t - 1] = inst.choices[t - 1][int(d)]
    for t, d in zip(inst.bob, b_digits):
        x[t - 1] = inst.choices[t - 1][int(d)]
    return x


def replay(c: Construction, fmt: Format, attention: str, inst: Instance, col: Collision) -> dict:
    """Replay a collision: the separating Bob input, both full inputs through the emulator and
    tasks.py.  Returns the counterexample's fields; raises RuntimeError when the replay does not
    confirm the argument (equal messages but different outputs, or answers that do not differ)."""
    a_radix = tuple(len(inst.choices[t - 1]) for t in inst.alice)
    b_radix = tuple(len(inst.choices[t - 1]) for t in inst.bob)
    diff = np.flatnonzero(inst.matrix[col.first] != inst.matrix[col.second])
    if diff.size == 0:
        raise RuntimeError("collision rows do not differ in the communication matrix")
    b = _digits(np.array([diff[0]]), b_radix)[0]
    xs = [_merge(inst, _digits(np.array([a]), a_radix)[0], b) for a in (col.first, col.second)]
    tr = forward(c, np.array(xs), fmt, attention, keep=False)
    got = [None if int(o) == BOT_CODE else int(o) for o in tr.outputs[:, inst.N - 1]]
    want = [_truth(inst.task, inst.k, x) for x in xs]
    if got[0] != got[1]:
        raise RuntimeError(f"equal Alice messages gave different outputs at N ({got}): the message"
                           " argument does not match the emulator")
    if want[0] == want[1]:
        raise RuntimeError("the separating Bob input does not separate the answers under tasks.py")
    wrong = 0 if got[0] != want[0] else 1
    return {"tokens": xs[wrong], "expected": want[wrong], "got": got[wrong],
            "partner": xs[1 - wrong], "partner_expected": want[1 - wrong], "bob_index": int(diff[0])}


def closed_form_bits(msg: Messages, fmt: Format, attention: str) -> int:
    """An a-priori bound on the bits of the canonical message, from the format alone: per
    (query symbol, head) segment with C candidate maxima, ``ceil(log2 C)`` bits for M' and, at
    each of the C maxima, Z in ``[0, |A| e]`` and dv entries of S in ``[-|A| e v, |A| e v]``
    (``e`` = stored exp(0) = min(2^F, int_hi), 1 for hardmax; ``v`` = 2^(p-1), p = I + F).
    It is the analogue of the catalogue's h(m+1)p for the emulator's exact accumulation."""
    A = len(msg.alice)
    e = 1 if attention == "hardmax" else min(1 << fmt.frac_bits, fmt.int_hi)
    vb = 1 << (fmt.bits - 1)
    bz, bs = (A * e).bit_length(), (2 * A * e * vb).bit_length()
    return sum((len(seg.cand) - 1).bit_length() + len(seg.cand) * (bz + seg.dv * bs) for seg in msg.segments)


def catalogue_form(c: Construction, fmt: Format) -> dict:
    """``H (m + 1) p`` with H heads, m the residual width D (the embedding dimension of the
    statement), p = I + F (Format.bits: sign included in I), and the same with m = dv."""
    heads = c.layers[0].heads
    H, D, p = len(heads), c.width, fmt.bits
    dv = max(h.W_V.shape[-1] for h in heads)
    return {"H": H, "m": D, "dv": dv, "p": p, "H(m+1)p": H * (D + 1) * p, "H(dv+1)p": H * (dv + 1) * p}


def check_model(c: Construction, fmt: Format, N: int, alphabet: int) -> None:
    """BadInput unless ``c`` is a one-layer causal model with a decoder, a fixed format and room
    for ``N`` positions and ``alphabet`` symbols."""
    if c.n_layers != 1:
        raise BadInput(f"refute one-layer needs a model with exactly one layer; {c.name} has {c.n_layers}")
    if c.mask not in ("causal", "causal-nostart"):
        raise BadInput(f"refute one-layer needs a causal mask (the split argument), {c.name} uses {c.mask!r}")
    if c.decoder is None:
        raise BadInput(f"{c.name} has no decoder: its outputs are not symbols to compare with the task")
    if fmt.is_exact:
        raise BadInput("the communication argument needs a fixed:I.F format: in exact float64 the partial"
                       " sums have no finite message bound and summation order changes results;"
                       " pass --precision fixed:I.F")
    if N > c.n:
        raise BadInput(f"--N {N} exceeds the model's {c.n} positions")
    if alphabet > c.alphabet:
        raise BadInput(f"--alphabet {alphabet} exceeds the model's {c.alphabet} token embeddings")


def refute_one_layer(c: Construction, fmt: Format, attention: str, inst: Instance, *,
                     samples: int = 20000, seed: int = 0, budget: Budget | None = None,
                     on_step: Callable[[int], None] | None = None,
                     max_alice: int = MAX_ALICE) -> Verdict:
    """Search for two Alice inputs with equal messages in different rows and replay the failing
    input.  REFUTED with the replayed counterexample, or UNKNOWN (never VERIFIED: the argument
    cannot prove a model correct)."""
    budget = budget or UNLIMITED
    check_model(c, fmt, inst.N, max(max(ch) for ch in inst.choices) + 1)
    model = c.prefix(inst.N) if inst.N < c.n else c
    msg = build_messages(model, fmt, attention, inst.N, inst.alice, inst.bob, inst.choices)
    A = len(inst.row_ids)
    exhaustive = A <= max_alice
    indices = None
    if not exhaustive:
        rng = np.random.default_rng(seed)
        indices = rng.choice(A, size=min(samples, A), replace=False)
    res = scan(msg, inst.row_ids, indices, budget, on_step)
    cat = catalogue_form(model, fmt)
    rows_bits = (inst.rows - 1).bit_length()
    guaranteed = res.complete and res.messages < inst.rows
    tid, tag = THEOREMS[inst.task]
    evidence: dict[str, Any] = {
        "theorem": tid, "status_tag": tag, "argument": "one-way communication (cc.oneway)",
        "split": inst.split, "alice": list(inst.alice), "bob": list(inst.bob),
        "alice_inputs": A, "scanned": res.scanned, "search": "all Alice inputs" if exhaustive
        else f"{len(indices)} sampled Alice inputs (seed {seed})",
        "rows": inst.rows, "rows_bits": rows_bits, "messages": res.messages,
        "messages_exact": res.complete, "message_bits": (res.messages - 1).bit_length() if res.messages else 0,
        "guaranteed": guaranteed, "catalogue": cat,
        "message_bits_closed_form": closed_form_bits(msg, fmt, attention),
        "catalogue_below": cat["H(m+1)p"] < rows_bits, "attention": attention, "format": str(fmt),
        **inst.extra}
    claim = (f"{tid} [{tag}]: the one-layer model {c.name} ({cat['H']} head(s), width {cat['m']},"
             f" {fmt}) computes {inst.task if inst.task == 'induction' else f'hop_{inst.k}'} at position N={inst.N}"
             f" on every input" + (f" with x_N = {inst.extra['last']}" if "last" in inst.extra else ""))
    cases = res.scanned
    method = Method.EXHAUSTIVE if exhaustive else Method.SAMPLE
    if res.collision is None:
        if guaranteed:
            raise RuntimeError(f"pigeonhole: {res.messages} messages < {inst.rows} rows, yet no collision")
        why = (f"no collision found among {res.scanned:,} Alice inputs"
               + (f" ({res.stopped})" if res.stopped else "")
               + ("; the bound does not force one" if not guaranteed else ""))
        if res.complete:
            why = (f"no two of the {A:,} Alice inputs share a message across rows ({res.messages:,} messages"
                   f" >= {inst.rows:,} rows): the communication argument cannot refute this model here"
                   " (it may still be wrong elsewhere: run the exhaustive check)")
        return Verdict(Status.UNKNOWN, method, claim, cases, why, None, evidence)
    ce = replay(model, fmt, attention, inst, res.collision)
    expl = {"partner": ce["partner"], "partner_expected": ce["partner_expected"], "same_output": ce["got"],
            "alice_indices": [res.collision.first, res.collision.second]}
    why = ("two Alice inputs send the same message but lie in different rows; on the full input the"
           " model must be wrong (replayed through the emulator)"
           + (f" — guaranteed: {res.messages} messages < {inst.rows} rows" if guaranteed else ""))
    return Verdict(Status.REFUTED, method, claim, cases, why,
                   Counterexample(tuple(ce["tokens"]), inst.N, ce["expected"], ce["got"], expl), evidence)

