"""Where attention goes: every head of any attention-only model against the roles of the SHT
constructions (``attncheck inspect``; the interpretability measure of ``sht24a.emp`` claim G.2).

Shape glossary: B inputs, N positions (1-indexed in reports), T = N + 1 rows (row 0 = the start
row), L layers, H heads of one layer.  ``X`` (B, N) int symbols 0..|Sigma|-1; attention ``A``
(B, H, T, T) from :func:`attncheck.verifiers.emulator.forward` (rows = queries).

This module reads weights only through the emulator's traces: it needs no promise, layout or
decoder, so it runs on our constructions, on models loaded from the exchange format, on
hand-edited and on randomly weighted ones alike.

Roles (:mod:`attncheck.verifiers.roles`, where each is defined with its source): ``prev``,
``self``, ``start``, ``last_occurrence``, ``find^1`` and, for the k-hop task, ``find^(2^m)``; a
construction whose heads carry promises adds any other pointer a promise intends.

Statistics per (layer, head, role), over the probe inputs, on the (input, position) *pairs* where
the role's target is a row the query may attend to (under a mask with no start row, a target 0
is no claim and its pair is left out):

* ``mass``: mean attention weight on the target;
* ``argmax``: the fraction of pairs whose attention row has the target as its unique maximum;
* ``alignment``: SHT24a App. G.2, ``<A, B> = ||A o B||_F^2 / (||A||_F ||B||_F)`` between the
  attention matrix A (query rows 1..N where the role is defined, all key columns) and the 0/1
  matrix B of the pointer (``B[i, g(i)] = 1``), per input, averaged over the inputs.  It is 1
  exactly when the head is the pointer, and in [0, 1] for any attention matrix (its entries are
  in [0, 1], so ``sum_B a^2 <= ||A_B||_F sqrt(|B|)``).

A head's *best* role has the highest alignment (ties: the order of :func:`role_names`); it is
*claimed* only when that alignment reaches the threshold (:data:`CLAIM`): a head that spreads
its attention (uniform, random weights) claims nothing.  A head with a promise *agrees* when its
claimed role is the one the promise intends.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction, attention_mask
from attncheck.constructions.verdict import BadInput, BudgetExceeded
from attncheck.verifiers import semantics
from attncheck.verifiers.emulator import forward
from attncheck.verifiers.mechanism import pointer_text
from attncheck.verifiers.roles import ops_role, probe_set, role_names, role_targets, role_text

CLAIM = 0.5                     # alignment a best role needs to be claimed
TRACE_BYTES = 1 << 28           # largest attention trace of one input (256 MiB), else refused
BATCH_BYTES = 1 << 24           # attention kept per batch (16 MiB; one input when it is larger)
WORK_ELEMS = 1 << 26            # attention entries over all probe inputs (fewer inputs at large N)

# --- the report ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RoleScore:
    """One head against one role over ``pairs`` (input, position) pairs."""

    role: str
    pairs: int
    mass: float | None
    argmax: float | None
    alignment: float | None

    def to_json(self) -> dict:
        return {"role": self.role, "pairs": self.pairs, "mass": self.mass, "argmax": self.argmax,
                "alignment": self.alignment}


@dataclass(frozen=True)
class HeadRoles:
    """One head: its scores per role, the best role, the claimed one (alignment >= threshold),
    the role its promise intends (None without promises) and what the converter added it for
    (``kind``: None for a model's own head)."""

    layer: int
    head: int
    kind: str | None
    scores: tuple[RoleScore, ...]
    best: str | None
    best_alignment: float | None
    claimed: str | None
    intended: str | None
    intended_role: str | None

    @property
    def agrees(self) -> bool | None:
        """Whether the claimed role is the one the promise intends (None without promises; a
        head that claims nothing does not agree)."""
        return None if self.intended_role is None else self.claimed == self.intended_role

    def to_json(self) -> dict:
        return {"layer": self.layer, "head": self.head, "kind": self.kind, "best": self.best,
                "best_alignment": self.best_alignment, "claimed": self.claimed, "intended": self.intended,
                "intended_role": self.intended_role, "agrees": self.agrees,
                "roles": {s.role: s.to_json() for s in self.scores}}


@dataclass(frozen=True)
class InspectReport:
    inputs: int
    requested: int
    seed: int
    fmt: str
    attention: str
    threshold: float
    start: str
    roles: tuple[str, ...]
    heads: tuple[HeadRoles, ...]
    stopped: str | None = None
    probes: str = "uniform"

    def to_json(self) -> dict:
        return {"inputs": self.inputs, "requested": self.requested, "seed": self.seed, "probes": self.probes,
                "format": self.fmt,
                "attention": self.attention, "threshold": self.threshold, "start": self.start,
                "roles": {r: role_text(r) for r in self.roles},
                "stopped": self.stopped, "heads": [h.to_json() for h in self.heads]}


def intended_pointers(c: Construction) -> list[list | None] | None:
    """Per layer, per head, the pointer ops its promise intends; None when the heads carry no
    promises that compose (a model from outside, a hand-edited one)."""
    plan: list = []
    try:
        semantics.compose(c, plan)
    except (semantics.CompositionError, KeyError, AttributeError, ValueError):
        return None
    return plan


def _reads(W: np.ndarray) -> np.ndarray:
    """(D,) bool: the residual coordinates a projection (D, k) or (T, D, k) reads."""
    return np.any(W != 0, axis=-1) if W.ndim == 2 else np.any(W != 0, axis=(0, 2))


def head_kinds(c: Construction) -> list[list[str | None]]:
    """Per layer, per head: a head a converter adds (the exchange format's, docs/format.md), told
    from exact facts about its weights; None for every other head.

    * ``no output``: W_V or W_O is zero (a padding head);
    * ``bias``: query, key and value read only coordinates that hold one value on every row the
      layers never write (the exchange format's constant ``one``): its attention is fixed and
      its values equal, so it adds a constant (a ``b_O``);
    * ``start keeper``: a query constant on the token rows, and values that vanish on every token
      row -- they read only coordinates that are zero in every token and position embedding and
      that no head writes -- but not on the start row: its output is about row 0 only.
    ``c.params["extra_heads"]`` (``{"layer", "head", "kind"}``, 1-indexed) overrides."""
    written = np.zeros(c.width, dtype=bool)
    for layer in c.layers:
        for h in layer.heads:
            written |= np.any(h.W_O != 0, axis=0)
    maps = any(layer.map is not None for layer in c.layers)
    tok, pos = c.tok_embed, c.pos_embed[1:]                                  # (V, D), (N, D)
    steady = ~written & np.all(tok == tok[0], axis=0) & np.all(pos == pos[0], axis=0)          # (D,) bool
    if maps:                                                 # an element-wise map may write anything
        steady[:] = False
    same = steady & (c.start_row == tok[0] + pos[0])                       # also on the start row
    quiet = steady & ~np.any(tok != 0, axis=0) & ~np.any(pos != 0, axis=0)
    kinds: list[list[str | None]] = []
    for layer in c.layers:
        row = []
        for h in layer.heads:
            q, k, v = _reads(h.W_Q), _reads(h.W_K), _reads(h.W_V)
            if not v.any() or not np.any(h.W_O):
                row.append("no output")
            elif not ((q | k | v) & ~same).any():
                row.append("bias")
            elif not (q & ~steady).any() and not (v & ~quiet).any() and np.any(c.start_row[v]):
                row.append("start keeper")
            else:
                row.append(None)
        kinds.append(row)
    for e in (c.params or {}).get("extra_heads") or ():
        l, h = int(e["layer"]) - 1, int(e["head"]) - 1
        if 0 <= l < len(kinds) and 0 <= h < len(kinds[l]):
            kinds[l][h] = str(e.get("kind") or "added")
    return kinds


def start_kind(c: Construction) -> str:
    """``constant`` (our start row), ``token`` (a real first token that the layers update) or
    ``absent`` (no query row may attend row 0)."""
    if not attention_mask(c.mask, 2)[1, 0]:
        return "absent"
    return "token" if getattr(c, "start", None) == "token" else "constant"


def _roles(c: Construction, task: str, tparams: dict, plan) -> tuple[tuple[str, ...], dict]:
    names, extra = list(role_names(task, tparams, c.n_layers)), {}
    for layer in plan or ():
        for ops in layer:
            r = ops_role(ops)
            if r not in names:
                names.append(r)
                extra[r] = tuple(ops)
    if start_kind(c) == "absent":
        names.remove("start")
    return tuple(names), extra


def _accumulate(stats: list[np.ndarray], attn: list[np.ndarray], targets: list[tuple[np.ndarray, np.ndarray]]):
    """Add one batch to ``stats[l]`` (H, R, 5): pairs, mass sum, unique-argmax hits, alignment
    sum, inputs with the role defined.  ``attn[l]``: (b, H, T, T); ``targets[r]``: (target
    (b, N), defined (b, N) bool)."""
    for st, w in zip(stats, attn):
        rows = w[:, :, 1:, :]                                            # (b, H, N, T)
        b, H, N, T = rows.shape
        rowsq = np.sum(rows * rows, axis=-1)                             # (b, H, N)
        top = np.partition(rows, T - 2, axis=-1)[..., -2:]               # (b, H, N, 2)
        unique_top = top[..., 1] > top[..., 0]                           # (b, H, N)
        for r, (tg, ok) in enumerate(targets):
            idx = np.broadcast_to(tg[:, None, :, None], (b, H, N, 1))
            mass = np.take_along_axis(rows, idx, axis=-1)[..., 0]        # (b, H, N)
            v = ok[:, None, :]                                           # (b, 1, N)
            nb = ok.sum(axis=1)                                          # (b,)
            hit = (mass >= top[..., 1]) & unique_top & v
            num = np.sum(np.where(v, mass * mass, 0.0), axis=2)          # (b, H)
            den = np.sqrt(np.sum(np.where(v, rowsq, 0.0), axis=2)) * np.sqrt(nb)[:, None]
            score = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
            st[:, r, 0] += nb.sum()
            st[:, r, 1] += np.sum(np.where(v, mass, 0.0), axis=(0, 2))
            st[:, r, 2] += hit.sum(axis=(0, 2))
            st[:, r, 3] += score[nb > 0].sum(axis=0)
            st[:, r, 4] += int((nb > 0).sum())


def _head(l: int, h: int, st: np.ndarray, roles: tuple[str, ...], threshold: float, kind, plan) -> HeadRoles:
    scores = []
    for r, name in enumerate(roles):
        pairs, ms, hits, al, n_in = st[r]
        scores.append(RoleScore(name, int(pairs), float(ms / pairs) if pairs else None,
                                float(hits / pairs) if pairs else None, float(al / n_in) if n_in else None))
    scored = [s for s in scores if s.alignment is not None]
    best = max(scored, key=lambda s: s.alignment) if scored else None      # first of equals
    intended = intended_role = None
    if plan is not None:
        ops = plan[l][h]
        intended, intended_role = pointer_text(ops), ops_role(ops)
    return HeadRoles(l + 1, h + 1, kind, tuple(scores), best.role if best else None,
                     best.alignment if best else None,
                     best.role if best and best.alignment >= threshold else None, intended, intended_role)


def inspect_model(c: Construction, task: str, tparams: dict, fmt: Format, attention: str = "softmax",
                  count: int = 64, seed: int = 0, threshold: float = CLAIM,
                  budget: Budget = UNLIMITED, probes: str = "uniform") -> InspectReport:
    """Run ``count`` probe inputs (:func:`probe_set`: structured ones first, then seeded ones of
    the ``probes`` distribution) through ``c`` with traces, in batches
    under :data:`BATCH_BYTES`, and score every head against every role.  When ``budget`` runs
    out between batches the report covers the inputs done and says so (``stopped``)."""
    if count < 1:
        raise BadInput(f"--inputs must be >= 1, got {count}")
    T, L, H = c.n + 1, c.n_layers, max(1, c.max_heads)
    per_input = T * T * L * H * 8
    if per_input > TRACE_BYTES:
        raise BadInput(f"one trace at N = {c.n} keeps {per_input / 2**20:.0f} MiB of attention"
                       f" (cap {TRACE_BYTES / 2**20:.0f} MiB); inspect a smaller N")
    requested, count = count, max(1, min(count, WORK_ELEMS // (T * T * L * H)))
    plan = intended_pointers(c)
    roles, extra = _roles(c, task, tparams, plan)
    X = probe_set(c.n, c.alphabet, count, seed, probes)                   # (count, N)
    may = attention_mask(c.mask, T)[1:]                                   # (N, T)
    stats = [np.zeros((len(layer.heads), len(roles), 5)) for layer in c.layers]
    step, stopped, done = max(1, BATCH_BYTES // per_input), None, 0
    for start in range(0, count, step):
        try:
            budget.check(probe_inputs_done=start, of=count)
        except BudgetExceeded as e:
            stopped = f"{e} after {start} of {count} probe inputs"
            break
        xb = X[start:start + step]
        tr = forward(c, xb, fmt, attention, keep=True)
        targets = []
        for name in roles:
            tg = role_targets(name, xb, extra)                            # (b, N)
            targets.append((tg, may[np.arange(c.n)[None, :], tg]))
        _accumulate(stats, tr.attention, targets)
        done = start + len(xb)
    kinds = head_kinds(c)
    heads = tuple(_head(l, h, stats[l][h], roles, threshold, kinds[l][h], plan)
                  for l in range(L) for h in range(len(c.layers[l].heads)))
    return InspectReport(done, requested, seed, str(fmt), attention, threshold, start_kind(c), roles,
                         heads if done else (), stopped, probes)


def attention_on(c: Construction, tokens, fmt: Format, attention: str = "softmax") -> list[np.ndarray]:
    """The attention of every layer on one input: ``[(H_l, T, T) for each layer]``."""
    tr = forward(c, np.asarray(tokens, dtype=np.int64)[None, :], fmt, attention, keep=True)
    return [w[0] for w in tr.attention]


def picture_panels(c: Construction, tokens, fmt: Format, attention: str, report: InspectReport,
                   heads: list[tuple[int, int]]) -> list[dict]:
    """Per selected (layer, head) (1-indexed) the attention of one input, (T, T), with the cells
    (i, g(i)) of the head's claimed role ringed (``marks``; none when it claims nothing)."""
    X = np.asarray(tokens, dtype=np.int64)[None, :]                       # (1, n)
    attn = attention_on(c, X[0], fmt, attention)
    n = X.shape[1]
    may = attention_mask(c.mask, n + 1)[1:]                               # (n, T)
    by = {(h.layer, h.head): h for h in report.heads}
    extra = _roles(c, "", {}, intended_pointers(c))[1]
    out = []
    for l, h in heads:
        info = by.get((l, h))
        role = info.claimed if info else None
        marks = []
        if role is not None:
            tg = role_targets(role, X, extra)[0]                          # (n,)
            marks = [(i + 1, int(t)) for i, t in enumerate(tg) if may[i, t]]
        label = f"L{l} H{h}: " + (f"{role} ({info.best_alignment:.3f})" if role else "no role claimed")
        if info is not None and info.kind:
            label += f" [{info.kind}]"
        out.append({"layer": l, "head": h, "label": label, "weights": attn[l - 1][h - 1], "marks": marks})
    return out


def input_attention(c: Construction, tokens, fmt: Format, attention: str, report: InspectReport) -> dict:
    """Where every head attends on one input: per head the argmax key of each position 1..n, its
    weight, and the targets of the head's claimed role (None when it claims nothing)."""
    X = np.asarray(tokens, dtype=np.int64)[None, :]                       # (1, n)
    extra = _roles(c, "", {}, intended_pointers(c))[1]
    by = {(h.layer, h.head): h for h in report.heads}
    heads = []
    for l, w in enumerate(attention_on(c, X[0], fmt, attention), start=1):
        for h, rows in enumerate(w[:, 1:, :], start=1):                   # (n, T)
            role = by[(l, h)].claimed if (l, h) in by else None
            arg = rows.argmax(axis=1)
            heads.append({"layer": l, "head": h, "argmax": arg.tolist(),
                          "weight": rows[np.arange(len(arg)), arg].tolist(), "claimed": role,
                          "targets": None if role is None else role_targets(role, X, extra)[0].tolist()})
    return {"input": X[0].tolist(), "heads": heads}
