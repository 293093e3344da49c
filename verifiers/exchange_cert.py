"""The certificate for weights read from the exchange format (docs/format.md, issue 16).

The sequence-task certificate (:mod:`attncheck.verifiers.certificate`) proves constructions whose
start row is constant, whose heads carry promises over a slot layout and whose decoder is the
nearest code of one slot.  Weights from the format run the plain pass (row 0 updated by the
layers, read-out by ``argmax(x W_U + b_U)``) and carry none of that -- except an export of ours,
which records its layout, codebooks, promises and decoder under ``source.attncheck_hypotheses``.
For such a model this module proves, *from the weights*, in the declared fixed format:

1. **row 0 is a fixed point**: the pass on row 0 alone (it sees only itself, so it is the same
   for every input) returns the embedded start row after every layer, grid integer for grid
   integer (:func:`attncheck.verifiers.emulator.start_trajectory`);
2. **the start keeper heads write exactly 0 at every token row**: the flag coordinate is 0 in every
   symbol's embedding and every position row and no head (nor ``b_O``) writes it, so it is 0 at
   every token row of every input; a keeper's query is a constant (``W_Q = 0``), its key and value
   read only the flag (``b_K = b_V = 0``), so its keys and values at token rows are exactly 0 and
   its score on row 0 is one number ``s0``; ``s0 < 0`` and (softmax) ``exp(s0)`` stores as 0, so
   row 0 gets weight exactly 0 and the output is exactly 0;
3. **the read-out is the nearest code on one slot**: every column of ``W_U`` is a code of the
   recorded codebook on the decoder's slot and zero elsewhere, one column per code, with the id of
   the code's symbol, and ``b_U = -|code|^2/2 + delta`` with ``|delta|`` computed exactly; the
   certificate's decode margin must exceed ``2 (max delta - min delta)``;
4. there are no other biases (q/k/v biases of non-keeper heads, ``b_O``).

Then the pass computes, on every input, what the construction of
:func:`attncheck.constructions.exchange.hypotheses_construction` computes (row 0 held constant, the
keepers and all-zero heads removed, a nearest-code decoder), and the certificate is run on that;
its layout, promises and labels are hypotheses it proves or refuses (docs/soundness.md).  Any step
that fails is UNKNOWN naming it, never VERIFIED.
"""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.exchange import HYPOTHESES, ExchangeModel, hypotheses_construction
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction
from attncheck.constructions.verdict import BadInput, Method, Status, Verdict
from attncheck.verifiers.abstract import SLACK
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.emulator import start_trajectory
from attncheck.verifiers.gridpass import Grid


class Gap(Exception):
    """A hypothesis of the exchange certificate that the weights do not support."""


def _keeper_zero(m: ExchangeModel, c: Construction, g: Grid, row0: list, flag: int, keepers: set,
                 attention: str) -> None:
    """Step 2 of the module docstring (raises Gap)."""
    V, N = m.alphabet, m.N
    if np.any(m.W_E[list(m.symbols), flag]) or (m.start is not None and np.any(m.W_pos[1:N + 1, flag])):
        raise Gap("the flag coordinate is not 0 at every token row")
    for l, b in enumerate(m.blocks):
        if np.any(b.W_O[:, :, flag]) or b.b_O[flag] != 0:
            raise Gap(f"layer {l + 1} writes the flag coordinate")
    for l, h in sorted(keepers):
        b = m.blocks[l]
        if not (0 <= h < b.n_heads):
            raise Gap(f"keeper head {h + 1} of layer {l + 1} does not exist")
        WK, WV = b.W_K[h].copy(), b.W_V[h].copy()
        WK[flag], WV[flag] = 0.0, 0.0
        if np.any(b.W_Q[h]) or np.any(WK) or np.any(WV) or np.any(b.b_K[h]) or np.any(b.b_V[h]):
            raise Gap(f"layer {l + 1} head {h + 1} is not a start keeper (its query, key or value reads more"
                      " than the flag)")
        head = c.layers[l].heads[h]
        ph = g.head(head)
        one = np.zeros((1, 1, c.width))
        if np.any(b.b_Q[h]):
            one[0, 0, m.d_model] = 1.0                           # the constant coordinate of to_construction
        q = g.project(g.from_values(one), ph.W_Q, "query")                     # any token row: constant
        k0 = g.project(row0[l][None, None, :], ph.W_K, "key")                  # row 0's key
        s0 = g.scores(q, k0, ph.temperature)[0, 0, 0]
        if not s0 < 0:
            raise Gap(f"layer {l + 1} keeper head {h + 1}: row 0 scores {float(s0) * 2.0 ** -g.F:g} >= 0")
        if attention == "softmax" and g.exp(np.array([-float(s0)]))[0] != 0:
            raise Gap(f"layer {l + 1} keeper head {h + 1}: exp({float(s0) * 2.0 ** -g.F:g}) does not store as 0"
                      f" in {g.fmt}")


