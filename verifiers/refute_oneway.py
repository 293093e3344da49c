"""Refute a given one-layer model by the one-way communication argument on the model itself.

Theorems: ``sht24b.one-layer-ih-lb`` [P-abs/S] (one layer needs h·m·p = Ω(n)), through
``cc.oneway`` [standard] (a one-way protocol with fewer distinct messages than the communication
matrix has distinct rows cannot be correct).

Shape glossary: A Alice inputs, B Bob inputs, N positions.

Alice's message (:mod:`attncheck.verifiers.refute_messages`) determines the model's output at N
for every Bob input.  If two Alice inputs share a message but lie in different rows of the task's
communication matrix (:class:`Instance`, computed by the caller from the task alone), some Bob
input gives the two full inputs different true answers and the same model output: the model is
wrong on one of them.  :func:`scan` hashes the message of every Alice input (seeded sampling
beyond :data:`MAX_ALICE`) and keeps the first collision across rows; :func:`replay` runs both
full inputs through :func:`attncheck.verifiers.emulator.forward` and tasks.py and reports only
what the replay confirms (a disagreement of the two outputs, or two answers that tasks.py does
not tell apart, stops the run as an internal error).

**Guaranteed.**  When every Alice input was enumerated, the number of distinct messages K is
exact; if K is below the number R of distinct rows, pigeonhole puts two Alice inputs of different
rows on one message, so the search must find a counterexample (a miss raises).  The catalogue's
form h(m+1)p assumes p-bit partial sums and a fixed query; here the partial sums are the exact
accumulations the emulator rounds once, and the query varies with x_N (unless the caller fixes
it), so K, not h(m+1)p, is the bound used; both are reported, with the closed form of this
arithmetic (:func:`~attncheck.verifiers.refute_messages.closed_form_bits`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from attncheck.constructions import tasks
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method,
                                             Status, Verdict)
from attncheck.verifiers.emulator import BOT_CODE, forward
from attncheck.verifiers.refute_messages import (Messages, build_messages, canonical,  # noqa: F401
                                                 closed_form_bits, digits, message_keys,
                                                 raw_messages)

THEOREM = ("sht24b.one-layer-ih-lb", "P-abs/S")
#: hop_k: the same one-layer argument, with no catalogue entry of its own: the one-way bound.
THEOREMS = {"induction": THEOREM, "hop": ("cc.oneway", "standard")}
#: Largest number of Alice inputs enumerated (beyond it the search samples ``samples`` of them).
MAX_ALICE = 1 << 20
#: Alice inputs per chunk of the scan.
CHUNK = 4096


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
            keys = message_keys(canonical(msg, raw_messages(msg, digits(idx, radix))))
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
    b = digits(np.array([diff[0]]), b_radix)[0]
    xs = [_merge(inst, digits(np.array([a]), a_radix)[0], b) for a in (col.first, col.second)]
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
    if attention == "softmax" and min(1 << fmt.frac_bits, fmt.int_hi) < 1:
        raise BadInput(f"softmax is undefined in {fmt}: exp(0) = 1 is above its range; use more integer"
                       " bits, more fraction bits, or --attention hardmax")
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

