"""The k-hop induction head by pointer doubling (``sht24a.thm4_2``; task ``task.hopk``).

Why it works (SHT24a section 4.2 and App. D; docs/theorems.md section 4.2 with the [R] schedule):

* layer 1, lookUp at i - 1 (``lemma.sht24a.D1``): ``prev := X[i-1]``;
* layer 2, lastOccurrence of X_i among ``prev`` (``lemma.sht24a.D2``): lands on
  ``find^1(i)``; it copies the position code found there into the jump register J
  (``J_2 = find^1``) and the token found there into the output register Y (``Y_2 = X[find^1(i)]``
  when the schedule starts the accumulator at find^1);
* layer l >= 3, lookUp at ``J_(l-1)(i) = find^(2^(l-3))(i)``: copies the target's J (so
  ``J_l = find^(2^(l-2))``, the jump doubles) and, when the schedule's bit is set, the target's
  Y (so ``Y_l = X[find^(a + 2^(l-3))(i)]``: the accumulator a grows by the jump, since
  ``find^a o find^t = find^(a+t)``).  The decoder reads Y after layer L.

The accumulator *pointer* of the paper's recipe is never read (reading Y at the jump target
already gives the token at the extended pointer), so only J and Y are kept.  The schedules live
in :mod:`attncheck.constructions.pointer_programs`: ``corrected`` [R] has ``L = 2 + ceil(log2 k)``;
``printed`` is the paper's recursion with ``L = floor(log2 k) + 2`` (refuted for every k >= 2).

Residual modes (docs/theorems.md section 4.2 "Residual bookkeeping", section 11 item 4):

* ``overwrite`` (option (iii), width O(1)): each lookup writes into scratch slots ``jump_new`` /
  ``out_new``; the element-wise map after the layer snaps them to the nearest code, moves them
  into ``jump`` / ``out`` and clears the scratch.  Width does not grow with k.
* ``additive`` (option (i), paper-literal Def 2.2, no per-layer MLP): every layer writes fresh
  slots ``jump<l>`` / ``out<l>``; width grows by one pointer and one token code per layer,
  i.e. O(log k).

Embeddings: ``corrected`` (recency-channel lastOccurrence, positions modulo N + 1) or the
paper-literal Lemma D.1/D.2 codes (``--variant paper --paper-part embedding``; errata items 2-3),
both from :func:`attncheck.constructions.induction.codebooks`.  The start token carries pointer 0
and the none code, so a chain that reaches 0 stays there and decodes to bottom.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.induction import (codebooks, common_layout, declared_format,
                                               embeddings, first_two_layers, margins, validate)
from attncheck.constructions.pointer_programs import (MAX_LAYERS, Schedule, corrected_depth,
                                                      corrected_schedule, printed_schedule)
from attncheck.constructions.primitives import lookup_head, temperature
from attncheck.constructions.spec import Construction, Decoder, Label, Layer, SnapMap
from attncheck.constructions.verdict import BadInput

THEOREM = "sht24a.thm4_2"
RESIDUALS = ("overwrite", "additive")
PAPER_PARTS = ("both", "recursion", "embedding")
MAX_K = 1 << (MAX_LAYERS - 2)


def _pos(t: int) -> Label:
    return Label("pos", (("find", t),)) if t else Label("pos")


def _tok(t: int) -> Label:
    return Label("X", (("find", t),)) if t else Label("X")


def validate_hop(k, residual: str, variant: str, paper_part: str | None) -> None:
    """Raise BadInput (one line) for k, residual mode or variant combinations that do not exist."""
    if k is None:
        raise BadInput("missing --k (the number of hops, an integer >= 1)")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise BadInput(f"--k must be an integer >= 1, got {k}")
    if k > MAX_K:
        raise BadInput(f"--k {k} needs L = 2 + ceil(log2 k) = {corrected_depth(k)} layers; at most"
                       f" {MAX_LAYERS} are supported (k <= {MAX_K})")
    if residual not in RESIDUALS:
        raise BadInput(f"unknown residual mode {residual!r} (overwrite, additive)")
    if paper_part is not None and paper_part not in PAPER_PARTS:
        raise BadInput(f"unknown --paper-part {paper_part!r} (both, recursion, embedding)")
    if paper_part is not None and variant != "paper":
        raise BadInput("--paper-part selects which paper-literal part to build; it needs --variant paper")


def resolve_variant(variant: str, paper_part: str | None) -> tuple[str, str]:
    """(recursion, embedding): which schedule ('corrected'/'printed') and which codes
    ('corrected'/'paper') a --variant / --paper-part pair means."""
    if variant != "paper":
        return "corrected", "corrected"
    part = paper_part or "both"
    return ("printed" if part in ("both", "recursion") else "corrected",
            "paper" if part in ("both", "embedding") else "corrected")


@dataclass(frozen=True)
class SlotPlan:
    """Which slots each layer reads and writes for a schedule and residual mode.

    ``extra``: the written slots (name, codebook, label) in allocation order; ``copies[l]``:
    (value slots, written slots) of layer l's head; ``query[l]``: the pointer slot layer l >= 3
    looks up at; ``maps[l]``: the element-wise map after layer l (overwrite mode); ``out``: the
    slot the decoder reads."""

    extra: tuple[tuple[str, str, Label], ...]
    copies: dict
    query: dict
    maps: dict
    out: str


def plan_slots(s: Schedule, residual: str) -> SlotPlan:
    """Allocate the jump register J and the output register Y layer by layer."""
    extra: dict[str, tuple[str, Label]] = {}
    copies: dict[int, tuple[list[str], list[str]]] = {}
    query: dict[int, str] = {}
    maps: dict[int, SnapMap] = {}
    J, Y = None, "tok"                      # after layer 1: Y = X[i] (accumulator find^0)

    def slot(kind: str, layer: int, scratch: bool, label: Label) -> str:
        """Allocate (or reuse) the slot layer ``layer`` writes; labels: the last write wins
        (a scratch slot's label is also its destination's, as the map moves it there)."""
        book = "pos" if kind == "jump" else "tok"
        if residual == "additive":
            name = f"{kind}{layer}"
        else:
            name = f"{kind}_new" if scratch else kind
            extra[kind] = (book, label)
        extra[name] = (book, label)
        return name

    vals, wr = [], []
    if s.needs_jump_after(2):
        J = slot("jump", 2, False, _pos(1))
        vals.append("pos"), wr.append(J)
    if s.a2:
        Y = slot("out", 2, False, _tok(1))
        vals.append("tok"), wr.append(Y)
    copies[2] = (vals, wr)
    for l in range(3, s.layers + 1):
        query[l] = J
        vals, wr, moves = [], [], []
        scratch = residual == "overwrite"
        if s.needs_jump_after(l):
            new = slot("jump", l, scratch, _pos(2 * s.jump(l)))
            vals.append(J), wr.append(new)
            moves.append((new, "jump"))
        if s.extend[l - 3]:
            new = slot("out", l, scratch, _tok(s.accumulator(l)))
            vals.append(Y), wr.append(new)
            moves.append((new, "out"))
        copies[l] = (vals, wr)
        if scratch and moves:
            maps[l] = SnapMap(tuple(moves), tuple(n for n, _ in moves))
            J = "jump" if s.needs_jump_after(l) else J
            Y = "out" if s.extend[l - 3] else Y
        else:
            J = wr[0] if s.needs_jump_after(l) else J
            Y = wr[-1] if s.extend[l - 3] else Y
    return SlotPlan(tuple((n, *v) for n, v in extra.items()), copies, query, maps, Y)


def build_hop(N: int, k: int, alphabet: int = 3, encoding: str = "sinusoidal",
              variant: str = "corrected", residual: str = "overwrite", D: int | None = None,
              seed: int = 0, paper_part: str | None = None,
              schedule: Schedule | None = None) -> Construction:
    """The k-hop head at length N over |Sigma| = alphabet.

    ``variant``/``paper_part`` pick the schedule and the codes (:func:`resolve_variant`);
    ``schedule`` overrides the schedule (the broken mutants of the tests use it)."""
    validate_hop(k, residual, variant, paper_part)
    recursion, emb = resolve_variant(variant, paper_part)
    validate(N, alphabet, encoding, emb, D)
    if k > N:
        # hop_k stays defined for k > N (fixed points), but the shared CLI contract treats k > N as
        # bad input: a chain of more than N distinct hops cannot exist, so such a k is a typo.
        raise BadInput(f"--k {k} > N = {N}: use 1 <= k <= N")
    s = schedule or (printed_schedule(k) if recursion == "printed" else corrected_schedule(k))
    pos_codes, tok_codes, start_tok = codebooks(N, alphabet, encoding, emb, D, seed)
    pos_w, tok_w = pos_codes.shape[1], tok_codes.shape[1]
    plan = plan_slots(s, residual)
    layout = common_layout(pos_w, tok_w, [(n, pos_w if b == "pos" else tok_w, b, lab)
                                          for n, b, lab in plan.extra])
    tok_embed, pos_embed, start = embeddings(layout, pos_codes, tok_codes, start_tok)
    start = start.copy()
    for name, book, _ in plan.extra:            # the start token: pointer 0, token none
        start[layout[name].sl] = pos_codes[0] if book == "pos" else start_tok

    g = margins(N, alphabet, emb, pos_codes, tok_codes)

    def accuracy(writes: list[str]) -> float:
        """Pointers feed the next lookUp (margin g.pos); tokens are decoded (distance d_min)."""
        need = [g.pos / 8.0 if layout[w].codebook == "pos" else g.d_min / 8.0 for w in writes]
        return min(need, default=g.d_min / 8.0)

    v2, w2 = plan.copies[2]
    h1, h2, acc = first_two_layers(layout, N, alphabet, emb, g, values=v2, writes=w2,
                                   acc2=accuracy(w2))
    layers = [Layer((h1,)), Layer((h2,))]
    temps = [h1.temperature, h2.temperature * g.s_max]
    for l in range(3, s.layers + 1):
        vals, wr = plan.copies[l]
        a = accuracy(wr)
        c = temperature(g.pos, N, 1.0, a)
        head = lookup_head(layout, query=plan.query[l], key="pos", values=vals, writes=wr,
                           margin=g.pos, temp=c)
        layers.append(Layer((head,), plan.maps.get(l)))
        temps.append(c)
        acc = min(acc, a)
    l1 = max(float(np.abs(tok_codes).sum(axis=1).max()), float(np.abs(pos_codes).sum(axis=1).max()))
    fmt = declared_format(max(*temps, N + 1.0), [g.pos, g.last], 2.0 * l1 + 2.0, acc)

    notes = [s.describe()]
    if s.offset != k:
        notes.append(f"this schedule computes hop_{s.offset}, not hop_{k}: expected to be refuted")
    if emb == "paper":
        notes.append("paper-literal Lemma D.1/D.2 codes (docs/theorems.md section 11 items 2-3): expected to be refuted")
    status = {("corrected", "corrected"): "[P] statement; [R] schedule L = 2 + ceil(log2 k) and recency-channel embedding",
              ("printed", "corrected"): "[P] recursion as printed, L = floor(log2 k) + 2 (refuted for k >= 2, [R])",
              ("corrected", "paper"): "[P] Lemmas D.1/D.2 as printed (refuted, [R]); [R] schedule",
              ("printed", "paper"): "[P] recursion and Lemmas D.1/D.2 as printed (refuted, [R])"}[(recursion, emb)]
    return Construction(
        name="hop", task="hop", theorem=THEOREM, status=status,
        params={"N": N, "k": k, "alphabet": alphabet, "encoding": encoding, "variant": variant,
                "paper_part": paper_part, "recursion": recursion, "embedding": emb,
                "residual": residual, "D": D if encoding == "random" else None, "seed": seed,
                "schedule": s.to_json()},
        layout=layout, codebooks={"pos": pos_codes, "tok": tok_codes},
        tok_embed=tok_embed, pos_embed=pos_embed, start_row=start, layers=tuple(layers),
        decoder=Decoder(plan.out, "tok", (None,) + tuple(range(alphabet))),
        fmt=fmt, target=_tok(k), notes=tuple(notes))