def _readout_offsets(m: ExchangeModel, ch: Construction) -> float:
    """Step 3: the largest ``max delta - min delta`` (an upper bound, float64), raising Gap."""
    dec = ch.decoder
    book = ch.codebooks[dec.codebook]
    sl = ch.layout[dec.slot].sl
    W = m.W_U
    outside = np.ones(W.shape[0], dtype=bool)
    outside[sl] = False
    if np.any(W[outside]):
        raise Gap("W_U reads coordinates outside the decoder's slot")
    ids = []
    for s in dec.symbols:
        ids.append(m.bottom if s is None else m.symbols[s] if 0 <= s < m.alphabet else None)
    if None in ids or len(set(ids)) != len(ids) or len(ids) != m.d_vocab_out:
        raise Gap("the read-out columns are not one per code, each at its symbol's id")
    deltas = []
    for r, col in enumerate(ids):
        if not np.array_equal(W[sl, col], book[r]):
            raise Gap(f"W_U column {col} is not the code of row {r}")
        exact = -sum(Fraction(float(v)) ** 2 for v in book[r]) / 2
        deltas.append(Fraction(float(m.b_U[col])) - exact)
    spread = max(deltas) - min(deltas)
    return float(spread) * (1 + 2.0 ** -50) + 2.0 ** -1070


def certify_exchange(m: ExchangeModel, c: Construction, task: str, params: dict, fmt: Format,
                     attention: str = "softmax", budget: Budget = UNLIMITED) -> Verdict:
    """VERIFIED only when steps 1-4 of the module docstring hold and the certificate proves the
    hypotheses construction; else UNKNOWN naming the first gap.  ``c = to_construction(m)``."""
    claim = f"{c.name} computes {task} for all {c.alphabet}^{c.n} inputs in {fmt} with {attention}"
    cases = f"{c.alphabet}^{c.n}"

    def unknown(reason: str, **ev) -> Verdict:
        return Verdict(Status.UNKNOWN, Method.CERTIFICATE, claim, cases, reason=reason,
                       evidence={"format": str(fmt), "attention": attention, **ev})

    if HYPOTHESES not in m.source:
        return certify(c, task, params, fmt, attention, budget)      # UNKNOWN: what it lacks
    if fmt.is_exact:
        return unknown("the exchange certificate proves row 0 fixed bit for bit, which needs a fixed:I.F format")
    try:
        ch = hypotheses_construction(m, c)
    except BadInput as e:
        return unknown(f"the recorded hypotheses are malformed: {e}")
    try:
        if m.start is None:
            raise Gap("the model has no start token (the certificate's default key and value)")
        for l, b in enumerate(m.blocks):
            if np.any(b.b_O):
                raise Gap(f"layer {l + 1} has a nonzero b_O")
        hyp = m.source[HYPOTHESES]
        keepers = {(int(k[0]), int(k[1])) for k in hyp["keepers"]}
        for l, b in enumerate(m.blocks):
            for h in range(b.n_heads):
                if (l, h) not in keepers and (np.any(b.b_Q[h]) or np.any(b.b_K[h]) or np.any(b.b_V[h])):
                    raise Gap(f"layer {l + 1} head {h + 1} has q/k/v biases")
        g = Grid(fmt)
        row0 = start_trajectory(c, g, attention)
        moved = [l for l in range(1, len(row0)) if not np.array_equal(row0[l], row0[0])]
        if moved:
            raise Gap(f"row 0 is not a fixed point in {fmt}: layer {moved[0]} changes it")
        if keepers:
            if hyp["flag"] is None:
                raise Gap("keeper heads without a flag coordinate")
            _keeper_zero(m, c, g, row0, int(hyp["flag"]), keepers, attention)
        spread = _readout_offsets(m, ch)
    except Gap as e:
        return unknown(f"hypothesis not proved from the weights: {e}")
    v = certify(ch, task, params, fmt, attention, budget)
    ev = {**v.evidence, "exchange": {"row0_fixed": True, "keeper_heads": sorted([l + 1, h + 1] for l, h in keepers),
                                     "readout_offset_spread": spread}}
    if v.status is not Status.VERIFIED:
        return dataclasses.replace(v, claim=claim, evidence=ev)
    margin = v.evidence["decode"]["margin"]
    book = ch.codebooks[ch.decoder.codebook]
    if not margin > 2.0 * spread + SLACK * (1.0 + float(np.max(book * book, initial=0.0)) * book.shape[1]):
        return unknown(f"decode margin {margin:.4g} does not cover the read-out bias offsets {spread:.3g}", **ev)
    return dataclasses.replace(v, claim=claim, evidence=ev,
                               reason=v.reason + "; from the weights: row 0 is a fixed point, the start keeper"
                                                 " heads write 0 at token rows, W_U/b_U read out the nearest code")
